/**
 * Graceful shutdown of the kice daemon: on SIGTERM it stops fetching, flushes what it
 * buffered, commits it with its offsets, commits the offsets to the Kafka group, leaves
 * the group and exits 0. The commit interval and target size are far out of reach, so
 * any row in the table was committed by the shutdown itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  readMetadata,
  recordedOffsets,
  spawnKice,
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

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-term-${RUN}`;
const GROUP = `kice-e2e-term-${RUN}`;
const TABLE = 'e2e.term';
const COUNT = 30_000;

let brokers: string[];
let dir: string;
let warehouse: string;
let configPath: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, 3);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-term-'));
  warehouse = join(dir, 'warehouse');
  configPath = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE, columns: { ts: 'timestamptz' } }],
    commit: { intervalMs: 3_600_000, targetFileSizeBytes: 1024 * 1024 * 1024 },
    deadLetter: { topic: `${GROUP}-dlq` },
    log: { level: 'debug' },
  });
  await produce({ brokers, topic: TOPIC, partitions: 3, first: 0, count: COUNT });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kice run on SIGTERM', () => {
  it('flushes, commits table and group offsets, leaves the group and exits 0', async () => {
    const p = spawnKice(configPath);
    await p.waitForNth((l) => l.msg === 'partition assigned', 3, 120_000);
    // Wait until the whole backlog is buffered (nothing can commit on its own: see above):
    // the coordinator logs each buffered batch at debug level.
    const buffered = () =>
      p.withMsg('batch buffered').reduce((a, l) => a + Number((l as { rows?: number }).rows), 0);
    if (buffered() < COUNT) await p.waitForLine(() => buffered() >= COUNT, 120_000);
    expect(buffered()).toBe(COUNT);
    expect(p.withMsg('committed')).toEqual([]);
    const exit = await p.terminate();
    expect(exit.code).toBe(0);
    expect(p.withMsg('committed').length).toBe(1);

    const meta = await latestMetadata(warehouse, TABLE);
    const ends = await endOffsets(brokers, TOPIC);
    expect(await recordedOffsets(meta, GROUP)).toEqual({ [TOPIC]: ends });
    expect(await tableIdStats(meta, 'id')).toEqual(idStats(idRange(0, COUNT)));
    expect((await readMetadata(meta)).snapshots.length).toBe(1);

    // The group's committed offsets follow the table's, and the member left the group.
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      const groupOffsets = Object.fromEntries(
        (committed?.partitions ?? []).map((x) => [String(x.partition), x.offset]),
      );
      expect(groupOffsets).toEqual(ends);
      const [group] = (await admin.describeGroups([GROUP])).groups;
      expect(group?.members).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
