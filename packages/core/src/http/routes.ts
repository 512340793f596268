/**
 * The operations endpoint's routes (docs/operations.md#http-endpoint). Every route is a
 * GET (HEAD too) and answers JSON, but /metrics (Prometheus text format). A request the
 * routes cannot serve gets 400/404/405 with `{ "error": "<the problem>" }`; nothing a
 * client sends reaches the pipeline: routes only read the engine's state.
 *
 *   GET /health             200 { status: "alive" } while the process serves requests
 *   GET /ready              200 when joined, assigned and not failing; else 503 + reasons
 *   GET /metrics            the engine's metrics (text format 0.0.4)
 *   GET /tables             the tables kice routes to, with owned partitions and lag
 *   GET /tables/{table}     schema, snapshots (?snapshots=N, newest first), recorded
 *                           offsets, partitions with lag
 *
 * POST /query and GET /tables/{table}/keys/{key} stream their answers: ./query-routes.ts.
 */
import type { Engine } from '../engine.ts';

export interface RouteResult {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function json(
  status: number,
  value: unknown,
  headers?: Record<string, string>,
): RouteResult {
  return {
    status,
    contentType: JSON_TYPE,
    body: `${JSON.stringify(value, null, 2)}\n`,
    ...(headers ? { headers } : {}),
  };
}

export const problem = (status: number, error: string, headers?: Record<string, string>) =>
  json(status, { error }, headers);

/** A table name as kice writes it: namespace.name, each part letters, digits, underscores. */
const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const MAX_SNAPSHOTS = 1000;

/** Query parameters each route accepts; any other is a bad request. */
const QUERY: Readonly<Record<string, readonly string[]>> = {
  '/health': [],
  '/ready': [],
  '/metrics': [],
  '/tables': [],
  table: ['snapshots'],
};

export async function route(
  engine: Engine,
  path: string,
  query: URLSearchParams,
): Promise<RouteResult> {
  const kind = path.startsWith('/tables/') ? 'table' : path;
  const allowed = QUERY[kind];
  if (allowed === undefined)
    return problem(
      404,
      `no route ${path} (routes: /health, /ready, /metrics, /tables, /tables/{table})`,
    );
  for (const key of new Set(query.keys())) {
    if (!allowed.includes(key))
      return problem(
        400,
        `unknown query parameter "${key}"${allowed.length ? ` (accepted: ${allowed.join(', ')})` : ` (${path} takes none)`}`,
      );
  }
  switch (kind) {
    case '/health':
      return json(200, { status: 'alive' });
    case '/ready': {
      const s = engine.status();
      return json(s.ready ? 200 : 503, s);
    }
    case '/metrics': {
      const m = await engine.prometheus();
      return { status: 200, contentType: m.contentType, body: m.text };
    }
    case '/tables':
      return json(200, { tables: await tablesSummary(engine) });
    default:
      return tableRoute(engine, path.slice('/tables/'.length), query);
  }
}

async function tablesSummary(engine: Engine): Promise<unknown[]> {
  const lag = await engine.lag();
  return [...engine.tables()].sort().map((table) => {
    const partitions = lag.filter((p) => p.table === table).map(({ table: _, ...p }) => p);
    return { table, href: `/tables/${table}`, partitions };
  });
}

async function tableRoute(
  engine: Engine,
  raw: string,
  query: URLSearchParams,
): Promise<RouteResult> {
  let table: string;
  try {
    table = decodeURIComponent(raw);
  } catch {
    return problem(400, `table name "${raw}" is not valid percent-encoding`);
  }
  if (!TABLE.test(table))
    return problem(
      400,
      `table name ${JSON.stringify(table)} is not namespace.name (letters, digits, underscores)`,
    );
  let snapshots = 20;
  const s = query.get('snapshots');
  if (s !== null) {
    if (!/^\d{1,4}$/.test(s) || Number(s) > MAX_SNAPSHOTS)
      return problem(
        400,
        `snapshots: expected an integer from 0 to ${MAX_SNAPSHOTS}, got ${JSON.stringify(s)}`,
      );
    snapshots = Number(s);
  }
  if (!engine.tables().includes(table))
    return problem(404, `kice does not write table ${table} (see /tables)`);
  if (engine.status().reasons.includes('stopping'))
    return problem(503, 'the engine is stopping: table state is no longer read');
  const report = await engine.describeTable(table, { snapshots });
  if (!report)
    return problem(404, `table ${table} does not exist in the catalog yet (nothing committed)`);
  return json(200, report);
}
