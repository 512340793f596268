/**
 * @kice/iceberg — the Apache Iceberg table format (v2) in TypeScript.
 * Curated public API; deep imports are not part of the contract.
 */

export { ScratchBytes, sharedBytes, tableToIpcInto } from './arrow/ipc-bytes.ts';
// arrow + writer
// arrow: the Iceberg ↔ Arrow type mapping
export {
  arrowFieldFor,
  arrowPrimitiveType,
  arrowSchemaFor,
  arrowTypeFor,
  EXTENSION_NAME_KEY,
  FIELD_ID_KEY,
  icebergSchemaFromArrow,
  icebergTypeOfArrowField,
  UUID_EXTENSION,
} from './arrow/schema.ts';
export { maskIndices, takeData } from './arrow/take.ts';
export { arrowDataValue, arrowValueToIceberg, icebergRowsToArrow } from './arrow/values.ts';
// catalog
export * from './catalog/catalog.ts';
export type { CommitObserver, CommitStep, CommitStepEvent } from './catalog/commit-steps.ts';
export { FilesystemCatalog, type FilesystemCatalogOptions } from './catalog/filesystem.ts';
// catalog: the Iceberg REST protocol
export { RestCatalog, type RestTable, type StorageCredential } from './catalog/rest/catalog.ts';
export type { RestCatalogOptions } from './catalog/rest/config.ts';
// catalog: a table opened (and committed to) from its metadata file
export { openTable } from './catalog/static.ts';
export type { TableRequirement, TableUpdate } from './catalog/updates.ts';
export * from './errors.ts';
// io
export { DispatchingFileIO, type DispatchTargets } from './io/dispatch.ts';
export {
  bufferedOutput,
  type FileIO,
  joinPath,
  type OutputStream,
  type WriteOptions,
} from './io/file-io.ts';
export { LocalFileIO, toFileUri, toLocalPath } from './io/local.ts';
export { MemoryFileIO } from './io/memory.ts';
export {
  DEFAULT_PART_SIZE,
  DEFAULT_PARTS_IN_FLIGHT,
  MIN_PART_SIZE,
  type S3FileIOOptions,
} from './io/s3/options.ts';
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableS3Error,
  type RetryPolicy,
  withRetry,
} from './io/s3/retry.ts';
export { S3FileIO, s3ClientConfig } from './io/s3/s3-file-io.ts';
export { formatS3Uri, isS3Uri, parseS3Uri } from './io/s3/uri.ts';
// scan
export {
  type ColdScan,
  type ColdScanOptions,
  type ColdScanStats,
  coldScan,
  collectTable,
  scanBatches,
  scanTable,
  selectSchema,
} from './scan/cold-scan.ts';
export {
  DELETE_FILE_PATH_ID,
  DELETE_POS_ID,
  POSITION_DELETE_SCHEMA,
} from './scan/deletes.ts';
export * from './scan/expressions.ts';
export {
  type ChunkPageIndex,
  type ColumnIndex,
  type PageLocation,
  parseColumnIndex,
  parseOffsetIndex,
} from './scan/page-index.ts';
export type {
  ColumnChunk,
  FileMetaData,
  RowGroup as ParquetRowGroup,
} from './scan/parquet-footer.ts';
export { type FileScanTask, planFiles, type ScanOptions, type ScanPlan } from './scan/planner.ts';
export { readFooter } from './scan/ranged-read.ts';
export { toReadBatch } from './scan/read-batch.ts';
export { arrowTableToRows, readParquet } from './scan/read-parquet.ts';
export {
  decodeRowGroup,
  type RowGroupDecoder,
  type RowGroupRequest,
} from './scan/row-group-decoder.ts';
export { type Row, scanRows } from './scan/table-scan.ts';
export { type ColumnBatch, evalBatch } from './scan/vector-filter.ts';
export { parseJson, stringifyJson } from './spec/json.ts';
export type * from './spec/manifest.ts';
export { readManifest, writeManifest } from './spec/manifest-file.ts';
export { readManifestList, writeManifestList } from './spec/manifest-list.ts';
export * from './spec/partition-spec.ts';
export * from './spec/snapshot.ts';
export * from './spec/table-metadata.ts';
export {
  applyTransform,
  canTransform,
  humanPartitionValue,
  parseTransform,
  type Transform,
  transformResultType,
  transformToString,
} from './spec/transforms.ts';
// spec: pure model and codecs
export * from './spec/types.ts';
export { compareValues, fromBytes, toBytes } from './spec/values.ts';
// transaction
export {
  AppendOperation,
  newSnapshotId,
  type Validator,
} from './transaction/append.ts';
export {
  type ExpireSnapshotsOptions,
  type ExpireSnapshotsResult,
  expireSnapshots,
  maintainAfterCommit,
  snapshotsToExpire,
} from './transaction/expire-snapshots.ts';
export { FastAppend, fastAppend } from './transaction/fast-append.ts';
export {
  type ManifestMergePolicy,
  MergeAppend,
  mergeAppend,
  mergePolicyFrom,
} from './transaction/merge-append.ts';
export { buildSummary } from './transaction/summary.ts';
export { writeDataFile } from './writer/data-file-writer.ts';
export { type WritePartitionedOptions, writePartitioned } from './writer/fanout.ts';
export { computeMetrics } from './writer/metrics.ts';
export {
  arrowByteLength,
  DEFAULT_DICTIONARY_PAGE_BYTES,
  type ParquetCompression,
  writeParquet,
  writeParquetStream,
} from './writer/parquet.ts';

// Puffin files and Iceberg v3 deletion vectors (deletion-vector-v1 blobs).

export { type PuffinCompressionCodec, zstdAvailable } from './puffin/compression.ts';
export {
  type DecodeDeletionVectorOptions,
  DeletionVector,
  DV_MAGIC,
  decodeDeletionVector,
  encodeDeletionVector,
  type RowPosition,
} from './puffin/deletion-vector.ts';
export {
  CARDINALITY_PROPERTY,
  type DeletionVectorLocation,
  DV_BLOB_TYPE,
  deletionVectorBlob,
  deletionVectorFromBlob,
  REFERENCED_DATA_FILE_PROPERTY,
  ROW_POSITION_FIELD_ID,
  readDeletionVector,
} from './puffin/dv-blob.ts';
export {
  CREATED_BY_PROPERTY,
  FLAG_FOOTER_PAYLOAD_COMPRESSED,
  FOOTER_STRUCT_LENGTH,
  fileMetadataToJson,
  PUFFIN_MAGIC,
  type PuffinBlobMetadata,
  type PuffinFileMetadata,
  parseFileMetadata,
} from './puffin/format.ts';
export {
  PUFFIN_TAIL_BYTES,
  type PuffinFooter,
  parsePuffin,
  parsePuffinFooter,
  puffinBlobData,
  puffinFooterSize,
  readPuffinBlob,
  readPuffinFooter,
} from './puffin/reader.ts';
export {
  type PuffinBlob,
  type PuffinFile,
  PuffinWriter,
  type PuffinWriterOptions,
  writePuffin,
  writePuffinFile,
} from './puffin/writer.ts';
