/**
 * A `day(ts)`-partitioned table end to end: events spread over 3 days, one `kice run --once`
 * with a commit interval and target size large enough for a single flush → exactly one data
 * file per day (PyIceberg's plan), every row read back, and DuckDB's Iceberg scan for one
 * day opens only that day's file ("Total Files Read" of ICEBERG_SCAN in DuckDB's query
 * profile: 1, against 3 unfiltered; the matching rows' `filename` is that day's file).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  duckdbScanned,
  latestMetadata,
  plannedFiles,
  recordedOffsets,
  runOnce,
  tableIdStats,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, idRange, idStats, produce } from '../support/produce.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-part-${RUN}`;
const GROUP = `kice-e2e-part-${RUN}`;
const TABLE = 'e2e.partitioned';
const PARTITIONS = 3;
const PER_DAY = 10_000;
const DAYS = 3;
const DAY_MS = 86_400_000;
/** 2024-03-01T00:00:00Z. */
const START = Date.UTC(2024, 2, 1);
/** Days since 1970-01-01 of 2024-03-01. */
const START_DAY = START / DAY_MS;

/** Event `id` falls on day floor(id / PER_DAY), spread over that day. */
function event(id: number): string {
  const day = Math.floor(id / PER_DAY);
  const ts = new Date(START + day * DAY_MS + (id % PER_DAY) * 8_000 + (id % 1000));
  return JSON.stringify({ id, ts: ts.toISOString(), v: `v${id}` });
}

let brokers: string[];
let warehouse: string;
let dir: string;
let configPath: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-part-'));
  warehouse = join(dir, 'warehouse');
  configPath = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP },
    catalog: { type: 'filesystem', warehouse },
    tables: [
      { topic: TOPIC, table: TABLE, partitionBy: ['day(ts)'], columns: { ts: 'timestamptz' } },
    ],
    commit: { intervalMs: 3_600_000, targetFileSizeBytes: 1024 * 1024 * 1024 },
    deadLetter: { topic: `${GROUP}-dlq` },
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('day(ts) partitioning', () => {
  it('writes one file per day and DuckDB reads only the queried day', async () => {
    // Ids interleaved over the days so that every Kafka partition and batch holds all 3 days.
    const order = [...idRange(0, PER_DAY * DAYS)].map(
      (k) => (k % DAYS) * PER_DAY + Math.floor(k / DAYS),
    );
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: 0,
      count: order.length,
      record: (k) => ({ value: event(order[k] as number), partition: k % PARTITIONS }),
    });
    const run = await runOnce(configPath);
    expect(run.process.withMsg('committed')).toHaveLength(1);

    const meta = await latestMetadata(warehouse, TABLE);
    expect(await tableIdStats(meta, 'id')).toEqual(idStats(idRange(0, PER_DAY * DAYS)));
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });

    const files = await plannedFiles(meta);
    expect(files.map((f) => [f.partition, f.records])).toEqual(
      [0, 1, 2].map((d) => [[String(START_DAY + d)], PER_DAY]),
    );
    for (const [d, f] of files.entries()) {
      const day = new Date(START + d * DAY_MS).toISOString().slice(0, 10);
      expect(f.path).toContain(`/data/ts_day=${day}/`);
    }

    // DuckDB, filtered to the second day: that day's rows, from that day's file only.
    const whereDay2 =
      "ts >= TIMESTAMPTZ '2024-03-02 00:00:00+00' AND ts < TIMESTAMPTZ '2024-03-03 00:00:00+00'";
    const scan = await duckdbScanned(meta, whereDay2);
    console.log(`engine-partitioned: DuckDB scanned ${JSON.stringify(scan)}`);
    expect(scan.count).toBe(PER_DAY);
    expect(scan.filenames).toEqual([files[1]?.path]);
    expect(scan.filesRead).toBe(1);
    expect(scan.filesReadUnfiltered).toBe(DAYS);
  });
});
