/**
 * One row group of a Parquet file decoded into an Arrow IPC stream from the bytes a cold
 * scan read for it (the footer, the page indexes, the row group's column chunks), with no
 * FileIO: what a cold scan hands to another thread so that row groups of several files
 * decode at once (./cold-scan.ts `decoder`). Reading outside those bytes fails.
 *
 * Parquet: https://parquet.apache.org/docs/file-format/ (row groups, column chunks).
 */
import { parquetWasm } from '../writer/wasm.ts';
import { BlobReads, type ByteRange, type Fetched, heldBlob } from './ranged-read.ts';

export interface RowGroupRequest {
  /** The file's size in bytes. */
  readonly size: number;
  /** Every byte range the decode needs (file offsets). */
  readonly ranges: readonly Fetched[];
  readonly rowGroup: number;
  /** parquet-wasm column names (dotted paths). */
  readonly columns: readonly string[];
  /** Only rows offset..offset+limit of the row group (pages selected by the page index:
   * `ranges` then need hold only the pages of those rows, ./page-selection.ts). */
  readonly offset?: number;
  readonly limit?: number;
  /** Pages the page index ruled out (not in `ranges`): read as zeros when the reader asks
   * for them inside a coalesced read (./ranged-read.ts `fromFetched`). */
  readonly skipped?: readonly ByteRange[];
}

/** Decodes a row group to Arrow IPC stream bytes, e.g. on a worker thread. */
export type RowGroupDecoder = (request: RowGroupRequest) => Promise<Uint8Array>;

/** The decode itself, on the calling thread (parquet-wasm). */
export async function decodeRowGroup(request: RowGroupRequest): Promise<Uint8Array> {
  const reads = new BlobReads();
  return reads.run(async () => {
    const file = await parquetWasm().ParquetFile.fromFile(
      heldBlob(request.size, request.ranges, reads, request.skipped),
    );
    try {
      const table = await file.read({
        rowGroups: [request.rowGroup],
        columns: [...request.columns],
        ...(request.offset !== undefined ? { offset: request.offset } : {}),
        ...(request.limit !== undefined ? { limit: request.limit } : {}),
      });
      return table.intoIPCStream();
    } finally {
      file.free();
    }
  });
}
