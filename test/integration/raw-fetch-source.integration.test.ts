/**
 * The kafkajs Source with `fetch: 'raw'` on the shared broker: kafkajs joins the group,
 * heartbeats and commits, every partition stays paused in kafkajs, and kice's fetcher
 * delivers whole record batches through onRawFetch (never onBatch). Each RawFetch is
 * parsed with parseRecordBatches: every offset once, the exact values, keys and headers
 * kept per topic as asked; a rebalance between two members re-assigns partitions and each
 * offset is still delivered exactly once when onAssign seeks to what was delivered; and
 * the same over the broker's SASL_SSL listener (TLS with the test CA, SCRAM-SHA-512): the
 * fetcher's connections are kafkajs's, with the client's TLS and SASL settings.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecordBatches } from '../../packages/core/src/source/batches/parse.ts';
import type { RawFetcher } from '../../packages/core/src/source/fetch/fetcher.ts';
import { KafkajsSource } from '../../packages/core/src/source/kafkajs-source.ts';
import type { KafkaSourceOptions } from '../../packages/core/src/source/options.ts';
import type {
  RawFetch,
  SourceBatch,
  SourceHandlers,
  TopicPartition,
} from '../../packages/core/src/source/types.ts';
import { startKafka, startKafkaSasl } from '../support/kafka.ts';
import { createTopic, produce } from '../support/produce.ts';

const RUN = randomBytes(4).toString('hex');
let brokers: string[];
const sources: KafkajsSource[] = [];
const dec = new TextDecoder();

interface Row {
  readonly offset: bigint;
  readonly value: string | null;
  readonly key?: string | null;
  readonly headers?: string;
}

/** Seeks each assigned partition to the next offset not yet delivered, collects rows. */
class RawCollector implements SourceHandlers {
  readonly rows = new Map<string, Row[]>();
  readonly fetches: RawFetch[] = [];
  readonly errors: Error[] = [];
  batches = 0;
  /** Fetches not taken: not where the partition's reading stands. */
  refused = 0;
  source: KafkajsSource | undefined;
  /** Paused from within the first fetch taken (as the engine's backpressure would hold them). */
  holdAfterFirst: TopicPartition[] | undefined;
  constructor(readonly shared: Map<string, bigint> = new Map()) {}
  onAssign(assigned: TopicPartition[]): void {
    for (const tp of assigned)
      this.source?.seek(tp, this.shared.get(`${tp.topic}:${tp.partition}`) ?? 0n);
    this.source?.resume(assigned);
  }
  onRevoke(): void {}
  onBatch(_b: SourceBatch): void {
    this.batches += 1;
  }
  onError(e: Error): void {
    this.errors.push(e);
  }
  onRawFetch(f: RawFetch): void {
    const key = `${f.topic}:${f.partition}`;
    // The lane's rule: a fetch is taken only where the partition's reading stands. One
    // from further on (this member's fetcher went on while the other member read the
    // partition, in the moments a rebalance gives it to both) makes this member fetch
    // again from there, as the coordinator does; an older one is dropped.
    const at = this.shared.get(key) ?? 0n;
    if (at !== f.fetchOffset) {
      this.refused += 1;
      if (f.fetchOffset > at) this.source?.seek({ topic: f.topic, partition: f.partition }, at);
      return;
    }
    this.fetches.push(f);
    const p = parseRecordBatches({ ...f });
    const list = this.rows.get(key) ?? [];
    this.rows.set(key, list);
    const r = p.records;
    for (let i = 0; r && i < r.count; i++) {
      const at = (o: Int32Array, b: Uint8Array, n: Uint8Array) =>
        n[i] === 1 ? null : dec.decode(b.subarray(o[i] as number, o[i + 1] as number));
      list.push({
        offset: r.recordOffsets[i] as bigint,
        value: at(r.offsets, r.bytes, r.nulls),
        ...(r.keys ? { key: at(r.keys.offsets, r.keys.bytes, r.keys.nulls) } : {}),
        ...(r.headers
          ? {
              headers: (r.headers[i] ?? [])
                .map((h) => `${h.key}=${h.value ? dec.decode(h.value) : ''}`)
                .join(','),
            }
          : {}),
      });
    }
    this.shared.set(key, f.nextOffset);
    if (this.holdAfterFirst) {
      this.source?.pause(this.holdAfterFirst);
      this.holdAfterFirst = undefined;
    }
  }
}

/** What the Sources logged (info and up), with the time, for a timeout's message. */
const logged: string[] = [];
const record =
  (level: string) =>
  (obj: object, msg?: string): void => {
    const ctx = JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    logged.push(`${new Date().toISOString().slice(11, 23)} ${level} ${msg ?? ''} ${ctx}`);
  };
const logger = {
  info: record('info'),
  warn: record('warn'),
  error: record('error'),
  debug: record('debug'),
};

/** Each Source's fetcher positions and the collectors' state: what a stall looks like. */
function state(collectors: RawCollector[]): string {
  const out: string[] = [];
  for (const [i, c] of collectors.entries()) {
    const fetcher = (c.source as unknown as { fetcher?: RawFetcher } | undefined)?.fetcher;
    const read = [...c.shared].map(([k, v]) => `${k}@${v}`).join(' ');
    const fetched = [...new Set(c.fetches.map((f) => `${f.topic}:${f.partition}`))]
      .map((k) => {
        const [topic, p] = [
          k.slice(0, k.lastIndexOf(':')),
          Number(k.slice(k.lastIndexOf(':') + 1)),
        ];
        return `${k} fetcher@${fetcher?.position({ topic, partition: p }) ?? '-'}`;
      })
      .join(' ');
    out.push(
      `member ${i}: read ${read}; ${c.fetches.length} fetches; ${fetched}; refused ${c.refused}`,
    );
  }
  return `${out.join('\n')}\nlog:\n${logged.slice(-40).join('\n')}`;
}

async function until(
  cond: () => boolean,
  ms: number,
  what: string,
  collectors: RawCollector[] = [],
): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${state(collectors)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startSource(
  c: RawCollector,
  o: Partial<KafkaSourceOptions> & { topics: string[]; groupId: string },
) {
  const source = new KafkajsSource({
    brokers,
    fetch: 'raw',
    maxWaitTimeInMs: 200,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    rebalanceTimeout: 10_000,
    logger,
    ...o,
  });
  c.source = source;
  sources.push(source);
  await source.start(c);
  return source;
}

const value = (id: number) => `v${id}|${'y'.repeat(id % 23)}`;

beforeAll(async () => {
  brokers = [await startKafka()];
}, 180_000);

afterAll(async () => {
  await Promise.all(sources.map((s) => s.stop()));
});

describe("the Source with fetch: 'raw'", () => {
  it('delivers every offset once through onRawFetch, keys and headers per topic, and commits', async () => {
    const withKeys = `rawsrc-${RUN}-keys`;
    const plain = `rawsrc-${RUN}-plain`;
    await createTopic(brokers, withKeys, 2);
    await createTopic(brokers, plain, 1);
    const record = (id: number) => ({
      value: value(id),
      key: `k${id}`,
      headers: { h: `x${id}` },
    });
    await produce({
      brokers,
      topic: withKeys,
      partitions: 2,
      first: 0,
      count: 400,
      batchSize: 30,
      inFlight: 1,
      record,
    });
    await produce({
      brokers,
      topic: plain,
      partitions: 1,
      first: 0,
      count: 150,
      batchSize: 30,
      inFlight: 1,
      record,
    });
    const c = new RawCollector();
    const groupId = `rawsrc-${RUN}-g1`;
    const source = await startSource(c, {
      topics: [withKeys, plain],
      groupId,
      keepKeys: (t) => t === withKeys,
      keepHeaders: (t) => t === withKeys,
      maxBytesPerPartition: 2048,
    });
    const done = () =>
      (c.shared.get(`${withKeys}:0`) ?? 0n) >= 200n &&
      (c.shared.get(`${withKeys}:1`) ?? 0n) >= 200n &&
      (c.shared.get(`${plain}:0`) ?? 0n) >= 150n;
    await until(done, 60_000, 'every partition read to its end', [c]);
    expect(c.errors).toEqual([]);
    expect(c.batches).toBe(0);
    for (const p of [0, 1]) {
      const ids = Array.from({ length: 200 }, (_, i) => 2 * i + p);
      expect(c.rows.get(`${withKeys}:${p}`)).toEqual(
        ids.map((id, i) => ({
          offset: BigInt(i),
          value: value(id),
          key: `k${id}`,
          headers: `h=x${id}`,
        })),
      );
    }
    expect(c.rows.get(`${plain}:0`)).toEqual(
      Array.from({ length: 150 }, (_, i) => ({ offset: BigInt(i), value: value(i) })),
    );
    expect(c.fetches.length).toBeGreaterThan(3);
    expect(
      c.fetches.every((f) => f.keepKeys === (f.topic === withKeys) && f.keepHeaders === f.keepKeys),
    ).toBe(true);
    await source.commitOffsets([{ topic: plain, partition: 0, offset: 150n }]);
    const committed = await source.fetchCommittedOffsets(groupId, [plain]);
    expect(committed.get(`${plain}:0`)).toBe(150n);
  }, 120_000);

  it('a second member joining: partitions move, every offset is delivered exactly once', async () => {
    const t = `rawsrc-${RUN}-rebalance`;
    await createTopic(brokers, t, 4);
    await produce({
      brokers,
      topic: t,
      partitions: 4,
      first: 0,
      count: 2000,
      batchSize: 20,
      inFlight: 1,
      record: (id) => ({ value: value(id) }),
    });
    const shared = new Map<string, bigint>();
    const groupId = `rawsrc-${RUN}-g2`;
    const a = new RawCollector(shared);
    const b = new RawCollector(shared);
    // Small fetches, and the first member holds its partitions from within its first fetch
    // (a pause from the test's polling loop came, on a loaded machine, after it had read
    // everything), so that the join happens while partitions are still being read. The
    // next join's onAssign resumes them.
    a.holdAfterFirst = [0, 1, 2, 3].map((partition) => ({ topic: t, partition }));
    await startSource(a, {
      topics: [t],
      groupId,
      maxBytesPerPartition: 1024,
      maxBytes: 2048,
    });
    await until(() => [...shared.values()].some((n) => n > 0n), 30_000, 'a first fetch');
    await startSource(b, { topics: [t], groupId, maxBytesPerPartition: 1024, maxBytes: 2048 });
    await until(
      () => [0, 1, 2, 3].every((p) => (shared.get(`${t}:${p}`) ?? 0n) >= 500n),
      90_000,
      'every partition read to its end',
      [a, b],
    );
    expect([...a.errors, ...b.errors]).toEqual([]);
    expect(b.fetches.length).toBeGreaterThan(0);
    for (const p of [0, 1, 2, 3]) {
      const rows = [...(a.rows.get(`${t}:${p}`) ?? []), ...(b.rows.get(`${t}:${p}`) ?? [])].sort(
        (x, y) => (x.offset < y.offset ? -1 : 1),
      );
      expect(rows).toEqual(
        Array.from({ length: 500 }, (_, i) => ({ offset: BigInt(i), value: value(4 * i + p) })),
      );
    }
  }, 180_000);

  it('fetches over TLS + SASL (SCRAM-SHA-512) with the client settings unchanged', async () => {
    const sasl = await startKafkaSasl();
    const t = `rawsrc-${RUN}-sasl`;
    await createTopic(brokers, t, 2);
    await produce({
      brokers,
      topic: t,
      partitions: 2,
      first: 0,
      count: 300,
      batchSize: 25,
      inFlight: 1,
      record: (id) => ({ value: value(id) }),
    });
    const c = new RawCollector();
    const source = new KafkajsSource({
      brokers: [sasl.address],
      ssl: { ca: readFileSync(sasl.caFile, 'utf8') },
      sasl: { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password },
      groupId: `rawsrc-${RUN}-sasl`,
      topics: [t],
      fetch: 'raw',
      maxWaitTimeInMs: 200,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
      rebalanceTimeout: 10_000,
      logger,
    });
    c.source = source;
    sources.push(source);
    await source.start(c);
    await until(
      () => (c.shared.get(`${t}:0`) ?? 0n) >= 150n && (c.shared.get(`${t}:1`) ?? 0n) >= 150n,
      60_000,
      'both partitions read over SASL_SSL',
      [c],
    );
    expect(c.errors).toEqual([]);
    for (const p of [0, 1])
      expect(c.rows.get(`${t}:${p}`)).toEqual(
        Array.from({ length: 150 }, (_, i) => ({ offset: BigInt(i), value: value(2 * i + p) })),
      );
  }, 180_000);
});
