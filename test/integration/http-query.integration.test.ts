/**
 * The query surface over a real engine on the real broker: POST /query in JSON, NDJSON and
 * the Arrow IPC stream (read back with apache-arrow) with exact rows, GET
 * /tables/{table}/keys/{key}, bad requests (400 naming the field, 404, 406, 413, 401), a
 * client that leaves mid-stream while ingestion goes on (the engine commits afterwards,
 * the query counted as client_gone), and `kice query` as a child process: `-c` (cold,
 * straight from the catalog) and `--url` (through the daemon), exact output.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
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
import { KICE_BIN, KICE_ENV, KICE_NODE_FLAGS, writeConfig } from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  produce,
  SAMPLE_EPOCH_MS,
  sampleEvent,
} from '../support/produce.ts';
import { parsePrometheus, samples, total } from '../support/prometheus.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-httpq-${RUN}`;
const GROUP = `kice-e2e-httpq-${RUN}`;
const TABLE = 'e2e.http_query';
const PARTITIONS = 2;
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const FIRST = 300;
const BIG = 20_000;

let brokers: string[];
let dir: string;
let configPath: string;
let engine: Engine;
let server: HttpServer;
let secured: HttpServer;
const errors: Error[] = [];

const record = (id: number) => ({ key: `k${id}`, value: JSON.stringify(sampleEvent(id)) });

async function until(pred: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await pred())) await new Promise((r) => setTimeout(r, 100));
}

async function committedUpToEnd(): Promise<void> {
  const ends = await endOffsets(brokers, TOPIC);
  await until(async () => {
    const lag = await engine.lag();
    return (
      lag.length === PARTITIONS && lag.every((p) => p.committedOffset === ends[String(p.partition)])
    );
  });
}

function post(body: unknown, headers: Record<string, string> = {}, base = server) {
  return fetch(`${base.url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function problemOf(r: Response): Promise<[number, string]> {
  return [r.status, ((await r.json()) as { error: string }).error];
}

const country = (id: number) => (sampleEvent(id).address as { country: string }).country;

/** ts as the encoders render a timestamptz: microseconds, Z. */
const tsText = (id: number) =>
  new Date(SAMPLE_EPOCH_MS + id * 1000 + (id % 1000)).toISOString().replace('Z', '000Z');

function expected(id: number) {
  const e = sampleEvent(id);
  return {
    id,
    name: e.name,
    ts: tsText(id),
    address: { country: (e.address as { country: string }).country },
  };
}

const WHERE = "id >= 10 AND id < 40 AND address.country IN ('DE', 'FR') AND flagged = false";
const SELECT = ['id', 'name', 'ts', 'address.country'];
const WANT = Array.from({ length: 30 }, (_, k) => k + 10)
  .filter((id) => ['DE', 'FR'].includes(country(id)) && id % 11 !== 0)
  .map(expected);

function kice(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...KICE_NODE_FLAGS, KICE_BIN, ...args],
      { env: { ...process.env, ...KICE_ENV }, maxBuffer: 64 * 2 ** 20 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-httpq-'));
  const raw = {
    kafka: { brokers, groupId: GROUP },
    catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
    tables: [
      { topic: TOPIC, table: TABLE, columns: { ts: 'timestamptz' }, key: { format: 'string' } },
    ],
    commit: { intervalMs: 500 },
    deadLetter: { topic: `${TOPIC}-dlq` },
    http: { listen: '127.0.0.1:0' },
    log: { level: 'warn' },
  };
  configPath = await writeConfig(dir, raw);
  const config = validateConfig(raw);
  // Written before the engine starts, in one send: one fetch per partition, one flush.
  await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: 0, count: FIRST, record });
  engine = createEngine(config);
  engine.on('error', (e) => errors.push(e));
  const log = createLogger(config);
  server = await startHttpServer(engine, config.http as NonNullable<KiceConfig['http']>, log);
  secured = await startHttpServer(
    engine,
    { listen: '127.0.0.1:0', allowRemote: false, bearerToken: TOKEN },
    log,
  );
  await engine.start();
  await committedUpToEnd();
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await server?.close();
  await secured?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const byId = <T extends { id: unknown }>(rows: T[]) =>
  [...rows].sort((a, b) => Number(a.id) - Number(b.id));

describe('POST /query', () => {
  it('answers JSON (the default), exact rows, the snapshot named', async () => {
    const r = await post({ table: TABLE, select: SELECT, where: WHERE });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.headers.get('x-kice-snapshot-id')).toMatch(/^-?\d+$/);
    expect(r.headers.get('x-kice-hot-partition-count')).toBe(String(PARTITIONS));
    const hot = JSON.parse(r.headers.get('x-kice-hot-partitions') as string) as {
      partition: number;
    }[];
    expect(hot.map((p) => p.partition).sort()).toEqual([0, 1]);
    expect(byId((await r.json()) as { id: number }[])).toEqual(WANT);
  });

  it('answers NDJSON, one object per line', async () => {
    const r = await post(
      { table: TABLE, select: SELECT, where: WHERE },
      { accept: 'application/x-ndjson' },
    );
    expect(r.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const text = await r.text();
    expect(text.endsWith('\n')).toBe(true);
    const rows = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(byId(rows)).toEqual(WANT);
  });

  it('answers an Arrow IPC stream that apache-arrow reads back', async () => {
    const r = await post(
      { table: TABLE, select: ['id', 'name'], where: WHERE },
      { accept: 'application/vnd.apache.arrow.stream' },
    );
    expect(r.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const t = arrow.tableFromIPC(new Uint8Array(await r.arrayBuffer()));
    expect(t.schema.fields.map((f) => f.name)).toEqual(['id', 'name']);
    const rows = t.toArray().map((row) => ({ id: Number(row.id), name: row.name as string }));
    expect(byId(rows)).toEqual(WANT.map(({ id, name }) => ({ id, name })));
  });

  it('takes the expression JSON, limit and asOf', async () => {
    const r = await post({
      table: TABLE,
      select: ['id'],
      where: { op: 'in', ref: 'id', values: ['7', 8, 9] },
    });
    expect(byId((await r.json()) as { id: number }[])).toEqual([{ id: 7 }, { id: 8 }, { id: 9 }]);
    const limited = (await (
      await post({ table: TABLE, select: ['id'], limit: 3 })
    ).json()) as unknown[];
    expect(limited.length).toBe(3);
    const snap = (await post({ table: TABLE, select: ['id'], limit: 0 })).headers.get(
      'x-kice-snapshot-id',
    ) as string;
    const asOf = await post({
      table: TABLE,
      select: ['id'],
      where: 'id = 5',
      asOf: { snapshotId: snap },
    });
    expect(await asOf.json()).toEqual([{ id: 5 }]);
  });

  it('refuses bad requests naming the field', async () => {
    expect(await problemOf(await post({ table: 'e2e.nope' }))).toEqual([
      400,
      'table: unknown table "e2e.nope" (no configured topic routes to it)',
    ]);
    expect(await problemOf(await post({ table: TABLE, select: ['nope'] }))).toEqual([
      400,
      'select: no column named "nope"',
    ]);
    expect(await problemOf(await post({ table: TABLE, where: 'nope = 1' }))).toEqual([
      400,
      'where: filter references unknown column "nope"',
    ]);
    expect(await problemOf(await post({ table: TABLE, where: 'id > ' }))).toEqual([
      400,
      "where: expected a value after '>' at 5, got the end",
    ]);
    expect(await problemOf(await post({ table: TABLE, where: "id = 'x'" }))).toEqual([
      400,
      'where: filter column "id" (long): "x" is not an integer',
    ]);
    expect(await problemOf(await post({ table: TABLE, limit: -1 }))).toEqual([
      400,
      'limit: expected an integer from 0 to 2147483647, got "-1"',
    ]);
    expect(await problemOf(await post({ table: TABLE, bogus: 1 }))).toEqual([
      400,
      'bogus: unknown field (fields: table, select, where, asOf, limit)',
    ]);
    expect(await problemOf(await post('{"table": '))).toEqual([
      400,
      'body: invalid JSON at offset 10: unexpected end of input',
    ]);
    expect(
      await problemOf(await post({ table: TABLE, where: `id IN (${'1,'.repeat(40_000)}1)` })),
    ).toEqual([413, 'body: larger than 65536 bytes']);
    expect(await problemOf(await post({ table: TABLE }, { accept: 'text/html' }))).toEqual([
      406,
      'accept: none of "text/html" is served (application/json, application/x-ndjson, application/vnd.apache.arrow.stream)',
    ]);
    expect(await problemOf(await post({ table: TABLE }, {}, secured))).toEqual([
      401,
      'missing or wrong bearer token (Authorization: Bearer <http.bearerToken>)',
    ]);
    const ok = await post(
      { table: TABLE, select: ['id'], where: 'id = 1' },
      { authorization: `Bearer ${TOKEN}` },
      secured,
    );
    expect(await ok.json()).toEqual([{ id: 1 }]);
    const get = await fetch(`${server.url}/query`);
    expect(await problemOf(get)).toEqual([405, 'method GET not allowed (POST)']);
  });

  it('a client leaving mid-stream stops its query; ingestion goes on and commits', async () => {
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: FIRST,
      count: BIG,
      record,
    });
    await committedUpToEnd();
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      });
      req.on('error', () => {});
      req.on('response', (res) => {
        let bytes = 0;
        res.on('error', () => {});
        res.once('data', (c: Buffer) => {
          bytes += c.byteLength;
          req.destroy(); // gone after the first chunk
          resolve(bytes);
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify({ table: TABLE }));
    });
    expect(received).toBeGreaterThan(0);
    // Meanwhile and afterwards: more records, committed.
    const more = FIRST + BIG;
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: more,
      count: 100,
      record,
    });
    await committedUpToEnd();
    const gone = async () => {
      const m = await parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
      return samples(m, 'kice_queries_total').filter(
        (s) => s.labels.route === 'query' && s.labels.outcome === 'client_gone',
      );
    };
    await until(async () => (await gone()).length === 1);
    expect((await gone())[0]?.value).toBe(1);
    const last = await post({ table: TABLE, select: ['id'], where: `id >= ${more}` });
    expect(((await last.json()) as unknown[]).length).toBe(100);
    expect(errors).toEqual([]);
  });
});

describe('GET /tables/{table}/keys/{key}', () => {
  it('answers the latest row for a key, 404 for a key no row has', async () => {
    const r = await fetch(`${server.url}/tables/${TABLE}/keys/k12`);
    expect(r.status).toBe(200);
    const row = (await r.json()) as Record<string, unknown>;
    expect([row.id, row.name, row._key]).toEqual([12, sampleEvent(12).name, 'k12']);
    expect(await problemOf(await fetch(`${server.url}/tables/${TABLE}/keys/nokey`))).toEqual([
      404,
      `no row with key "nokey" in ${TABLE}`,
    ]);
    expect(await problemOf(await fetch(`${server.url}/tables/e2e.nope/keys/k1`))).toEqual([
      404,
      'kice does not write table e2e.nope (see /tables)',
    ]);
  });
});

describe('metrics', () => {
  it('count the queries above by route and outcome, with their latency; hot rows per table', async () => {
    const m = await parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    const count = (route: string, outcome: string) => [
      total(m, 'kice_queries_total', { route, outcome }),
      total(m, 'kice_query_duration_seconds_count', { route, outcome }),
    ];
    // 3 formats + 4 (expression JSON, limit, limit 0, asOf) + 1 with the token + 1 after the
    // client left; 10 refused (8 × 400, 413, 406: 401 and 405 never reach the query).
    expect(count('query', 'ok')).toEqual([9, 9]);
    expect(count('query', 'bad_request')).toEqual([10, 10]);
    expect(count('query', 'client_gone')).toEqual([1, 1]);
    expect(count('get', 'ok')).toEqual([1, 1]);
    expect(count('get', 'not_found')).toEqual([1, 1]);
    // Everything produced is committed: nothing is held for queries any more.
    await committedUpToEnd();
    expect(samples(m, 'kice_hot_rows', { table: TABLE }).length).toBe(1);
    const now = await parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    expect(total(now, 'kice_hot_rows', { table: TABLE })).toBe(0);
    expect(total(now, 'kice_hot_bytes', { table: TABLE })).toBe(0);
  });
});

describe('kice query', () => {
  it('-c reads the table cold: json and csv, exact output', async () => {
    const json = await kice([
      'query',
      TABLE,
      '-c',
      configPath,
      '--where',
      'id = 4',
      '--select',
      'id,name,ts',
      '--format',
      'json',
    ]);
    expect(json).toEqual({
      code: 0,
      stdout: `[\n{"id":4,"name":"${sampleEvent(4).name}","ts":"${tsText(4)}"}\n]\n`,
      stderr: '',
    });
    const csv = await kice([
      'query',
      TABLE,
      '-c',
      configPath,
      '--where',
      'id IN (6, 8)',
      '--select',
      'id,address.country',
      '--format',
      'csv',
    ]);
    expect(csv).toEqual({
      code: 0,
      stdout: `id,address\r\n6,"{""country"":""${country(6)}""}"\r\n8,"{""country"":""${country(8)}""}"\r\n`,
      stderr: '',
    });
  });

  it('--url asks the daemon; a table for the terminal', async () => {
    const out = await kice([
      'query',
      TABLE,
      '--url',
      server.url,
      '--where',
      'id = 4',
      '--select',
      'id,name',
    ]);
    const name = sampleEvent(4).name as string;
    expect(out).toEqual({
      code: 0,
      stdout: `id | name\n---+-${'-'.repeat(name.length)}\n4  | ${name}\n(1 row)\n`,
      stderr: '',
    });
  });

  it('bad flags exit 2 naming the problem', async () => {
    const limit = await kice(['query', TABLE, '-c', configPath, '--limit', 'x']);
    expect(limit.code).toBe(2);
    expect(limit.stderr.split('\n')[0]).toBe(
      'kice: query --limit: "x" is not an integer from 0 to 2147483647',
    );
    const where = await kice(['query', TABLE, '-c', configPath, '--where', 'id >']);
    expect(where.code).toBe(2);
    expect(where.stderr.split('\n')[0]).toBe(
      "kice: query --where: expected a value after '>' at 4, got the end",
    );
    const none = await kice(['query', TABLE]);
    expect(none.code).toBe(2);
    expect(none.stderr.split('\n')[0]).toBe(
      'kice: query needs --url http://host:port (a running kice) or -c <kice.yaml>',
    );
  });
});
