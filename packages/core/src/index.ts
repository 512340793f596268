/**
 * @kice/core — the kice engine: Kafka topics → Apache Iceberg tables.
 */

export { FilesystemCatalog, LocalFileIO, toFileUri } from '@kice/iceberg';
export { type CreateCatalogOptions, createCatalog } from './catalog/create-catalog.ts';
export { Committer, type TableState } from './commit/committer.ts';
export { OFFSETS_PROPERTY_PREFIX, offsetsProperty, readOffsets } from './commit/offsets.ts';
export {
  readWatermark,
  TABLE_WATERMARK_PROPERTY,
  type TableWatermark,
  WATERMARKS_PROPERTY_PREFIX,
  watermarksProperty,
} from './commit/watermark.ts';
export { parseListen } from './config/http-listen.ts';
export { ConfigError, loadConfigFile, parseConfig, validateConfig } from './config/load.ts';
export type {
  CatalogConfig,
  HttpConfig,
  KiceConfig,
  KiceConfigInput,
  TableConfig,
} from './config/schema.ts';
export {
  isSecretKey,
  redact as redactSecrets,
  redactConfig,
  registerSecrets,
} from './config/secrets.ts';
export type { EngineMetrics, Logger } from './coordinator.ts';
export {
  type CommitEvent,
  createEngine,
  createLogger,
  type Engine,
  type EngineOptions,
  type LoggerTarget,
  logFormat,
  type PartitionReport,
  type QueryOptions,
  type QueryResult,
  type RecordKey,
  type TableReport,
} from './engine.ts';
export { KiceError, type KiceErrorCode } from './errors.ts';
export { formatFor, MAX_BODY, type Queryable, queryRequest } from './http/query-routes.ts';
export { type HttpServer, startHttpServer } from './http/server.ts';
export { CONTENT_TYPES, encode, FORMATS, type Format, pipeResult } from './query/encode.ts';
export { checkExprJson, parseWhere, whereOf } from './query/where.ts';
export {
  createRuntime,
  type Runtime,
  type RuntimeOptions,
  type RuntimeStats,
} from './runtime/runtime.ts';
export type { SharedBudgetStats } from './runtime/shared-budget.ts';
export { createFileIO } from './storage/file-io.ts';
