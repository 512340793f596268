/**
 * Freshness: how long after a producer sends an event it is visible to a query, through
 * `engine.query` and through the HTTP endpoint's `POST /query`, while a steady load runs.
 *
 * Per engine setting (the defaults, then `kafka.minBytes` 1) and target rate (events/s):
 * a fresh topic (4 partitions) and warehouse; one engine
 * (`commit.intervalMs` 1000, so commits land every second while the queries run; the
 * HTTP endpoint on a loopback port); a load producer sending the bench's event shape
 * every 10 ms to hold the rate; and a probe loop that sends one event of its own (a unique
 * `seq`, the load events have `seq` -1) every `probeEveryMs`, then polls both
 * `engine.query(table, {where: seq = probe})` and `POST /query` until each returns the
 * row. A probe's latency is from just before its send to the answer that held it, so it
 * includes the produce round trip, the fetch (`maxWaitTimeInMs`), the decode in the pool
 * and the query itself. The load producer, the probe, the engine's coordinator and the
 * queries share this process's main thread, as an embedding application's would.
 *
 * Percentiles are nearest-rank over the probes of the measured window (after a warm-up
 * that creates the table and loads parquet-wasm); a probe not visible within 10 s counts
 * as missed and is left out of the percentiles.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine, HttpServer } from '@kice/core';
import { eq } from '@kice/iceberg';
import type * as kafkajs from 'kafkajs';
import { makeEvent } from '../data.ts';
import { benchKafka, createBenchTopic, startBenchEngine } from './bench-engine.ts';
import { type Percentiles, percentiles } from './percentiles.ts';

export interface FreshnessPoint {
  /** The engine's settings: 'defaults', or the kafka.* settings changed. */
  readonly settings: string;
  readonly targetEventsPerSecond: number;
  /** Load events acknowledged by the broker per second of the measured window. */
  readonly producedEventsPerSecond: number;
  readonly probes: number;
  /** Probes not visible within 10 s (through either path). */
  readonly missed: number;
  /** Send → visible through engine.query, ms. */
  readonly api: Percentiles;
  /** Send → visible through POST /query, ms. */
  readonly http: Percentiles;
  /** Rows the table had committed when the window ended (commits landed meanwhile). */
  readonly committedRows: number;
}

export interface FreshnessResult {
  readonly points: FreshnessPoint[];
  readonly seconds: number;
  readonly probeEveryMs: number;
  readonly totalSeconds: number;
}

/** Engine settings a point runs with (kafka.* overrides; {} = the defaults). */
export interface FreshnessSettings {
  readonly name: string;
  readonly kafka: Record<string, unknown>;
}

export const FRESHNESS_SETTINGS: readonly FreshnessSettings[] = [
  { name: 'defaults', kafka: {} },
  // The broker answers a fetch as soon as it has a byte instead of waiting for 64 KiB.
  { name: 'kafka.minBytes 1', kafka: { minBytes: 1 } },
];

export interface FreshnessOptions {
  readonly rates: readonly number[];
  readonly settings?: readonly FreshnessSettings[];
  /** Measured window per rate. */
  readonly seconds: number;
  readonly warmupSeconds?: number;
  readonly probeEveryMs?: number;
  readonly dir: string;
  readonly log?: (s: string) => void;
}

const PARTITIONS = 4;
const TABLE = 'bench.fresh';
const MISSED_AFTER_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Load event values, encoded once (seq -1): the producer's cost is the client's own. */
const LOAD_VALUES = Array.from({ length: 4096 }, (_, i) =>
  Buffer.from(JSON.stringify({ seq: -1, ...makeEvent(i) })),
);

export async function benchFreshness(
  broker: string,
  opts: FreshnessOptions,
): Promise<FreshnessResult> {
  const t0 = performance.now();
  const points: FreshnessPoint[] = [];
  for (const settings of opts.settings ?? FRESHNESS_SETTINGS)
    for (const rate of opts.rates) {
      opts.log?.(`  freshness at ${rate} events/s, ${settings.name}…`);
      points.push(await onePoint(broker, rate, settings, opts));
    }
  return {
    points,
    seconds: opts.seconds,
    probeEveryMs: opts.probeEveryMs ?? 100,
    totalSeconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

async function onePoint(
  broker: string,
  rate: number,
  settings: FreshnessSettings,
  opts: FreshnessOptions,
): Promise<FreshnessPoint> {
  const run = `${rate}-${Date.now()}`;
  const topic = `kice-bench-fresh-${run}`;
  const dir = join(opts.dir, `fresh-${run}`);
  await mkdir(dir, { recursive: true });
  const kafka = benchKafka(broker, 'kice-bench-fresh');
  await createBenchTopic(kafka, topic, PARTITIONS);
  const { engine, server, errors, close } = await startBenchEngine({
    kafka: { brokers: [broker], groupId: `kice-bench-fresh-${run}`, ...settings.kafka },
    catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
    tables: [{ topic, table: TABLE, columns: { ts: 'timestamptz' } }],
    commit: { intervalMs: 1000 },
    deadLetter: { topic: `${topic}.dlq` },
    log: { level: 'warn' },
  });
  const load = kafka.producer({ allowAutoTopicCreation: false });
  const probe = kafka.producer({ allowAutoTopicCreation: false });
  await Promise.all([load.connect(), probe.connect()]);
  let stopLoad = false;
  let acked = 0;
  const loading = runLoad(
    load,
    topic,
    rate,
    () => stopLoad,
    (n) => {
      acked += n;
    },
  );
  try {
    const warmup = (opts.warmupSeconds ?? 3) * 1000;
    const every = opts.probeEveryMs ?? 100;
    let seq = 0;
    const warmEnd = performance.now() + warmup;
    while (performance.now() < warmEnd) {
      await probeOnce(probe, topic, seq++, engine, server);
      await sleep(every);
    }
    const acked0 = acked;
    const w0 = performance.now();
    const apiMs: number[] = [];
    const httpMs: number[] = [];
    let missed = 0;
    while (performance.now() - w0 < opts.seconds * 1000) {
      const r = await probeOnce(probe, topic, seq++, engine, server);
      if (r.api === undefined || r.http === undefined) missed += 1;
      else {
        apiMs.push(r.api);
        httpMs.push(r.http);
      }
      await sleep(every);
    }
    const window = (performance.now() - w0) / 1000;
    const produced = Math.round((acked - acked0) / window);
    if (errors.length > 0) throw errors[0];
    return {
      settings: settings.name,
      targetEventsPerSecond: rate,
      producedEventsPerSecond: produced,
      probes: apiMs.length + missed,
      missed,
      api: percentiles(apiMs),
      http: percentiles(httpMs),
      committedRows: engine.metrics().rowsCommitted,
    };
  } finally {
    stopLoad = true;
    await loading.catch(() => {});
    await Promise.allSettled([load.disconnect(), probe.disconnect()]);
    await close();
  }
}

/** Sends `rate` events a second in sends every 10 ms until `stop()`. */
async function runLoad(
  producer: kafkajs.Producer,
  topic: string,
  rate: number,
  stop: () => boolean,
  onAck: (n: number) => void,
): Promise<void> {
  const start = performance.now();
  let sent = 0;
  let next = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (!stop()) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    const n = Math.min(due - sent, Math.max(1, Math.ceil(rate / 10)));
    if (n > 0 && inFlight.size < 8) {
      const messages = Array.from({ length: n }, () => {
        const i = next++;
        return { partition: i % PARTITIONS, value: LOAD_VALUES[i % LOAD_VALUES.length] as Buffer };
      });
      sent += n;
      const p = producer.send({ topic, acks: -1, messages }).then(() => onAck(n));
      inFlight.add(p);
      p.finally(() => inFlight.delete(p)).catch(() => {});
    }
    await sleep(10);
  }
  await Promise.allSettled(inFlight);
}

/** One probe: send it, then poll both paths until each sees it (ms from the send). */
async function probeOnce(
  producer: kafkajs.Producer,
  topic: string,
  seq: number,
  engine: Engine,
  server: HttpServer,
): Promise<{ api?: number; http?: number }> {
  const value = Buffer.from(JSON.stringify({ ...makeEvent(seq), seq }));
  const t0 = performance.now();
  await producer.send({ topic, acks: -1, messages: [{ partition: seq % PARTITIONS, value }] });
  const byApi = async (): Promise<boolean> => {
    const r = await engine.query(TABLE, { select: ['seq'], where: eq('seq', seq) });
    return (await r.toTable()).numRows > 0;
  };
  const byHttp = async (): Promise<boolean> => {
    const res = await fetch(`${server.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ table: TABLE, select: ['seq'], where: `seq = ${seq}` }),
    });
    if (res.status === 400) {
      // Before the first rows are decoded the table has no `seq` column yet.
      await res.text();
      return false;
    }
    if (!res.ok) throw new Error(`POST /query: ${res.status} ${await res.text()}`);
    return ((await res.json()) as unknown[]).length > 0;
  };
  const poll = async (see: () => Promise<boolean>): Promise<number | undefined> => {
    for (;;) {
      const seen = await see().catch((e: unknown) => {
        if ((e as { code?: string }).code === 'QUERY_INVALID') return false;
        throw e;
      });
      const at = performance.now() - t0;
      if (seen) return at;
      if (at > MISSED_AFTER_MS) return undefined;
      await sleep(1);
    }
  };
  const [api, http] = await Promise.all([poll(byApi), poll(byHttp)]);
  return { ...(api === undefined ? {} : { api }), ...(http === undefined ? {} : { http }) };
}
