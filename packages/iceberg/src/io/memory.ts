import { AlreadyExistsError, NotFoundError } from '../errors.ts';
import { bufferedOutput, type FileIO, type OutputStream, type WriteOptions } from './file-io.ts';

/** FileIO held in memory, for unit tests and scratch tables. */
export class MemoryFileIO implements FileIO {
  readonly files = new Map<string, Uint8Array>();

  async read(path: string): Promise<Uint8Array> {
    const data = this.files.get(path);
    if (!data) throw new NotFoundError(`file not found: ${path}`, { path });
    return data;
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.read(path)).slice(offset, offset + length);
  }

  async create(path: string): Promise<OutputStream> {
    return bufferedOutput((data) => this.write(path, data));
  }

  async deleteMany(paths: readonly string[]): Promise<void> {
    for (const p of paths) await this.delete(p);
  }

  async write(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    if (options.ifAbsent && this.files.has(path))
      throw new AlreadyExistsError(`file already exists: ${path}`, { path });
    this.files.set(path, data.slice());
  }

  async exists(path: string): Promise<boolean> {
    return this.files.has(path);
  }

  async delete(path: string): Promise<void> {
    for (const k of [...this.files.keys()])
      if (k === path || k.startsWith(`${path}/`)) this.files.delete(k);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.files.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
