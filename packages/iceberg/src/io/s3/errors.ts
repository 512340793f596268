/**
 * Maps a failed S3 request onto the library's errors: NoSuchKey / 404 → NotFoundError,
 * everything else → IcebergError('IO') whose message names the object (s3://bucket/key),
 * the operation and S3's error code; `retryable` is true when the budget ran out on a
 * transient error (so a caller further up may try again later).
 */
import { IcebergError, NotFoundError } from '../../errors.ts';
import { errorCodeOf, httpStatusOf, RetriesExhausted } from './retry.ts';

export function s3Error(op: string, uri: string, e: unknown): IcebergError {
  const attempts = e instanceof RetriesExhausted ? e.attempts : 1;
  const transient = e instanceof RetriesExhausted ? e.retryable : false;
  const last = e instanceof RetriesExhausted ? e.last : e;
  if (last instanceof IcebergError) return last;
  const code = errorCodeOf(last);
  const status = httpStatusOf(last);
  if (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchBucket'))
    return new NotFoundError(`file not found: ${uri}`, { path: uri });
  const message = (last as Error | undefined)?.message;
  return new IcebergError(
    'IO',
    `S3 ${op} ${uri} failed: ${code}${status === undefined ? '' : ` (HTTP ${status})`}` +
      `${attempts > 1 ? ` after ${attempts} attempts` : ''}${message && message !== code ? `: ${message}` : ''}`,
    {
      retryable: transient,
      cause: last,
      context: { path: uri, op, s3Code: code, httpStatus: status, attempts },
    },
  );
}
