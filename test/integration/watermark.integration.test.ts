/**
 * The completeness watermark end to end on the real broker (docs/operations.md,
 * "Completeness watermark"): records with explicit CreateTime timestamps, out of order
 * within a partition, over 3 partitions.
 *
 * - `run --once` twice, the second time with one partition idle: every snapshot's
 *   per-partition values and table-wide minimum are checked against the log read back
 *   (no record at or past a partition's committed offset has a timestamp at or below its
 *   watermark), never go backwards, and the idle partition advances to the second run's
 *   check time; `kice tables` shows the value.
 * - The daemon killed with SIGKILL twice while a producer writes: across restarts
 *   the same two checks hold for every snapshot of the history.
 *
 * Timestamps are set a few seconds ahead of the send time (out of order among themselves),
 * so that, as the watermark assumes, no record reaches the broker with a timestamp older
 * than its arrival.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  KICE_BIN,
  KICE_ENV,
  KICE_NODE_FLAGS,
  latestMetadata,
  runOnce,
  spawnKice,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, exactProducer, readTopic } from '../support/produce.ts';
import { REPO_ROOT } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const PARTITIONS = 3;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-watermark-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Produces `[partition, timestamp offset from now]` records, in this order. */
async function produceAt(topic: string, records: readonly [number, number][]): Promise<void> {
  const producer = exactProducer(brokers);
  await producer.connect();
  try {
    for (const [partition, ahead] of records) {
      const ts = Date.now() + ahead;
      await producer.send({
        topic,
        messages: [{ partition, value: JSON.stringify({ ts }), timestamp: String(ts) }],
      });
    }
  } finally {
    await producer.disconnect();
  }
}

interface Snap {
  readonly seq: number;
  readonly offsets: Record<string, Record<string, string>> | undefined;
  readonly watermarks: Record<string, Record<string, string>> | undefined;
  readonly table: string | undefined;
}

/** The table's snapshots in commit order with their kice properties. */
async function history(warehouse: string, table: string, group: string): Promise<Snap[]> {
  const meta = JSON.parse(await readFile(await latestMetadata(warehouse, table), 'utf8')) as {
    snapshots: { 'sequence-number': number; summary: Record<string, string> }[];
  };
  const json = (v: string | undefined) => (v === undefined ? undefined : JSON.parse(v));
  return meta.snapshots
    .map((s) => ({
      seq: s['sequence-number'],
      offsets: json(s.summary[`kice.offsets.${group}`]),
      watermarks: json(s.summary[`kice.watermarks.${group}`]),
      table: s.summary['kice.watermark'],
    }))
    .sort((a, b) => a.seq - b.seq);
}

/**
 * Every snapshot's watermarks against the log: per partition, no record at or past the
 * snapshot's offset has a timestamp <= the watermark; values never decrease; the table-wide
 * value is the minimum over the partitions the snapshot holds (absent while one has none).
 */
async function checkHistory(snaps: readonly Snap[], topic: string): Promise<void> {
  const log = await readTopic(brokers, topic);
  const last = new Map<string, number>();
  let lastTable = Number.NEGATIVE_INFINITY;
  let checked = 0;
  for (const s of snaps) {
    const held = Object.entries(s.offsets?.[topic] ?? {});
    const marks = s.watermarks?.[topic] ?? {};
    for (const [p, next] of held) {
      const w = marks[p];
      if (w === undefined) continue;
      checked++;
      const later = log.filter(
        (r) => r.partition === Number(p) && BigInt(r.offset) >= BigInt(next),
      );
      for (const r of later) expect(Number(r.timestamp)).toBeGreaterThan(Number(w));
      expect(Number(w)).toBeGreaterThanOrEqual(last.get(p) ?? Number.NEGATIVE_INFINITY);
      last.set(p, Number(w));
    }
    const all = held.map(([p]) => marks[p]);
    if (held.length === 0 || all.some((w) => w === undefined)) {
      expect(s.table).toBeUndefined();
    } else {
      expect(s.table).toBe(String(Math.min(...all.map(Number))));
      expect(Number(s.table)).toBeGreaterThanOrEqual(lastTable);
      lastTable = Number(s.table);
    }
  }
  expect(checked).toBeGreaterThan(0);
}

describe('completeness watermark', () => {
  it('run --once: exact per-partition values and minimum, an idle partition advances, kice tables shows it', async () => {
    const topic = `kice-e2e-wm-once-${RUN}`;
    const group = `kice-e2e-wm-once-${RUN}`;
    const warehouse = join(dir, 'once');
    await createTopic(brokers, topic, PARTITIONS);
    const config = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: group },
        catalog: { type: 'filesystem', warehouse },
        tables: [{ topic, table: 'e2e.wm_once' }],
        deadLetter: { topic: `${group}-dlq` },
      },
      'once.yaml',
    );
    // Out of order within partitions 0 and 1.
    await produceAt(topic, [
      [0, 9000],
      [0, 3000],
      [0, 6000],
      [1, 8000],
      [1, 4000],
      [2, 5000],
    ]);
    const before1 = Date.now();
    await runOnce(config);
    const after1 = Date.now();
    let snaps = await history(warehouse, 'e2e.wm_once', group);
    const first = snaps.at(-1) as Snap;
    expect(first.offsets).toEqual({ [topic]: { 0: '3', 1: '2', 2: '1' } });
    // Every partition caught up at one check: all at the check time, the minimum with them.
    const w1 = Number(first.table);
    expect(w1).toBeGreaterThanOrEqual(before1);
    expect(w1).toBeLessThanOrEqual(after1);
    expect(first.watermarks).toEqual({ [topic]: { 0: String(w1), 1: String(w1), 2: String(w1) } });

    // Partition 2 idle; partition 0 gets records older than some it already holds.
    await produceAt(topic, [
      [0, 2000],
      [0, 7000],
      [1, 1000],
    ]);
    const before2 = Date.now();
    await runOnce(config);
    const after2 = Date.now();
    snaps = await history(warehouse, 'e2e.wm_once', group);
    const second = snaps.at(-1) as Snap;
    expect(second.offsets).toEqual({ [topic]: { 0: '5', 1: '3', 2: '1' } });
    const w2 = Number(second.table);
    expect(w2).toBeGreaterThanOrEqual(before2);
    expect(w2).toBeLessThanOrEqual(after2);
    expect(second.watermarks).toEqual({ [topic]: { 0: String(w2), 1: String(w2), 2: String(w2) } });
    await checkHistory(snaps, topic);

    const exec = promisify(execFile);
    const cli = (...args: string[]) =>
      exec(process.execPath, [...KICE_NODE_FLAGS, KICE_BIN, 'tables', '-c', config, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...KICE_ENV },
      });
    const json = JSON.parse((await cli('--json')).stdout) as Record<string, unknown>[];
    expect(json).toEqual([
      expect.objectContaining({
        table: 'e2e.wm_once',
        watermarkMs: w2,
        watermark: new Date(w2).toISOString(),
        partitionWatermarksMs: { [`${topic}:0`]: w2, [`${topic}:1`]: w2, [`${topic}:2`]: w2 },
      }),
    ]);
    const text = (await cli()).stdout.split('\n');
    expect(text[0]).toMatch(/^table +snapshots +rows +files +bytes +complete through +offsets/);
    expect(text[1]).toContain(`  ${new Date(w2).toISOString()}  `);
  }, 120_000);

  it('kill -9 and restart: every snapshot stays within the truth and never goes backwards', async () => {
    const topic = `kice-e2e-wm-kill-${RUN}`;
    const group = `kice-e2e-wm-kill-${RUN}`;
    const warehouse = join(dir, 'kill');
    await createTopic(brokers, topic, PARTITIONS);
    const config = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: group, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
        catalog: { type: 'filesystem', warehouse },
        tables: [{ topic, table: 'e2e.wm_kill' }],
        deadLetter: { topic: `${group}-dlq` },
        commit: { intervalMs: 300 },
      },
      'kill.yaml',
    );
    let producing = true;
    let sent = 0;
    const producer = (async () => {
      const p = exactProducer(brokers);
      await p.connect();
      try {
        while (producing) {
          // Partition 2 only in the first part of the run: idle afterwards.
          const parts = sent < 40 ? [0, 1, 2] : [0, 1];
          const messages = parts.flatMap((partition) =>
            [0, 1, 2].map(() => {
              const ts = Date.now() + 3000 + Math.floor(Math.random() * 5000);
              return { partition, value: JSON.stringify({ ts }), timestamp: String(ts) };
            }),
          );
          await p.send({ topic, messages });
          sent++;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await p.disconnect();
      }
    })();
    try {
      for (let kill = 0; kill < 2; kill++) {
        const k = spawnKice(config);
        await k.waitForNth((l) => l.msg === 'committed', 2 + kill, 60_000);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
        await k.kill9();
      }
    } finally {
      producing = false;
      await producer;
    }
    const beforeLast = Date.now();
    await runOnce(config);
    const snaps = await history(warehouse, 'e2e.wm_kill', group);
    const last = snaps.at(-1) as Snap;
    const ends = await endOffsets(brokers, topic);
    expect(last.offsets).toEqual({ [topic]: ends });
    await checkHistory(snaps, topic);
    // The last run caught every partition up, the idle one too: nothing is left uncommitted,
    // so every partition is at the last check time.
    const final = Object.values(last.watermarks?.[topic] ?? {}).map(Number);
    expect(final).toHaveLength(PARTITIONS);
    for (const w of final) expect(w).toBeGreaterThanOrEqual(beforeLast);
    expect(Number(last.table)).toBe(Math.min(...final));
  }, 240_000);
});
