/**
 * A fault-injecting HTTP proxy for tests: forwards requests to a real server (the S3
 * server from test/infra/s3.sh) and makes chosen requests fail, with an HTTP error
 * (500 InternalError, 503 SlowDown, 409 ConditionalRequestConflict) or by resetting the connection, either before
 * forwarding or after the upstream answered (the answer is then lost: the request took
 * effect but the client does not know). Which requests fail is decided per request by
 * `shouldFail` (a fraction, or a predicate); every decision is counted, so tests can
 * assert faults really happened, and each injected fault is logged with the request it hit
 * (`log`: method, path and query, whether it was a conditional If-None-Match write). It also counts how many multipart part uploads
 * (`?partNumber=`) were in flight at once (`maxPartsInFlight`).
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = '500' | '503' | '409' | 'reset' | 'reset-after';

export interface FaultRule {
  /** Which requests are eligible (default: all). */
  readonly match?: (req: IncomingMessage) => boolean;
  /** Fraction of eligible requests that fail (0..1), drawn from `random`. */
  readonly rate: number;
  readonly fault: Fault;
  /** Fail at most this many requests (default unlimited). */
  readonly limit?: number;
}

/** One injected fault and the request it hit. */
export interface InjectedFault {
  readonly fault: Fault;
  readonly method: string;
  readonly url: string;
  readonly ifNoneMatch: boolean;
}

export interface FaultProxy {
  readonly endpoint: string;
  /** Faults injected so far, by kind. */
  readonly injected: Record<Fault, number>;
  /** Every injected fault, in order. */
  readonly log: InjectedFault[];
  /** Requests forwarded to the upstream (including 'reset-after' ones). */
  forwarded: number;
  /** Most UploadPart requests open at the same time so far. */
  maxPartsInFlight: number;
  setRules(rules: readonly FaultRule[]): void;
  close(): Promise<void>;
}

const BODY: Record<'500' | '503' | '409', [string, string]> = {
  '409': ['ConditionalRequestConflict', 'A conflicting operation is in progress on this object.'],
  '500': ['InternalError', 'We encountered an internal error. Please try again.'],
  '503': ['SlowDown', 'Please reduce your request rate.'],
};

export async function startFaultProxy(
  upstream: string,
  opts: { random?: () => number } = {},
): Promise<FaultProxy> {
  const up = new URL(upstream);
  const random = opts.random ?? Math.random;
  let rules: readonly FaultRule[] = [];
  const counts = new Map<FaultRule, number>();
  const injected: Record<Fault, number> = {
    '500': 0,
    '503': 0,
    '409': 0,
    reset: 0,
    'reset-after': 0,
  };
  let partsOpen = 0;
  const log: InjectedFault[] = [];

  const pick = (req: IncomingMessage): Fault | undefined => {
    for (const r of rules) {
      if (r.match && !r.match(req)) continue;
      const n = counts.get(r) ?? 0;
      if (r.limit !== undefined && n >= r.limit) continue;
      if (random() < r.rate) {
        counts.set(r, n + 1);
        return r.fault;
      }
    }
    return undefined;
  };

  const server: Server = createServer((req, res) => {
    if (/[?&]partNumber=/.test(req.url ?? '')) {
      partsOpen++;
      proxy.maxPartsInFlight = Math.max(proxy.maxPartsInFlight, partsOpen);
      res.once('close', () => partsOpen--);
    }
    const fault = pick(req);
    if (fault !== undefined)
      log.push({
        fault,
        method: req.method ?? '',
        url: req.url ?? '',
        ifNoneMatch: req.headers['if-none-match'] !== undefined,
      });
    if (fault === '500' || fault === '503' || fault === '409') {
      injected[fault]++;
      req.resume();
      req.on('end', () => {
        const [code, message] = BODY[fault];
        res.writeHead(Number(fault), { 'content-type': 'application/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
        );
      });
      return;
    }
    if (fault === 'reset') {
      injected.reset++;
      req.socket.resetAndDestroy();
      return;
    }
    proxy.forwarded++;
    const out = request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        if (fault === 'reset-after') {
          injected['reset-after']++;
          upRes.resume();
          upRes.on('end', () => req.socket.resetAndDestroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    log,
    forwarded: 0,
    maxPartsInFlight: 0,
    setRules(r) {
      rules = r;
      counts.clear();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return proxy;
}
