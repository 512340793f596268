/**
 * Retrying what Kafka does every day: a leader moving, a coordinator loading, a broker
 * restarting. `withRetry(operation, attempt, options)` runs `attempt` until it succeeds,
 * waiting a jittered, exponentially growing delay after each transient failure, within a
 * time budget. A non-transient error, an exhausted budget or an abort (the engine stops)
 * surfaces as a KiceError('KAFKA') that names the operation; its cause is the last error.
 *
 * `isTransientKafkaError` decides what is transient. kafkajs's `retriable` flag alone is
 * not enough: its own retrier wraps a retriable cause in a non-retriable
 * KafkaJSNumberOfRetriesExceeded, some transient states are non-retriable error classes
 * (KafkaJSGroupCoordinatorNotFound, KafkaJSLockTimeout), the consumer group re-wraps
 * protocol errors into plain KafkaJSErrors that keep only the message, and plain Node
 * socket errors carry no flag at all. So the whole cause chain is looked at, by class
 * name, protocol type, message and socket code; a rebalance (the group must be joined
 * again, which kafkajs does on its own) is never retried here.
 */
import { KiceError } from '../errors.ts';
import type { SourceLogger } from './types.ts';

/** How long and how often to retry; see docs/config.md (`kafka.retry`). */
export interface RetryPolicy {
  /** Delay after the first failure. */
  readonly initialDelayMs: number;
  /** Cap on one delay. */
  readonly maxDelayMs: number;
  /** Budget for the whole operation, first attempt included: no retry starts past it. */
  readonly timeoutMs: number;
}

/** The defaults of `kafka.retry`. */
export const DEFAULT_RETRY: RetryPolicy = {
  initialDelayMs: 250,
  maxDelayMs: 5_000,
  timeoutMs: 300_000,
};

/** Time, sleep and randomness, injectable for tests. */
export interface RetryClock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A number in [0, 1). */
  random(): number;
}

/** The real clock. */
export const systemClock: RetryClock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

/** Options of one `withRetry` call. */
export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** Stops retrying (the last error surfaces at once); the attempt in flight is not cancelled. */
  readonly signal?: AbortSignal;
  /** Each retry is logged at debug; a retry that goes on past `warnAfterMs` warns once. */
  readonly log?: SourceLogger;
  readonly clock?: RetryClock;
}

/** After this long retrying one operation, one warning says so (the rest stays at debug). */
export const WARN_AFTER_MS = 10_000;

const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
]);

const TRANSIENT_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'REQUEST_TIMED_OUT',
  'REPLICA_NOT_AVAILABLE',
  'NETWORK_EXCEPTION',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'NOT_CONTROLLER',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'KAFKA_STORAGE_ERROR',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'OFFSET_NOT_AVAILABLE',
  'PREFERRED_LEADER_NOT_AVAILABLE',
  'UNSTABLE_OFFSET_COMMIT',
]);

/** Messages of transient states whose error lost its class or type on the way. */
const TRANSIENT_MESSAGES = [
  /metadata not loaded/i,
  /There is no leader for this topic-partition/i,
  /not the leader for that topic-partition/i,
  /group coordinator is not available/i,
  /coordinator is loading/i,
  /not the correct coordinator/i,
  /Failed to find group coordinator/i,
  /Request .* timed out/i,
  /Connection (error|timeout|closed)/i,
  /Closed connection/i,
  /^Not connected/i,
  /Failed to connect/i,
  /No broker available/i,
  /server disconnected before a response/i,
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH)\b/,
];

/** Errors that need a new group join (kafkajs rejoins by itself): retrying the call is futile. */
const REJOIN_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);
const REJOIN_MESSAGES = [
  /group is rebalancing/i,
  /generation id is not valid/i,
  /coordinator is not aware of this member/i,
];

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * A certificate the client does not trust, or a TLS handshake the two sides cannot agree
 * on: retrying changes nothing. Node's (OpenSSL's) verification codes, which kafkajs
 * keeps as `code` on its KafkaJSConnectionError.
 */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
]);

/** Authentication failures: a wrong password does not become right by retrying. */
const AUTH_NAMES = new Set(['KafkaJSSASLAuthenticationError']);
const AUTH_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
]);

/** Programming errors: never transient, whatever wraps them. */
const BUGS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly type?: unknown;
  readonly code?: unknown;
  readonly retriable?: unknown;
  readonly cause?: unknown;
}

/** `e`, its cause, its cause's cause … (at most 10). */
function chain(e: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let cur: unknown = e;
  while (cur !== null && typeof cur === 'object' && out.length < 10 && !out.includes(cur)) {
    out.push(cur as ErrorLike);
    cur = (cur as ErrorLike).cause;
  }
  return out;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Whether a text (an error message, a log line) names a transient Kafka state or a rebalance. */
export function isTransientText(text: string): boolean {
  return (
    TRANSIENT_MESSAGES.some((re) => re.test(text)) || REJOIN_MESSAGES.some((re) => re.test(text))
  );
}

/** Whether `e` is a transient Kafka state worth retrying the same call for. */
export function isTransientKafkaError(e: unknown): boolean {
  const links = chain(e);
  if (links.length === 0) return false;
  if (links.some((l) => BUGS.has(text(l.name)))) return false;
  if (
    links.some(
      (l) =>
        TLS_CODES.has(text(l.code)) || AUTH_NAMES.has(text(l.name)) || AUTH_TYPES.has(text(l.type)),
    )
  )
    return false;
  const rejoin = links.some(
    (l) => REJOIN_TYPES.has(text(l.type)) || REJOIN_MESSAGES.some((re) => re.test(text(l.message))),
  );
  if (rejoin) return false;
  const known = links.some(
    (l) =>
      TRANSIENT_NAMES.has(text(l.name)) ||
      TRANSIENT_TYPES.has(text(l.type)) ||
      SOCKET_CODES.has(text(l.code)) ||
      TRANSIENT_MESSAGES.some((re) => re.test(text(l.message))),
  );
  if (known) return true;
  // Otherwise kafkajs's own verdict on the innermost error (its wrappers are not retriable
  // even when what they wrap is).
  const root = links[links.length - 1] as ErrorLike;
  return /^KafkaJS/.test(text(root.name)) && root.retriable === true;
}

/** The delay after the `failures`-th failure: initial · 2^(failures-1), ±20 % jitter, capped. */
export function backoffDelay(failures: number, policy: RetryPolicy, random: number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.min(policy.maxDelayMs, Math.round(base * (0.8 + 0.4 * random)));
}

/** The message of the innermost error of `e`'s chain that has one. */
export function rootMessage(e: unknown): string {
  const links = chain(e);
  for (let i = links.length - 1; i >= 0; i--) {
    const m = text(links[i]?.message);
    if (m) return m;
  }
  return String(e);
}

/** Runs `attempt`, retrying transient Kafka errors with backoff within the policy's budget. */
export async function withRetry<T>(
  operation: string,
  attempt: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { policy, signal, log } = options;
  const clock = options.clock ?? systemClock;
  const start = clock.now();
  let warned = false;
  for (let failures = 1; ; failures++) {
    try {
      return await attempt();
    } catch (e) {
      const reason = rootMessage(e);
      const context = { operation, attempts: failures };
      if (!isTransientKafkaError(e)) {
        throw new KiceError('KAFKA', `${operation} failed: ${reason}`, { cause: e, context });
      }
      const elapsed = clock.now() - start;
      if (signal?.aborted) {
        throw new KiceError('KAFKA', `${operation} failed: ${reason} (not retried: stopping)`, {
          retryable: true,
          cause: e,
          context,
        });
      }
      const delay = backoffDelay(failures, policy, clock.random());
      if (elapsed + delay > policy.timeoutMs) {
        throw new KiceError(
          'KAFKA',
          `${operation} failed after ${failures} attempts in ${elapsed} ms (kafka.retry.timeoutMs ${policy.timeoutMs}): ${reason}`,
          { retryable: true, cause: e, context },
        );
      }
      const entry = { operation, attempt: failures, delayMs: delay, elapsedMs: elapsed, reason };
      if (!warned && elapsed >= WARN_AFTER_MS) {
        warned = true;
        log?.warn(entry, 'Kafka still unavailable: retrying');
      } else {
        log?.debug(entry, 'transient Kafka error: retrying');
      }
      await clock.sleep(delay, signal);
    }
  }
}
