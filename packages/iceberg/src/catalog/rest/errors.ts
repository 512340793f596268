/**
 * REST catalog errors: the spec's ErrorModel (`{"error": {"message", "type", "code"}}`,
 * https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml
 * components/schemas/ErrorModel and the shared responses such as CommitFailedResponse)
 * mapped onto @kice/iceberg's errors. Every mapped error keeps the HTTP status, the
 * server's error type and message in `context` ({status, type, route}); no request
 * headers or bodies are ever put in a message, so secrets cannot leak through errors.
 */
import {
  AlreadyExistsError,
  CommitConflictError,
  IcebergError,
  NotFoundError,
} from '../../errors.ts';

export interface RestErrorBody {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

/** Reads an ErrorModel from a response body; falls back to the status line. */
export function parseErrorBody(status: number, body: unknown, statusText: string): RestErrorBody {
  const err =
    body && typeof body === 'object' && 'error' in body
      ? (body as { error: unknown }).error
      : undefined;
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    return {
      status,
      type: typeof e.type === 'string' ? e.type : 'Unknown',
      message: typeof e.message === 'string' ? e.message : statusText,
    };
  }
  return { status, type: 'Unknown', message: statusText || `HTTP ${status}` };
}

/** Statuses after which a commit's outcome is unknown (the spec's 500/502/503/504). */
export function isUnknownOutcome(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504;
}

/** Statuses that a read may simply retry (the server or a proxy is restarting). */
export function isTransient(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/** Maps an error response of `route` (e.g. "POST namespaces/{ns}/tables") to an error. */
export function restError(route: string, e: RestErrorBody): IcebergError {
  const text = `REST catalog: ${route} failed with HTTP ${e.status} ${e.type}: ${e.message}`;
  const context = { status: e.status, type: e.type, route };
  if (e.status === 409 && e.type === 'CommitFailedException')
    return new CommitConflictError(text, context);
  if (e.status === 404) return new NotFoundError(text, context);
  if (e.status === 409) return new AlreadyExistsError(text, context);
  if (e.status === 400 || e.status === 406 || e.status === 422)
    return new IcebergError('INVALID_ARGUMENT', text, { context });
  return new IcebergError('IO', text, { context, retryable: isTransient(e.status) });
}
