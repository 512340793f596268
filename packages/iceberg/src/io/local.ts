import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { AlreadyExistsError, IcebergError, NotFoundError } from '../errors.ts';
import type { FileIO, OutputStream, WriteOptions } from './file-io.ts';

/**
 * `file:///a/b`, `file:/a/b` or `/a/b` → `/a/b`.
 *
 * The text after `file://` (or `file:`) is the path, taken literally: no percent-decoding.
 * That is how Iceberg readers treat table paths (Java's Hadoop `Path`, PyIceberg's
 * `PyArrowFileIO`, DuckDB): partition folders are URL-encoded segments such as
 * `cat=%C3%BC%2F%C3%B6`, and that exact text is both the folder's name on disk and the
 * `file_path` in the manifests. Throws INVALID_ARGUMENT when the result is not absolute.
 */
export function toLocalPath(path: string): string {
  let local = path;
  if (local.startsWith('file://')) local = local.slice('file://'.length);
  else if (local.startsWith('file:')) local = local.slice('file:'.length);
  if (local.startsWith('/')) return local;
  throw new IcebergError('INVALID_ARGUMENT', `not a local path: ${path}`, { context: { path } });
}

/**
 * `/a/b` → `file:///a/b`, without percent-encoding (the inverse of {@link toLocalPath});
 * a relative path is resolved against the working directory first; URIs pass through.
 */
export function toFileUri(path: string): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path)) return path;
  return `file://${isAbsolute(path) ? path : resolve(path)}`;
}

/** FileIO over the local filesystem. `ifAbsent` writes go to a temp file that is then
 * hard-linked into place: link(2) fails with EEXIST if the target exists, so exactly one
 * of several racing writers wins and readers never see a partial file. */
export class LocalFileIO implements FileIO {
  async read(path: string): Promise<Uint8Array> {
    try {
      const buf = await readFile(toLocalPath(path));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(`file not found: ${path}`, { path });
      throw new IcebergError('IO', `cannot read ${path}: ${(e as Error).message}`, {
        cause: e,
        retryable: true,
      });
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(toLocalPath(path), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(`file not found: ${path}`, { path });
      throw e;
    }
    try {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  /** Streams into a temp file beside the target, renamed into place on close. */
  async create(path: string): Promise<OutputStream> {
    const target = toLocalPath(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `.${randomUUID()}.tmp`);
    const fh = await open(tmp, 'wx');
    let done = false;
    const abort = async () => {
      if (done) return;
      done = true;
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
    };
    return {
      async write(chunk) {
        if (done) throw new Error(`output stream for ${path} is closed`);
        try {
          await fh.write(chunk);
        } catch (e) {
          await abort();
          throw e;
        }
      },
      async close() {
        if (done) throw new Error(`output stream for ${path} is closed`);
        try {
          await fh.sync();
          await fh.close();
          done = true;
          await rename(tmp, target);
        } catch (e) {
          done = false;
          await abort();
          throw e;
        }
      },
      abort,
    };
  }

  async deleteMany(paths: readonly string[]): Promise<void> {
    for (const p of paths) await this.delete(p);
  }

  async write(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const target = toLocalPath(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `.${randomUUID()}.tmp`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      if (options.ifAbsent) {
        try {
          await link(tmp, target);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST')
            throw new AlreadyExistsError(`file already exists: ${path}`, { path });
          throw e;
        }
      } else {
        await rename(tmp, target);
      }
    } finally {
      if (options.ifAbsent) await unlink(tmp).catch(() => {});
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(toLocalPath(path));
      return true;
    } catch {
      return false;
    }
  }

  async delete(path: string): Promise<void> {
    await rm(toLocalPath(path), { force: true, recursive: true });
  }

  async list(prefix: string): Promise<string[]> {
    const local = toLocalPath(prefix);
    const uri = prefix.startsWith('file:');
    let entries: string[];
    try {
      entries = (await readdir(local, { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile())
        .map((d) => join(d.parentPath, d.name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.sort().map((p) => (uri ? toFileUri(p) : p));
  }
}
