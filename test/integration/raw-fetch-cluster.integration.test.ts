/**
 * The raw fetcher on a two-broker cluster of the test's own: broker 1 from
 * test/infra/kafka.sh (KRaft, broker + controller, port $KICE_RAW_LEADER_PORT, default
 * 29310, controller +1, SASL +2) and broker 2 (broker only, port + 10) started here from
 * the same jars, joining broker 1's controller.
 * - A compacted topic (offset gaps, tombstones, batches the log cleaner rewrote) is read
 *   exactly as its log segment files hold it (parsed with the same parser, which
 *   record-batches.integration.test.ts checks against kafkajs), the position ending at the
 *   log end. It needs the log cleaner's back-off shortened, a broker config the shared
 *   broker must not see.
 * - A leader change: a topic replicated on both has one partition led by broker 2 and one
 *   by broker 1; the fetcher reads part of it, broker 2 is stopped (leadership of its
 *   partition moves to broker 1), and the fetcher must go on at the new leader and deliver
 *   every offset exactly once, in order, bytes as produced.
 * The shared broker is not touched.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecordBatches } from '../../packages/core/src/source/batches/parse.ts';
import type { FetchTransport } from '../../packages/core/src/source/fetch/transport.ts';
import { ownBrokerEnv, startKafka, stopKafka } from '../support/kafka.ts';
import { endOffsets, exactProducer, kafkaClient } from '../support/produce.ts';
import { chained, type Harness, rawFetcher } from '../support/raw-fetch.ts';
import { REPO_ROOT, runPython } from '../support/readers.ts';

const run = promisify(execFile);
const RUN = randomBytes(4).toString('hex');
const PORT = Number(process.env.KICE_RAW_LEADER_PORT ?? 29310);
const PORT2 = PORT + 10;
const STATE = join(REPO_ROOT, '.state/raw-fetch-leader');
const BROKER1 = {
  ...ownBrokerEnv({ port: PORT, state: STATE }),
  KICE_KAFKA_HEAP: '-Xms128m -Xmx512m',
};
const DIR2 = join(STATE, 'broker2');
let broker2: ChildProcess | undefined;
let brokers: string[];
const harnesses: Harness[] = [];

function kafkaLibs(): string {
  const pom = readFileSync(join(REPO_ROOT, 'test/infra/kafka/pom.xml'), 'utf8');
  const version = /<kafka\.version>(.*)<\/kafka\.version>/.exec(pom)?.[1];
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cache, `kice/kafka-${version}/libs`);
}

/** Formats and starts broker 2 (broker role only) against broker 1's controller. */
async function startBroker2(): Promise<void> {
  rmSync(DIR2, { recursive: true, force: true });
  mkdirSync(join(DIR2, 'logs'), { recursive: true });
  const props = join(DIR2, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker',
      'node.id=2',
      `controller.quorum.bootstrap.servers=127.0.0.1:${PORT + 1}`,
      `listeners=PLAINTEXT://127.0.0.1:${PORT2}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${PORT2}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(DIR2, 'data')}`,
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  const meta = readFileSync(join(STATE, 'kafka/data/meta.properties'), 'utf8');
  const clusterId = /^cluster\.id=(.+)$/m.exec(meta)?.[1] as string;
  const libs = kafkaLibs();
  const log4j = join(REPO_ROOT, 'test/infra/kafka/tools-log4j2.properties');
  await run('java', [
    `-Dlog4j2.configurationFile=${log4j}`,
    '-cp',
    `${libs}/*`,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    props,
  ]);
  const out = openSync(join(DIR2, 'logs/server.out'), 'a');
  broker2 = spawn(
    'java',
    [
      '-Xms128m',
      '-Xmx512m',
      `-Dlog4j2.configurationFile=${join(REPO_ROOT, 'test/infra/kafka/log4j2.properties')}`,
      `-Dkafka.logs.dir=${join(DIR2, 'logs')}`,
      '-cp',
      `${libs}/*`,
      'kafka.Kafka',
      props,
    ],
    { stdio: ['ignore', out, out] },
  );
}

async function stopBroker2(): Promise<void> {
  const p = broker2;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

type Admin = ReturnType<ReturnType<typeof kafkaClient>['admin']>;

/**
 * Creates topics and waits until every broker names a leader for each partition (kafkajs's
 * own waitForLeaders gives up when broker 2 has not learnt of the topic yet).
 */
async function createTopics(
  admin: Admin,
  o: { topics: Parameters<Admin['createTopics']>[0]['topics'] },
): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, topics: o.topics });
  const names = o.topics.map((t) => t.topic);
  for (const port of [PORT, PORT2]) {
    const one = kafkaClient([`127.0.0.1:${port}`]).admin();
    await one.connect();
    try {
      await poll(
        async () => {
          const m = await one.fetchTopicMetadata({ topics: names });
          return m.topics.every(
            (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
          );
        },
        60_000,
        `leaders of ${names.join(', ')} known to 127.0.0.1:${port}`,
      );
    } finally {
      await one.disconnect();
    }
  }
}

async function poll(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  await stopKafka(BROKER1);
  rmSync(STATE, { recursive: true, force: true });
  brokers = [await startKafka(BROKER1)];
  await startBroker2();
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    await poll(
      async () => (await admin.describeCluster()).brokers.length === 2,
      120_000,
      'broker 2 to join the cluster',
    );
  } finally {
    await admin.disconnect();
  }
}, 300_000);

afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.fetcher.stop()));
  await stopBroker2();
  await stopKafka(BROKER1);
}, 120_000);

const value = (p: number, i: number) => `p${p}-${i}-${'z'.repeat(i % 31)}`;

/** Waits until the log cleaner has cleaned partition 0 of `t` (on broker 1) up to its active segment. */
async function cleaned(t: string): Promise<void> {
  const data = join(STATE, 'kafka/data');
  await poll(
    async () => {
      const checkpoint = await readFile(join(data, 'cleaner-offset-checkpoint'), 'utf8');
      const line = checkpoint.split('\n').find((l) => l.startsWith(`${t} 0 `));
      const segments = (await readdir(join(data, `${t}-0`)))
        .filter((f) => f.endsWith('.log'))
        .map((f) => BigInt(f.slice(0, -4)))
        .sort((a, b) => (a < b ? -1 : 1));
      return (
        line !== undefined && BigInt(line.split(' ')[2] as string) >= (segments.at(-1) as bigint)
      );
    },
    120_000,
    `the log cleaner to clean ${t}`,
  );
}

/** Offsets and values of partition 0 of `t` as broker 1's log segment files hold them now. */
async function onDisk(t: string): Promise<{ offsets: bigint[]; values: (string | null)[] }> {
  const dir = join(STATE, 'kafka/data', `${t}-0`);
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.log'))
    .sort((a, b) => (BigInt(a.slice(0, -4)) < BigInt(b.slice(0, -4)) ? -1 : 1));
  const data = Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
  const p = parseRecordBatches({
    topic: t,
    partition: 0,
    data,
    fetchOffset: 0n,
    isolation: 'read_uncommitted',
  });
  const r = p.records;
  const offsets: bigint[] = [];
  const values: (string | null)[] = [];
  for (let i = 0; r && i < r.count; i++) {
    offsets.push(r.recordOffsets[i] as bigint);
    values.push(
      r.nulls[i] === 1
        ? null
        : Buffer.from(
            r.bytes.subarray(r.offsets[i] as number, r.offsets[i + 1] as number),
          ).toString(),
    );
  }
  return { offsets, values };
}

describe('the raw fetcher on a compacted topic', () => {
  it('reads offsets with gaps and tombstones as the log holds them, the position at the end', async () => {
    const t = `raw-compact-${RUN}`;
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: kafkajs.ConfigResourceTypes.BROKER,
            name: '1',
            configEntries: [{ name: 'log.cleaner.backoff.ms', value: '500' }],
          },
        ],
      });
      await createTopics(admin, {
        topics: [
          {
            topic: t,
            replicaAssignment: [{ partition: 0, replicas: [1] }],
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'segment.ms', value: '1000' },
              { name: 'min.cleanable.dirty.ratio', value: '0.01' },
            ],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const jobs = join(STATE, `compact-${RUN}.json`);
    writeFileSync(
      jobs,
      JSON.stringify([{ topic: t, compression: 'lz4', count: 400, mode: 'compact' }]),
    );
    await runPython([
      join(REPO_ROOT, 'test/support/produce_batches.py'),
      brokers[0] as string,
      jobs,
    ]);
    await cleaned(t);
    const want = await onDisk(t);
    const end = BigInt((await endOffsets(brokers, t))['0'] as string);
    expect(end).toBe(401n);
    // The cleaner removed records: the offsets have gaps.
    expect(want.offsets.length).toBeLessThan(300);
    const h = rawFetcher({ brokers }, { maxBytesPerPartition: 512, maxBytes: 1024 });
    harnesses.push(h);
    await h.fetcher.start();
    const tp = { topic: t, partition: 0 };
    h.fetcher.assign([tp]);
    h.fetcher.seek(tp, 0n);
    h.fetcher.resume([tp]);
    await h.until(t, 0, end);
    expect(h.fetcher.position(tp)).toBe(end);
    const d = h.delivered.get(`${t}:0`);
    expect(h.errors).toEqual([]);
    expect(chained(d?.fetches ?? [])).toBe(true);
    expect(d?.offsets).toEqual(want.offsets);
    expect(d?.values).toEqual(want.values);
    expect(d?.values.some((v) => v === null)).toBe(true);
  }, 300_000);
});

describe('the raw fetcher across a leader change', () => {
  it('moves to the new leader and delivers every offset exactly once', async () => {
    const t = `raw-leader-${RUN}`;
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      await createTopics(admin, {
        topics: [
          {
            topic: t,
            replicaAssignment: [
              { partition: 0, replicas: [2, 1] },
              { partition: 1, replicas: [1, 2] },
            ],
            configEntries: [{ name: 'min.insync.replicas', value: '1' }],
          },
        ],
      });
      const producer = exactProducer(brokers);
      await producer.connect();
      for (let b = 0; b < 15; b++) {
        await producer.send({
          topic: t,
          acks: -1,
          messages: [0, 1].flatMap((p) =>
            Array.from({ length: 20 }, (_, i) => ({ partition: p, value: value(p, b * 20 + i) })),
          ),
        });
      }
      await producer.disconnect();
      // Both replicas in sync, so that broker 1 can take over partition 0 with every record.
      await poll(
        async () => {
          const m = await admin.fetchTopicMetadata({ topics: [t] });
          return (m.topics[0]?.partitions ?? []).every((p) => p.isr.length === 2);
        },
        60_000,
        'both replicas in sync',
      );
      const calls: { nodeId: number; ok: boolean; after: boolean }[] = [];
      let stopped = false;
      const h = rawFetcher(
        { brokers },
        {
          maxBytesPerPartition: 1024,
          maxBytes: 2048,
          backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
          wrap: (real: FetchTransport) =>
            Object.assign(Object.create(real) as FetchTransport, {
              fetch: async (...args: Parameters<FetchTransport['fetch']>) => {
                const after = stopped;
                try {
                  const r = await real.fetch(...args);
                  calls.push({ nodeId: args[0], ok: true, after });
                  return r;
                } catch (e) {
                  calls.push({ nodeId: args[0], ok: false, after });
                  throw e;
                }
              },
            }),
        },
      );
      harnesses.push(h);
      await h.fetcher.start();
      const tps = [0, 1].map((partition) => ({ topic: t, partition }));
      h.fetcher.assign(tps);
      for (const tp of tps) h.fetcher.seek(tp, 0n);
      h.fetcher.resume(tps);
      await h.until(t, 0, 1n);
      h.fetcher.pause(tps);
      const before = h.fetcher.position(tps[0] as (typeof tps)[0]) as bigint;
      expect(before).toBeLessThan(300n);
      expect(calls.some((c) => c.ok && c.nodeId === 2)).toBe(true);
      await stopBroker2();
      stopped = true;
      h.fetcher.resume(tps);
      await h.until(t, 0, 300n, 120_000);
      await h.until(t, 1, 300n, 120_000);
      expect(h.errors).toEqual([]);
      for (const p of [0, 1]) {
        const d = h.delivered.get(`${t}:${p}`);
        expect(d?.offsets).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i)));
        expect(d?.values).toEqual(Array.from({ length: 300 }, (_, i) => value(p, i)));
        expect(chained(d?.fetches ?? [])).toBe(true);
      }
      // After the stop, records came from broker 1 only.
      const served = calls.filter((c) => c.after && c.ok);
      expect(served.length).toBeGreaterThan(0);
      expect(served.every((c) => c.nodeId === 1)).toBe(true);
    } finally {
      await admin.disconnect();
    }
  }, 300_000);
});
