/**
 * Another writer between two kice commits, on the real broker: `kice run --once` ingests
 * 3,000 events; then PyIceberg appends 50 rows to the same table in the Hadoop layout (the
 * next `v<N+1>.metadata.json` and `version-hint.text`), so the table's current snapshot
 * carries no kice offsets. The group's committed Kafka offsets are deleted (as Kafka does
 * for a group left empty past offsets.retention.minutes), so that only the table can say
 * where to resume. 1,500 more events and a second run: every partition resumes at exactly
 * the offsets of the kice snapshot below the foreign one, the continuity check accepts the
 * commit, and PyIceberg and DuckDB (reading the table folder through the version hint) find
 * every produced id and every foreign id exactly once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  recordedOffsets,
  runOnce,
  tableDir,
  tableIdStats,
  writeConfig,
} from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  idRange,
  idStats,
  kafkaClient,
  produce,
} from '../support/produce.ts';
import { duckdbQuery, pyicebergAppendHadoop, pyicebergHistory } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-foreign-${RUN}`;
const GROUP = `kice-e2e-foreign-${RUN}`;
const TABLE = 'e2e.foreign';
const PARTITIONS = 3;
const FIRST = 3_000;
const SECOND = 1_500;
const FOREIGN_FIRST = 1_000_000;
const FOREIGN = 50;

let brokers: string[];
let warehouse: string;
let dir: string;
let configPath: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  await createTopic(brokers, `${GROUP}-dlq`, 1);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-foreign-'));
  warehouse = join(dir, 'warehouse');
  configPath = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP, autoOffsetReset: 'earliest' },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE, columns: { ts: 'timestamptz' } }],
    deadLetter: { topic: `${GROUP}-dlq` },
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function deleteGroupOffsets(): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    await admin.deleteGroups([GROUP]);
    expect(await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })).toEqual([
      {
        topic: TOPIC,
        partitions: Array.from({ length: PARTITIONS }, (_, p) => ({
          partition: p,
          offset: '-1',
          metadata: null,
        })),
      },
    ]);
  } finally {
    await admin.disconnect();
  }
}

describe('a snapshot by another writer between two kice commits', () => {
  it('resumes at exactly the recorded offsets, nothing lost or doubled', async () => {
    await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: 0, count: FIRST });
    const first = await runOnce(configPath);
    expect(first.process.withMsg('records dead-lettered')).toEqual([]);
    const afterFirst = await endOffsets(brokers, TOPIC);
    const kiceMeta = await latestMetadata(warehouse, TABLE);
    expect(await recordedOffsets(kiceMeta, GROUP)).toEqual({ [TOPIC]: afterFirst });
    const kiceSnapshot = (await pyicebergHistory(kiceMeta)).currentSnapshotId;

    // PyIceberg appends in the Hadoop layout: the next version, and the hint names it.
    const folder = tableDir(warehouse, TABLE);
    const version = Number(/v(\d+)\.metadata\.json$/.exec(kiceMeta)?.[1]);
    const foreignMeta = await pyicebergAppendHadoop(
      folder,
      Array.from({ length: FOREIGN }, (_, k) => ({
        id: BigInt(FOREIGN_FIRST + k),
        name: `foreign-${k}`,
      })),
    );
    expect(foreignMeta).toBe(join(folder, 'metadata', `v${version + 1}.metadata.json`));
    expect(await readFile(join(folder, 'metadata', 'version-hint.text'), 'utf8')).toBe(
      String(version + 1),
    );
    const foreignHistory = await pyicebergHistory(foreignMeta);
    const foreignSnap = foreignHistory.snapshots.find(
      (s) => s.snapshotId === foreignHistory.currentSnapshotId,
    );
    expect(foreignSnap?.parentSnapshotId).toBe(kiceSnapshot);
    expect(foreignSnap?.summary.writer).toBe('pyiceberg-append-hadoop');
    expect(foreignSnap?.summary[`kice.offsets.${GROUP}`]).toBeUndefined();

    // DuckDB given the folder follows the hint to the foreign version.
    expect(
      await duckdbQuery(folder, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM {t}'),
    ).toEqual([{ n: BigInt(FIRST + FOREIGN), d: BigInt(FIRST + FOREIGN) }]);

    await deleteGroupOffsets();
    await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: FIRST, count: SECOND });
    const second = await runOnce(configPath);
    expect(second.process.withMsg('records dead-lettered')).toEqual([]);

    // Every partition resumed from the table, at the offsets below the foreign snapshot.
    const assigned = second.process.withMsg('partition assigned');
    expect(
      Object.fromEntries(assigned.map((l) => [l.partition, { offset: l.offset, from: l.from }])),
    ).toEqual(
      Object.fromEntries(
        Object.entries(afterFirst).map(([p, o]) => [`${TOPIC}:${p}`, { offset: o, from: 'table' }]),
      ),
    );
    expect(second.process.lines.filter((l) => /refused/.test(String(l.msg)))).toEqual([]);
    const added = second.process.withMsg('committed').reduce((n, l) => n + (l.rows as number), 0);
    expect(added).toBe(SECOND);

    const meta = await latestMetadata(warehouse, TABLE);
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
    const history = await pyicebergHistory(meta);
    const current = history.snapshots.find((s) => s.snapshotId === history.currentSnapshotId);
    expect(current?.parentSnapshotId).toBe(foreignHistory.currentSnapshotId);

    const expected = idStats([...idRange(0, FIRST + SECOND), ...idRange(FOREIGN_FIRST, FOREIGN)]);
    expect(await tableIdStats(meta, 'id')).toEqual(expected);
    // DuckDB given the table folder follows version-hint.text to the newest version.
    expect(await readFile(join(folder, 'metadata', 'version-hint.text'), 'utf8')).toBe(
      String(version + 2),
    );
    expect(
      await duckdbQuery(
        folder,
        'SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s, count(*) FILTER (WHERE name LIKE $$foreign-%$$) AS f FROM {t}',
      ),
    ).toEqual([
      {
        n: BigInt(expected.count),
        d: BigInt(expected.distinct),
        s: BigInt(expected.sum),
        f: BigInt(FOREIGN),
      },
    ]);
  });
});
