/**
 * The kafkajs Source on a real single-node Kafka broker (test/infra/kafka.sh): compressed
 * delivery (snappy, lz4, zstd), seek from onAssign, pause/resume, a two-member rebalance,
 * end/committed offsets, and the dead-letter producer. Every test uses its own topics and
 * group; the broker is shared and left running.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaAdmin } from '../../packages/core/src/source/admin.ts';
import type { KafkaClientOptions } from '../../packages/core/src/source/client.ts';
import {
  type KafkaCodec,
  lz4Codec,
  snappyCodec,
  zstdCodec,
} from '../../packages/core/src/source/codecs.ts';
import { KafkajsSource } from '../../packages/core/src/source/kafkajs-source.ts';
import type { KafkaSourceOptions } from '../../packages/core/src/source/options.ts';
import { batchValue } from '../../packages/core/src/source/pack.ts';
import {
  createDeadLetterProducer,
  createRecordProducer,
  type DeadLetterRecord,
  type ProducerCompression,
} from '../../packages/core/src/source/producer.ts';
import type {
  AssignInfo,
  SourceBatch,
  SourceHandlers,
  TopicPartition,
} from '../../packages/core/src/source/types.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let kafka: KafkaClientOptions;
let admin: KafkaAdmin;
const sources: KafkajsSource[] = [];

const unique = (name: string): string => `kice-src-${name}-${randomBytes(4).toString('hex')}`;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Polls until `cond` holds or fails after `ms`. */
async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A record value that differs per topic, partition and index, in length too; every 97th is a tombstone. */
function recordValue(topic: string, partition: number, i: number): Uint8Array | null {
  if (i % 97 === 13) return null;
  return enc.encode(`${topic}|${partition}|${i}|${'x'.repeat(i % 41)}`);
}

/** Collects what a Source reports; onAssign seeks every partition to `seekTo(tp)` and resumes. */
class Collector implements SourceHandlers {
  readonly batches: SourceBatch[] = [];
  readonly assigns: { assigned: TopicPartition[]; info: AssignInfo }[] = [];
  readonly revokes: TopicPartition[][] = [];
  readonly errors: Error[] = [];
  /** value (or null) per "topic:partition" → offset → list of deliveries */
  readonly seen = new Map<string, Map<bigint, (string | null)[]>>();
  source: KafkajsSource | undefined;

  constructor(private readonly seekTo: (tp: TopicPartition) => bigint = () => 0n) {}

  onAssign(assigned: TopicPartition[], info: AssignInfo): void {
    this.assigns.push({ assigned, info });
    for (const tp of assigned) this.source?.seek(tp, this.seekTo(tp));
    this.source?.resume(assigned);
  }
  onRevoke(revoked: TopicPartition[]): void {
    this.revokes.push(revoked);
  }
  onBatch(batch: SourceBatch): void {
    this.batches.push(batch);
    const key = `${batch.topic}:${batch.partition}`;
    const m = this.seen.get(key) ?? new Map<bigint, (string | null)[]>();
    this.seen.set(key, m);
    for (let i = 0; i < batch.count; i++) {
      const off = batch.recordOffsets[i] as bigint;
      const v = batchValue(batch, i);
      const list = m.get(off) ?? [];
      list.push(v === null ? null : dec.decode(v));
      m.set(off, list);
    }
  }
  onError(e: Error): void {
    this.errors.push(e);
  }
  readonly progress: [string, bigint][] = [];
  onProgress(tp: TopicPartition, nextOffset: bigint): void {
    this.progress.push([`${tp.topic}:${tp.partition}`, nextOffset]);
  }
  /** Highest contiguous next offset seen for a partition. */
  next(topic: string, partition: number): bigint {
    const m = this.seen.get(`${topic}:${partition}`);
    let n = 0n;
    while (m?.has(n)) n++;
    return n;
  }
  last(): AssignInfo & { assigned: TopicPartition[] } {
    const a = this.assigns[this.assigns.length - 1];
    if (!a) throw new Error('never assigned');
    return { ...a.info, assigned: a.assigned };
  }
}

async function startSource(
  collector: Collector,
  options: Partial<KafkaSourceOptions> & { topics: string[] | RegExp },
) {
  const source = new KafkajsSource({
    ...kafka,
    groupId: unique('group'),
    maxWaitTimeInMs: 200,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    rebalanceTimeout: 10_000,
    ...options,
  });
  collector.source = source;
  sources.push(source);
  await source.start(collector);
  return source;
}

/** Every offset 0..n-1 of the partition delivered exactly once with the exact value. */
function expectExactlyOnce(c: Collector, topic: string, partition: number, n: number): void {
  const m = c.seen.get(`${topic}:${partition}`);
  expect(m?.size, `${topic}:${partition} distinct offsets`).toBe(n);
  for (let i = 0; i < n; i++) {
    const v = recordValue(topic, partition, i);
    expect(m?.get(BigInt(i)), `${topic}:${partition}@${i}`).toEqual([
      v === null ? null : dec.decode(v),
    ]);
  }
}

beforeAll(() => {
  const out = execFileSync('bash', [join(root, 'test/infra/kafka.sh'), 'start'], {
    encoding: 'utf8',
  });
  const address = out.trim().split('\n').pop() ?? '';
  expect(address).toMatch(/^[\w.-]+:\d+$/);
  kafka = { brokers: [address], clientId: 'kice-source-it' };
  admin = new KafkaAdmin(kafka);
});

afterAll(async () => {
  for (const s of sources) await s.stop().catch(() => {});
  await admin?.close();
});

describe('KafkajsSource on a real broker', () => {
  it('delivers 10,000 snappy/lz4 and 10,000 zstd records over 3 partitions exactly once', async () => {
    const mixed = unique('mixed');
    const zstd = unique('zstd');
    await admin.createTopics([
      { topic: mixed, numPartitions: 3 },
      // The broker recompresses every batch into zstd (kafkajs cannot compress zstd).
      { topic: zstd, numPartitions: 3, config: { 'compression.type': 'zstd' } },
    ]);
    const counts = new Map<KafkaCodec, number>();
    const restore: [KafkaCodec, KafkaCodec['decompress']][] = [];
    for (const codec of [snappyCodec, lz4Codec, zstdCodec]) {
      const orig = codec.decompress;
      restore.push([codec, orig]);
      codec.decompress = (b) => {
        counts.set(codec, (counts.get(codec) ?? 0) + 1);
        return orig(b);
      };
    }
    try {
      // 3,334 + 3,333 + 3,333 records per topic; the mixed topic alternates snappy and lz4 per partition.
      const per = [3334, 3333, 3333];
      for (let p = 0; p < 3; p++) {
        await produceRange(mixed, p, 0, 1700, 'snappy');
        await produceRange(mixed, p, 1700, per[p] as number, 'lz4');
        await produceRange(zstd, p, 0, per[p] as number, 'none');
      }
      const c = new Collector();
      await startSource(c, { topics: [mixed, zstd] });
      await until(
        () => [mixed, zstd].every((t) => per.every((n, p) => c.next(t, p) >= BigInt(n))),
        120_000,
        'all 20,000 records',
      );
      for (const t of [mixed, zstd]) {
        for (const [p, n] of per.entries()) expectExactlyOnce(c, t, p, n);
      }
      expect(c.errors).toEqual([]);
      expect(counts.get(snappyCodec) ?? 0).toBeGreaterThan(0);
      expect(counts.get(lz4Codec) ?? 0).toBeGreaterThan(0);
      expect(counts.get(zstdCodec) ?? 0).toBeGreaterThan(0);
      // Values live in fresh buffers, one per batch, exactly as long as the packed values.
      for (const b of c.batches) {
        expect(b.bytes.byteOffset).toBe(0);
        expect(b.bytes.buffer.byteLength).toBe(b.offsets[b.count]);
        expect(b.nextOffset).toBe(b.lastOffset + 1n);
        expect(b.lastOffset - b.firstOffset + 1n).toBe(BigInt(b.count));
      }
    } finally {
      for (const [codec, orig] of restore) codec.decompress = orig;
    }
  });

  it('starts the first batch at the offset onAssign seeks to', async () => {
    const topic = unique('seek');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    await produceRange(topic, 0, 0, 100, 'none');
    const c = new Collector(() => 37n);
    await startSource(c, { topics: [topic] });
    await until(
      () => c.next(topic, 0) === 0n && (c.seen.get(`${topic}:0`)?.size ?? 0) >= 63,
      60_000,
      'offsets 37..99',
    );
    const first = c.batches[0];
    expect(first?.firstOffset).toBe(37n);
    expect([...(c.seen.get(`${topic}:0`)?.keys() ?? [])]).toEqual(
      Array.from({ length: 63 }, (_, i) => BigInt(37 + i)),
    );
    expect(c.last().generation).toBe(1);
    expect(c.last().lostAll).toBe(false);
  });

  it('pause stops one partition while the other continues; resume restarts it', async () => {
    const topic = unique('pause');
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    await produceRange(topic, 0, 0, 100, 'none');
    await produceRange(topic, 1, 0, 100, 'none');
    const c = new Collector();
    const source = await startSource(c, { topics: [topic] });
    await until(
      () => c.next(topic, 0) === 100n && c.next(topic, 1) === 100n,
      60_000,
      'first 100 per partition',
    );
    source.pause([{ topic, partition: 0 }]);
    const batchesAtPause = c.batches.filter((b) => b.partition === 0).length;
    await produceRange(topic, 0, 100, 200, 'none');
    await produceRange(topic, 1, 100, 200, 'none');
    await until(() => c.next(topic, 1) === 200n, 60_000, 'partition 1 to continue');
    await new Promise((r) => setTimeout(r, 1500));
    expect(c.batches.filter((b) => b.partition === 0).length).toBe(batchesAtPause);
    expect(c.next(topic, 0)).toBe(100n);
    source.resume([{ topic, partition: 0 }]);
    await until(() => c.next(topic, 0) === 200n, 60_000, 'partition 0 after resume');
    expectExactlyOnce(c, topic, 0, 200);
    expectExactlyOnce(c, topic, 1, 200);
  });

  it('reports full new assignments to both members and revokes the moved partitions from the first', async () => {
    const topic = unique('rebalance');
    await admin.createTopics([{ topic, numPartitions: 4 }]);
    const groupId = unique('group');
    const a = new Collector();
    await startSource(a, { topics: [topic], groupId });
    await until(() => a.assigns.length === 1, 60_000, 'first member assignment');
    expect(a.last().assigned.map((tp) => tp.partition)).toEqual([0, 1, 2, 3]);
    const b = new Collector();
    await startSource(b, { topics: [topic], groupId });
    await until(() => b.assigns.length >= 1 && a.assigns.length >= 2, 60_000, 'rebalance');
    const aNow = a.last().assigned.map((tp) => tp.partition);
    const bNow = b.last().assigned.map((tp) => tp.partition);
    expect(aNow.length).toBe(2);
    expect(bNow.length).toBe(2);
    expect([...aNow, ...bNow].sort()).toEqual([0, 1, 2, 3]);
    expect(a.revokes.flat().map((tp) => tp.partition)).toEqual(bNow);
    expect(a.last().lostAll).toBe(false);
    expect(a.last().generation).toBe(2);
    expect(a.last().memberId).toBe(a.assigns[0]?.info.memberId);
  });

  it('reads end offsets and round-trips committed offsets', async () => {
    const topic = unique('offsets');
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    await produceRange(topic, 0, 0, 5, 'none');
    await produceRange(topic, 1, 0, 7, 'none');
    const groupId = unique('group');
    const c = new Collector();
    const source = await startSource(c, { topics: [topic], groupId });
    expect(await source.fetchEndOffsets([topic])).toEqual(
      new Map([
        [`${topic}:0`, 5n],
        [`${topic}:1`, 7n],
      ]),
    );
    expect(await source.fetchCommittedOffsets(groupId, [topic])).toEqual(new Map());
    await until(() => c.assigns.length === 1, 60_000, 'assignment');
    await source.commitOffsets([
      { topic, partition: 0, offset: 3n },
      { topic, partition: 1, offset: 6n },
    ]);
    expect(await source.fetchCommittedOffsets(groupId, [topic])).toEqual(
      new Map([
        [`${topic}:0`, 3n],
        [`${topic}:1`, 6n],
      ]),
    );
    expect(await source.listTopics()).toContain(topic);
  });

  it('dead-letter producer writes records and headers that a consumer reads back exactly', async () => {
    const topic = unique('dlq');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const dlq = createDeadLetterProducer(kafka);
    const records: DeadLetterRecord[] = [
      {
        topic,
        key: enc.encode('k0'),
        value: new Uint8Array([0, 255, 1, 128]),
        headers: { 'kice.topic': 'orders', 'kice.offset': '41' },
      },
      { topic, value: null, headers: { 'kice.reason': 'tombstone für ✓' } },
      {
        topic,
        value: enc.encode('{"bad":'),
        headers: { 'kice.partition': '2', 'kice.error': 'Unexpected end of JSON input' },
      },
    ];
    try {
      await dlq.send(records);
    } finally {
      await dlq.close();
    }
    const c = new Collector();
    await startSource(c, { topics: [topic], keepKeys: true, keepHeaders: true });
    await until(() => c.next(topic, 0) === 3n, 60_000, 'three dead letters');
    const got = c.batches.flatMap((b) =>
      Array.from({ length: b.count }, (_, i) => ({
        key: b.keys?.nulls[i]
          ? null
          : b.keys?.bytes.slice(b.keys.offsets[i], b.keys.offsets[i + 1]),
        value: batchValue(b, i),
        headers: b.headers?.[i],
      })),
    );
    // The source keeps headers as (name, bytes) pairs in the client's order.
    const asList = (h: Record<string, string> | undefined) =>
      Object.entries(h ?? {}).map(([key, value]) => ({ key, value: enc.encode(value) }));
    expect(got).toEqual([
      {
        key: enc.encode('k0'),
        value: new Uint8Array([0, 255, 1, 128]),
        headers: asList(records[0]?.headers as Record<string, string>),
      },
      { key: null, value: null, headers: asList(records[1]?.headers as Record<string, string>) },
      {
        key: null,
        value: enc.encode('{"bad":'),
        headers: asList(records[2]?.headers as Record<string, string>),
      },
    ]);
  });

  it('advances over an aborted transaction through onProgress and delivers the committed one', async () => {
    const topic = unique('txn');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    // kafkajs resolves from @kice/core's dependencies (the test package has no node_modules copy).
    const { Kafka } = createRequire(join(root, 'packages/core/package.json'))('kafkajs') as {
      Kafka: new (c: object) => { producer(c: object): TxnProducer };
    };
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: 0 }).producer({
      transactionalId: unique('txid'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const c = new Collector();
    try {
      const aborted = await producer.transaction();
      await aborted.send({
        topic,
        messages: [0, 1, 2, 3, 4].map((i) => ({ partition: 0, value: `aborted ${i}` })),
      });
      await aborted.abort(); // offsets 0..4, abort marker at 5
      const source = await startSource(c, { topics: [topic] });
      // The abort marker is written by the transaction coordinator after abort() returns
      // (on a fresh broker, noticeably later): the last stable offset reaches 6 then.
      let end = new Map<string, bigint>();
      await until(
        async () => {
          end = await source.fetchEndOffsets([topic]);
          return end.get(`${topic}:0`) === 6n;
        },
        60_000,
        'the last stable offset after the abort marker',
      );
      expect(end).toEqual(new Map([[`${topic}:0`, 6n]]));
      // Nothing to deliver: the aborted span is crossed through onProgress alone.
      await until(
        () => c.progress.some(([k, n]) => k === `${topic}:0` && n === 6n),
        60_000,
        'progress to 6',
      );
      expect(c.batches).toEqual([]);
      const committed = await producer.transaction();
      await committed.send({
        topic,
        messages: [6, 7, 8].map((i) => ({ partition: 0, value: `ok ${i}` })),
      });
      await committed.commit(); // offsets 6..8, commit marker at 9
    } finally {
      await producer.disconnect();
    }
    await until(() => (c.seen.get(`${topic}:0`)?.size ?? 0) === 3, 60_000, 'the committed records');
    expect([...(c.seen.get(`${topic}:0`) ?? [])]).toEqual([
      [6n, ['ok 6']],
      [7n, ['ok 7']],
      [8n, ['ok 8']],
    ]);
    // The batch was fetched at 6, where progress left the partition, so it was accepted.
    expect(c.batches[0]?.firstOffset).toBe(6n);
    // The commit marker at 9 moves the partition to 10, inside the batch or through onProgress.
    await until(
      () => c.batches.at(-1)?.nextOffset === 10n || c.progress.at(-1)?.[1] === 10n,
      60_000,
      'next offset 10',
    );
    expect(c.errors).toEqual([]);
  });

  it('picks up a new topic matching the pattern by restarting the subscription', async () => {
    const prefix = unique('re');
    const first = `${prefix}.a`;
    const second = `${prefix}.b`;
    await admin.createTopics([{ topic: first, numPartitions: 1 }]);
    await produceRange(first, 0, 0, 10, 'none');
    const c = new Collector();
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await startSource(c, { topics: new RegExp(`^${escaped}\\.`), topicRefreshIntervalMs: 500 });
    await until(() => c.next(first, 0) === 10n, 60_000, 'the first topic');
    await admin.createTopics([{ topic: second, numPartitions: 1 }]);
    await produceRange(second, 0, 0, 10, 'none');
    await until(() => c.next(second, 0) === 10n, 60_000, 'the new topic');
    const last = c.last();
    expect(last.lostAll).toBe(true);
    expect(last.assigned).toEqual([
      { topic: first, partition: 0 },
      { topic: second, partition: 0 },
    ]);
    expect(c.revokes.at(-1)).toEqual([{ topic: first, partition: 0 }]);
    // onAssign seeks to 0 again: the first topic is re-read from the start, each record once per assignment.
    expectExactlyOnce(c, second, 0, 10);
    expect(c.errors).toEqual([]);
  });
});

/** Produces records start..end-1 of one partition with one codec. */
async function produceRange(
  topic: string,
  partition: number,
  start: number,
  end: number,
  compression: ProducerCompression,
) {
  const producer = createRecordProducer(kafka, { compression });
  try {
    for (let s = start; s < end; s += 500) {
      const records: DeadLetterRecord[] = [];
      for (let i = s; i < Math.min(end, s + 500); i++)
        records.push({ topic, partition, value: recordValue(topic, partition, i), headers: {} });
      await producer.send(records);
    }
  } finally {
    await producer.close();
  }
}

/** The slice of kafkajs's transactional producer this test uses. */
interface TxnProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  transaction(): Promise<{
    send(r: { topic: string; messages: { partition: number; value: string }[] }): Promise<unknown>;
    commit(): Promise<void>;
    abort(): Promise<void>;
  }>;
}
