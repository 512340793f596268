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
import { type ParquetCompression, writeParquetStream } from './parquet.ts';

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

/**
 * Writes `table` as a Parquet file at `path` (snappy unless told otherwise) and returns the
 * DataFile describing it, with record count, file size and Java-compatible column metrics.
 */
export async function writeDataFile(
  io: FileIO,
  path: string,
  table: arrow.Table,
  opts: WriteDataFileOptions,
): Promise<DataFile> {
  checkTableMatchesSchema(opts.schema, table);
  const bytes = await writeParquetStream(table, {
    icebergSchemaJson: JSON.stringify(schemaToJson(opts.schema)),
    ...(opts.compression === undefined ? {} : { compression: opts.compression }),
    ...(opts.rowGroupSize === undefined ? {} : { rowGroupSize: opts.rowGroupSize }),
    ...(opts.rowGroupBytes === undefined ? {} : { rowGroupBytes: opts.rowGroupBytes }),
  });
  const m = computeMetrics(opts.schema, table, bytes);
  await io.write(path, bytes);
  return {
    content: 0,
    filePath: path,
    fileFormat: 'PARQUET',
    specId: opts.specId,
    partition: [...opts.partition],
    recordCount: m.recordCount,
    fileSizeInBytes: bytes.length,
    columnSizes: m.columnSizes,
    valueCounts: m.valueCounts,
    nullValueCounts: m.nullValueCounts,
    nanValueCounts: m.nanValueCounts,
    lowerBounds: m.lowerBounds,
    upperBounds: m.upperBounds,
    splitOffsets: m.splitOffsets,
  };
}
