/**
 * A FileIO that routes each path by its URI scheme, so one table (or one warehouse) can
 * live on any store: `file:` and bare absolute paths → the local filesystem, `memory:` →
 * an in-memory store, `s3:`/`s3a:`/`s3n:` → S3. Schemes without an IO fail with
 * INVALID_ARGUMENT naming the path. `deleteMany` groups paths per target.
 */
import { IcebergError } from '../errors.ts';
import type { FileIO, OutputStream, WriteOptions } from './file-io.ts';

export interface DispatchTargets {
  readonly local?: FileIO;
  readonly memory?: FileIO;
  readonly s3?: FileIO;
}

export class DispatchingFileIO implements FileIO {
  constructor(readonly targets: DispatchTargets) {}

  /** The FileIO for `path`. */
  route(path: string): FileIO {
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(path);
    const scheme = m ? (m[1] as string).toLowerCase() : path.startsWith('/') ? 'file' : '';
    const io =
      scheme === 'file'
        ? this.targets.local
        : scheme === 'memory'
          ? this.targets.memory
          : scheme === 's3' || scheme === 's3a' || scheme === 's3n'
            ? this.targets.s3
            : undefined;
    if (!io)
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `no FileIO for ${scheme ? `scheme "${scheme}:"` : 'a relative path'}: ${path}` +
          (scheme.startsWith('s3') ? ' (configure storage.s3)' : ''),
        { context: { path, scheme } },
      );
    return io;
  }

  read(path: string): Promise<Uint8Array> {
    return this.route(path).read(path);
  }
  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.route(path).readRange(path, offset, length);
  }
  write(path: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    return this.route(path).write(path, data, options);
  }
  create(path: string): Promise<OutputStream> {
    return this.route(path).create(path);
  }
  exists(path: string): Promise<boolean> {
    return this.route(path).exists(path);
  }
  delete(path: string): Promise<void> {
    return this.route(path).delete(path);
  }
  async deleteMany(paths: readonly string[]): Promise<void> {
    const groups = new Map<FileIO, string[]>();
    for (const p of paths) {
      const io = this.route(p);
      const g = groups.get(io);
      if (g) g.push(p);
      else groups.set(io, [p]);
    }
    for (const [io, ps] of groups) await io.deleteMany(ps);
  }
  list(prefix: string): Promise<string[]> {
    return this.route(prefix).list(prefix);
  }
}
