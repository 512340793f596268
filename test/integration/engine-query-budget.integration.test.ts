/**
 * Hot rows and the key index have a memory price (docs/embedding.md, "Querying"):
 * - the key index's bytes are counted in the in-flight budget, exactly: N hot rows with
 *   distinct keys of length L add N × (ENTRY_OVERHEAD_BYTES + 2 × (L + 3)) to
 *   engine.metrics().inFlightBytes when a lookup indexes them;
 * - a lookup-heavy client cannot push the engine past memory.maxInFlightBytes: with a
 *   budget the buffered rows fit in but rows plus index do not, the lookup that builds the
 *   index pauses consumption and flushes (it does not wait for commit.intervalMs), the
 *   rows are committed, and the next lookup (answered from the table) frees the index:
 *   nothing stays counted. Queries reserve nothing: they read the buffers the budget
 *   already counts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, validateConfig } from '../../packages/core/src/index.ts';
import { ENTRY_OVERHEAD_BYTES } from '../../packages/core/src/query/key-index.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, produce, sampleEvent } from '../support/produce.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-query-budget-${RUN}`;
const GROUP = `kice-e2e-query-budget-${RUN}`;
const TABLE = 'e2e.query_budget';
const COUNT = 5_000;
const KEY_LENGTH = 400;

let brokers: string[];
let dir: string;

const keyOf = (id: number) => `key-${String(id).padStart(8, '0')}-`.padEnd(KEY_LENGTH, 'k');
const INDEX_BYTES = COUNT * (ENTRY_OVERHEAD_BYTES + 2 * (KEY_LENGTH + 3));

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, 1);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-query-budget-'));
  await produce({
    brokers,
    topic: TOPIC,
    partitions: 1,
    first: 0,
    count: COUNT,
    batchSize: 500,
    record: (id) => ({ key: keyOf(id), value: JSON.stringify(sampleEvent(id)) }),
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function engineWith(group: string, budget: number): Engine {
  return createEngine(
    validateConfig({
      // Small fetches: what is fetched and decoding stays far below the budget's margin.
      // kafkajs's fetch: it hands over one fetch per broker at a time, after decoding it on
      // this thread, so what waits for the pool stays small. kice's raw fetcher fetches on
      // while the pool parses and decodes, up to the budget itself: buffering alone would
      // reach the second test's budget and flush before the lookup this test is about
      // (the index's price does not depend on the fetch path).
      kafka: {
        brokers,
        groupId: group,
        fetch: 'kafkajs',
        maxBytesPerPartition: 64 * 1024,
        maxBytes: 64 * 1024,
      },
      catalog: { type: 'filesystem', warehouse: join(dir, `warehouse-${group}`) },
      tables: [{ topic: TOPIC, table: TABLE, key: { format: 'string' } }],
      commit: { intervalMs: 600_000 },
      memory: { maxInFlightBytes: budget },
      deadLetter: { topic: `${GROUP}-dlq` },
      log: { level: 'silent' },
    }),
  );
}

/** Waits until every record is buffered (none committed: the interval is long). */
async function allBuffered(engine: Engine): Promise<void> {
  while (engine.metrics().rowsBuffered < COUNT) await new Promise((r) => setTimeout(r, 20));
}

let buffered = 0;

describe('the memory price of hot rows', () => {
  it('counts the key index in the in-flight budget, exactly', async () => {
    const engine = engineWith(`${GROUP}-a`, 256 * 1024 * 1024);
    await engine.start();
    try {
      await allBuffered(engine);
      // A query holds nothing of its own.
      const r = await engine.query(TABLE, { select: ['id'] });
      expect((await r.toTable()).numRows).toBe(COUNT);
      buffered = engine.metrics().inFlightBytes;
      expect(buffered).toBeGreaterThan(0);
      const row = await engine.get(TABLE, keyOf(1234));
      expect(Number(row?.id)).toBe(1234);
      expect(engine.metrics().inFlightBytes - buffered).toBe(INDEX_BYTES);
      expect(engine.metrics().commits).toBe(0);
    } finally {
      await engine.stop();
    }
  }, 180_000);

  it('a lookup that would pass the budget pauses and flushes; the index is freed after', async () => {
    expect(buffered).toBeGreaterThan(0); // measured by the test above
    // The buffered rows fit; rows and index do not.
    const budget = buffered + Math.floor(INDEX_BYTES / 2);
    console.log(
      `engine-query-budget: ${buffered} bytes buffered, index ${INDEX_BYTES} bytes, budget ${budget}`,
    );
    const engine = engineWith(`${GROUP}-b`, budget);
    const committed = new Promise<number>((r) => engine.on('commit', (c) => r(c.rows)));
    await engine.start();
    try {
      await allBuffered(engine);
      expect(engine.metrics().pausedForBackpressure).toBe(0);
      expect(engine.metrics().commits).toBe(0);
      expect(Number((await engine.get(TABLE, keyOf(42)))?.id)).toBe(42);
      expect(engine.metrics().pausedForBackpressure).toBe(1);
      // The pause flushed everything buffered at once (the interval is 10 minutes).
      expect(await committed).toBe(COUNT);
      // Answered from the table once the flush ended; the index of the gone rows is freed.
      let row: Record<string, unknown> | undefined;
      for (let i = 0; i < 200 && engine.metrics().inFlightBytes > 0; i++) {
        row = await engine.get(TABLE, keyOf(4321));
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(Number(row?.id)).toBe(4321);
      expect(engine.metrics().inFlightBytes).toBe(0);
      expect(engine.metrics().peakInFlightBytes).toBeLessThanOrEqual(buffered + INDEX_BYTES);
    } finally {
      await engine.stop();
    }
  }, 180_000);
});
