/**
 * FileIO: the only way the library touches storage. Paths are URIs (`file:///abs/path`,
 * `memory://bucket/key`, `s3://bucket/key`); local implementations also accept a bare
 * absolute path. `DispatchingFileIO` (./dispatch.ts) picks one implementation per scheme.
 */
export interface WriteOptions {
  /** Create the file only if no file exists at the path; otherwise throw
   * AlreadyExistsError. Implementations make this atomic (never check-then-write). */
  readonly ifAbsent?: boolean;
}

/**
 * A file being written piece by piece. Nothing is visible at the path until `close()`
 * resolves; `abort()` discards what was written (and, on S3, the multipart upload).
 * After a failed `write`/`close` the writer has already aborted itself.
 */
export interface OutputStream {
  /** Resolves once the chunk is accepted; may wait while earlier data is being uploaded
   * (backpressure), so a caller awaiting each write holds a bounded amount in memory. */
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export interface FileIO {
  read(path: string): Promise<Uint8Array>;
  /** `length` bytes from `offset` (fewer when the file ends first). */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  write(path: string, data: Uint8Array, options?: WriteOptions): Promise<void>;
  /** A streaming writer for `path` (replaces the file on close). */
  create(path: string): Promise<OutputStream>;
  exists(path: string): Promise<boolean>;
  /** Deletes a file; deleting a missing file is not an error. */
  delete(path: string): Promise<void>;
  /** Deletes several files (batched where the store allows); missing files are fine. */
  deleteMany(paths: readonly string[]): Promise<void>;
  /** Every file whose path starts with `prefix` (recursively), as full paths. */
  list(prefix: string): Promise<string[]>;
}

/** Joins URI/path segments with single slashes. */
export function joinPath(base: string, ...parts: string[]): string {
  let out = base.replace(/\/+$/, '');
  for (const p of parts) out += `/${p.replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return out;
}

/** An OutputStream that collects chunks and hands the whole file to `commit` on close. */
export function bufferedOutput(commit: (data: Uint8Array) => Promise<void>): OutputStream {
  let chunks: Uint8Array[] | undefined = [];
  let size = 0;
  return {
    async write(chunk) {
      if (!chunks) throw new Error('output stream is closed');
      chunks.push(chunk.slice());
      size += chunk.length;
    },
    async close() {
      if (!chunks) throw new Error('output stream is closed');
      const all = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      chunks = undefined;
      await commit(all);
    },
    async abort() {
      chunks = undefined;
    },
  };
}
