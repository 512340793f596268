/**
 * The query routes of the operations endpoint (docs/operations.md#querying-over-http):
 *
 *   POST /query                    body {"table", "select"?, "where"?, "asOf"?, "limit"?}
 *   GET  /tables/{table}/keys/{key}  the latest row for a record key, or 404
 *
 * A query result is streamed in the format `Accept` asks for (Arrow IPC stream, JSON — the
 * default —, NDJSON; anything else 406) batch by batch, with backpressure (../query/encode.ts):
 * a large result never sits whole in memory, and a client that leaves stops the scan.
 * A bad request is a 400 whose `error` starts with the field at fault; the body is read up
 * to MAX_BODY bytes (413 past it). At most MAX_CONCURRENT_QUERIES run at once per server
 * (503 with Retry-After past that), and a client that takes nothing for STALL_MS is cut.
 * Routes only read through `Queryable` (engine.query/engine.get), so nothing a client
 * sends reaches ingestion.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJson } from '@kice/iceberg';
import { KiceError } from '../errors.ts';
import { CONTENT_TYPES, type Format, pipeResult } from '../query/encode.ts';
import type { QueryOptions, QueryResult } from '../query/query.ts';
import { jsonRow } from '../query/render.ts';
import { whereOf } from '../query/where.ts';
import { problem, type RouteResult } from './routes.ts';

/** What the query routes read: the Engine (engine.query, engine.get) fits it. */
export interface Queryable {
  query(table: string, options?: QueryOptions): Promise<QueryResult>;
  get(
    table: string,
    key: string | Uint8Array | Record<string, unknown>,
  ): Promise<Record<string, unknown> | undefined>;
  observeQuery?(route: 'query' | 'get', outcome: string, seconds: number): void;
}

export const MAX_BODY = 64 * 1024;
/** Queries streaming at once per server; more get 503 (each holds a scan's read-ahead). */
export const MAX_CONCURRENT_QUERIES = 4;
/** A response the client takes nothing of for this long is cut (a stalled reader). */
export const STALL_MS = 60_000;
const MAX_LIMIT = 2 ** 31 - 1;
const FIELDS = ['table', 'select', 'where', 'asOf', 'limit'];
const ACCEPT: Readonly<Record<string, Format>> = {
  'application/vnd.apache.arrow.stream': 'arrow',
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
};

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (msg: string): never => {
  throw new BadRequest(400, msg);
};

/** The format for an Accept header: the first listed type kice serves (q ignored). */
export function formatFor(accept: string | undefined): Format | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  for (const part of accept.split(',')) {
    const type = (part.split(';')[0] as string).trim().toLowerCase();
    if (type === '*/*' || type === 'application/*') return 'json';
    const f = ACCEPT[type];
    if (f) return f;
  }
  return undefined;
}

/** Checks a POST /query body (already parsed JSON) into a table and query options. */
export function queryRequest(body: unknown): { table: string; options: QueryOptions } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    bad('body: expected a JSON object {"table": …}');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!FIELDS.includes(k)) bad(`${k}: unknown field (fields: ${FIELDS.join(', ')})`);
  if (typeof o.table !== 'string' || o.table === '')
    bad('table: expected a table name "namespace.name"');
  const options: {
    select?: string[];
    where?: QueryOptions['where'];
    asOf?: { snapshotId?: string; timestampMs?: number };
    limit?: number;
  } = {};
  if (o.select !== undefined) {
    if (
      !Array.isArray(o.select) ||
      o.select.length === 0 ||
      o.select.some((s) => typeof s !== 'string' || s === '')
    )
      bad('select: expected a non-empty array of column names');
    options.select = o.select as string[];
  }
  if (o.where !== undefined && o.where !== null) {
    try {
      options.where = whereOf(o.where);
    } catch (e) {
      if (e instanceof KiceError) bad(e.message);
      throw e;
    }
  }
  if (o.limit !== undefined) {
    const l = o.limit;
    const n = typeof l === 'bigint' ? MAX_LIMIT + 1 : l;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_LIMIT)
      bad(`limit: expected an integer from 0 to ${MAX_LIMIT}, got ${JSON.stringify(String(l))}`);
    options.limit = n as number;
  }
  if (o.asOf !== undefined) {
    const a = o.asOf;
    if (a === null || typeof a !== 'object' || Array.isArray(a))
      bad('asOf: expected {"snapshotId": …} or {"timestampMs": …}');
    const asOf = a as Record<string, unknown>;
    for (const k of Object.keys(asOf))
      if (k !== 'snapshotId' && k !== 'timestampMs')
        bad(`asOf.${k}: unknown field (fields: snapshotId, timestampMs)`);
    if ((asOf.snapshotId === undefined) === (asOf.timestampMs === undefined))
      bad('asOf: expected exactly one of snapshotId, timestampMs');
    if (asOf.snapshotId !== undefined) {
      const s = asOf.snapshotId;
      if (
        !(
          typeof s === 'bigint' ||
          (typeof s === 'number' && Number.isSafeInteger(s)) ||
          (typeof s === 'string' && /^-?\d{1,19}$/.test(s))
        )
      )
        bad('asOf.snapshotId: expected an integer (a number or its digits as a string)');
      options.asOf = { snapshotId: String(s) };
    } else {
      const t = asOf.timestampMs;
      if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0)
        bad('asOf.timestampMs: expected milliseconds since the epoch (a non-negative integer)');
      options.asOf = { timestampMs: t as number };
    }
  }
  return { table: o.table as string, options };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY)
    throw new BadRequest(413, `body: larger than ${MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.byteLength;
    if (size > MAX_BODY) throw new BadRequest(413, `body: larger than ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * engine.query/get's QUERY_INVALID message (`query <table>: <problem>`) with the request
 * field it is about in front, as every 400 of these routes starts.
 */
export function fieldMessage(message: string): { status: number; error: string } {
  const msg = message.replace(/^(query|get)( [^:]*)?: /, '');
  if (/the engine is (not started|stopping)/.test(msg)) return { status: 503, error: msg };
  if (/^(select|where|asOf|limit|table|key):/.test(msg)) return { status: 400, error: msg };
  if (/unknown table/.test(msg)) return { status: 400, error: `table: ${msg}` };
  if (/^filter /.test(msg)) return { status: 400, error: `where: ${msg}` };
  if (/snapshot/.test(msg)) return { status: 400, error: `asOf: ${msg}` };
  if (/key column/.test(msg)) return { status: 400, error: `key: ${msg}` };
  return { status: 400, error: msg };
}

/** A query's error as the client should see it, or undefined for a server fault. */
function clientError(e: unknown): RouteResult | undefined {
  if (e instanceof BadRequest) return problem(e.status, e.message);
  if (e instanceof KiceError && e.code === 'QUERY_INVALID') {
    const { status, error } = fieldMessage(e.message);
    return problem(status, error);
  }
  return undefined;
}

function writeProblem(res: ServerResponse, r: RouteResult): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(r.status, {
    'content-type': r.contentType,
    'content-length': String(Buffer.byteLength(r.body)),
    'cache-control': 'no-store',
    ...r.headers,
  });
  res.end(r.body);
}

/** Headers stay small (clients refuse big ones): the partition list only up to 4 KiB. */
function hotHeaders(result: QueryResult): Record<string, string> {
  if (!result.hot) return {};
  const list = JSON.stringify(result.hot.partitions);
  return {
    'x-kice-hot-partition-count': String(result.hot.partitions.length),
    ...(list.length <= 4096 ? { 'x-kice-hot-partitions': list } : {}),
  };
}

function outcomeOf(status: number): string {
  return status === 404 ? 'not_found' : status < 500 ? 'bad_request' : 'error';
}

/** How many queries stream at once and how long a stalled reader is kept (per server). */
export interface QueryLimits {
  readonly maxConcurrent: number;
  readonly stallMs: number;
  /** Queries streaming now (shared by the server's requests). */
  running: number;
}

export const queryLimits = (): QueryLimits => ({
  maxConcurrent: MAX_CONCURRENT_QUERIES,
  stallMs: STALL_MS,
  running: 0,
});

/** POST /query. Resolves when the response is written or abandoned; never rejects for a
 * client's fault. */
export async function serveQuery(
  q: Queryable,
  req: IncomingMessage,
  res: ServerResponse,
  limits: QueryLimits = queryLimits(),
): Promise<void> {
  const started = process.hrtime.bigint();
  const done = (outcome: string) =>
    q.observeQuery?.('query', outcome, Number(process.hrtime.bigint() - started) / 1e9);
  let result: QueryResult | undefined;
  let format: Format | undefined;
  let held = false;
  try {
    try {
      format = formatFor(req.headers.accept);
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json')
        throw new BadRequest(415, 'content-type: expected application/json');
      const text = await readBody(req);
      if (!format)
        throw new BadRequest(
          406,
          `accept: none of ${JSON.stringify(req.headers.accept)} is served (application/json, application/x-ndjson, application/vnd.apache.arrow.stream)`,
        );
      let body: unknown;
      try {
        body = parseJson(text);
      } catch (e) {
        bad(`body: ${(e as Error).message}`);
      }
      const { table, options } = queryRequest(body);
      // The slot is taken once the request is in: a slow sender holds none.
      if (limits.running >= limits.maxConcurrent) {
        writeProblem(
          res,
          problem(503, `busy: ${limits.maxConcurrent} queries are running; retry later`, {
            'retry-after': '1',
          }),
        );
        done('busy');
        return;
      }
      limits.running++;
      held = true;
      result = await q.query(table, options);
    } catch (e) {
      const r = clientError(e);
      if (!r) throw e;
      writeProblem(res, r);
      done(outcomeOf(r.status));
      return;
    }
    // Socket inactivity (the client reads nothing, so nothing can be written): cut it.
    res.setTimeout(limits.stallMs, () => res.destroy());
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[format as Format],
      'cache-control': 'no-store',
      'x-kice-snapshot-id': result.snapshotId ?? '',
      ...hotHeaders(result),
    });
    try {
      await pipeResult(format as Format, result.schema, result.batches, res);
      done('ok');
    } catch (e) {
      // Headers are out: a failure now can only cut the response short.
      const gone = (e as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE';
      res.destroy();
      done(gone ? 'client_gone' : 'error');
      if (!gone) throw e;
    }
  } finally {
    if (held) limits.running--;
  }
}

/** GET /tables/{table}/keys/{key}: the row as a JSON object, 404 when no row has the key. */
export async function serveKey(
  q: Queryable,
  table: string,
  rawKey: string,
  res: ServerResponse,
): Promise<void> {
  const started = process.hrtime.bigint();
  let outcome = 'ok';
  try {
    let key: string;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      return writeProblem(res, problem(400, `key: "${rawKey}" is not valid percent-encoding`));
    }
    let row: Record<string, unknown> | undefined;
    try {
      row = await q.get(table, key);
    } catch (e) {
      const r = clientError(e);
      if (!r) throw e;
      outcome = outcomeOf(r.status);
      return writeProblem(res, r);
    }
    if (!row) {
      outcome = 'not_found';
      return writeProblem(res, problem(404, `no row with key ${JSON.stringify(key)} in ${table}`));
    }
    const body = `${jsonRow(row)}\n`;
    res.writeHead(200, {
      'content-type': CONTENT_TYPES.json,
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
    });
    res.end(body);
  } finally {
    q.observeQuery?.('get', outcome, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
