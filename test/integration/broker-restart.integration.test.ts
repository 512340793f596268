/**
 * kice daemons against a broker that goes away. The test runs its OWN broker (port
 * $KICE_RESTART_KAFKA_PORT, default 29092, state under <repo>/.state/broker-restart): it
 * stops and starts it, which the shared broker that other tests use must never see.
 *
 * 1. Two `kice run` daemons in one group on one table while a producer runs; the broker is
 *    stopped for 15 s and started again; more events are produced. The daemons reconnect
 *    and carry on (each commits again after the restart, neither logs a fatal error), then
 *    exit 0 within a bound on SIGTERM; PyIceberg finds every produced id exactly once and
 *    the table's recorded offsets are the end offsets.
 * 2. A daemon told to stop (SIGTERM) while the broker is down exits 0 within the same bound,
 *    and the table still holds exactly what its recorded offsets cover.
 * 3. The admin look-ups of the assignment path, called while the broker is down, retry
 *    until it is back and then answer exactly.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaAdmin } from '../../packages/core/src/source/admin.ts';
import { ownBrokerEnv, startKafka, stopKafka } from '../support/kafka.ts';
import {
  type Exit,
  type KiceProcess,
  latestMetadata,
  recordedOffsets,
  spawnKice,
  tableIdStats,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, idRange, idStats, produce } from '../support/produce.ts';
import { REPO_ROOT } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const PORT = Number(process.env.KICE_RESTART_KAFKA_PORT ?? 29092);
const BROKER = ownBrokerEnv({ port: PORT, state: join(REPO_ROOT, '.state/broker-restart') });
/** How long the broker stays down in the restart test. */
const OUTAGE_MS = 15_000;
/** A daemon must have exited this long after SIGTERM (its own shutdown deadline is 30 s). */
const EXIT_BOUND_MS = 40_000;
const PARTITIONS = 6;
/** What kafkajs logs when its consumer crashed and will start again after a delay. */
const RESTARTING = /^Restarting the consumer in (\d+)ms$/;

let brokers: string[];
let dir: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  brokers = [await startKafka(BROKER)];
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-restart-'));
});

afterAll(async () => {
  await stopKafka(BROKER);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A daemon config for `topic` → `table` in the group `group`, committing every second. */
async function daemonConfig(
  name: string,
  topic: string,
  table: string,
  level = 'info',
): Promise<string> {
  return writeConfig(
    dir,
    {
      kafka: { brokers, groupId: name, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 },
      catalog: { type: 'filesystem', warehouse: join(dir, `${name}-warehouse`) },
      tables: [{ topic, table, columns: { ts: 'timestamptz' } }],
      commit: { intervalMs: 1_000 },
      deadLetter: { topic: `${name}-dlq` },
      workers: { threads: 1 },
      log: { level },
    },
    `${name}.yaml`,
  );
}

/** Polls `check` every 500 ms until it returns true; throws after `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

/** Whether the table's recorded offsets are `ends` (false while it has no snapshot). */
async function tableAt(
  warehouse: string,
  table: string,
  group: string,
  topic: string,
  ends: Record<string, string>,
): Promise<boolean> {
  const meta = await latestMetadata(warehouse, table);
  return JSON.stringify(await recordedOffsets(meta, group)) === JSON.stringify({ [topic]: ends });
}

/** SIGTERM, then the exit if it comes within `ms` (else SIGKILL and undefined). */
async function terminateWithin(p: KiceProcess, ms: number): Promise<Exit | undefined> {
  const sent = Date.now();
  if (!p.done) p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    p.exited,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ms);
    }),
  ]);
  clearTimeout(timer);
  if (exit === undefined) await p.kill9();
  const warnings = p.lines
    .filter((l) => (l.time ?? 0) >= sent && (l.level ?? 0) >= 40)
    .map((l) => l.msg);
  console.log(
    `broker-restart: pid ${p.pid} ${exit ? `exited ${exit.code ?? exit.signal} ${Date.now() - sent} ms after SIGTERM` : 'did not exit'}; warnings since: ${JSON.stringify(warnings)}`,
  );
  return exit;
}

/** What a failed assertion about `p` should show: its last log lines and its stderr. */
function tail(p: KiceProcess): string {
  const lines = p.lines.slice(-25).map((l) => JSON.stringify(l));
  const stopped = p.withMsg('kice engine stopped').length > 0 ? 'logged' : 'not logged';
  return `pid ${p.pid}, "kice engine stopped" ${stopped}, last log lines:\n${lines.join('\n')}\nstderr:\n${p.stderr.slice(-4000)}`;
}

/** Log lines that say the engine stopped on an error of its own. */
function fatalLines(p: KiceProcess): string[] {
  return p.lines
    .filter((l) => l.msg === 'fatal error' || l.msg === 'Kafka source error')
    .map((l) => JSON.stringify(l));
}

describe('kice run across a broker restart', () => {
  it('two daemons reconnect, carry on, keep every id exactly once and exit 0 on SIGTERM', async () => {
    const name = `kice-e2e-restart-${RUN}`;
    const table = 'e2e.restart';
    const warehouse = join(dir, `${name}-warehouse`);
    await createTopic(brokers, name, PARTITIONS);
    await createTopic(brokers, `${name}-dlq`, 1);
    const config = await daemonConfig(name, name, table);

    const daemons = [spawnKice(config), spawnKice(config)];
    // A producer runs while the daemons join and commit; it stops before the broker does,
    // so that every produced id is acknowledged (none is left in doubt by the outage).
    let stopFirst = false;
    const first = produce({
      brokers,
      topic: name,
      partitions: PARTITIONS,
      first: 0,
      count: 10_000_000,
      batchSize: 1_000,
      inFlight: 1,
      delayMs: 100,
      stop: () => stopFirst,
    });
    for (const d of daemons) await d.waitForNth((l) => l.msg === 'committed', 1, 120_000);
    stopFirst = true;
    const before = await first;

    await stopKafka(BROKER);
    await sleep(OUTAGE_MS); // the outage itself
    await startKafka(BROKER);
    const upAt = Date.now();
    for (const d of daemons)
      expect(d.done, `a daemon exited during the outage: ${tail(d)}`).toBe(false);

    const after = await produce({
      brokers,
      topic: name,
      partitions: PARTITIONS,
      first: before,
      count: 30_000,
      batchSize: 1_000,
      inFlight: 1,
      delayMs: 50,
    });
    const produced = before + after;
    const ends = await endOffsets(brokers, name);
    await waitFor(
      'the table to record the end offsets',
      () => tableAt(warehouse, table, name, name, ends),
      240_000,
    );
    for (const d of daemons) {
      expect(d.done, `a daemon exited after the restart: ${tail(d)}`).toBe(false);
      const since = d.lines.filter((l) => l.msg === 'committed' && (l.time ?? 0) > upAt);
      expect(since.length, `no commit after the restart: ${tail(d)}`).toBeGreaterThan(0);
      expect(fatalLines(d)).toEqual([]);
    }

    const exits = await Promise.all(daemons.map((d) => terminateWithin(d, EXIT_BOUND_MS)));
    exits.forEach((exit, i) => {
      const d = daemons[i] as KiceProcess;
      expect(exit, `no exit within ${EXIT_BOUND_MS} ms of SIGTERM: ${tail(d)}`).toBeDefined();
      expect(exit?.code, tail(d)).toBe(0);
      expect(fatalLines(d)).toEqual([]);
    });

    const meta = await latestMetadata(warehouse, table);
    expect(await tableIdStats(meta, 'id')).toEqual(idStats(idRange(0, produced)));
    expect(await recordedOffsets(meta, name)).toEqual({ [name]: ends });
  });

  it('a daemon told to stop while the broker is down exits 0 within the bound', async () => {
    await startKafka(BROKER);
    const name = `kice-e2e-down-${RUN}`;
    const table = 'e2e.down';
    const warehouse = join(dir, `${name}-warehouse`);
    const partitions = 3;
    await createTopic(brokers, name, partitions);
    await createTopic(brokers, `${name}-dlq`, 1);
    // Debug: kafkajs's restart line is visible whatever level kice maps it to.
    const config = await daemonConfig(name, name, table, 'debug');
    const count = 6_000;
    await produce({ brokers, topic: name, partitions, first: 0, count, inFlight: 1 });
    const ends = await endOffsets(brokers, name);

    const d = spawnKice(config);
    await waitFor(
      'the table to record the end offsets',
      () => tableAt(warehouse, table, name, name, ends),
      120_000,
    );
    await stopKafka(BROKER);
    const downAt = Date.now();
    // The consumer has lost the broker and restarts itself over and over. SIGTERM lands
    // half a second into one of those restarts, while it is still trying to connect: the
    // moment a restart that nobody stops outlives the shutdown.
    const restarting = await d.waitForNth(
      (l) => RESTARTING.test(l.msg ?? '') && (l.time ?? 0) > downAt,
      1,
      90_000,
    );
    await sleep(Number(RESTARTING.exec(restarting.msg ?? '')?.[1]) + 500);

    const exit = await terminateWithin(d, EXIT_BOUND_MS);
    expect(exit, `no exit within ${EXIT_BOUND_MS} ms of SIGTERM: ${tail(d)}`).toBeDefined();
    expect(exit?.code, tail(d)).toBe(0);
    expect(fatalLines(d)).toEqual([]);
    const meta = await latestMetadata(warehouse, table);
    expect(await tableIdStats(meta, 'id')).toEqual(idStats(idRange(0, count)));
    expect(await recordedOffsets(meta, name)).toEqual({ [name]: ends });
  });

  it('admin look-ups made while the broker is down answer once it is back', async () => {
    await startKafka(BROKER);
    const topic = `kice-e2e-admin-${RUN}`;
    await createTopic(brokers, topic, 2);
    await produce({ brokers, topic, partitions: 2, first: 0, count: 10 });
    const admin = new KafkaAdmin({
      brokers,
      retry: { initialDelayMs: 100, maxDelayMs: 1_000, timeoutMs: 120_000 },
    });
    try {
      await stopKafka(BROKER);
      const calls = Promise.all([
        admin.listTopics(),
        admin.fetchEndOffsets([topic]),
        admin.fetchBeginningOffsets([topic]),
        admin.fetchCommittedOffsets(`${topic}-group`, [topic]),
      ]);
      const settled = { done: false };
      void calls.then(
        () => {
          settled.done = true;
        },
        () => {
          settled.done = true;
        },
      );
      await sleep(3_000); // the broker stays down while the look-ups retry
      expect(settled.done).toBe(false);
      await startKafka(BROKER);
      const [topics, ends, starts, committed] = await calls;
      expect(topics).toContain(topic);
      expect([...ends].sort()).toEqual([
        [`${topic}:0`, 5n],
        [`${topic}:1`, 5n],
      ]);
      expect([...starts].sort()).toEqual([
        [`${topic}:0`, 0n],
        [`${topic}:1`, 0n],
      ]);
      expect([...committed]).toEqual([]);
    } finally {
      await admin.close();
    }
  });
});
