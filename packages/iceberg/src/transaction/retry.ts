/**
 * Commit retries: exponential backoff with jitter on retryable errors, configured by the
 * table properties Java uses (https://iceberg.apache.org/docs/latest/configuration/#table-behavior-properties):
 * commit.retry.num-retries (4), commit.retry.min-wait-ms (100), commit.retry.max-wait-ms
 * (60000), commit.retry.total-timeout-ms (1800000).
 */
import { IcebergError } from '../errors.ts';

export interface RetryPolicy {
  readonly retries: number;
  readonly minWaitMs: number;
  readonly maxWaitMs: number;
  readonly totalTimeoutMs: number;
}

export function retryPolicyFrom(properties: Readonly<Record<string, string>>): RetryPolicy {
  const num = (k: string, d: number): number => {
    const v = properties[k];
    const n = v === undefined ? d : Number(v);
    return Number.isFinite(n) && n >= 0 ? n : d;
  };
  return {
    retries: num('commit.retry.num-retries', 4),
    minWaitMs: num('commit.retry.min-wait-ms', 100),
    maxWaitMs: num('commit.retry.max-wait-ms', 60_000),
    totalTimeoutMs: num('commit.retry.total-timeout-ms', 1_800_000),
  };
}

/** Runs `attempt(n)` until it succeeds, a non-retryable error is thrown, or the policy runs out. */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  const start = Date.now();
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      const retryable = e instanceof IcebergError && e.retryable;
      if (!retryable || n >= policy.retries || Date.now() - start > policy.totalTimeoutMs) throw e;
      const base = Math.min(policy.maxWaitMs, policy.minWaitMs * 2 ** n);
      await new Promise((r) => setTimeout(r, base / 2 + Math.random() * (base / 2)));
    }
  }
}
