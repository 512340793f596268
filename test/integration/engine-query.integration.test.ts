/**
 * engine.query and engine.get against the real broker and a filesystem warehouse:
 * - the seam under load: a producer runs, commits land every second (commit.intervalMs
 *   1000), queries loop; each query's ids are exactly, per partition, the ids of offsets
 *   0 … n−1 for some n (records go to partition id % 2 in id order from one producer lane,
 *   so partition p's record at offset o has id p + 2·o): a missed row is a hole in that
 *   run, a doubled one a duplicate id; queries that read both a snapshot and hot rows must
 *   have happened (else the check proves nothing);
 * - time travel: asOf one of those snapshots returns exactly the rows PyIceberg reads at
 *   that snapshot, and asOf its commit time the same snapshot; an unknown snapshot id is
 *   a QUERY_INVALID error naming it;
 * - the budget: through the loop (queries and key lookups), in-flight bytes never pass
 *   memory.maxInFlightBytes plus one fetch (the documented overshoot);
 * - key lookup: several updates to one key, the latest wins from the hot buffer; after
 *   the commit, a fresh engine (nothing hot) finds it through the cold fallback;
 * - bad input: unknown table / column → QUERY_INVALID naming it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, validateConfig } from '../../packages/core/src/index.ts';
import { gtEq, isIn } from '../../packages/iceberg/src/index.ts';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata } from '../support/kice-process.ts';
import { createTopic, exactProducer, produce, sampleEvent } from '../support/produce.ts';
import { pyicebergRows } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-query-${RUN}`;
const KEY_TOPIC = `kice-e2e-query-keys-${RUN}`;
const GROUP = `kice-e2e-query-${RUN}`;
const TABLE = 'e2e.query_seam';
const KEY_TABLE = 'e2e.query_keys';
const BUDGET = 8 * 1024 * 1024;
const COUNT = 20_000;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, 2);
  await createTopic(brokers, KEY_TOPIC, 1);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-query-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function config(group: string) {
  return validateConfig({
    kafka: { brokers, groupId: group },
    catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
    tables: [
      { topic: TOPIC, table: TABLE },
      { topic: KEY_TOPIC, table: KEY_TABLE, key: { format: 'string' } },
    ],
    commit: { intervalMs: 1000 },
    memory: { maxInFlightBytes: BUDGET },
    deadLetter: { topic: `${GROUP}-dlq` },
    log: { level: 'silent' },
  });
}

async function ids(engine: Engine, where?: Parameters<Engine['query']>[1]) {
  const r = await engine.query(TABLE, { select: ['id'], ...where });
  const t = await r.toTable();
  const col = t.getChild('id');
  const out: number[] = [];
  for (let i = 0; i < t.numRows; i++) out.push(Number(col?.get(i)));
  return { r, ids: out };
}

/** Per partition (id % 2), the count n when the ids are exactly offsets 0 … n−1; throws
 * naming the first duplicate or hole. */
function checkSeam(got: readonly number[]): [number, number] {
  const seen = new Set<number>();
  for (const id of got) {
    if (seen.has(id)) throw new Error(`id ${id} returned twice`);
    seen.add(id);
  }
  const counts: [number, number] = [0, 0];
  for (const p of [0, 1]) {
    const mine = got.filter((id) => id % 2 === p).sort((a, b) => a - b);
    mine.forEach((id, o) => {
      if (id !== p + 2 * o) throw new Error(`partition ${p}: offset ${o} holds id ${id} (hole)`);
    });
    counts[p] = mine.length;
  }
  return counts;
}

/** A filtered query's ids: each matches, none twice, and per partition every matching id
 * up to the highest one returned is there (no hole). */
function checkFiltered(got: readonly number[], matches: (id: number) => boolean): void {
  expect(new Set(got).size).toBe(got.length);
  for (const id of got) expect(matches(id)).toBe(true);
  for (const p of [0, 1]) {
    const mine = got.filter((id) => id % 2 === p);
    const max = Math.max(-1, ...mine);
    const want: number[] = [];
    for (let id = p; id <= max; id += 2) if (matches(id)) want.push(id);
    expect([...mine].sort((a, b) => a - b)).toEqual(want);
  }
}

describe('engine.query', () => {
  it('the seam under load: every query returns exactly the ids produced up to what it covers', async () => {
    const engine = createEngine(config(GROUP));
    await engine.start();
    try {
      let done = false;
      const producing = produce({
        brokers,
        topic: TOPIC,
        partitions: 2,
        first: 0,
        count: COUNT,
        batchSize: 250,
        inFlight: 1,
        delayMs: 40,
        stop: () => done,
      }).finally(() => {
        done = true;
      });
      const snapshots = new Map<string, [number, number]>();
      let queries = 0;
      let mixed = 0;
      let peak = 0;
      let last: [number, number] = [0, 0];
      const commitsBefore = engine.metrics().commits;
      // Columns exist once a first row is decoded (before that, "id" is unknown).
      while (engine.metrics().rowsBuffered === 0) await new Promise((r) => setTimeout(r, 20));
      while (!done || last[0] + last[1] < COUNT) {
        const { r, ids: got } = await ids(engine);
        const counts = checkSeam(got);
        // Never goes back: a later query covers at least what an earlier one did.
        expect(counts[0]).toBeGreaterThanOrEqual(last[0]);
        expect(counts[1]).toBeGreaterThanOrEqual(last[1]);
        last = counts;
        queries++;
        expect(r.hot?.partitions.map((p) => p.partition)).toEqual([0, 1]);
        if (r.snapshotId !== null) {
          const cold = r.hot?.partitions.map((p) => Number(p.fromOffset)) as number[];
          if (counts[0] > (cold[0] ?? 0) || counts[1] > (cold[1] ?? 0)) mixed++;
          if (!snapshots.has(r.snapshotId)) snapshots.set(r.snapshotId, cold as [number, number]);
        }
        const f = await ids(engine, { where: gtEq('id', 1000) });
        // Filtered queries over later views, on a top-level and on a nested column.
        checkFiltered(f.ids, (id) => id >= 1000);
        const nested = await ids(engine, { where: isIn('address.country', ['DE', 'FR']) });
        checkFiltered(nested.ids, (id) => id % 6 === 0 || id % 6 === 1);
        peak = Math.max(peak, engine.metrics().inFlightBytes);
      }
      await producing;
      console.log(
        `engine-query seam: ${queries} queries (${mixed} with cold and hot rows), ${snapshots.size} snapshots seen, ${engine.metrics().commits - commitsBefore} commits`,
      );
      expect(last).toEqual([COUNT / 2, COUNT / 2]);
      expect(engine.metrics().commits - commitsBefore).toBeGreaterThan(3);
      expect(queries).toBeGreaterThan(5);
      expect(mixed).toBeGreaterThan(0);
      // One fetch (kafka.maxBytes, capped at a quarter of the budget) is the overshoot.
      expect(engine.metrics().peakInFlightBytes).toBeLessThanOrEqual(BUDGET + BUDGET / 4);
      expect(peak).toBeLessThanOrEqual(BUDGET + BUDGET / 4);

      // Time travel: a snapshot seen above, exactly as PyIceberg reads it.
      const [sid, covered] = [...snapshots][Math.floor(snapshots.size / 2)] as [
        string,
        [number, number],
      ];
      const tt = await engine.query(TABLE, { select: ['id'], asOf: { snapshotId: sid } });
      expect(tt.hot).toBeNull();
      expect(tt.snapshotId).toBe(sid);
      const t = await tt.toTable();
      const got = Array.from({ length: t.numRows }, (_, i) => Number(t.getChild('id')?.get(i)));
      expect(checkSeam(got)).toEqual(covered);
      const py = await pyicebergRows(await latestMetadata(join(dir, 'warehouse'), TABLE), {
        snapshotId: BigInt(sid),
      });
      expect(py.map((row) => Number(row.id)).sort((a, b) => a - b)).toEqual(
        [...got].sort((a, b) => a - b),
      );
      // asOf a time: the snapshot current then (S's own commit time gives S).
      const described = await engine.describeTable(TABLE, { snapshots: 1000 });
      const at = described?.snapshots.find((x) => x.snapshotId === sid)?.timestampMs as number;
      const byTime = await engine.query(TABLE, { select: ['id'], asOf: { timestampMs: at } });
      expect(byTime.snapshotId).toBe(sid);
      expect((await byTime.toTable()).numRows).toBe(got.length);
      await expect(engine.query(TABLE, { asOf: { snapshotId: '12345' } })).rejects.toMatchObject({
        code: 'QUERY_INVALID',
        message: expect.stringContaining('12345'),
      });
    } finally {
      await engine.stop();
    }
  }, 300_000);

  it('unknown table and unknown columns are QUERY_INVALID errors naming them', async () => {
    const engine = createEngine(config(`${GROUP}-bad`));
    await engine.start();
    try {
      await expect(engine.query('e2e.nope')).rejects.toMatchObject({
        code: 'QUERY_INVALID',
        message: 'query: unknown table "e2e.nope" (no configured topic routes to it)',
      });
      await expect(engine.query(TABLE, { select: ['nope'] })).rejects.toMatchObject({
        code: 'QUERY_INVALID',
        message: expect.stringContaining('"nope"'),
      });
      await expect(engine.query(TABLE, { where: gtEq('missing', 1) })).rejects.toMatchObject({
        code: 'QUERY_INVALID',
        message: expect.stringContaining('"missing"'),
      });
    } finally {
      await engine.stop();
    }
  }, 120_000);
});

describe('engine.get', () => {
  it('returns the latest row for a key from the hot buffer, and after the commit from the table', async () => {
    const group = `${GROUP}-keys`;
    const producer = exactProducer(brokers);
    await producer.connect();
    const engine = createEngine(config(group));
    await engine.start();
    try {
      const committed = new Promise<void>((r) =>
        engine.on('commit', (c) => {
          if (c.table === KEY_TABLE) r();
        }),
      );
      for (let v = 1; v <= 4; v++)
        await producer.send({
          topic: KEY_TOPIC,
          messages: [
            { key: 'k1', value: JSON.stringify({ ...sampleEvent(v), id: v, v }) },
            { key: `other-${v}`, value: JSON.stringify({ ...sampleEvent(v), id: 100 + v, v }) },
          ],
        });
      // Hot: found once consumed; the latest of the four updates wins.
      let row: Record<string, unknown> | undefined;
      for (let i = 0; i < 200 && Number(row?.v ?? 0) !== 4; i++) {
        row = await engine.get(KEY_TABLE, 'k1');
        if (Number(row?.v ?? 0) !== 4) await new Promise((r) => setTimeout(r, 50));
      }
      expect(row?._key).toBe('k1');
      expect(Number(row?.v)).toBe(4);
      expect(Number(row?.id)).toBe(4);
      expect(await engine.get(KEY_TABLE, new TextEncoder().encode('other-2'))).toMatchObject({
        _key: 'other-2',
      });
      expect(await engine.get(KEY_TABLE, 'absent')).toBeUndefined();
      await committed;
    } finally {
      await engine.stop();
      await producer.disconnect();
    }
    // A fresh engine holds nothing hot: the table answers (cold fallback).
    const again = createEngine(config(group));
    await again.start();
    try {
      const cold = await again.get(KEY_TABLE, 'k1');
      expect(cold?._key).toBe('k1');
      expect(Number(cold?.v)).toBe(4);
      expect(Number(cold?.id)).toBe(4);
      expect(await again.get(KEY_TABLE, 'absent')).toBeUndefined();
      await expect(again.get(TABLE, 'x')).rejects.toMatchObject({ code: 'QUERY_INVALID' });
    } finally {
      await again.stop();
    }
  }, 180_000);
});
