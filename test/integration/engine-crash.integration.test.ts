/**
 * Crash safety of the kice daemon on the real broker: while a producer keeps a backlog
 * growing, `kice run` (commit.intervalMs 1000) is killed with SIGKILL 10 times and
 * restarted; at least 3 kills land inside a commit (after data files and manifests are
 * written, before the manifest list and the catalog commit: KICE_TEST_COMMIT_PAUSE_MS makes
 * the committer log "commit paused (test hook)" there and wait; engine-commit-steps kills at
 * every other step). A final `run --once` drains the topic; then every produced event is in
 * the table exactly once with every column equal to what was produced (rich events:
 * whole-number floats, arrays, nested objects, escapes), and the offsets are the end offsets.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  type KiceProcess,
  latestMetadata,
  recordedOffsets,
  runOnce,
  spawnKice,
  writeConfig,
} from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  idRange,
  produce,
  RICH_COLUMNS,
  richExpected,
  richRecord,
} from '../support/produce.ts';
import { allRowsMatch, checkRows } from '../support/row-hash.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-crash-${RUN}`;
const GROUP = `kice-e2e-crash-${RUN}`;
const TABLE = 'e2e.crash';
const PARTITIONS = 6;
const KILLS = 10;
const PAUSE_MS = 1500;
const PAUSED = 'commit paused (test hook)';

let brokers: string[];
let warehouse: string;
let dir: string;
let configPath: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A random integer in [lo, hi). */
const between = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-crash-'));
  warehouse = join(dir, 'warehouse');
  configPath = await writeConfig(dir, {
    // A killed member stays in the group until its session expires: keep that short.
    kafka: { brokers, groupId: GROUP, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE, columns: RICH_COLUMNS }],
    commit: { intervalMs: 1000 },
    deadLetter: { topic: `${GROUP}-dlq` },
  });
});

/** Whether the last commit `p` paused in never completed (the kill hit inside it). */
function killedInsideCommit(p: KiceProcess): boolean {
  const lastPause = p.lines.findLastIndex((l) => l.msg === PAUSED);
  return lastPause >= 0 && !p.lines.slice(lastPause).some((l) => l.msg === 'committed');
}

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kice run under kill -9', () => {
  it('keeps every event exactly once across 10 kills, 3+ of them inside a commit', async () => {
    // A backlog to start with, then a producer that keeps adding ~5,000 events/s.
    const initial = await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: 0,
      count: 100_000,
      record: richRecord,
    });
    let stopProducing = false;
    const background = produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: initial,
      count: 50_000_000,
      batchSize: 2_500,
      inFlight: 1,
      delayMs: 400,
      record: richRecord,
      stop: () => stopProducing,
    });

    const env = { KICE_TEST_COMMIT_PAUSE_MS: String(PAUSE_MS) };
    let insideCommit = 0;
    let commitsSeen = 0;
    for (let k = 0; k < KILLS; k++) {
      const p = spawnKice(configPath, { env });
      if (k % 2 === 0) {
        // Kill inside a commit (the first or the second of this run), at a random moment
        // of its pause.
        await p.waitForNth((l) => l.msg === PAUSED, 1 + ((k / 2) % 2), 120_000);
        await sleep(between(0, PAUSE_MS - 500));
      } else {
        // Kill at a random moment after a commit: decoding, flushing, or committing again.
        await p.waitForNth((l) => l.msg === 'committed', 1, 120_000);
        await sleep(between(0, 4_000));
      }
      expect(p.done, `kice exited by itself:\n${p.stderr}`).toBe(false);
      await p.kill9();
      if (killedInsideCommit(p)) insideCommit++;
      commitsSeen += p.withMsg('committed').length;
    }
    stopProducing = true;
    const produced = initial + (await background);
    console.log(
      `engine-crash: ${KILLS} kills, ${insideCommit} inside a commit, ${commitsSeen} commits completed between kills, ${produced} events produced`,
    );
    expect(insideCommit).toBeGreaterThanOrEqual(3);
    expect(commitsSeen).toBeGreaterThan(0);

    const drain = await runOnce(configPath);
    console.log(`engine-crash: draining run --once: ${drain.exit.ms} ms`);
    expect(drain.process.withMsg('records dead-lettered')).toEqual([]);
    const meta = await latestMetadata(warehouse, TABLE);
    expect(await checkRows(meta, 'id', idRange(0, produced), richExpected)).toEqual(
      allRowsMatch(produced),
    );
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
  });
});
