/**
 * The operations endpoint (opt-in, `http:` in the config; docs/operations.md): a node:http
 * server over one engine's routes (./routes.ts). It only reads the engine: a request can
 * fail, time out or be abandoned by its client without the pipeline noticing.
 *
 * - Only GET and HEAD, but POST /query (./query-routes.ts, which streams its answer); a
 *   body is refused elsewhere; bad paths and parameters get 400/404 naming the
 *   problem; an exception in a route is a 500 and a log line, never a crash.
 * - With `bearerToken`, every route needs `Authorization: Bearer <token>` but the probes:
 *   /health, and /ready's status code and `ready` flag (its reasons need the token).
 *   Kubernetes probes cannot take a header from a Secret, and neither route says more
 *   than alive or ready.
 * - Bounded: slow or idle clients are cut off (timeouts below), connections are capped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseListen } from '../config/http-listen.ts';
import { ConfigError } from '../config/load.ts';
import type { HttpConfig } from '../config/schema.ts';
import type { Logger } from '../coordinator.ts';
import type { Engine } from '../engine.ts';
import { bearerChecker } from './auth.ts';
import { type QueryLimits, queryLimits, serveKey, serveQuery } from './query-routes.ts';
import { json, problem, type RouteResult, route } from './routes.ts';

export interface HttpServer {
  /** Where it listens (the actual port when `http.listen` gave port 0). */
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Stops accepting and closes every connection. Idempotent. */
  close(): Promise<void>;
}

const MAX_CONNECTIONS = 64;
/** Bodies are written in chunks of this size, each after the previous one drained. */
const CHUNK = 64 * 1024;

export async function startHttpServer(
  engine: Engine,
  config: HttpConfig,
  log: Logger,
): Promise<HttpServer> {
  const addr = parseListen(config.listen);
  if (typeof addr === 'string') throw new ConfigError([`http.listen: ${addr}`]);
  const authorized = config.bearerToken ? bearerChecker(config.bearerToken) : () => true;
  const slots = queryLimits();
  const server = createServer((req, res) => {
    handle(engine, authorized, req, res, log, slots).catch((e) => {
      log.warn({ err: e, path: req.url }, 'http: request failed');
      if (!res.headersSent && !res.destroyed) void send(res, req, problem(500, 'internal error'));
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  server.maxConnections = MAX_CONNECTIONS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP (or a timeout): answer if the socket still can, then drop it.
    if (socket.writable && !(socket as { _httpMessage?: unknown })._httpMessage) {
      const body = `${JSON.stringify({ error: `bad request: ${err.code ?? err.message}` })}\n`;
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    } else socket.destroy();
  });
  await listen(server, addr.host, addr.port);
  const bound = server.address() as AddressInfo;
  const hostForUrl = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const url = `http://${hostForUrl}:${bound.port}`;
  log.info(
    { url, remote: config.allowRemote, bearerToken: config.bearerToken !== undefined },
    'http endpoint listening',
  );
  let closing: Promise<void> | undefined;
  return {
    host: bound.address,
    port: bound.port,
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // Port taken, address not on this host: a setting to change, named like config errors.
    const onError = (e: NodeJS.ErrnoException) =>
      reject(
        new ConfigError([`http.listen: cannot listen on ${host}:${port}: ${e.code ?? e.message}`]),
      );
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      // Later server errors (none expected once listening) are logged by the caller's
      // handlers only: they must not become an uncaught exception.
      server.on('error', () => {});
      resolve();
    });
  });
}

async function handle(
  engine: Engine,
  authorized: (header: string | undefined) => boolean,
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
  slots: QueryLimits,
): Promise<void> {
  res.on('error', () => {}); // a client gone mid-response: nothing to do
  const target = req.url ?? '/';
  const path = target.split('?')[0] as string;
  if (path === '/query' || KEY_ROUTE.test(path))
    return queryRoute(engine, authorized, req, res, slots);
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  req.resume(); // drain whatever was sent
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return send(
      res,
      req,
      problem(405, `method ${req.method} not allowed (GET or HEAD)`, { allow: 'GET, HEAD' }),
    );
  if (hasBody) return send(res, req, problem(400, `a ${req.method} request takes no body`));
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://kice.invalid');
  } catch {
    return send(res, req, problem(400, 'malformed request target'));
  }
  if (!(req.url ?? '').startsWith('/'))
    return send(res, req, problem(400, 'request target must be a path (origin form)'));
  const authed = authorized(req.headers.authorization);
  // The probes are open: /health, and /ready's status (its reasons need the token).
  const probe = url.pathname === '/health' || url.pathname === '/ready';
  if (!probe && !authed)
    return send(
      res,
      req,
      problem(401, 'missing or wrong bearer token (Authorization: Bearer <http.bearerToken>)', {
        'www-authenticate': 'Bearer realm="kice"',
      }),
    );
  let result = await route(engine, url.pathname, url.searchParams);
  if (url.pathname === '/ready' && !authed && (result.status === 200 || result.status === 503))
    result = json(result.status, { ready: result.status === 200 });
  if (result.status === 500)
    log.warn({ path: url.pathname, status: result.status }, 'http: server error');
  return send(res, req, result);
}

/** /tables/{table}/keys/{key} (the key percent-encoded). */
const KEY_ROUTE = /^\/tables\/([^/]+)\/keys\/([^/]+)$/;

/** POST /query and GET /tables/{table}/keys/{key} (./query-routes.ts). */
async function queryRoute(
  engine: Engine,
  authorized: (header: string | undefined) => boolean,
  req: IncomingMessage,
  res: ServerResponse,
  slots: QueryLimits,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] as string;
  const want = path === '/query' ? 'POST' : 'GET';
  const refuse = (r: RouteResult) => {
    req.resume();
    return send(res, req, r);
  };
  if (req.method !== want)
    return refuse(problem(405, `method ${req.method} not allowed (${want})`, { allow: want }));
  if (!authorized(req.headers.authorization))
    return refuse(
      problem(401, 'missing or wrong bearer token (Authorization: Bearer <http.bearerToken>)', {
        'www-authenticate': 'Bearer realm="kice"',
      }),
    );
  if ((req.url ?? '').includes('?'))
    return refuse(problem(400, `${path} takes no query parameters`));
  if (want === 'POST') return serveQuery(engine, req, res, slots);
  req.resume();
  const m = KEY_ROUTE.exec(path) as RegExpExecArray;
  let table: string;
  try {
    table = decodeURIComponent(m[1] as string);
  } catch {
    return send(res, req, problem(400, `table name "${m[1]}" is not valid percent-encoding`));
  }
  if (!engine.tables().includes(table))
    return send(res, req, problem(404, `kice does not write table ${table} (see /tables)`));
  return serveKey(engine, table, m[2] as string, res);
}

/** Writes the response in chunks, each after the last drained; stops if the client left. */
async function send(res: ServerResponse, req: IncomingMessage, r: RouteResult): Promise<void> {
  if (res.destroyed) return;
  const body = Buffer.from(r.body, 'utf8');
  res.writeHead(r.status, {
    'content-type': r.contentType,
    'content-length': String(body.byteLength),
    'cache-control': 'no-store',
    ...r.headers,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  for (let at = 0; at < body.byteLength; at += CHUNK) {
    if (res.destroyed) return;
    if (!res.write(body.subarray(at, at + CHUNK))) {
      const ok = await new Promise<boolean>((resolve) => {
        const done = (v: boolean) => () => {
          res.off('drain', onDrain);
          res.off('close', onClose);
          resolve(v);
        };
        const onDrain = done(true);
        const onClose = done(false);
        res.once('drain', onDrain);
        res.once('close', onClose);
      });
      if (!ok) return;
    }
  }
  res.end();
}
