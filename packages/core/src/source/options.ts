/**
 * Options of the kafkajs Source, validated once into a frozen, fully defaulted object
 * (maxWaitTimeInMs ≤ 1000 so that a resumed partition is fetched soon; heartbeat less than
 * the session).
 */
import { KiceError } from '../errors.ts';
import type { KafkaClientOptions } from './client.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';

/** What a caller passes to create a kafkajs Source. */
export interface KafkaSourceOptions extends KafkaClientOptions {
  /** Consumer group id. */
  readonly groupId: string;
  /** Topic names, or one pattern matched against the cluster's topic names. */
  readonly topics: readonly string[] | RegExp;
  /** With a pattern: how often to look for new matching topics (ms, default 30000, 0 = never). */
  readonly topicRefreshIntervalMs?: number;
  /** Per-partition fetch cap in bytes (default 4 MiB; must be ≥ the largest message). */
  readonly maxBytesPerPartition?: number;
  /** Whole-fetch cap in bytes (default 16 MiB). */
  readonly maxBytes?: number;
  /** Bytes the broker waits for before answering (default 1). */
  readonly minBytes?: number;
  /** Longest broker wait for minBytes (ms, default 500, at most 1000). */
  readonly maxWaitTimeInMs?: number;
  /** Group session timeout (ms, default 30000). */
  readonly sessionTimeout?: number;
  /** Heartbeat interval (ms, default 10000, less than sessionTimeout). */
  readonly heartbeatInterval?: number;
  /** Rebalance timeout (ms, default 60000). */
  readonly rebalanceTimeout?: number;
  /** Copy record keys into each batch (default false); a function decides per topic. */
  readonly keepKeys?: boolean | ((topic: string) => boolean);
  /** Copy record headers (exact bytes) into each batch (default false); a function decides per topic. */
  readonly keepHeaders?: boolean | ((topic: string) => boolean);
  /** Retries of admin, metadata and offset calls on transient errors (default DEFAULT_RETRY). */
  readonly retry?: RetryPolicy;
  /**
   * Who fetches records: 'kafkajs' (default; kafkajs decodes every record, batches arrive
   * through onBatch) or 'raw' (kice's own Fetch requests, fetch/fetcher.ts; whole record
   * batches as bytes arrive through onRawFetch, kafkajs keeps only the group membership).
   */
  readonly fetch?: 'raw' | 'kafkajs';
}

/** The validated options with every default filled in. */
export type ResolvedSourceOptions = Readonly<
  Required<
    Pick<
      KafkaSourceOptions,
      | 'groupId'
      | 'topicRefreshIntervalMs'
      | 'maxBytesPerPartition'
      | 'maxBytes'
      | 'minBytes'
      | 'maxWaitTimeInMs'
      | 'sessionTimeout'
      | 'heartbeatInterval'
      | 'rebalanceTimeout'
      | 'keepKeys'
      | 'keepHeaders'
      | 'retry'
      | 'fetch'
    >
  > &
    KafkaClientOptions & { topics: readonly string[] | RegExp }
>;

const MiB = 1024 * 1024;

function positiveInt(problems: string[], path: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0)
    problems.push(`options.${path} must be a positive integer (got ${v})`);
}

/**
 * Validates and defaults the Source options; throws one CONFIG_INVALID KiceError that lists
 * every problem, each naming the option and the rule.
 */
export function resolveSourceOptions(o: KafkaSourceOptions): ResolvedSourceOptions {
  const problems: string[] = [];
  if (!Array.isArray(o.brokers) || o.brokers.length === 0) {
    problems.push('options.brokers must list at least one "host:port"');
  }
  if (typeof o.groupId !== 'string' || o.groupId.length === 0) {
    problems.push('options.groupId must be a non-empty string');
  }
  let topics: readonly string[] | RegExp = o.topics;
  if (o.topics instanceof RegExp) {
    // A global or sticky pattern keeps state between test() calls: drop those flags.
    topics = new RegExp(o.topics.source, o.topics.flags.replace(/[gy]/g, ''));
  } else if (!Array.isArray(o.topics) || o.topics.length === 0 || o.topics.some((t) => !t)) {
    problems.push('options.topics must be a RegExp or a non-empty list of non-empty topic names');
  }
  const r = {
    ...o,
    topics,
    topicRefreshIntervalMs: o.topicRefreshIntervalMs ?? 30_000,
    maxBytesPerPartition: o.maxBytesPerPartition ?? 4 * MiB,
    maxBytes: o.maxBytes ?? 16 * MiB,
    minBytes: o.minBytes ?? 1,
    maxWaitTimeInMs: o.maxWaitTimeInMs ?? 500,
    sessionTimeout: o.sessionTimeout ?? 30_000,
    heartbeatInterval: o.heartbeatInterval ?? 10_000,
    rebalanceTimeout: o.rebalanceTimeout ?? 60_000,
    keepKeys: o.keepKeys ?? false,
    keepHeaders: o.keepHeaders ?? false,
    retry: o.retry ?? DEFAULT_RETRY,
    fetch: o.fetch ?? 'kafkajs',
  };
  if (r.fetch !== 'raw' && r.fetch !== 'kafkajs') {
    problems.push(`options.fetch must be "raw" or "kafkajs" (got ${JSON.stringify(r.fetch)})`);
  }
  if (!Number.isInteger(r.topicRefreshIntervalMs) || r.topicRefreshIntervalMs < 0) {
    problems.push(
      `options.topicRefreshIntervalMs must be a non-negative integer (got ${r.topicRefreshIntervalMs})`,
    );
  }
  positiveInt(problems, 'maxBytesPerPartition', r.maxBytesPerPartition);
  positiveInt(problems, 'maxBytes', r.maxBytes);
  positiveInt(problems, 'minBytes', r.minBytes);
  positiveInt(problems, 'sessionTimeout', r.sessionTimeout);
  positiveInt(problems, 'heartbeatInterval', r.heartbeatInterval);
  positiveInt(problems, 'rebalanceTimeout', r.rebalanceTimeout);
  positiveInt(problems, 'retry.initialDelayMs', r.retry.initialDelayMs);
  positiveInt(problems, 'retry.maxDelayMs', r.retry.maxDelayMs);
  positiveInt(problems, 'retry.timeoutMs', r.retry.timeoutMs);
  if (!Number.isInteger(r.maxWaitTimeInMs) || r.maxWaitTimeInMs < 0 || r.maxWaitTimeInMs > 1000) {
    problems.push(
      `options.maxWaitTimeInMs must be an integer from 0 to 1000 (got ${r.maxWaitTimeInMs})`,
    );
  }
  if (r.heartbeatInterval >= r.sessionTimeout) {
    problems.push(
      `options.heartbeatInterval must be less than options.sessionTimeout (got ${r.heartbeatInterval} ≥ ${r.sessionTimeout})`,
    );
  }
  if (r.maxBytesPerPartition > r.maxBytes) {
    problems.push(
      `options.maxBytesPerPartition must not exceed options.maxBytes (got ${r.maxBytesPerPartition} > ${r.maxBytes})`,
    );
  }
  if (problems.length > 0) {
    throw new KiceError(
      'CONFIG_INVALID',
      `invalid Kafka source options:\n- ${problems.join('\n- ')}`,
      {
        context: { problems },
      },
    );
  }
  return Object.freeze(r);
}
