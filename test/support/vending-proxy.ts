/**
 * A FAKE credential-vending front for the test REST catalog: Apache Iceberg's REST server
 * (test/infra/iceberg-rest.sh) does not vend credentials, so this HTTP proxy forwards every
 * request to it and adds table-specific FileIO properties to its LoadTableResult answers
 * (GET of a table and POST create-table, 200): `config` entries merged over the server's
 * and a `storage-credentials` list, as a catalog that vends credentials would (REST spec,
 * LoadTableResult, https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml).
 * It records each table request's `X-Iceberg-Access-Delegation` header. Bodies are
 * re-encoded with @kice/iceberg's bigint-safe JSON (snapshot ids exceed 2^53).
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseJson, stringifyJson } from '@kice/iceberg';

export interface StorageCredential {
  readonly prefix: string;
  readonly config: Readonly<Record<string, string>>;
}

export interface VendingProxy {
  readonly uri: string;
  /** Table requests seen: method, path and the access-delegation header (or null). */
  readonly tableRequests: { method: string; path: string; accessDelegation: string | null }[];
  /** LoadTableResult answers the proxy added the vended properties to. */
  vended: number;
  close(): Promise<void>;
}

/** `/v1/[prefix/]namespaces/<ns>/tables[/<table>]` without a further path segment. */
const TABLE_PATH = /^\/v1\/(?:[^/]+\/)?namespaces\/[^/]+\/tables(?:\/[^/?]+)?(?:\?.*)?$/;

export async function startVendingProxy(
  upstream: string,
  vend: {
    readonly config: Readonly<Record<string, string>>;
    readonly storageCredentials?: readonly StorageCredential[];
  },
): Promise<VendingProxy> {
  const up = new URL(upstream);
  const tableRequests: VendingProxy['tableRequests'] = [];
  const isLoadTable = (req: IncomingMessage): boolean => {
    const path = req.url ?? '';
    if (!TABLE_PATH.test(path)) return false;
    const table = /\/tables\/[^/?]+/.test(path);
    return (req.method === 'GET' && table) || (req.method === 'POST' && !table);
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    if (TABLE_PATH.test(path)) {
      const h = req.headers['x-iceberg-access-delegation'];
      tableRequests.push({
        method: req.method ?? '',
        path,
        accessDelegation: typeof h === 'string' ? h : null,
      });
    }
    const rewrite = isLoadTable(req);
    const headers = { ...req.headers, host: up.host };
    if (rewrite) delete headers['accept-encoding'];
    const out = request(
      { host: up.hostname, port: up.port, method: req.method, path, headers },
      (upRes) => {
        if (!rewrite || upRes.statusCode !== 200) {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = parseJson(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          body.config = { ...((body.config as object | undefined) ?? {}), ...vend.config };
          if (vend.storageCredentials)
            body['storage-credentials'] = vend.storageCredentials.map((c) => ({
              prefix: c.prefix,
              config: { ...c.config },
            }));
          proxy.vended++;
          const text = Buffer.from(stringifyJson(body), 'utf8');
          const h = { ...upRes.headers, 'content-length': String(text.length) };
          delete h['transfer-encoding'];
          res.writeHead(200, h);
          res.end(text);
        });
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const proxy: VendingProxy = {
    uri: `http://127.0.0.1:${port}`,
    tableRequests,
    vended: 0,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return proxy;
}
