/**
 * Reading a Parquet data file by byte ranges through FileIO.readRange, so that a scan of a
 * few columns transfers the footer and those columns' chunks, not the whole file.
 *
 * 1. Tail: the last min(64 KiB, size) bytes are read speculatively; their last 8 bytes
 *    are the footer length and `PAR1` (https://parquet.apache.org/docs/file-format/).
 *    A longer footer costs one more read for the missing front part.
 * 2. The footer is decoded (./parquet-footer.ts). The read schema's top-level field IDs
 *    select the file's top-level columns with those `field_id`s; every leaf chunk under
 *    them, in every row group, is needed, plus every column's page index (offset and
 *    column index) where the file has one, because parquet-wasm loads all of them.
 * 3. Needed ranges closer than COALESCE_GAP bytes are merged; the merged ranges, minus
 *    what the tail already holds, are read (at most CONCURRENCY at a time).
 * 4. Decoding: parquet-wasm 0.8's synchronous `readParquet` takes a whole-file buffer and
 *    ignores its `columns` option (it decodes every column), so it cannot read a partly
 *    filled buffer. Its async `ParquetFile.fromFile(blob).read({ columns })` does project:
 *    it is given a Blob-shaped view of the file whose slices are served from the ranges
 *    fetched above (./ranged-read.ts `rangeBlob`); a slice outside them would be read
 *    through FileIO.readRange (tests assert that never happens for files kice writes).
 *    Memory and bytes transferred are both bounded by the projected chunks + footer.
 *
 * Columns the file lacks read as null (./read-parquet.ts does the field-ID matching).
 */
import * as arrow from 'apache-arrow';
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import type { Schema } from '../spec/types.ts';
import { parquetWasm } from '../writer/wasm.ts';
import { type FileMetaData, footerLength, parseFileMetaData } from './parquet-footer.ts';
import { toReadSchema } from './read-parquet.ts';

export const TAIL_BYTES = 64 * 1024;
export const COALESCE_GAP = 64 * 1024;
const CONCURRENCY = 4;

export interface ByteRange {
  readonly start: number;
  readonly length: number;
}

/** Reads the footer of a file of `size` bytes: its metadata, and `tail`, the file's last
 * bytes as read (at least the footer with its length and magic). */
export async function readFooter(
  io: FileIO,
  path: string,
  size: number,
): Promise<{ meta: FileMetaData; tail: Uint8Array }> {
  const tailLen = Math.min(TAIL_BYTES, size);
  let tail = await io.readRange(path, size - tailLen, tailLen);
  const len = footerLength(tail, path);
  if (len + 8 > tail.length) {
    const front = await io.readRange(path, size - len - 8, len + 8 - tail.length);
    const all = new Uint8Array(len + 8);
    all.set(front, 0);
    all.set(tail, front.length);
    tail = all;
  }
  const footer = tail.subarray(tail.length - len - 8, tail.length - 8);
  return { meta: parseFileMetaData(footer), tail };
}

/** Top-level file column names whose field IDs are in the read schema. */
export function selectedColumns(meta: FileMetaData, schema: Schema): string[] {
  const ids = new Set(schema.fields.map((f) => f.id));
  const out: string[] = [];
  // Element 0 is the root; walk its direct children, skipping each child's subtree.
  let i = 1;
  while (i < meta.schema.length) {
    const el = meta.schema[i];
    if (!el) break;
    if (el.fieldId !== undefined && ids.has(el.fieldId)) out.push(el.name);
    i = skipSubtree(meta, i);
  }
  return out;
}

function skipSubtree(meta: FileMetaData, i: number): number {
  const n = meta.schema[i]?.numChildren ?? 0;
  let next = i + 1;
  for (let k = 0; k < n; k++) next = skipSubtree(meta, next);
  return next;
}

/** The chunk ranges of the given top-level columns in every row group, coalesced. */
export function neededRanges(meta: FileMetaData, columns: readonly string[]): ByteRange[] {
  const wanted = new Set(columns);
  const chunks: ByteRange[] = [];
  for (const rg of meta.rowGroups)
    for (const c of rg.columns) {
      if (c.path[0] !== undefined && wanted.has(c.path[0]))
        chunks.push({ start: c.start, length: c.length });
      // parquet-wasm loads the page index of every column when the file has one; the
      // indexes are small and sit together just before the footer.
      if (columns.length > 0) chunks.push(...c.indexes);
    }
  return coalesce(chunks, COALESCE_GAP);
}

/** Sorts ranges and merges those overlapping or closer than `gap` bytes. */
export function coalesce(ranges: readonly ByteRange[], gap: number): ByteRange[] {
  const sorted = [...ranges].filter((r) => r.length > 0).sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + gap) last.end = Math.max(last.end, r.start + r.length);
    else out.push({ start: r.start, end: r.start + r.length });
  }
  return out.map((r) => ({ start: r.start, length: r.end - r.start }));
}

/**
 * Reads the read schema's columns of the Parquet file at `path` (`size` bytes, from the
 * manifest's file_size_in_bytes) by ranges; same result as `readParquet(whole, schema)`.
 */
export async function readParquetRanged(
  io: FileIO,
  path: string,
  size: number,
  schema: Schema,
): Promise<arrow.Table> {
  const { meta, tail } = await readFooter(io, path, size);
  const columns = selectedColumns(meta, schema);
  if (columns.length === 0) {
    // None of the schema's columns is in the file: nothing to decode, every value is null.
    return toReadSchema(new arrow.Table(), schema, meta.numRows);
  }
  const tailStart = size - tail.length;
  const fetched: Fetched[] = [{ start: tailStart, bytes: tail }];
  // Ranges that reach into the tail are cut short at its start (or dropped).
  const ranges = neededRanges(meta, columns)
    .map((r) => ({ start: r.start, length: Math.min(r.start + r.length, tailStart) - r.start }))
    .filter((r) => r.length > 0);
  let next = 0;
  const worker = async () => {
    for (let r = ranges[next++]; r; r = ranges[next++])
      fetched.push({ start: r.start, bytes: await io.readRange(path, r.start, r.length) });
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ranges.length) }, worker));
  const reads = new BlobReads();
  return reads.run(async () => {
    const file = await parquetWasm().ParquetFile.fromFile(
      rangeBlob(io, path, size, fetched, reads),
    );
    try {
      const wasmTable = await file.read({ columns });
      return toReadSchema(arrow.tableFromIPC(wasmTable.intoIPCStream()), schema);
    } finally {
      file.free();
    }
  });
}

export interface Fetched {
  readonly start: number;
  readonly bytes: Uint8Array;
}

/**
 * The file as the Blob that parquet-wasm's async reader reads: it only uses `size` and
 * `slice(start, end).arrayBuffer()`. Slices covered by prefetched ranges are served from
 * them (a slice may span adjacent ranges, e.g. a chunk that ends inside the footer tail);
 * anything else (a reader asking for a range the footer did not predict) is read through.
 */
export function rangeBlob(
  io: FileIO,
  path: string,
  size: number,
  fetched: readonly Fetched[],
  reads: BlobReads,
  skipped: readonly ByteRange[] = [],
): Blob {
  return blobOf(size, reads, async (start, end) => {
    const bytes =
      fromFetched(fetched, start, end, skipped) ?? (await io.readRange(path, start, end - start));
    return bytes.slice().buffer as ArrayBuffer;
  });
}

/**
 * The failure of a Blob read, kept for its caller: parquet-wasm's reader does not survive
 * a read that rejects (its wasm code panics and the read it was serving never settles),
 * so a failed slice answers zeros and the failure is thrown by `check()` once the reader
 * returns or throws.
 */
export class BlobReads {
  failure: unknown;
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }
  /** Runs a parquet-wasm read over this Blob's reads: a failed read is its error. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    try {
      const out = await read();
      this.check();
      return out;
    } catch (e) {
      this.check();
      throw e;
    }
  }
}

function blobOf(
  size: number,
  reads: BlobReads,
  read: (start: number, end: number) => Promise<ArrayBuffer>,
): Blob {
  const slice = (start: number, end: number) => ({
    async arrayBuffer(): Promise<ArrayBuffer> {
      try {
        return await read(start, end);
      } catch (e) {
        reads.failure ??= e;
        return new ArrayBuffer(Math.max(0, end - start));
      }
    },
  });
  return { size, slice } as unknown as Blob;
}

/**
 * The file as a Blob over `fetched` alone (for a thread that has no FileIO: the bytes were
 * read for it); a read outside them fails (in `reads`), naming the range.
 */
export function heldBlob(
  size: number,
  fetched: readonly Fetched[],
  reads: BlobReads,
  skipped: readonly ByteRange[] = [],
): Blob {
  return blobOf(size, reads, async (start, end) => {
    const bytes = fromFetched(fetched, start, end, skipped);
    if (!bytes)
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `the Parquet reader asked for bytes ${start}..${end} of ${size}, which were not read for it`,
      );
    return bytes.slice().buffer as ArrayBuffer;
  });
}

/**
 * Bytes start..end assembled from the fetched ranges, or undefined when they leave a gap.
 * Bytes inside `skipped` (pages the page index ruled out, which the reader skips by its
 * offset index but may ask for inside a larger, coalesced read) read as zeros.
 */
export function fromFetched(
  fetched: readonly Fetched[],
  start: number,
  end: number,
  skipped: readonly ByteRange[] = [],
): Uint8Array | undefined {
  const hit = fetched.find((f) => f.start <= start && end <= f.start + f.bytes.length);
  if (hit) return hit.bytes.subarray(start - hit.start, end - hit.start);
  const out = new Uint8Array(end - start);
  let at = start;
  while (at < end) {
    const f = fetched.find((x) => x.start <= at && at < x.start + x.bytes.length);
    if (!f) {
      const skip = skipped.find((x) => x.start <= at && at < x.start + x.length);
      if (!skip) return undefined;
      at = Math.min(end, skip.start + skip.length); // left as zeros
      continue;
    }
    const upto = Math.min(end, f.start + f.bytes.length);
    out.set(f.bytes.subarray(at - f.start, upto - f.start), at - start);
    at = upto;
  }
  return out;
}
