/**
 * engine.query with two members in one consumer group: each member's hot part covers
 * only the partitions it owns (`hot.partitions` names them, the two sets are disjoint and
 * together cover the topic), and of a partition another member owns a query returns
 * exactly the rows of its snapshot S (what time travel to S returns for that partition),
 * none of the other member's uncommitted rows.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, validateConfig } from '../../packages/core/src/index.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, produce } from '../support/produce.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-query-group-${RUN}`;
const GROUP = `kice-e2e-query-group-${RUN}`;
const TABLE = 'e2e.query_group';
const COUNT = 4_000;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, 2);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-query-group-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function member(): Engine {
  return createEngine(
    validateConfig({
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
      tables: [{ topic: TOPIC, table: TABLE }],
      commit: { intervalMs: 600_000 },
      deadLetter: { topic: `${GROUP}-dlq` },
      log: { level: 'silent' },
    }),
  );
}

async function idsOf(
  engine: Engine,
  opts: Parameters<Engine['query']>[1] = {},
): Promise<{ ids: number[]; r: Awaited<ReturnType<Engine['query']>> }> {
  const r = await engine.query(TABLE, { select: ['id'], ...opts });
  const t = await r.toTable();
  return { r, ids: Array.from({ length: t.numRows }, (_, i) => Number(t.getChild('id')?.get(i))) };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('engine.query in a group of two', () => {
  it("serves the hot rows of its own partitions only; the other's partition as of S", async () => {
    const a = member();
    const b = member();
    await a.start();
    await b.start();
    try {
      // Both members own one partition each.
      while (a.positions().length !== 1 || b.positions().length !== 1)
        await new Promise((r) => setTimeout(r, 100));
      // The first half, committed when the two stop (the interval is 10 minutes): S.
      await produce({ brokers, topic: TOPIC, partitions: 2, first: 0, count: COUNT / 2 });
      while (a.metrics().rowsBuffered + b.metrics().rowsBuffered < COUNT / 2)
        await new Promise((r) => setTimeout(r, 50));
      await a.stop();
      await b.stop();
    } catch (e) {
      await Promise.allSettled([a.stop(), b.stop()]);
      throw e;
    }
    const c = member();
    const d = member();
    await c.start();
    await d.start();
    try {
      while (c.positions().length !== 1 || d.positions().length !== 1)
        await new Promise((r) => setTimeout(r, 100));
      // The second half: held hot, each half of it by the member owning its partition.
      await produce({ brokers, topic: TOPIC, partitions: 2, first: COUNT / 2, count: COUNT / 2 });
      while (c.metrics().rowsBuffered + d.metrics().rowsBuffered < COUNT / 2)
        await new Promise((r) => setTimeout(r, 50));
      const qc = await idsOf(c);
      const qd = await idsOf(d);
      const pc = qc.r.hot?.partitions.map((p) => p.partition) ?? [];
      const pd = qd.r.hot?.partitions.map((p) => p.partition) ?? [];
      expect(sorted([...pc, ...pd])).toEqual([0, 1]);
      expect(pc).toHaveLength(1);
      expect(qc.r.snapshotId).toBe(qd.r.snapshotId);
      const s = qc.r.snapshotId as string;
      const cold = (await idsOf(c, { asOf: { snapshotId: s } })).ids;
      expect(sorted(cold)).toEqual(Array.from({ length: COUNT / 2 }, (_, i) => i));
      for (const [q, mine] of [
        [qc, pc[0]],
        [qd, pd[0]],
      ] as const) {
        // Its own partition: all of it (committed, then hot); the other: as of S.
        const own = q.ids.filter((id) => id % 2 === mine);
        const other = q.ids.filter((id) => id % 2 !== mine);
        expect(sorted(own)).toEqual(
          Array.from({ length: COUNT / 2 }, (_, i) => 2 * i + (mine as number)),
        );
        expect(sorted(other)).toEqual(cold.filter((id) => id % 2 !== mine));
      }
    } finally {
      await Promise.allSettled([c.stop(), d.stop()]);
    }
  }, 300_000);
});
