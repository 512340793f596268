/**
 * Retries for object-store requests: jittered exponential backoff ("full jitter": a
 * uniformly random delay in [0, min(maxDelayMs, baseDelayMs · 2^(attempt-1))]), bounded by
 * an attempt count and a total time budget, whichever runs out first.
 *
 * What is retried is decided by `isRetryableS3Error`: HTTP 5xx, 429, S3's throttling and
 * timeout codes (SlowDown, RequestTimeout, …), client-side timeouts and connection errors
 * (reset, refused, broken pipe). Everything else (4xx such as AccessDenied, NoSuchBucket,
 * PreconditionFailed) fails at once.
 * See https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html and
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html.
 */

export interface RetryPolicy {
  /** Attempts in total, the first included (1 = no retries). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** No new attempt starts once this much time has passed since the first one. */
  readonly totalTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  totalTimeoutMs: 60_000,
};

const RETRYABLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status of an SDK error, if the server answered. */
export function httpStatusOf(e: unknown): number | undefined {
  return (e as SdkLikeError | undefined)?.$metadata?.httpStatusCode;
}

/** S3's error code (`NoSuchKey`, `SlowDown`, …) or the Node error code for network errors. */
export function errorCodeOf(e: unknown): string {
  const err = e as SdkLikeError | undefined;
  return err?.Code ?? err?.code ?? err?.name ?? 'Unknown';
}

export function isRetryableS3Error(e: unknown): boolean {
  const status = httpStatusOf(e);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const err = e as SdkLikeError | undefined;
  for (const c of [err?.Code, err?.code, err?.name]) if (c && RETRYABLE_CODES.has(c)) return true;
  // Node's fetch / http wrap the socket error as the cause.
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== e && isRetryableS3Error(cause);
}

/** The delay before attempt `attempt + 1` (attempt ≥ 1), given a random number in [0, 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random * cap);
}

export interface RetryOutcome<T> {
  readonly value: T;
  readonly attempts: number;
}

/** Thrown by `withRetry` with the last error and how many attempts were made. */
export class RetriesExhausted extends Error {
  constructor(
    readonly last: unknown,
    readonly attempts: number,
    readonly retryable: boolean,
  ) {
    super(`failed after ${attempts} attempt(s)`, { cause: last });
    this.name = 'RetriesExhausted';
  }
}

export interface RetryHooks {
  readonly isRetryable?: (e: unknown) => boolean;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `op(attempt)` until it succeeds, fails with a non-retryable error, or the policy's
 * budget is spent; then throws RetriesExhausted carrying the last error.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  op: (attempt: number) => Promise<T>,
  hooks: RetryHooks = {},
): Promise<RetryOutcome<T>> {
  const isRetryable = hooks.isRetryable ?? isRetryableS3Error;
  const sleep = hooks.sleep ?? realSleep;
  const random = hooks.random ?? Math.random;
  const now = hooks.now ?? Date.now;
  const start = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await op(attempt), attempts: attempt };
    } catch (e) {
      const retryable = isRetryable(e);
      if (!retryable || attempt >= policy.maxAttempts)
        throw new RetriesExhausted(e, attempt, retryable);
      const delay = backoffDelay(policy, attempt, random());
      if (now() + delay - start >= policy.totalTimeoutMs)
        throw new RetriesExhausted(e, attempt, true);
      await sleep(delay);
    }
  }
}
