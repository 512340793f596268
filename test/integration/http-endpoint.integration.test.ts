/**
 * The operations endpoint (packages/core/src/http) over a real engine on the real broker:
 * every route, bad requests, a bearer token, clients that leave mid-request and
 * mid-response, /metrics parsed by the Prometheus project's own text-format parser and
 * checked against what was produced, dead-lettered and committed (read independently
 * from the broker and the table's metadata), and readiness before the engine starts and
 * after a fatal error.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEngine,
  createLogger,
  type Engine,
  type HttpServer,
  type KiceConfig,
  startHttpServer,
  validateConfig,
} from '../../packages/core/src/index.ts';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  readMetadata,
  recordedOffsets,
  spawnKice,
  tableDir,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, produce, readTopic, sampleEvent } from '../support/produce.ts';
import { parsePrometheus, samples, total } from '../support/prometheus.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-http-${RUN}`;
const DLQ = `kice-e2e-http-${RUN}-dlq`;
const GROUP = `kice-e2e-http-${RUN}`;
const TABLE = 'e2e.http_ops';
const PARTITIONS = 2;
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
/** ids 0..GOOD-1 are events; then invalid JSON and non-object records. */
const GOOD = 300;
const INVALID_JSON = 5;
const NOT_OBJECT = 3;

let brokers: string[];
let dir: string;
let warehouse: string;
let config: KiceConfig;
let engine: Engine;
let server: HttpServer;
let secured: HttpServer;
const errors: Error[] = [];
let commits = 0;
/** The engine's 'status' events, in order. */
const statuses: { ready: boolean; reasons: string[] }[] = [];

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function get(base: HttpServer, path: string, init: RequestInit = {}): Promise<Reply> {
  const r = await fetch(`${base.url}${path}`, init);
  return { status: r.status, headers: r.headers, text: await r.text() };
}

// biome-ignore lint/suspicious/noExplicitAny: the routes answer JSON of several shapes, checked field by field
async function getJson(path: string): Promise<{ status: number; body: any }> {
  const r = await get(server, path);
  return { status: r.status, body: JSON.parse(r.text) };
}

/** Sends raw bytes and resolves with everything the server answered before closing. */
function raw(base: HttpServer, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(base.port, base.host);
    const chunks: Buffer[] = [];
    s.on('data', (b) => chunks.push(b));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.end(request);
  });
}

/** Polls until `pred` holds (the test's timeout bounds it). */
async function until(pred: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await pred())) await new Promise((r) => setTimeout(r, 100));
}

/** Until the table records the topic's current end offsets. */
async function committedUpToEnd(): Promise<Record<string, string>> {
  const ends = await endOffsets(brokers, TOPIC);
  await until(async () => {
    const lag = await engine.lag();
    return (
      lag.length === PARTITIONS && lag.every((p) => p.committedOffset === ends[String(p.partition)])
    );
  });
  return ends;
}

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-http-'));
  warehouse = join(dir, 'warehouse');
  config = validateConfig({
    kafka: { brokers, groupId: GROUP },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE, columns: { ts: 'timestamptz' } }],
    commit: { intervalMs: 500 },
    deadLetter: { topic: DLQ },
    http: { listen: '127.0.0.1:0' },
    log: { level: 'warn' },
  });
  engine = createEngine(config);
  engine.on('error', (e) => errors.push(e));
  engine.on('commit', () => commits++);
  engine.on('status', (s) => statuses.push(s));
  const log = createLogger(config);
  server = await startHttpServer(engine, config.http as NonNullable<KiceConfig['http']>, log);
  secured = await startHttpServer(
    engine,
    { listen: '127.0.0.1:0', allowRemote: false, bearerToken: TOKEN },
    log,
  );
});

afterAll(async () => {
  await engine?.stop();
  await server?.close();
  await secured?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the HTTP endpoint', () => {
  it('is alive but not ready before the engine starts', async () => {
    expect(await getJson('/health')).toEqual({ status: 200, body: { status: 'alive' } });
    expect(await getJson('/ready')).toEqual({
      status: 503,
      body: { ready: false, reasons: ['not started'] },
    });
    const m = await parsePrometheus((await get(server, '/metrics')).text);
    expect(total(m, 'kice_ready')).toBe(0);
    expect(total(m, 'kice_records_consumed_total')).toBe(0);
  });

  it('is ready once the group is joined; /metrics counts what was produced, dead-lettered and committed', async () => {
    await engine.start();
    await until(() => engine.status().ready);
    expect(await getJson('/ready')).toEqual({ status: 200, body: { ready: true, reasons: [] } });
    expect(statuses).toEqual([{ ready: true, reasons: [] }]);

    await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: 0, count: GOOD });
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: GOOD,
      count: INVALID_JSON + NOT_OBJECT,
      record: (id) => ({ value: id < GOOD + INVALID_JSON ? `{"id": ${id},` : `[${id}]` }),
    });
    const ends = await committedUpToEnd();

    const reply = await get(server, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = await parsePrometheus(reply.text);
    // Every sample names its engine (engines of one process merge into one scrape).
    const all = m.flatMap((f) => f.samples);
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((s) => s.labels.engine !== GROUP)).toEqual([]);

    // Records produced, per partition: what the broker says each partition holds.
    for (let p = 0; p < PARTITIONS; p++) {
      const labels = { topic: TOPIC, partition: String(p) };
      expect(total(m, 'kice_records_consumed_total', labels)).toBe(Number(ends[String(p)]));
      expect(total(m, 'kice_records_committed_total', labels)).toBe(Number(ends[String(p)]));
      expect(total(m, 'kice_partition_end_offset', labels)).toBe(Number(ends[String(p)]));
      expect(total(m, 'kice_partition_committed_offset', labels)).toBe(Number(ends[String(p)]));
      expect(samples(m, 'kice_partition_lag_records', labels).map((s) => s.value)).toEqual([0]);
    }
    // Dead letters: what the dead-letter topic holds, by reason class.
    const dead = await readTopic(brokers, DLQ);
    expect(dead.length).toBe(INVALID_JSON + NOT_OBJECT);
    expect(total(m, 'kice_dead_letters_total', { table: TABLE })).toBe(dead.length);
    expect(total(m, 'kice_dead_letters_total', { reason: 'invalid_json' })).toBe(INVALID_JSON);
    expect(total(m, 'kice_dead_letters_total', { reason: 'not_an_object' })).toBe(NOT_OBJECT);
    // Commits: the table's snapshots (this engine is its only writer), rows: the good ones.
    const meta = await readMetadata(await latestMetadata(warehouse, TABLE));
    expect(total(m, 'kice_commits_total', { table: TABLE })).toBe(meta.snapshots.length);
    expect(commits).toBe(meta.snapshots.length);
    expect(total(m, 'kice_rows_committed_total', { table: TABLE })).toBe(GOOD);
    // One histogram observation per commit; one file-size observation per data file.
    expect(total(m, 'kice_commit_duration_seconds_count', { table: TABLE })).toBe(
      meta.snapshots.length,
    );
    expect(total(m, 'kice_flush_size_bytes_count', { table: TABLE })).toBe(meta.snapshots.length);
    const added = meta.snapshots.reduce(
      (a, s) => a + Number((s.summary as Record<string, string>)['added-data-files'] ?? 0),
      0,
    );
    expect(total(m, 'kice_data_file_size_bytes_count', { table: TABLE })).toBe(added);
    expect(total(m, 'kice_ready')).toBe(1);
    expect(samples(m, 'kice_table_seconds_since_last_commit', { table: TABLE })).toHaveLength(1);
    expect(samples(m, 'kice_process_memory_bytes', { type: 'rss' })[0]?.value).toBeGreaterThan(0);
    expect(total(m, 'kice_errors_total')).toBe(0);
    // Every family is a kice_ one with help text; counters end in _total.
    for (const f of m) {
      expect(f.name).toMatch(/^kice_/);
      expect(f.help.length).toBeGreaterThan(10);
    }
    expect(errors).toEqual([]);
  });

  it('GET /tables and /tables/{table}: schema, snapshots, recorded offsets and lag per partition', async () => {
    const ends = await committedUpToEnd();
    const lagOf = (p: number) => ({
      table: TABLE,
      topic: TOPIC,
      partition: p,
      committedOffset: ends[String(p)],
      endOffset: ends[String(p)],
      lag: '0',
    });
    const list = await getJson('/tables');
    expect(list).toEqual({
      status: 200,
      body: {
        tables: [
          {
            table: TABLE,
            href: `/tables/${TABLE}`,
            partitions: [0, 1].map((p) => {
              const { table: _, ...rest } = lagOf(p);
              return rest;
            }),
          },
        ],
      },
    });
    const metaPath = await latestMetadata(warehouse, TABLE);
    const meta = await readMetadata(metaPath);
    const one = await getJson(`/tables/${TABLE}`);
    expect(one.status).toBe(200);
    expect(one.body.table).toBe(TABLE);
    expect(one.body.location).toContain('http_ops');
    expect(one.body.schema.fields.map((f: { name: string }) => f.name)).toContain('id');
    expect(one.body.snapshotCount).toBe(meta.snapshots.length);
    expect(one.body.snapshots.length).toBe(Math.min(20, meta.snapshots.length));
    expect(one.body.currentSnapshotId).toBe(one.body.snapshots[0].snapshotId);
    expect(Object.fromEntries(one.body.recordedOffsets)).toEqual(
      Object.fromEntries(Object.entries(ends).map(([p, o]) => [`${TOPIC}:${p}`, o])),
    );
    expect(await recordedOffsets(metaPath, GROUP)).toEqual({ [TOPIC]: ends });
    expect(one.body.partitions).toEqual([lagOf(0), lagOf(1)]);
    const newest = await getJson(`/tables/${TABLE}?snapshots=1`);
    expect(newest.body.snapshots).toEqual([one.body.snapshots[0]]);
  });

  it('answers bad requests with 400/404/405 naming the problem', async () => {
    const cases: [string, number, string][] = [
      ['/nope', 404, 'no route /nope'],
      ['/tables/not-a-table', 400, 'table name "not-a-table" is not namespace.name'],
      ['/tables/e2e.%E0%A4%A', 400, 'is not valid percent-encoding'],
      ['/tables/', 400, 'table name "" is not namespace.name'],
      ['/tables/e2e.other', 404, 'kice does not write table e2e.other'],
      [
        `/tables/${TABLE}?snapshots=-1`,
        400,
        'snapshots: expected an integer from 0 to 1000, got "-1"',
      ],
      [
        `/tables/${TABLE}?snapshots=1001`,
        400,
        'snapshots: expected an integer from 0 to 1000, got "1001"',
      ],
      [`/tables/${TABLE}?limit=3`, 400, 'unknown query parameter "limit" (accepted: snapshots)'],
      ['/metrics?x=1', 400, 'unknown query parameter "x" (/metrics takes none)'],
    ];
    for (const [path, status, error] of cases) {
      const r = await get(server, path);
      expect([path, r.status]).toEqual([path, status]);
      expect(JSON.parse(r.text).error).toContain(error);
    }
    const post = await get(server, '/metrics', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(JSON.parse(post.text).error).toBe('method POST not allowed (GET or HEAD)');
    const withBody = await raw(
      server,
      'GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
    );
    expect(withBody).toMatch(/^HTTP\/1\.1 400 /);
    expect(withBody).toContain('a GET request takes no body');
    const absolute = await raw(
      server,
      'GET http://elsewhere/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(absolute).toMatch(/^HTTP\/1\.1 400 /);
    expect(absolute).toContain('request target must be a path');
    const garbage = await raw(server, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    const head = await get(server, '/health', { method: 'HEAD' });
    expect([head.status, head.text]).toEqual([200, '']);
  });

  it('with a bearer token: the probes are open, every other route needs the token', async () => {
    expect((await get(secured, '/health')).status).toBe(200);
    const open = await get(secured, '/ready');
    expect([open.status, JSON.parse(open.text)]).toEqual([200, { ready: true }]);
    const full = await get(secured, '/ready', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(JSON.parse(full.text)).toEqual({ ready: true, reasons: [] });
    for (const path of ['/metrics', '/tables', `/tables/${TABLE}`]) {
      const none = await get(secured, path);
      expect([path, none.status]).toEqual([path, 401]);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="kice"');
      const wrong = await get(secured, path, { headers: { authorization: `Bearer ${TOKEN}x` } });
      expect([path, wrong.status]).toEqual([path, 401]);
      const right = await get(secured, path, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect([path, right.status]).toEqual([path, 200]);
    }
  });

  it('clients that leave mid-request or at the first bytes of a response stop neither the server nor ingestion', async () => {
    const before = commits;
    // Half a request, then gone.
    await new Promise<void>((resolve) => {
      const s = connect(server.port, server.host, () => {
        s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
        s.destroy();
        resolve();
      });
    });
    // A whole request, gone at the first bytes of the answer; ten at once.
    await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const s = connect(server.port, server.host, () =>
              s.write(
                `GET ${i % 2 ? '/metrics' : `/tables/${TABLE}?snapshots=1000`} HTTP/1.1\r\nHost: x\r\n\r\n`,
              ),
            );
            s.once('data', () => {
              s.destroy();
              resolve();
            });
            s.on('error', reject);
          }),
      ),
    );
    // With a column the table does not have yet: one schema change.
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: 10_000,
      count: 50,
      record: (id) => ({ value: JSON.stringify({ ...sampleEvent(id), added_later: id }) }),
    });
    await committedUpToEnd();
    expect(commits).toBeGreaterThan(before);
    expect(await getJson('/health')).toEqual({ status: 200, body: { status: 'alive' } });
    expect((await getJson('/ready')).status).toBe(200);
    const m = await parsePrometheus((await get(server, '/metrics')).text);
    expect(total(m, 'kice_rows_committed_total', { table: TABLE })).toBe(GOOD + 50);
    const meta = await readMetadata(await latestMetadata(warehouse, TABLE));
    expect(meta.schemas.length).toBe(2);
    expect(total(m, 'kice_schema_changes_total', { table: TABLE })).toBe(1);
    expect(errors).toEqual([]);
  });

  it('is not ready after a fatal error, and says why', async () => {
    // Data files can no longer be written: the table's data folder becomes a plain file.
    const data = join(tableDir(warehouse, TABLE), 'data');
    await rm(data, { recursive: true, force: true });
    await writeFile(data, 'not a folder');
    const failed = new Promise<Error>((resolve) => engine.on('error', resolve));
    await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: 20_000, count: 10 });
    const e = await failed;
    const ready = await getJson('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.ready).toBe(false);
    expect(ready.body.reasons).toEqual([`failed: ${e.message}`]);
    expect(statuses).toEqual([
      { ready: true, reasons: [] },
      { ready: false, reasons: [`failed: ${e.message}`] },
    ]);
    expect((await getJson('/health')).status).toBe(200);
    const m = await parsePrometheus((await get(server, '/metrics')).text);
    expect(total(m, 'kice_ready')).toBe(0);
    expect(total(m, 'kice_errors_total', { fatal: 'true' })).toBe(1);
  });
});

describe('kice run with http.listen', () => {
  it('serves the endpoint while the daemon runs and closes it after SIGTERM', async () => {
    const topic = `${TOPIC}-cli`;
    await createTopic(brokers, topic, 1);
    await produce({ brokers, topic, partitions: 1, first: 0, count: 20 });
    const path = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: `${GROUP}-cli` },
        catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse-cli') },
        tables: [{ topic, table: 'e2e.http_cli', columns: { ts: 'timestamptz' } }],
        commit: { intervalMs: 500 },
        deadLetter: { topic: `${DLQ}-cli` },
        http: { listen: '127.0.0.1:0' },
      },
      'kice-cli.yaml',
    );
    const p = spawnKice(path);
    try {
      const line = await p.waitForLine((l) => l.msg === 'http endpoint listening', 60_000);
      const url = String((line as { url?: string }).url);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const at = (route: string) => fetch(`${url}${route}`);
      expect((await at('/health')).status).toBe(200);
      await until(async () => (await at('/ready')).status === 200);
      await until(async () => {
        const body = (await (await at('/tables')).json()) as {
          tables: { partitions: { committedOffset: string; lag?: string }[] }[];
        };
        const parts = body.tables[0]?.partitions ?? [];
        return parts.length === 1 && parts[0]?.committedOffset === '20' && parts[0]?.lag === '0';
      });
      const exit = await p.terminate();
      expect(exit.code).toBe(0);
      await expect(at('/health')).rejects.toThrow();
    } finally {
      await p.kill9();
    }
  });
});

describe('backpressure metrics', () => {
  it('count the pauses the in-flight budget makes, and their time', async () => {
    const topic = `${TOPIC}-bp`;
    await createTopic(brokers, topic, 1);
    const count = 20_000;
    await produce({ brokers, topic, partitions: 1, first: 0, count, batchSize: 1000 });
    const small = createEngine(
      validateConfig({
        kafka: { brokers, groupId: `${GROUP}-bp` },
        catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse-bp') },
        tables: [{ topic, table: 'e2e.http_bp', columns: { ts: 'timestamptz' } }],
        deadLetter: { topic: `${DLQ}-bp` },
        memory: { maxInFlightBytes: 256 * 1024 },
        log: { level: 'warn' },
      }),
    );
    await small.runOnce();
    const m = await parsePrometheus((await small.prometheus()).text);
    const pauses = small.metrics().pausedForBackpressure;
    expect(pauses).toBeGreaterThan(0);
    expect(total(m, 'kice_backpressure_pauses_total')).toBe(pauses);
    expect(total(m, 'kice_backpressure_paused_seconds_total')).toBeGreaterThan(0);
    expect(total(m, 'kice_records_committed_total', { topic })).toBe(count);
    expect(total(m, 'kice_rows_committed_total', { table: 'e2e.http_bp' })).toBe(count);
    // This engine's registry is its own: the first engine's counts are not in it.
    expect(samples(m, 'kice_records_consumed_total', { topic: TOPIC })).toEqual([]);
    // Stopped: not ready, and table state is no longer read (its thread is gone).
    const after = await startHttpServer(
      small,
      { listen: '127.0.0.1:0', allowRemote: false },
      createLogger(config),
    );
    try {
      const ready = await get(after, '/ready');
      expect([ready.status, JSON.parse(ready.text)]).toEqual([
        503,
        { ready: false, reasons: ['stopping'] },
      ]);
      const table = await get(after, '/tables/e2e.http_bp');
      expect([table.status, JSON.parse(table.text)]).toEqual([
        503,
        { error: 'the engine is stopping: table state is no longer read' },
      ]);
      expect((await get(after, '/health')).status).toBe(200);
    } finally {
      await after.close();
    }
  });
});
