/**
 * The retry policy of the S3 FileIO in isolation (no server; a scripted operation and a
 * fake clock): what is retried, full-jitter backoff bounds, attempt and time budgets.
 */
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  isRetryableS3Error,
  type RetryPolicy,
  withRetry,
} from '../../src/io/s3/retry.ts';

const s3err = (name: string, status?: number) =>
  Object.assign(new Error(name), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  });

describe('isRetryableS3Error', () => {
  it('retries 5xx, 429, throttling codes, timeouts and connection errors; not 4xx', () => {
    for (const e of [
      s3err('InternalError', 500),
      s3err('SlowDown', 503),
      s3err('Whatever', 502),
      s3err('TooManyRequests', 429),
      s3err('RequestTimeout', 400),
      s3err('TimeoutError'),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      Object.assign(new Error('fetch failed'), {
        cause: Object.assign(new Error('x'), { code: 'EPIPE' }),
      }),
    ])
      expect(isRetryableS3Error(e), e.name).toBe(true);
    for (const e of [
      s3err('AccessDenied', 403),
      s3err('NoSuchKey', 404),
      s3err('PreconditionFailed', 412),
      new Error('bug'),
    ])
      expect(isRetryableS3Error(e), e.name).toBe(false);
  });
});

describe('withRetry', () => {
  const policy: RetryPolicy = {
    maxAttempts: 5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    totalTimeoutMs: 10_000,
  };

  it('backs off with full jitter, capped at maxDelayMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a, 0.999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(policy, 3, 0)).toBe(0);
  });

  it('retries until success and reports the attempts', async () => {
    const sleeps: number[] = [];
    let n = 0;
    const r = await withRetry(
      policy,
      async () => {
        if (++n < 3) throw s3err('SlowDown', 503);
        return 'ok';
      },
      { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    );
    expect(r).toEqual({ value: 'ok', attempts: 3 });
    expect(sleeps).toEqual([50, 100]);
  });

  it('stops at maxAttempts and at once on a non-retryable error', async () => {
    let n = 0;
    const e1 = await withRetry(
      policy,
      async () => {
        n++;
        throw s3err('InternalError', 500);
      },
      { sleep: async () => {} },
    ).catch((e) => e);
    expect(n).toBe(5);
    expect(e1).toMatchObject({ attempts: 5, retryable: true, last: { name: 'InternalError' } });
    n = 0;
    const e2 = await withRetry(
      policy,
      async () => {
        n++;
        throw s3err('AccessDenied', 403);
      },
      { sleep: async () => {} },
    ).catch((e) => e);
    expect(n).toBe(1);
    expect(e2).toMatchObject({ attempts: 1, retryable: false });
  });

  it('stops when the next delay would pass totalTimeoutMs', async () => {
    let clock = 0;
    let n = 0;
    const e = await withRetry(
      { ...policy, maxAttempts: 100, totalTimeoutMs: 1500 },
      async () => {
        n++;
        clock += 200; // each attempt takes 200 ms
        throw s3err('SlowDown', 503);
      },
      {
        sleep: async (ms) => {
          clock += ms;
        },
        random: () => 0.999,
        now: () => clock,
      },
    ).catch((e) => e);
    // 200 +99 +200 +199 +200 +399 = 1297; then 200 more → 1497, +799 ≥ 1500 → stop.
    expect(n).toBe(4);
    expect(e).toMatchObject({ attempts: 4, retryable: true });
  });
});
