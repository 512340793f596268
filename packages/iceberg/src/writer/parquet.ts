/**
 * Arrow table → Parquet bytes, through parquet-wasm (parquet-rs).
 *
 * Spec: https://iceberg.apache.org/spec/#parquet
 *
 * What Iceberg readers need from the file, and how it is obtained here:
 * - field IDs on every Parquet schema element: taken from the Arrow field metadata
 *   `PARQUET:field_id` (see ../arrow/schema.ts);
 * - column statistics (chunk level) and writer version V1 (plain/dictionary encodings that
 *   every reader handles);
 * - footer key/value metadata `iceberg.schema` = the table schema JSON, as Java writes it.
 *
 * parquet-wasm's default codec is UNCOMPRESSED, so a codec is always set (snappy by default).
 */
import * as arrow from 'apache-arrow';
import {
  Compression,
  EnabledStatistics,
  Table as WasmTable,
  WriterPropertiesBuilder,
  WriterVersion,
  writeParquet as wasmWriteParquet,
} from 'parquet-wasm';
import { IcebergError } from '../errors.ts';

/** Parquet codecs the writer offers. */
export type ParquetCompression = 'snappy' | 'zstd' | 'lz4_raw' | 'gzip' | 'uncompressed';

export interface ParquetWriteOptions {
  /** Default `snappy`. */
  readonly compression?: ParquetCompression;
  /** Maximum rows per row group (parquet-rs default 1 Mi rows when unset). */
  readonly rowGroupSize?: number;
  /** Written as the footer key/value entry `iceberg.schema`. */
  readonly icebergSchemaJson?: string;
}

const CODECS: Record<ParquetCompression, Compression> = {
  snappy: Compression.SNAPPY,
  zstd: Compression.ZSTD,
  lz4_raw: Compression.LZ4_RAW,
  gzip: Compression.GZIP,
  uncompressed: Compression.UNCOMPRESSED,
};

/**
 * Writes an Arrow table as one Parquet file and returns its bytes. The table's fields
 * should carry `PARQUET:field_id` metadata (build the schema with `arrowSchemaFor`).
 */
export function writeParquet(table: arrow.Table, opts: ParquetWriteOptions = {}): Uint8Array {
  const codec = CODECS[opts.compression ?? 'snappy'];
  if (codec === undefined) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `compression must be one of ${Object.keys(CODECS).join(', ')}`,
      {
        context: { compression: opts.compression },
      },
    );
  }
  let builder = new WriterPropertiesBuilder()
    .setWriterVersion(WriterVersion.V1)
    .setCompression(codec)
    .setStatisticsEnabled(EnabledStatistics.Chunk)
    .setCreatedBy('kice (parquet-wasm 0.8.0)');
  if (opts.rowGroupSize !== undefined) {
    if (!Number.isInteger(opts.rowGroupSize) || opts.rowGroupSize < 1) {
      throw new IcebergError('INVALID_ARGUMENT', 'rowGroupSize must be a positive integer', {
        context: { rowGroupSize: opts.rowGroupSize },
      });
    }
    builder = builder.setMaxRowGroupSize(opts.rowGroupSize);
  }
  if (opts.icebergSchemaJson !== undefined) {
    builder = builder.setKeyValueMetadata(new Map([['iceberg.schema', opts.icebergSchemaJson]]));
  }
  const props = builder.build();
  // Both arguments are consumed (freed) by the call.
  const wasmTable = WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream'));
  return wasmWriteParquet(wasmTable, props);
}
