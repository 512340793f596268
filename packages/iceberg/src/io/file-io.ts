/**
 * FileIO: the only way the library touches storage. Paths are URIs (`file:///abs/path`,
 * `memory://bucket/key`, later `s3://bucket/key`); local implementations also accept a
 * bare absolute path.
 */
export interface WriteOptions {
  /** Create the file only if no file exists at the path; otherwise throw
   * AlreadyExistsError. Implementations make this atomic (never check-then-write). */
  readonly ifAbsent?: boolean;
}

export interface FileIO {
  read(path: string): Promise<Uint8Array>;
  write(path: string, data: Uint8Array, options?: WriteOptions): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Deletes a file; deleting a missing file is not an error. */
  delete(path: string): Promise<void>;
  /** Every file whose path starts with `prefix` (recursively), as full paths. */
  list(prefix: string): Promise<string[]>;
}

/** Joins URI/path segments with single slashes. */
export function joinPath(base: string, ...parts: string[]): string {
  let out = base.replace(/\/+$/, '');
  for (const p of parts) out += `/${p.replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return out;
}
