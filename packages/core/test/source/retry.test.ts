import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KiceError } from '../../src/errors.ts';
import {
  backoffDelay,
  isTransientKafkaError,
  type RetryClock,
  type RetryPolicy,
  withRetry,
} from '../../src/source/retry.ts';

// The error classes are kafkajs 2.2.4's own; protocol errors are built the way kafkajs
// builds them, from an entry of its error-code table.
type ErrorClass = new (...args: unknown[]) => Error;
const kafkajsErrors = kafkajs as unknown as Record<string, ErrorClass | undefined>;
function errorClass(name: string): ErrorClass {
  const c = kafkajsErrors[name];
  if (!c) throw new Error(`kafkajs exports no ${name}`);
  return c;
}
const KafkaJSError = errorClass('KafkaJSError');
const KafkaJSNonRetriableError = errorClass('KafkaJSNonRetriableError');
const KafkaJSProtocolError = errorClass('KafkaJSProtocolError');
const KafkaJSNumberOfRetriesExceeded = errorClass('KafkaJSNumberOfRetriesExceeded');
const KafkaJSConnectionError = errorClass('KafkaJSConnectionError');
const KafkaJSTopicMetadataNotLoaded = errorClass('KafkaJSTopicMetadataNotLoaded');
const KafkaJSGroupCoordinatorNotFound = errorClass('KafkaJSGroupCoordinatorNotFound');
const KafkaJSRequestTimeoutError = errorClass('KafkaJSRequestTimeoutError');
const KafkaJSSASLAuthenticationError = errorClass('KafkaJSSASLAuthenticationError');

const protocol = (type: string, message: string, retriable: boolean) =>
  new KafkaJSProtocolError({ type, message, retriable, code: 1 });

describe('isTransientKafkaError', () => {
  const transient: [string, unknown][] = [
    ['topic metadata not loaded', new KafkaJSTopicMetadataNotLoaded('Topic metadata not loaded')],
    // The consumer group re-wraps errors into a plain KafkaJSError that keeps the message only.
    ['a plain KafkaJSError saying so', new KafkaJSError('Topic metadata not loaded')],
    [
      'coordinator loading',
      protocol(
        'GROUP_LOAD_IN_PROGRESS',
        "The coordinator is loading and hence can't process requests for this group",
        true,
      ),
    ],
    [
      'coordinator not available',
      protocol('GROUP_COORDINATOR_NOT_AVAILABLE', 'The group coordinator is not available', true),
    ],
    [
      'not coordinator',
      protocol(
        'NOT_COORDINATOR_FOR_GROUP',
        'This is not the correct coordinator for this group',
        true,
      ),
    ],
    [
      'leader not available',
      protocol('LEADER_NOT_AVAILABLE', 'There is no leader for this topic-partition', true),
    ],
    ['request timed out', new KafkaJSRequestTimeoutError('Request Metadata(key: 3) timed out')],
    [
      'connection refused',
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
    ],
    [
      'retries exhausted on a retriable cause',
      new KafkaJSNumberOfRetriesExceeded(
        new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
        { retryCount: 5, retryTime: 3000 },
      ),
    ],
    [
      'group coordinator not found (non-retriable class, transient state)',
      new KafkaJSGroupCoordinatorNotFound('Failed to find group coordinator'),
    ],
    ['a bare socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [
      'a KiceError around a transient cause',
      new KiceError('KAFKA', 'x failed', {
        cause: new KafkaJSTopicMetadataNotLoaded('Topic metadata not loaded'),
      }),
    ],
  ];
  for (const [what, e] of transient) {
    it(`retries ${what}`, () => expect(isTransientKafkaError(e)).toBe(true));
  }

  const permanent: [string, unknown][] = [
    [
      'authorization failed',
      protocol('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics', false),
    ],
    ['a non-retriable kafkajs error', new KafkaJSNonRetriableError('Invalid topic undefined')],
    [
      'a rebalance, re-wrapped as retriable by the consumer group',
      new KafkaJSError('The group is rebalancing, so a rejoin is needed'),
    ],
    [
      'an illegal generation',
      protocol('ILLEGAL_GENERATION', 'Specified group generation id is not valid', false),
    ],
    [
      'a TypeError inside kafkajs',
      new KafkaJSNonRetriableError(new TypeError('x is undefined'), {
        cause: new TypeError('x is undefined'),
      }),
    ],
    [
      'an untrusted broker certificate (kafkajs keeps the TLS code on its connection error)',
      new KafkaJSNumberOfRetriesExceeded(
        new KafkaJSConnectionError(
          'Connection error: self-signed certificate in certificate chain',
          { broker: '127.0.0.1:9093', code: 'SELF_SIGNED_CERT_IN_CHAIN' } as never,
        ),
        { retryCount: 5, retryTime: 3000 },
      ),
    ],
    [
      'a certificate for another host',
      new KafkaJSConnectionError('Connection error: Hostname/IP does not match', {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      } as never),
    ],
    [
      'a wrong SASL password',
      new KafkaJSSASLAuthenticationError(
        'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
      ),
    ],
    [
      'a SASL_AUTHENTICATION_FAILED protocol error',
      protocol('SASL_AUTHENTICATION_FAILED', 'SASL Authentication failed', false),
    ],
    ['a plain Error', new Error('something else')],
    ['a string', 'Topic metadata not loaded'],
    ['undefined', undefined],
  ];
  for (const [what, e] of permanent) {
    it(`does not retry ${what}`, () => expect(isTransientKafkaError(e)).toBe(false));
  }
});

describe('backoffDelay', () => {
  const policy: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 1_000, timeoutMs: 10_000 };
  it('doubles from the initial delay up to the cap, within ±20 %', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, policy, 0.5))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffDelay(2, policy, 0)).toBe(160);
    expect(backoffDelay(2, policy, 0.999_999)).toBe(240);
    expect(backoffDelay(4, policy, 0.999_999)).toBe(960);
    expect(backoffDelay(5, policy, 0.999_999)).toBe(1_000);
  });
});

/** A clock whose sleeps only advance its time. */
function fakeClock(random = 0.5): RetryClock & { sleeps: number[] } {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    random: () => random,
    async sleep(ms) {
      sleeps.push(ms);
      t += ms;
    },
  };
}

const policy: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 400, timeoutMs: 2_000 };
const notLoaded = () => new KafkaJSTopicMetadataNotLoaded('Topic metadata not loaded');

describe('withRetry', () => {
  it('retries transient failures with backoff and returns the result', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await withRetry(
      'fetching beginning offsets of t',
      async () => {
        calls++;
        if (calls < 4) throw notLoaded();
        return 'ok';
      },
      { policy, clock },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    expect(clock.sleeps).toEqual([100, 200, 400]);
  });

  it('surfaces a non-transient error at once, naming the operation', async () => {
    const clock = fakeClock();
    let calls = 0;
    const err = await withRetry(
      'listing topics',
      async () => {
        calls++;
        throw protocol('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics', false);
      },
      { policy, clock },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
    expect(err).toBeInstanceOf(KiceError);
    expect((err as KiceError).code).toBe('KAFKA');
    expect((err as KiceError).retryable).toBe(false);
    expect((err as Error).message).toBe('listing topics failed: Not authorized to access topics');
  });

  it('gives up when the next delay would pass the budget', async () => {
    const clock = fakeClock();
    let calls = 0;
    const err = await withRetry(
      'fetching end offsets of t',
      async () => {
        calls++;
        throw notLoaded();
      },
      { policy, clock },
    ).catch((e: unknown) => e);
    // 100 + 200 + 400 + 400 = 1,100 ms slept; the next 400 still fits (1,500), the one after
    // (1,900) too; then 1,900 + 400 > 2,000.
    expect(clock.sleeps).toEqual([100, 200, 400, 400, 400, 400]);
    expect(calls).toBe(7);
    expect((err as Error).message).toBe(
      'fetching end offsets of t failed after 7 attempts in 1900 ms (kafka.retry.timeoutMs 2000): Topic metadata not loaded',
    );
    expect((err as KiceError).retryable).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(KafkaJSTopicMetadataNotLoaded);
  });

  it('stops retrying once aborted, with the last error', async () => {
    const clock = fakeClock();
    const abort = new AbortController();
    let calls = 0;
    const err = await withRetry(
      'committing offsets to Kafka',
      async () => {
        calls++;
        if (calls === 2) abort.abort();
        throw notLoaded();
      },
      { policy, clock, signal: abort.signal },
    ).catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect((err as Error).message).toBe(
      'committing offsets to Kafka failed: Topic metadata not loaded (not retried: stopping)',
    );
  });

  it('logs retries at debug and warns once when they go on past 10 s', async () => {
    const clock = fakeClock();
    const seen: string[] = [];
    const log = {
      debug: (_: object, m?: string) => seen.push(`debug ${m}`),
      info: (_: object, m?: string) => seen.push(`info ${m}`),
      warn: (_: object, m?: string) => seen.push(`warn ${m}`),
      error: (_: object, m?: string) => seen.push(`error ${m}`),
    };
    let calls = 0;
    await withRetry(
      'op',
      async () => {
        if (++calls < 30) throw notLoaded();
      },
      {
        policy: { initialDelayMs: 1_000, maxDelayMs: 1_000, timeoutMs: 60_000 },
        clock,
        log,
      },
    );
    expect(seen.filter((s) => s.startsWith('warn'))).toEqual([
      'warn Kafka still unavailable: retrying',
    ]);
    expect(seen.filter((s) => s.startsWith('debug')).length).toBe(28);
    expect(seen.some((s) => s.startsWith('error') || s.startsWith('info'))).toBe(false);
  });

  it('sleeps for real only as long as asked, and an abort ends a sleep at once', async () => {
    const { systemClock } = await import('../../src/source/retry.ts');
    const t0 = Date.now();
    await systemClock.sleep(5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4);
    const abort = new AbortController();
    const long = systemClock.sleep(60_000, abort.signal);
    abort.abort();
    await long;
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
