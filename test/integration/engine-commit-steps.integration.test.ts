/**
 * kill -9 at each step of a commit, on the real broker. A first run creates the table;
 * then, for each step (the data files
 * written; the manifests; the manifest list; the metadata file v<N+1> in place but the
 * hint still naming N; the hint rewritten) 2,000 more events are produced, `kice run`
 * pauses its first commit at that step (KICE_TEST_COMMIT_PAUSE_AT: it logs "commit paused
 * (test hook)" with the step) and is killed there. The files on disk are what the step
 * says. Then `kice run --once` restarts from what the table records: every produced id is
 * in the table exactly once, the recorded offsets are the end offsets, version-hint.text
 * names the newest metadata file, and DuckDB reading the table FOLDER (through the hint,
 * as folder-based readers do) sees exactly the produced rows. Spark (Java's Hadoop catalog,
 * which reads the hint and then probes forward for v<N+1>) reads the table after each kill
 * and after each restart: after a kill before `metadata` it sees exactly the rows committed
 * before; after a kill at `metadata` or `version-hint` exactly the rows of the new version
 * (it probes past the stale hint); after the restart exactly the produced ids. Last, a kill at `metadata`
 * in the commit that covers every produced event: the restart has nothing to commit and
 * must still leave the hint naming that version.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  recordedOffsets,
  runOnce,
  spawnKice,
  tableDir,
  tableIdStats,
  writeConfig,
} from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  type IdStats,
  idRange,
  idStats,
  produce,
} from '../support/produce.ts';
import { duckdbQuery } from '../support/readers.ts';
import { sparkSql, startSpark } from '../support/spark.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-steps-${RUN}`;
const GROUP = `kice-e2e-steps-${RUN}`;
const TABLE = 'e2e.steps';
const PARTITIONS = 3;
const PER_STEP = 2_000;
const PAUSED = 'commit paused (test hook)';
const STEPS = ['data', 'manifests', 'manifest-list', 'metadata', 'version-hint'] as const;

let brokers: string[];
let warehouse: string;
let folder: string;
let dir: string;
let configPath: string;

beforeAll(async () => {
  // The shared Spark server starts in the background while Kafka starts and the first run goes.
  startSpark().catch(() => undefined);
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  await createTopic(brokers, `${GROUP}-dlq`, 1);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-steps-'));
  warehouse = join(dir, 'warehouse');
  folder = tableDir(warehouse, TABLE);
  configPath = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE, columns: { ts: 'timestamptz' } }],
    // Long enough for each step's 2,000 events to be consumed before the first flush: the
    // killed commit then holds them all, and the restart has nothing new to commit.
    commit: { intervalMs: 4000 },
    deadLetter: { topic: `${GROUP}-dlq` },
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The newest metadata version on disk (0 before the table exists). */
async function latestVersion(): Promise<number> {
  try {
    return Number(/v(\d+)\.metadata\.json$/.exec(await latestMetadata(warehouse, TABLE))?.[1]);
  } catch {
    return 0;
  }
}

/** The ids Spark reads through the Hadoop catalog (version-hint.text, then probing forward). */
async function sparkIdStats(): Promise<IdStats> {
  const rows = await sparkSql(warehouse, `SELECT id FROM {k}.${TABLE}`);
  return idStats(rows.map((r) => Number(r.id)));
}

async function hint(): Promise<string | undefined> {
  try {
    return await readFile(join(folder, 'metadata', 'version-hint.text'), 'utf8');
  } catch {
    return undefined;
  }
}

describe('kill -9 at each step of a commit', () => {
  it('loses and doubles nothing, and folder readers see exactly the rows', async () => {
    // A first run creates the table, so that each step below starts from a committed one.
    let produced = await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: 0,
      count: PER_STEP,
    });
    await runOnce(configPath);
    for (const step of STEPS) {
      await produce({
        brokers,
        topic: TOPIC,
        partitions: PARTITIONS,
        first: produced,
        count: PER_STEP,
      });
      produced += PER_STEP;
      const before = await latestVersion();
      const hintBefore = await hint();

      const t0 = Date.now();
      const p = spawnKice(configPath, {
        env: { KICE_TEST_COMMIT_PAUSE_AT: step, KICE_TEST_COMMIT_PAUSE_MS: '600000' },
      });
      const paused = await p.waitForLine((l) => l.msg === PAUSED && l.step === step, 120_000);
      const pausedAfterMs = Date.now() - t0;
      await p.kill9();
      expect(p.withMsg('committed'), `${step}: no commit completes before the pause`).toEqual([]);
      // The file the step wrote is there (paths are file: URIs).
      const written = fileURLToPath(paused.path as string);
      await access(written);
      // On disk, what the step says: before `metadata` no new version; at `metadata` the
      // new version with the old hint; at `version-hint` the hint names the new version.
      const after = await latestVersion();
      if (step === 'metadata' || step === 'version-hint') {
        expect(after, step).toBe(before + 1);
        expect(written, step).toBe(
          step === 'metadata'
            ? join(folder, 'metadata', `v${after}.metadata.json`)
            : join(folder, 'metadata', 'version-hint.text'),
        );
        expect(await hint(), step).toBe(String(step === 'metadata' ? before : after));
        // Java follows the new version past the stale hint: exactly the rows it holds.
        const killed = await tableIdStats(await latestMetadata(warehouse, TABLE), 'id');
        expect(killed.count, step).toBeGreaterThan(produced - PER_STEP);
        expect(await sparkIdStats(), `${step}: Spark after the kill`).toEqual(killed);
      } else {
        expect(after, step).toBe(before);
        expect(await hint(), step).toBe(hintBefore);
        expect(await sparkIdStats(), `${step}: Spark after the kill`).toEqual(
          idStats(idRange(0, produced - PER_STEP)),
        );
      }

      const restart = await runOnce(configPath);
      expect(restart.process.withMsg('records dead-lettered')).toEqual([]);
      const meta = await latestMetadata(warehouse, TABLE);
      const expected = idStats(idRange(0, produced));
      expect(await tableIdStats(meta, 'id'), step).toEqual(expected);
      expect(await recordedOffsets(meta, GROUP), step).toEqual({
        [TOPIC]: await endOffsets(brokers, TOPIC),
      });
      expect(await hint(), step).toBe(String(await latestVersion()));
      expect(
        await duckdbQuery(
          folder,
          'SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s FROM {t}',
        ),
        step,
      ).toEqual([
        { n: BigInt(expected.count), d: BigInt(expected.distinct), s: BigInt(expected.sum) },
      ]);
      expect(await sparkIdStats(), `${step}: Spark after the restart`).toEqual(expected);
      console.log(
        `engine-commit-steps: killed at ${step} (v${before} -> v${after}), paused after ${pausedAfterMs} ms; restart committed ${restart.process.withMsg('committed').length} time(s) in ${restart.exit.ms} ms`,
      );
    }
    // The commit killed at `metadata` is the one that covers every produced event, so the
    // restart has nothing to commit: it must still leave the hint naming the newest version.
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: produced,
      count: PER_STEP,
    });
    produced += PER_STEP;
    const ends = await endOffsets(brokers, TOPIC);
    const p = spawnKice(configPath, {
      env: { KICE_TEST_COMMIT_PAUSE_AT: 'metadata', KICE_TEST_COMMIT_PAUSE_MS: '3000' },
    });
    for (let n = 1; ; n++) {
      await p.waitForNth((l) => l.msg === PAUSED, n, 120_000);
      const offsets = await recordedOffsets(await latestMetadata(warehouse, TABLE), GROUP);
      if (JSON.stringify(offsets) === JSON.stringify({ [TOPIC]: ends })) break;
    }
    await p.kill9();
    const last = await latestVersion();
    expect(await hint()).toBe(String(last - 1));
    const all = idStats(idRange(0, produced));
    expect(await sparkIdStats(), 'Spark after the last kill').toEqual(all);
    const restart = await runOnce(configPath);
    expect(restart.process.withMsg('committed')).toEqual([]);
    expect(await latestVersion()).toBe(last);
    expect(await hint()).toBe(String(last));
    const expected = idStats(idRange(0, produced));
    expect(await tableIdStats(await latestMetadata(warehouse, TABLE), 'id')).toEqual(expected);
    expect(
      await duckdbQuery(
        folder,
        'SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s FROM {t}',
      ),
    ).toEqual([
      { n: BigInt(expected.count), d: BigInt(expected.distinct), s: BigInt(expected.sum) },
    ]);
    expect(await sparkIdStats(), 'Spark after the last restart').toEqual(expected);
  });
});
