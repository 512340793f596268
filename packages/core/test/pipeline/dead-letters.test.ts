/**
 * The dead-letter sink against a FAKE producer and a FAKE admin (in-memory stand-ins that
 * record calls and fail on demand; the real broker path is covered by
 * test/integration/engine-dead-letters.integration.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import type { KiceConfig } from '../../src/config/schema.ts';
import { KiceError } from '../../src/errors.ts';
import { type DeadLetterAdmin, DeadLetterSink } from '../../src/pipeline/dead-letters.ts';
import type { NewTopic } from '../../src/source/admin.ts';
import type { DeadLetterProducer, DeadLetterRecord } from '../../src/source/producer.ts';
import type { SourceBatch } from '../../src/source/types.ts';

function config(deadLetter: Record<string, unknown> = {}): KiceConfig {
  return validateConfig({
    kafka: { brokers: ['k:1'], groupId: 'g' },
    catalog: { type: 'filesystem', warehouse: '/w' },
    tables: [{ topic: 'orders', table: 'n.orders' }],
    deadLetter: { topic: 'dlq', ...deadLetter },
  });
}

const silent = { info() {}, warn() {}, debug() {} };

/** A kafkajs-like error. */
function kafkaError(type: string, retriable: boolean): Error {
  return Object.assign(new Error(`broker says ${type}`), { type, retriable });
}

/** FAKE producer: records each request; `failures` are thrown by the next sends, in order. */
class FakeProducer implements DeadLetterProducer {
  readonly requests: DeadLetterRecord[][] = [];
  constructor(
    readonly failures: ((records: readonly DeadLetterRecord[]) => Error | undefined)[] = [],
  ) {}
  async send(records: readonly DeadLetterRecord[]): Promise<void> {
    const fail = this.failures.shift()?.(records);
    if (fail) throw fail;
    this.requests.push([...records]);
  }
  async close(): Promise<void> {}
}

/** FAKE admin over an in-memory topic list. */
class FakeAdmin implements DeadLetterAdmin {
  readonly created: NewTopic[] = [];
  constructor(
    readonly topics: string[],
    readonly topicConfig: Map<string, string> | Error = new Map([['max.message.bytes', '1048588']]),
    readonly brokerConfig: Map<string, string> | Error = new Map([
      ['message.max.bytes', '2000000'],
    ]),
    readonly createError?: Error,
  ) {}
  async listTopics(): Promise<string[]> {
    return this.topics;
  }
  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    if (this.createError) throw this.createError;
    this.created.push(...topics);
    this.topics.push(...topics.map((t) => t.topic));
  }
  async describeTopicConfig(): Promise<Map<string, string>> {
    if (this.topicConfig instanceof Error) throw this.topicConfig;
    return this.topicConfig;
  }
  async describeBrokerConfig(): Promise<Map<string, string>> {
    if (this.brokerConfig instanceof Error) throw this.brokerConfig;
    return this.brokerConfig;
  }
}

function sink(cfg: KiceConfig, producer: DeadLetterProducer, sleeps: number[] = []) {
  return new DeadLetterSink({
    config: cfg,
    producer,
    log: silent,
    brokers: ['k:1'],
    retry: { attempts: 4, initialMs: 100, maxMs: 250 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

/** A batch of `values` (null = tombstone) from orders/2 starting at offset 40. */
function batch(values: readonly (string | null)[]): {
  batch: SourceBatch;
  raw: { bytes: Uint8Array; offsets: Int32Array };
} {
  const parts = values.map((v) => new TextEncoder().encode(v ?? ''));
  const offsets = new Int32Array(values.length + 1);
  parts.forEach((p, i) => {
    offsets[i + 1] = (offsets[i] as number) + p.byteLength;
  });
  const bytes = new Uint8Array(offsets[values.length] as number);
  parts.forEach((p, i) => {
    bytes.set(p, offsets[i] as number);
  });
  const b: SourceBatch = {
    topic: 'orders',
    partition: 2,
    firstOffset: 40n,
    lastOffset: BigInt(40 + values.length - 1),
    nextOffset: BigInt(40 + values.length),
    count: values.length,
    bytes,
    offsets,
    nulls: Uint8Array.from(values.map((v) => (v === null ? 1 : 0))),
    recordOffsets: BigInt64Array.from(values.map((_, i) => BigInt(40 + i))),
    timestamps: new Float64Array(values.length),
    epoch: 0,
  };
  return { batch: b, raw: { bytes, offsets } };
}

describe('DeadLetterSink.prepare', () => {
  it('creates a missing topic with the configured partitions and replication factor', async () => {
    const admin = new FakeAdmin([]);
    const s = sink(config({ partitions: 3 }), new FakeProducer());
    await s.prepare(admin);
    expect(admin.created).toEqual([{ topic: 'dlq', numPartitions: 3, replicationFactor: -1 }]);
    expect(s.limit).toBe(1_048_588);
    expect(s.requestBudget).toBe(1_015_758);
  });

  it('leaves an existing topic alone', async () => {
    const admin = new FakeAdmin(['dlq']);
    await sink(config(), new FakeProducer()).prepare(admin);
    expect(admin.created).toEqual([]);
  });

  it('fails naming the topic and deadLetter.create when the topic is missing and create is false', async () => {
    const err = await sink(config({ create: false }), new FakeProducer())
      .prepare(new FakeAdmin(['other']))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'deadLetter.topic: topic "dlq" does not exist on k:1 and deadLetter.create is false',
    ]);
  });

  it('fails naming the topic and the settings when the topic cannot be created', async () => {
    const admin = new FakeAdmin(
      [],
      undefined,
      undefined,
      kafkaError('INVALID_REPLICATION_FACTOR', false),
    );
    const err = await sink(config({ replicationFactor: 3 }), new FakeProducer())
      .prepare(admin)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KiceError);
    expect((err as Error).message).toBe(
      'creating dead-letter topic "dlq" (deadLetter.create; deadLetter.partitions 1, deadLetter.replicationFactor 3) failed: broker says INVALID_REPLICATION_FACTOR',
    );
  });

  it("falls back to the broker's message.max.bytes, then to 1,000,000", async () => {
    const denied = kafkaError('TOPIC_AUTHORIZATION_FAILED', false);
    const a = sink(config(), new FakeProducer());
    await a.prepare(new FakeAdmin(['dlq'], denied));
    expect(a.limit).toBe(2_000_000);
    const b = sink(config(), new FakeProducer());
    await b.prepare(
      new FakeAdmin(['dlq'], denied, kafkaError('CLUSTER_AUTHORIZATION_FAILED', false)),
    );
    expect(b.limit).toBe(1_000_000);
    expect(b.requestBudget).toBe(968_689);
  });

  it('refuses a topic whose limit is below 4096 bytes', async () => {
    const err = await sink(config(), new FakeProducer())
      .prepare(new FakeAdmin(['dlq'], new Map([['max.message.bytes', '2000']])))
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'deadLetter.topic: topic "dlq" takes messages of at most 2000 bytes (topic max.message.bytes); kice needs at least 4096',
    );
  });
});

describe('DeadLetterSink.send', () => {
  const errors = [
    { index: 0, reason: 'invalid JSON: x' },
    { index: 2, reason: 'tombstone' },
  ];

  it('builds headers, skips tombstones by default and counts them', async () => {
    const p = new FakeProducer();
    const { batch: b, raw } = batch(['{bad', '{"ok":1}', null]);
    expect(await sink(config(), p).send(b, raw, errors)).toEqual({ deadLetters: 1, tombstones: 1 });
    expect(p.requests).toEqual([
      [
        {
          topic: 'dlq',
          value: new TextEncoder().encode('{bad'),
          headers: {
            'kice.source.topic': 'orders',
            'kice.source.partition': '2',
            'kice.source.offset': '40',
            'kice.error': 'invalid JSON: x',
          },
        },
      ],
    ]);
  });

  it('sends tombstones with deadLetter.tombstones: deadLetter', async () => {
    const p = new FakeProducer();
    const { batch: b, raw } = batch(['{bad', '{"ok":1}', null]);
    const counts = await sink(config({ tombstones: 'deadLetter' }), p).send(b, raw, errors);
    expect(counts).toEqual({ deadLetters: 2, tombstones: 1 });
    expect(p.requests[0]?.[1]).toEqual({
      topic: 'dlq',
      value: null,
      headers: {
        'kice.source.topic': 'orders',
        'kice.source.partition': '2',
        'kice.source.offset': '42',
        'kice.error': 'tombstone (null value)',
      },
    });
  });

  it('retries transient errors with backoff, then sends', async () => {
    const p = new FakeProducer([
      () => kafkaError('LEADER_NOT_AVAILABLE', true),
      // kafkajs gives up with a non-retriable wrapper around a retriable cause.
      () =>
        Object.assign(new Error('retries exceeded'), {
          retriable: false,
          cause: kafkaError('NOT_LEADER_FOR_PARTITION', true),
        }),
      () => new KiceError('KAFKA', 'producer connect failed: ECONNREFUSED', { retryable: true }),
    ]);
    const sleeps: number[] = [];
    const { batch: b, raw } = batch(['{bad']);
    await sink(config(), p, sleeps).send(b, raw, [{ index: 0, reason: 'r' }]);
    expect(sleeps).toEqual([100, 200, 250]);
    expect(p.requests).toHaveLength(1);
  });

  it('fails naming the topic after the retry budget', async () => {
    const p = new FakeProducer(
      Array.from({ length: 4 }, () => () => kafkaError('REQUEST_TIMED_OUT', true)),
    );
    const { batch: b, raw } = batch(['{bad']);
    const err = await sink(config(), p)
      .send(b, raw, [{ index: 0, reason: 'r' }])
      .catch((e) => e);
    expect((err as Error).message).toBe(
      'dead-letter topic "dlq": producer send failed after 4 attempts: broker says REQUEST_TIMED_OUT',
    );
  });

  it('fails at once on a non-retriable error, naming the topic', async () => {
    const p = new FakeProducer([() => kafkaError('TOPIC_AUTHORIZATION_FAILED', false)]);
    const sleeps: number[] = [];
    const { batch: b, raw } = batch(['{bad']);
    const err = await sink(config(), p, sleeps)
      .send(b, raw, [{ index: 0, reason: 'r' }])
      .catch((e) => e);
    expect((err as Error).message).toBe(
      'dead-letter topic "dlq": producer send failed: broker says TOPIC_AUTHORIZATION_FAILED',
    );
    expect(sleeps).toEqual([]);
  });

  it('splits a request the broker refuses as too large, and cuts a single record further', async () => {
    // The first request (3 records) and then the lone large record are refused once each.
    const p = new FakeProducer([
      () => kafkaError('MESSAGE_TOO_LARGE', false),
      () => undefined,
      (records) => (records.length === 1 ? kafkaError('MESSAGE_TOO_LARGE', false) : undefined),
    ]);
    const big = 'y'.repeat(5_000);
    const { batch: b, raw } = batch(['{a', '{b', big]);
    const s = sink(config(), p);
    await s.prepare(new FakeAdmin(['dlq'], new Map([['max.message.bytes', '10000']])));
    expect(s.requestBudget).toBe(8_915);
    await s.send(
      b,
      raw,
      [0, 1, 2].map((index) => ({ index, reason: 'r' })),
    );
    // The 5,000-byte record fits 8,915 bytes; refused alone, it is cut to half the budget:
    // 4457 - 40 - (116 + 32 + 94) header bytes = 4,175 bytes of value.
    expect(p.requests.map((r) => r.map((x) => x.value?.byteLength))).toEqual([[2, 2], [4_175]]);
    const last = p.requests[1]?.[0];
    expect(last?.headers['kice.original.size']).toBe('5000');
    expect(last?.headers['kice.source.offset']).toBe('42');
  });
});
