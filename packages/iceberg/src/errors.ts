/**
 * One error base for @kice/iceberg. Every error carries a stable `code`, whether the
 * operation may be retried (`retryable`), structured `context` and an optional `cause`.
 */
export type IcebergErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_METADATA'
  | 'INVALID_SCHEMA'
  | 'INVALID_AVRO'
  | 'INVALID_PARQUET'
  | 'UNSUPPORTED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'COMMIT_CONFLICT'
  | 'REQUIREMENT_FAILED'
  /** A commit whose outcome could not be determined (the server failed mid-commit). */
  | 'COMMIT_STATE_UNKNOWN'
  | 'IO';

export class IcebergError extends Error {
  readonly code: IcebergErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(
    code: IcebergErrorCode,
    message: string,
    options: { retryable?: boolean; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IcebergError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }
}

/** A commit lost an optimistic-concurrency race; refresh and retry. */
export class CommitConflictError extends IcebergError {
  constructor(message: string, context: Record<string, unknown> = {}, cause?: unknown) {
    super('COMMIT_CONFLICT', message, { retryable: true, context, cause });
    this.name = 'CommitConflictError';
  }
}

export class NotFoundError extends IcebergError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('NOT_FOUND', message, { context });
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends IcebergError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('ALREADY_EXISTS', message, { context });
    this.name = 'AlreadyExistsError';
  }
}
