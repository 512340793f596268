/**
 * Three `kice run` daemons in one group on one table (6 partitions) while a producer runs,
 * under at least 20 faults chosen by a seeded PRNG (test/chaos/fault-loop.ts): kill -9 and
 * restart, SIGTERM (graceful leave) and restart, a SIGSTOPped member woken after the session
 * timeout (a zombie), late joiners. Afterwards PyIceberg finds every produced id exactly once
 * with every column equal to what was produced, the table records the topic's end offsets,
 * a late commit was refused by the continuity check, and no process ended other than by the
 * test's own signals or logged a fatal error.
 *
 * KICE_CHAOS_SEED=<n> replays a fault sequence; KICE_CHAOS_FAULTS=<n> changes the count.
 * The members' logs stay in the printed folder when the test fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSeed, runChaos, summarize } from '../chaos/fault-loop.ts';
import { startKafka } from '../support/kafka.ts';
import { allRowsMatch } from '../support/row-hash.ts';

const SEED = process.env.KICE_CHAOS_SEED ? Number(process.env.KICE_CHAOS_SEED) : randomSeed();
const FAULTS = Number(process.env.KICE_CHAOS_FAULTS ?? 20);

let brokers: string[];
let dir: string;
let passed = false;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-chaos-'));
});

afterAll(async () => {
  if (passed) await rm(dir, { recursive: true, force: true });
  else if (dir) console.log(`chaos: logs and warehouse kept in ${dir}`);
});

describe('three kice daemons under faults', () => {
  it(`keeps every row exactly once and every column equal (seed ${SEED})`, async () => {
    console.log(`chaos: seed ${SEED} (replay with KICE_CHAOS_SEED=${SEED})`);
    const r = await runChaos({
      brokers,
      workDir: dir,
      seed: SEED,
      faults: FAULTS,
      log: (line) => console.log(`chaos: ${line}`),
    });
    console.log(summarize(r));

    expect(r.faults.length).toBeGreaterThanOrEqual(FAULTS);
    for (const kind of ['kill9', 'term', 'zombie', 'join'] as const)
      expect(r.faultCounts[kind], kind).toBeGreaterThan(0);
    expect(r.anomalies).toEqual([]);
    expect(r.stalls).toEqual([]);
    // The producer wrote each id once; the table holds each exactly once, every column equal.
    expect(r.topicRecords).toBe(r.produced);
    expect(r.rows).toEqual(allRowsMatch(r.produced));
    expect(r.recordedOffsets).toEqual(r.endOffsets);
    // A late commit (a woken zombie's, or one racing it) was refused by the continuity check.
    expect(r.refusedCommits).toBeGreaterThan(0);
    // Every graceful leave exited 0.
    for (const f of r.faults.filter((f) => f.kind === 'term')) expect(f.detail?.code).toBe(0);
    passed = true;
  });
});
