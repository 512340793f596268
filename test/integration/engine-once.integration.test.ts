/**
 * `kice run --once` end to end on the real broker: 1,000,000 JSON events over 2 topics × 6
 * partitions land in two tables exactly once (PyIceberg: count = distinct = produced, the
 * same sha256 of the sorted ids), and the last snapshot records the partitions' end
 * offsets; 100,000 more events and a second run add exactly those and advance the offsets.
 * After the second run every row of both tables is compared in every column with what was
 * produced (rich events: whole-number floats, arrays, nested objects, escapes; per-row
 * hashes, test/support/row-hash.ts). The first run fetches with `kafka.fetch: raw` (the
 * default: record batches parsed in the pool), the second with `kafka.fetch: kafkajs`:
 * switching continues exactly from the offsets the tables record.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  recordedOffsets,
  runOnce,
  tableIdStats,
  writeConfig,
} from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  idRange,
  idStats,
  produce,
  RICH_COLUMNS,
  richExpected,
  richRecord,
} from '../support/produce.ts';
import { allRowsMatch, checkRows } from '../support/row-hash.ts';

const RUN = randomBytes(4).toString('hex');
const GROUP = `kice-e2e-once-${RUN}`;
const TABLES = [
  { topic: `kice-e2e-once-a-${RUN}`, table: 'e2e.once_a' },
  { topic: `kice-e2e-once-b-${RUN}`, table: 'e2e.once_b' },
] as const;
const PARTITIONS = 6;
const FIRST_RUN = 500_000; // per topic
const SECOND_RUN = 50_000; // per topic

let brokers: string[];
let warehouse: string;
let dir: string;
let configPath: string;

/** Ids of table i after `runs` runs: run 1 gives topic i [i*F, (i+1)*F), run 2 adds [2F + i*S, 2F + (i+1)*S). */
function idsOf(i: number, runs: 1 | 2): number[] {
  const out = [...idRange(i * FIRST_RUN, FIRST_RUN)];
  if (runs === 2) out.push(...idRange(2 * FIRST_RUN + i * SECOND_RUN, SECOND_RUN));
  return out;
}

beforeAll(async () => {
  brokers = [await startKafka()];
  for (const t of TABLES) await createTopic(brokers, t.topic, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-once-'));
  warehouse = join(dir, 'warehouse');
  configPath = await config('raw');
});

/** The run's config, fetching as `fetch` says. */
function config(fetch: 'raw' | 'kafkajs'): Promise<string> {
  return writeConfig(dir, {
    kafka: { brokers, groupId: GROUP, fetch },
    catalog: { type: 'filesystem', warehouse },
    tables: TABLES.map((t) => ({ topic: t.topic, table: t.table, columns: RICH_COLUMNS })),
    deadLetter: { topic: `${GROUP}-dlq` },
  });
}

async function checkTables(runs: 1 | 2): Promise<void> {
  for (const [i, t] of TABLES.entries()) {
    const meta = await latestMetadata(warehouse, t.table);
    const ids = idsOf(i, runs);
    expect(await tableIdStats(meta, 'id')).toEqual(idStats(ids));
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [t.topic]: await endOffsets(brokers, t.topic),
    });
    if (runs === 2) {
      expect(await checkRows(meta, 'id', ids, richExpected)).toEqual(allRowsMatch(ids.length));
    }
  }
}

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kice run --once', () => {
  it('ingests 1,000,000 events from 2 topics × 6 partitions exactly once, then 100,000 more', async () => {
    let t0 = Date.now();
    await Promise.all(
      TABLES.map((t, i) =>
        produce({
          brokers,
          topic: t.topic,
          partitions: PARTITIONS,
          first: i * FIRST_RUN,
          count: FIRST_RUN,
          record: richRecord,
        }),
      ),
    );
    console.log(`engine-once: produced ${2 * FIRST_RUN} events in ${Date.now() - t0} ms`);

    const first = await runOnce(configPath);
    console.log(`engine-once: run --once #1 (${2 * FIRST_RUN} events): ${first.exit.ms} ms`);
    expect(first.process.withMsg('kice engine started').map((l) => l.fetch)).toEqual(['raw']);
    expect(first.process.withMsg('records dead-lettered')).toEqual([]);
    await checkTables(1);

    t0 = Date.now();
    await Promise.all(
      TABLES.map((t, i) =>
        produce({
          brokers,
          topic: t.topic,
          partitions: PARTITIONS,
          first: 2 * FIRST_RUN + i * SECOND_RUN,
          count: SECOND_RUN,
          record: richRecord,
        }),
      ),
    );
    console.log(`engine-once: produced ${2 * SECOND_RUN} more in ${Date.now() - t0} ms`);
    // The second run through kafkajs's consumer: the same table offsets, the same result.
    const second = await runOnce(await config('kafkajs'));
    console.log(`engine-once: run --once #2 (${2 * SECOND_RUN} events): ${second.exit.ms} ms`);
    expect(second.process.withMsg('kice engine started').map((l) => l.fetch)).toEqual(['kafkajs']);
    expect(second.process.withMsg('records dead-lettered')).toEqual([]);
    // The second run starts from the offsets the tables record: it commits only the new rows.
    const added = second.process.withMsg('committed').reduce((n, l) => n + (l.rows as number), 0);
    expect(added).toBe(2 * SECOND_RUN);
    await checkTables(2);
  });
});
