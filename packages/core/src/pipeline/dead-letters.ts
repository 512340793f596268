/**
 * The dead-letter sink: everything about records that cannot be written to their table.
 *
 * - `prepare()` (at engine start, before anything is consumed) makes sure the topic
 *   `deadLetter.topic` exists: if missing it is created when `deadLetter.create` is set
 *   (with `deadLetter.partitions` and `deadLetter.replicationFactor`), else start fails
 *   naming the topic and the setting. It then reads the topic's `max.message.bytes`
 *   (falling back to the broker's `message.max.bytes`, then to 1,000,000) and derives the
 *   byte budget of one produce request (dead-letter-chunks.ts).
 * - `send(batch, raw, errors)` turns a batch's failed records (and, with
 *   `deadLetter.tombstones: deadLetter`, its tombstones) into dead letters with headers
 *   `kice.source.topic`, `kice.source.partition`, `kice.source.offset` and `kice.error`,
 *   truncates a record too large for one request (headers `kice.original.size` and
 *   `kice.original.sha256`), and sends them in requests under the budget. It resolves
 *   once every record is acknowledged, with the counts for the engine's metrics.
 * - Transient send errors are retried with bounded exponential backoff; a request the
 *   broker refuses as too large is split (or its one record cut further); any other
 *   non-retriable error, or an exhausted retry budget, rejects naming the topic.
 */
import { ConfigError } from '../config/load.ts';
import type { KiceConfig } from '../config/schema.ts';
import { KiceError } from '../errors.ts';
import type { NewTopic } from '../source/admin.ts';
import type { DeadLetterProducer, DeadLetterRecord } from '../source/producer.ts';
import type { SourceBatch } from '../source/types.ts';
import {
  chunkRecords,
  fitRecord,
  MIN_BUDGET,
  MIN_MAX_MESSAGE_BYTES,
  ORIGINAL_SIZE_HEADER,
  recordSize,
  requestBudget,
} from './dead-letter-chunks.ts';

/** The cluster calls `prepare()` needs (KafkaAdmin has them). */
export interface DeadLetterAdmin {
  listTopics(): Promise<string[]>;
  createTopics(topics: readonly NewTopic[]): Promise<void>;
  /** The topic's configs among `names` (absent when not set or unknown). */
  describeTopicConfig(topic: string, names: readonly string[]): Promise<Map<string, string>>;
  /** A broker's configs among `names`. */
  describeBrokerConfig(names: readonly string[]): Promise<Map<string, string>>;
}

interface SinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Backoff of transient errors: attempts in all, first delay, cap of one delay. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

/** About 30 s of waiting between attempts (each with kafkajs's own retries) before a transient error is fatal. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 10, initialMs: 200, maxMs: 5_000 };

/** Used when neither the topic's nor the broker's limit can be read (Kafka's documented default, rounded down). */
export const FALLBACK_MAX_MESSAGE_BYTES = 1_000_000;

export interface DeadLetterSinkDeps {
  readonly config: KiceConfig;
  readonly producer: DeadLetterProducer;
  readonly log: SinkLogger;
  readonly brokers?: readonly string[];
  readonly retry?: RetryPolicy;
  /** Waits between retries (tests pass one that does not wait). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What one `send` dead-lettered and counted. */
export interface DeadLetterCounts {
  /** Records sent to the dead-letter topic. */
  readonly deadLetters: number;
  /** Tombstones seen (sent or skipped per `deadLetter.tombstones`). */
  readonly tombstones: number;
}

/** Kafka error types a retry cannot fix. */
const FATAL_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_RECORD',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_VERSION',
]);
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The errors of `e`'s cause chain, outermost first. */
function chain(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let x = e; x != null && out.length < 10; x = (x as { cause?: unknown }).cause) out.push(x);
  return out;
}

function errorType(e: unknown): string | undefined {
  for (const x of chain(e)) {
    const t = (x as { type?: unknown }).type;
    if (typeof t === 'string') return t;
  }
  return undefined;
}

/** Whether the broker refused a request as larger than the topic's limit. */
export function isTooLarge(e: unknown): boolean {
  return TOO_LARGE_TYPES.has(errorType(e) ?? '');
}

/** Whether a retry may succeed: some error of the chain says so and none is of a fatal type. */
export function isTransient(e: unknown): boolean {
  const type = errorType(e);
  if (type !== undefined && (FATAL_TYPES.has(type) || TOO_LARGE_TYPES.has(type))) return false;
  return chain(e).some(
    (x) =>
      (x as { retryable?: unknown }).retryable === true ||
      (x as { retriable?: unknown }).retriable === true,
  );
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class DeadLetterSink {
  private readonly deps: DeadLetterSinkDeps;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Byte budget of one request; set by prepare() (before it, the fallback's). */
  private budget = requestBudget(FALLBACK_MAX_MESSAGE_BYTES);
  private maxMessageBytes = FALLBACK_MAX_MESSAGE_BYTES;

  constructor(deps: DeadLetterSinkDeps) {
    this.deps = deps;
    this.retry = deps.retry ?? DEFAULT_RETRY;
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The dead-letter topic (only used when `deadLetter.topic` is set). */
  get topic(): string {
    return this.deps.config.deadLetter.topic ?? '';
  }

  /** The byte budget of one produce request. */
  get requestBudget(): number {
    return this.budget;
  }

  /** The `max.message.bytes` the budget derives from. */
  get limit(): number {
    return this.maxMessageBytes;
  }

  /**
   * Makes sure the dead-letter topic exists (creating it if allowed) and reads its size
   * limit. Rejects with an error naming the topic and the setting when it cannot.
   */
  async prepare(admin: DeadLetterAdmin): Promise<void> {
    const cfg = this.deps.config.deadLetter;
    if (cfg.topic === undefined) return; // dead letters go to deadLetter.table only
    const dl = { ...cfg, topic: cfg.topic };
    const topics = await this.withRetry(
      `listing topics to check dead-letter topic "${dl.topic}"`,
      () => admin.listTopics(),
    );
    if (!topics.includes(dl.topic)) {
      const where = this.deps.brokers ? ` on ${this.deps.brokers.join(',')}` : '';
      if (!dl.create) {
        throw new ConfigError([
          `deadLetter.topic: topic "${dl.topic}" does not exist${where} and deadLetter.create is false`,
        ]);
      }
      const settings = `deadLetter.partitions ${dl.partitions}, deadLetter.replicationFactor ${dl.replicationFactor}`;
      await this.withRetry(
        `creating dead-letter topic "${dl.topic}" (deadLetter.create; ${settings})`,
        () =>
          admin.createTopics([
            {
              topic: dl.topic,
              numPartitions: dl.partitions,
              replicationFactor: dl.replicationFactor,
            },
          ]),
      );
      this.deps.log.info(
        { topic: dl.topic, partitions: dl.partitions, replicationFactor: dl.replicationFactor },
        'dead-letter topic created',
      );
    }
    const { bytes, from } = await this.readLimit(admin);
    if (bytes < MIN_MAX_MESSAGE_BYTES) {
      throw new KiceError(
        'CONFIG_INVALID',
        `deadLetter.topic: topic "${dl.topic}" takes messages of at most ${bytes} bytes (${from}); kice needs at least ${MIN_MAX_MESSAGE_BYTES}`,
      );
    }
    this.maxMessageBytes = bytes;
    this.budget = requestBudget(bytes);
    this.deps.log.debug(
      { topic: dl.topic, maxMessageBytes: bytes, from, requestBudget: this.budget },
      'dead-letter request budget',
    );
  }

  private async readLimit(admin: DeadLetterAdmin): Promise<{ bytes: number; from: string }> {
    const topic = this.topic;
    const parse = (v: string | undefined): number | undefined => {
      const n = v === undefined ? Number.NaN : Number(v);
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    };
    try {
      const c = await this.withRetry(`reading the configs of dead-letter topic "${topic}"`, () =>
        admin.describeTopicConfig(topic, ['max.message.bytes']),
      );
      const n = parse(c.get('max.message.bytes'));
      if (n !== undefined) return { bytes: n, from: 'topic max.message.bytes' };
    } catch (e) {
      this.deps.log.warn(
        { topic, reason: message(e) },
        'cannot read the dead-letter topic max.message.bytes; trying the broker message.max.bytes',
      );
    }
    try {
      const c = await admin.describeBrokerConfig(['message.max.bytes']);
      const n = parse(c.get('message.max.bytes'));
      if (n !== undefined) return { bytes: n, from: 'broker message.max.bytes' };
    } catch (e) {
      this.deps.log.warn(
        { topic, reason: message(e), fallback: FALLBACK_MAX_MESSAGE_BYTES },
        'cannot read the broker message.max.bytes; using the fallback',
      );
    }
    return { bytes: FALLBACK_MAX_MESSAGE_BYTES, from: 'fallback' };
  }

  /** The dead letters of a batch's failed records (tombstones per `deadLetter.tombstones`). */
  build(
    batch: SourceBatch,
    raw: { bytes: Uint8Array; offsets: Int32Array },
    errors: readonly { index: number; reason: string }[],
  ): { records: DeadLetterRecord[]; tombstones: number } {
    const dl = this.deps.config.deadLetter;
    const records: DeadLetterRecord[] = [];
    let tombstones = 0;
    for (const { index, reason } of errors) {
      const tombstone = batch.nulls[index] === 1;
      if (tombstone) {
        tombstones++;
        if (dl.tombstones === 'skip') continue;
      }
      const start = raw.offsets[index] as number;
      const end = raw.offsets[index + 1] as number;
      records.push({
        topic: this.topic,
        value: tombstone ? null : raw.bytes.slice(start, end),
        headers: {
          'kice.source.topic': batch.topic,
          'kice.source.partition': String(batch.partition),
          'kice.source.offset': String(batch.recordOffsets[index]),
          'kice.error': tombstone ? 'tombstone (null value)' : reason,
        },
      });
    }
    return { records, tombstones };
  }

  /** Dead-letters a batch's failed records; resolves once Kafka acknowledged every one. */
  async send(
    batch: SourceBatch,
    raw: { bytes: Uint8Array; offsets: Int32Array },
    errors: readonly { index: number; reason: string }[],
  ): Promise<DeadLetterCounts> {
    const { records, tombstones } = this.build(batch, raw, errors);
    if (records.length === 0) return { deadLetters: 0, tombstones };
    const stats = { requests: 0, truncated: 0, bytes: 0 };
    await this.sendRecords(records, this.budget, stats);
    this.deps.log.warn(
      {
        topic: batch.topic,
        partition: batch.partition,
        count: records.length,
        bytes: stats.bytes,
        requests: stats.requests,
        truncated: stats.truncated,
        first: records[0]?.headers['kice.error'],
      },
      'records dead-lettered',
    );
    return { deadLetters: records.length, tombstones };
  }

  private async sendRecords(
    records: readonly DeadLetterRecord[],
    budget: number,
    stats: { requests: number; truncated: number; bytes: number },
  ): Promise<void> {
    const fitted = records.map((r) => fitRecord(r, budget));
    for (const chunk of chunkRecords(fitted, budget)) {
      try {
        await this.withRetry(`dead-letter topic "${this.topic}": producer send`, () =>
          this.deps.producer.send(chunk),
        );
        stats.requests++;
        for (const r of chunk) {
          stats.bytes += recordSize(r);
          if (r.headers[ORIGINAL_SIZE_HEADER] !== undefined) stats.truncated++;
        }
      } catch (e) {
        // The topic's limit was lowered since start (or this count missed something):
        // smaller requests, down to one record cut to the minimum budget.
        if (!isTooLarge(e) || (chunk.length === 1 && budget <= MIN_BUDGET)) throw e;
        this.deps.log.warn(
          { topic: this.topic, records: chunk.length, budget, reason: message(e) },
          'dead-letter request refused as too large; sending it in smaller requests',
        );
        if (chunk.length === 1) {
          await this.sendRecords(chunk, Math.max(MIN_BUDGET, Math.floor(budget / 2)), stats);
        } else {
          const half = Math.ceil(chunk.length / 2);
          await this.sendRecords(chunk.slice(0, half), budget, stats);
          await this.sendRecords(chunk.slice(half), budget, stats);
        }
      }
    }
  }

  /** Closes the producer (safe when it never connected). */
  close(): Promise<void> {
    return this.deps.producer.close();
  }

  /** Runs `call`, retrying transient errors per the policy; else rejects naming `what`. */
  private async withRetry<T>(what: string, call: () => Promise<T>): Promise<T> {
    let delay = this.retry.initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (isTooLarge(e)) throw e;
        const transient = isTransient(e);
        if (!transient || attempt >= this.retry.attempts) {
          throw new KiceError(
            'KAFKA',
            `${what} failed${transient ? ` after ${attempt} attempts` : ''}: ${message(e)}`,
            { retryable: false, context: { topic: this.topic }, cause: e },
          );
        }
        this.deps.log.debug(
          { topic: this.topic, attempt, reason: message(e) },
          `${what}: retrying`,
        );
        await this.sleep(delay);
        delay = Math.min(this.retry.maxMs, delay * 2);
      }
    }
  }
}
