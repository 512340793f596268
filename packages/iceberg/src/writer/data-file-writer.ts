/**
 * One Arrow table → one Parquet data file in storage → its DataFile (manifest entry body).
 *
 * Spec: https://iceberg.apache.org/spec/#manifests (data_file struct, field IDs):
 *   134 content = 0 (data) · 100 file_path · 101 file_format = "PARQUET" · 102 partition
 *   103 record_count · 104 file_size_in_bytes · 108 column_sizes · 109 value_counts
 *   110 null_value_counts · 137 nan_value_counts · 125 lower_bounds · 128 upper_bounds
 *   132 split_offsets
 */
import type * as arrow from 'apache-arrow';
import { FIELD_ID_KEY } from '../arrow/schema.ts';
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import type { DataFile } from '../spec/manifest.ts';
import { type Schema, schemaToJson } from '../spec/types.ts';
import { computeMetrics } from './metrics.ts';
import { type ParquetCompression, writeParquetChunks } from './parquet.ts';

export interface WriteDataFileOptions {
  /** The table schema the Arrow table follows (same top-level fields, same order). */
  readonly schema: Schema;
  readonly specId: number;
  /** Partition tuple (in-memory conventions of the transform result types); [] if unpartitioned. */
  readonly partition: readonly unknown[];
  readonly compression?: ParquetCompression;
  readonly rowGroupSize?: number;
  /** Caps a row group at about this many bytes of Arrow data (bounds the encoder's memory). */
  readonly rowGroupBytes?: number;
  /** Cap on a column chunk's dictionary page (default 64 KiB; see ./parquet.ts). */
  readonly dictionaryPageBytes?: number;
  /** Page-level statistics and the page index (./parquet.ts `pageIndex`). */
  readonly pageIndex?: boolean;
  /** Target data page size in bytes (./parquet.ts). */
  readonly dataPageBytes?: number;
}

/** Throws unless the table's top-level columns carry the schema's field IDs in order. */
export function checkTableMatchesSchema(schema: Schema, table: arrow.Table): void {
  const ids = table.schema.fields.map((f) => f.metadata.get(FIELD_ID_KEY));
  const want = schema.fields.map((f) => String(f.id));
  if (ids.length !== want.length || ids.some((id, i) => id !== want[i])) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `table columns (field ids ${ids.join(',')}) do not match the schema (field ids ${want.join(',')}); build the table with arrowSchemaFor(schema)`,
      { context: { tableFieldIds: ids, schemaFieldIds: want } },
    );
  }
}

/** Bytes of the file's end kept in memory while streaming, enough for most footers. */
const TAIL_BYTES = 1 << 20;

/**
 * Writes `table` as a Parquet file at `path` (snappy unless told otherwise) and returns the
 * DataFile describing it, with record count, file size and Java-compatible column metrics.
 *
 * The encoder's output is streamed into `io.create(path)` chunk by chunk (on S3: multipart
 * parts), never collected into one buffer; only the file's last ~1 MiB is kept, for the
 * footer metrics (column sizes, split offsets). A longer footer is read back with
 * `readRange`. Any failure aborts the output, so no partial file is left.
 */
export async function writeDataFile(
  io: FileIO,
  path: string,
  table: arrow.Table,
  opts: WriteDataFileOptions,
): Promise<DataFile> {
  checkTableMatchesSchema(opts.schema, table);
  const chunks = writeParquetChunks(table, {
    icebergSchemaJson: JSON.stringify(schemaToJson(opts.schema)),
    ...(opts.compression === undefined ? {} : { compression: opts.compression }),
    ...(opts.rowGroupSize === undefined ? {} : { rowGroupSize: opts.rowGroupSize }),
    ...(opts.rowGroupBytes === undefined ? {} : { rowGroupBytes: opts.rowGroupBytes }),
    ...(opts.dictionaryPageBytes === undefined
      ? {}
      : { dictionaryPageBytes: opts.dictionaryPageBytes }),
    ...(opts.pageIndex === undefined ? {} : { pageIndex: opts.pageIndex }),
    ...(opts.dataPageBytes === undefined ? {} : { dataPageBytes: opts.dataPageBytes }),
  });
  const out = await io.create(path);
  const tail: Uint8Array[] = [];
  let tailSize = 0;
  let size = 0;
  try {
    for await (const c of chunks) {
      await out.write(c);
      size += c.byteLength;
      tail.push(c);
      tailSize += c.byteLength;
      while (tail.length > 1 && tailSize - (tail[0] as Uint8Array).byteLength >= TAIL_BYTES)
        tailSize -= (tail.shift() as Uint8Array).byteLength;
    }
    await out.close();
  } catch (e) {
    await out.abort().catch(() => {});
    throw e;
  }
  let end = concat(tail, tailSize);
  const footerLength =
    end.length >= 8 ? new DataView(end.buffer, end.byteOffset).getUint32(end.length - 8, true) : 0;
  if (footerLength + 8 > end.length)
    end = await io.readRange(path, size - footerLength - 8, footerLength + 8);
  const m = computeMetrics(opts.schema, table, end);
  return {
    content: 0,
    filePath: path,
    fileFormat: 'PARQUET',
    specId: opts.specId,
    partition: [...opts.partition],
    recordCount: m.recordCount,
    fileSizeInBytes: size,
    columnSizes: m.columnSizes,
    valueCounts: m.valueCounts,
    nullValueCounts: m.nullValueCounts,
    nanValueCounts: m.nanValueCounts,
    lowerBounds: m.lowerBounds,
    upperBounds: m.upperBounds,
    splitOffsets: m.splitOffsets,
  };
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
