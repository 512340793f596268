/**
 * Key lookup over the hot buffer: `engine.get(table, key)` and `GET /tables/{t}/keys/{k}`
 * with `rows` rows decoded but not committed.
 *
 * A fresh topic (4 partitions) holds `rows` records with string keys `u-<i>` (the values
 * are the bench's event shape); one engine reads them with commits held off
 * (`commit.intervalMs` one hour, `commit.targetFileSizeBytes` 1 GiB, an in-flight budget of
 * 1 GiB), so every row stays in its hot buffer. Once a query sees all of them, the first
 * `get` builds the key index over them (timed on its own: `indexBuildMs`); then `lookups`
 * gets of keys drawn at random (a fixed seed), each timed, and `httpLookups` through the
 * HTTP route. Every answer is checked: the row for `u-<i>` has `event_id` `e-<i>`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { eventBytes } from '../data.ts';
import { benchKafka, createBenchTopic, startBenchEngine } from './bench-engine.ts';
import { type Percentiles, percentiles } from './percentiles.ts';

export interface KeyLookupResult {
  readonly hotRows: number;
  /** In-flight bytes (the hot rows, as Arrow) when the lookups ran. */
  readonly inFlightBytes: number;
  /** The first get: the index built over every hot row, ms. */
  readonly indexBuildMs: number;
  readonly api: Percentiles;
  readonly http: Percentiles;
  readonly totalSeconds: number;
}

export interface KeyLookupOptions {
  readonly rows: number;
  readonly lookups: number;
  readonly httpLookups: number;
  readonly dir: string;
  readonly log?: (s: string) => void;
}

const PARTITIONS = 4;
const TABLE = 'bench.keys';

export async function benchKeyLookup(
  broker: string,
  opts: KeyLookupOptions,
): Promise<KeyLookupResult> {
  const t0 = performance.now();
  const run = `${opts.rows}-${Date.now()}`;
  const topic = `kice-bench-keys-${run}`;
  const dir = join(opts.dir, `keys-${run}`);
  await mkdir(dir, { recursive: true });
  const kafka = benchKafka(broker, 'kice-bench-keys');
  await createBenchTopic(kafka, topic, PARTITIONS);
  opts.log?.(`  producing ${opts.rows} keyed events…`);
  // Idempotent: a retried send is not written twice, so the topic holds exactly `rows`.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (let start = 0; start < opts.rows; start += 10_000) {
      const end = Math.min(opts.rows, start + 10_000);
      const messages = [];
      for (let i = start; i < end; i++)
        messages.push({ partition: i % PARTITIONS, key: `u-${i}`, value: eventBytes(i) });
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  const { engine, server, errors, close } = await startBenchEngine({
    kafka: { brokers: [broker], groupId: `kice-bench-keys-${run}` },
    catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
    tables: [{ topic, table: TABLE, columns: { ts: 'timestamptz' }, key: { format: 'string' } }],
    commit: { intervalMs: 3_600_000, targetFileSizeBytes: 2 ** 30 },
    memory: { maxInFlightBytes: 2 ** 30 },
    deadLetter: { topic: `${topic}.dlq` },
    log: { level: 'warn' },
  });
  try {
    opts.log?.('  waiting until every row is hot…');
    for (let k = 0; ; k++) {
      if (errors.length > 0) throw errors[0];
      const seen = await engine
        .query(TABLE, { select: ['_key'] })
        .then((r) => r.toTable())
        .then((t) => t.numRows)
        .catch(() => 0);
      if (seen >= opts.rows) break;
      if (k > 600) throw new Error(`only ${seen} of ${opts.rows} rows hot after 10 minutes`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const metrics = engine.metrics();
    if (metrics.rowsCommitted !== 0)
      throw new Error(`rows were committed (${metrics.rowsCommitted}): they are not all hot`);
    const check = (i: number, row: unknown) => {
      if ((row as { event_id?: unknown } | undefined)?.event_id !== `e-${i}`)
        throw new Error(`get u-${i}: ${JSON.stringify(row, (_k, v) => String(v))}`);
    };
    const b0 = performance.now();
    check(0, await engine.get(TABLE, 'u-0'));
    const indexBuildMs = performance.now() - b0;
    let x = 0x2545f491;
    const random = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % opts.rows;
    };
    const apiMs: number[] = [];
    for (let k = 0; k < opts.lookups; k++) {
      const i = random();
      const s = performance.now();
      const row = await engine.get(TABLE, `u-${i}`);
      apiMs.push(performance.now() - s);
      check(i, row);
    }
    const httpMs: number[] = [];
    for (let k = 0; k < opts.httpLookups; k++) {
      const i = random();
      const s = performance.now();
      const res = await fetch(`${server.url}/tables/${TABLE}/keys/u-${i}`);
      const row = await res.json();
      httpMs.push(performance.now() - s);
      check(i, row);
    }
    return {
      hotRows: opts.rows,
      inFlightBytes: metrics.inFlightBytes,
      indexBuildMs: Math.round(indexBuildMs),
      api: percentiles(apiMs),
      http: percentiles(httpMs),
      totalSeconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    await close();
  }
}
