/**
 * memory.limit end to end: `kice run --once` (the real CLI, a child process) over a JSON
 * backlog half again as large as the limit, with 2 workers, keeps the whole process's
 * peak resident set (VmHWM of /proc/<pid>/status, worker threads included: they share the
 * process) within memory.limit, at 512 MiB and at 1 GiB, and the table holds every event
 * exactly once. Everything the limit governs is derived from it (config/memory-plan.ts):
 * the config sets nothing else about memory. docs/config.md, "Memory".
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  type KiceProcess,
  latestMetadata,
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
  produce,
  sampleEvent,
} from '../support/produce.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-memlimit-${RUN}`;
const TABLE = 'e2e.memlimit';
const PARTITIONS = 6;
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const WORKERS = 2;
/** The larger limit tested; the backlog is 1.5 × it. */
const LARGEST = GiB;

/** A ~1 KB event: `sampleEvent(id)` and a hex `pad` of 640–703 characters. */
function paddedRecord(id: number): { value: string } {
  const hex = createHash('sha256').update(String(id)).digest('hex');
  return {
    value: JSON.stringify({ ...sampleEvent(id), pad: hex.repeat(11).slice(0, 640 + (id % 64)) }),
  };
}

const AVERAGE_BYTES = Buffer.byteLength(paddedRecord(12_345).value);
const COUNT = Math.ceil((1.5 * LARGEST) / AVERAGE_BYTES / 1000) * 1000;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-memlimit-'));
  const t0 = Date.now();
  const quarter = COUNT / 4;
  await Promise.all(
    [0, 1, 2, 3].map((k) =>
      produce({
        brokers,
        topic: TOPIC,
        partitions: PARTITIONS,
        first: k * quarter,
        count: quarter,
        record: paddedRecord,
      }),
    ),
  );
  console.log(
    `memory-limit: produced ${COUNT} events of ~${AVERAGE_BYTES} bytes (${((COUNT * AVERAGE_BYTES) / GiB).toFixed(2)} GiB) in ${Date.now() - t0} ms`,
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The child's peak resident set: VmHWM (the kernel's high-water mark), polled until exit. */
async function peakRss(p: KiceProcess): Promise<number> {
  let peak = 0;
  while (!p.done) {
    try {
      const status = await readFile(`/proc/${p.pid}/status`, 'utf8');
      const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // exited between the check and the read
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return peak;
}

describe('memory.limit', () => {
  for (const limit of [512 * MiB, GiB]) {
    const name = limit === GiB ? '1 GiB' : `${limit / MiB} MiB`;
    it(`keeps kice run --once within memory.limit ${name} with ${WORKERS} workers over a backlog of 1.5 × ${LARGEST / GiB} GiB, every event committed once`, async () => {
      const group = `kice-e2e-memlimit-${RUN}-${limit / MiB}`;
      const warehouse = join(dir, `wh-${limit / MiB}`);
      const configPath = await writeConfig(
        dir,
        {
          kafka: { brokers, groupId: group },
          catalog: { type: 'filesystem', warehouse },
          tables: [{ topic: TOPIC, table: TABLE, columns: { ts: 'timestamptz' } }],
          memory: { limit },
          workers: { threads: WORKERS },
          deadLetter: { topic: `${group}-dlq` },
        },
        `kice-${limit / MiB}.yaml`,
      );
      const p = spawnKice(configPath, { once: true });
      const [peak, exit] = await Promise.all([peakRss(p), p.exited]);
      if (exit.code !== 0)
        throw new Error(`kice exited with ${exit.code}:\n${p.stderr.slice(-4000)}`);
      const stopped = (p.withMsg('kice engine stopped')[0] ?? {}) as Record<string, number>;
      console.log(
        `memory-limit ${name}: run --once ${exit.ms} ms, peak RSS ${(peak / MiB).toFixed(1)} MiB, ` +
          `peak in-flight ${((stopped.peakInFlightBytes ?? 0) / MiB).toFixed(1)} MiB, ` +
          `paused ${stopped.pausedForBackpressure} times, ${stopped.commits} commits`,
      );
      // The topic may hold a few ids twice: a producer send retried under load after the
      // broker had written it (the test producer is not idempotent). Every record counts.
      const ends = await endOffsets(brokers, TOPIC);
      const records = Object.values(ends).reduce((a, o) => a + Number(o), 0);
      expect(stopped.recordsConsumed).toBe(records);
      const meta = await latestMetadata(warehouse, TABLE);
      const stats = await tableIdStats(meta, 'id');
      expect({ ...stats, sum: '', sha256: '' }).toEqual({
        ...idStats(idRange(0, COUNT)),
        count: records,
        sum: '',
        sha256: '',
      });
      if (records === COUNT) expect(stats).toEqual(idStats(idRange(0, COUNT)));
      expect(await recordedOffsets(meta, group)).toEqual({ [TOPIC]: ends });
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(limit);
    });
  }
});
