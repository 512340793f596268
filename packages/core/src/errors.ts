/**
 * One error base for @kice/core: a stable `code`, `retryable`, structured `context`, and
 * `cause`. Worker tasks never throw these across the thread boundary: they return
 * `{ ok: false, error: toPlainError(e) }` and the main thread rebuilds with fromPlainError.
 */
export type KiceErrorCode =
  | 'CONFIG_INVALID'
  | 'DECODE_FAILED'
  | 'SCHEMA_INCOMPATIBLE'
  | 'OFFSET_GAP'
  | 'COMMIT_FAILED'
  | 'KAFKA'
  | 'WORKER'
  | 'INTERNAL'
  /** A query's table, column, snapshot or option is not valid (engine.query, engine.get). */
  | 'QUERY_INVALID';

export class KiceError extends Error {
  readonly code: KiceErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(
    code: KiceErrorCode,
    message: string,
    options: { retryable?: boolean; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KiceError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }
}

export interface PlainError {
  readonly name: string;
  readonly message: string;
  readonly code: string;
  readonly retryable: boolean;
  readonly stack?: string;
}

export function toPlainError(e: unknown): PlainError {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    code: typeof code === 'string' ? code : 'INTERNAL',
    retryable: Boolean((err as { retryable?: unknown }).retryable),
    ...(err.stack ? { stack: err.stack } : {}),
  };
}

export function fromPlainError(p: PlainError, code: KiceErrorCode = 'WORKER'): KiceError {
  const e = new KiceError(code, p.message, {
    retryable: p.retryable,
    context: { name: p.name, code: p.code },
  });
  if (p.stack) e.stack = p.stack;
  return e;
}
