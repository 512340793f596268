/**
 * Commit races through a REST catalog (Apache Iceberg's REST server, the suite's shared
 * one, test/infra/iceberg-rest.sh): two kice daemons (own consumer groups, one topic each,
 * both topics mapped to ONE table) and PyIceberg appending to the same table through the
 * same catalog in a loop, all at once. Every append lands exactly once: each produced id
 * of both topics and each of PyIceberg's ids is in the table once, nothing else is; the
 * table's history records each group's end offsets of its topic (the newest snapshot of
 * each group in the current ancestry); and the commits really
 * raced: the attempt number in committed manifest list names (`snap-<id>-<attempt>-…`)
 * and PyIceberg's CommitFailedException retries show refused commits that were retried.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileIO, RestCatalog } from '@kice/iceberg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordedProperties } from '../../packages/core/src/commit/offsets.ts';
import { readOffsets } from '../../packages/core/src/index.ts';
import { startRest } from '../support/iceberg-rest.ts';
import { startKafka } from '../support/kafka.ts';
import { type KiceProcess, spawnKice, writeConfig } from '../support/kice-process.ts';
import { createTopic, endOffsets, produce } from '../support/produce.ts';
import { READERS_PY, restRows, runPython } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const NS = `races_${RUN}`;
const TABLE = `${NS}.events`;
const PARTITIONS = 3;
const PER_TOPIC = 30_000;
const PY_APPENDS = 60;
const PY_FIRST = 5_000_000;
const WRITERS = [
  { topic: `kice-races-a-${RUN}`, group: `kice-races-a-${RUN}`, first: 0 },
  { topic: `kice-races-b-${RUN}`, group: `kice-races-b-${RUN}`, first: 1_000_000 },
] as const;

let dir: string;
let uri: string;
let brokers: string[];
const kices: KiceProcess[] = [];

beforeAll(async () => {
  [uri, brokers] = await Promise.all([startRest(), startKafka().then((b) => [b])]);
  for (const w of WRITERS) await createTopic(brokers, w.topic, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-races-'));
});

afterAll(async () => {
  for (const k of kices) if (!k.done) await k.kill9();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Each group's offsets as kice reads them back: from the newest snapshot in the current
 * ancestry that carries the group's property (each group's commits carry only its own,
 * PyIceberg's none).
 */
async function recorded(catalog: RestCatalog): Promise<Record<string, Record<string, string>>> {
  const t = await catalog.loadTable({ namespace: [NS], name: 'events' });
  const summary = Object.fromEntries(recordedProperties(t.metadata).properties);
  return Object.fromEntries(
    WRITERS.map((w) => [
      w.group,
      Object.fromEntries([...readOffsets(summary, w.group)].map(([k, v]) => [k, v.toString()])),
    ]),
  );
}

it('two kice processes and PyIceberg append to one table through REST at once; every append lands once', async () => {
  for (const [i, w] of WRITERS.entries()) {
    const config = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: w.group },
        catalog: { type: 'rest', uri },
        tables: [{ topic: w.topic, table: TABLE }],
        commit: { intervalMs: 200 },
        deadLetter: { topic: `${w.group}-dlq` },
        log: { level: 'info' },
      },
      `kice-${i}.yaml`,
    );
    kices.push(spawnKice(config));
  }
  // Both daemons are in their groups, with their partitions, before anything is produced.
  await Promise.all(
    kices.map((k) => k.waitForNth((l) => l.msg === 'partition assigned', PARTITIONS, 120_000)),
  );
  const python = runPython([
    READERS_PY,
    'rest-append-loop',
    uri,
    TABLE,
    String(PY_FIRST),
    String(PY_APPENDS),
  ]);
  // Both topics arrive in small batches while everyone commits.
  await Promise.all(
    WRITERS.map((w) =>
      produce({
        brokers,
        topic: w.topic,
        partitions: PARTITIONS,
        first: w.first,
        count: PER_TOPIC,
        batchSize: 200,
        inFlight: 1,
        delayMs: 100,
      }),
    ),
  );
  const py = JSON.parse(await python) as {
    appended: number;
    retries: number;
    snapshot_ids: string[];
  };
  expect(py.appended).toBe(PY_APPENDS);

  const want: Record<string, Record<string, string>> = {};
  for (const w of WRITERS) {
    const ends = await endOffsets(brokers, w.topic);
    want[w.group] = Object.fromEntries(
      Object.entries(ends).map(([p, o]) => [`${w.topic}:${p}`, o]),
    );
  }
  const catalog = new RestCatalog({ uri, io: new LocalFileIO() });
  const deadline = Date.now() + 180_000;
  let got = await recorded(catalog);
  while (JSON.stringify(got) !== JSON.stringify(want)) {
    if (Date.now() > deadline)
      throw new Error(`offsets not committed in time: ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 250));
    got = await recorded(catalog);
  }
  for (const k of kices) expect((await k.terminate()).code, k.stderr.slice(-4000)).toBe(0);
  expect(await recorded(catalog)).toEqual(want);

  const rows = await restRows(uri, TABLE);
  const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  const expected = [
    ...WRITERS.flatMap((w) => Array.from({ length: PER_TOPIC }, (_, i) => w.first + i)),
    ...Array.from({ length: PY_APPENDS }, (_, i) => PY_FIRST + i),
  ];
  expect(ids.length).toBe(expected.length);
  expect(ids).toEqual(expected);

  // Contention: kice commits that needed more than one attempt, and PyIceberg's retries.
  const t = await catalog.loadTable({ namespace: [NS], name: 'events' });
  const pySnapshots = new Set(py.snapshot_ids);
  const kiceRetried = t.metadata.snapshots.filter((s) => {
    if (pySnapshots.has(s.snapshotId.toString())) return false;
    const attempt = /\/snap-\d+-(\d+)-[^/]+\.avro$/.exec(s.manifestList)?.[1];
    return attempt !== undefined && Number(attempt) > 1;
  }).length;
  console.log(
    `rest-commit-races: kice commits retried ${kiceRetried}, PyIceberg retries ${py.retries}, snapshots ${t.metadata.snapshots.length}`,
  );
  expect(kiceRetried + py.retries).toBeGreaterThan(0);
});
