/**
 * The REST catalog (packages/iceberg/src/catalog/rest) against Apache Iceberg's own REST
 * server (test/infra/iceberg-rest.sh): the shared catalog contract, pagination, OAuth2,
 * load-table config for the FileIO factory, and error mapping.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CommitConflictError,
  fastAppend,
  IcebergError,
  LocalFileIO,
  RestCatalog,
  scanRows,
} from '@kice/iceberg';
import { describe, expect, it } from 'vitest';
import { catalogContract } from '../../packages/iceberg/test/catalog/contract.ts';
import { appendWith, rows, schema } from '../../packages/iceberg/test/transaction/tables.ts';
import { startRest } from '../support/iceberg-rest.ts';

const uri = await startRest();
const io = new LocalFileIO();
const fresh = (): string => `c_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

describe('catalog contract: REST catalog (Iceberg REST server)', () => {
  catalogContract(async () => ({ catalog: new RestCatalog({ uri, io }), ns: fresh() }));
});

describe('REST catalog', () => {
  it('maps a missing namespace to NotFoundError with the server type and status, and a bad commit to INVALID_ARGUMENT', async () => {
    const catalog = new RestCatalog({ uri, io });
    const ns = fresh();
    const err = await catalog.loadTable({ namespace: [ns], name: 't' }).catch((e) => e);
    expect(err).toBeInstanceOf(IcebergError);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.context).toMatchObject({ status: 404, type: 'NoSuchTableException' });
    expect(err.message).toContain(`HTTP 404 NoSuchTableException`);
    await catalog.createNamespace([ns]);
    const id = { namespace: [ns], name: 't' };
    await catalog.createTable(id, { schema });
    const bad = await catalog
      .commitTable(id, [], [{ action: 'set-current-schema', schemaId: 42 }])
      .catch((e) => e);
    expect(bad).toBeInstanceOf(IcebergError);
    expect(bad).not.toBeInstanceOf(CommitConflictError);
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.context.status).toBe(400);
  });

  it('creates one namespace from many callers at once: the losers of the race are not errors', async () => {
    // Iceberg's JDBC catalog answers a racing duplicate insert with HTTP 500
    // (UncheckedSQLException), not 409: seen when kice created three tables of one namespace
    // at once.
    const catalog = new RestCatalog({ uri, io });
    const ns = [fresh()];
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => catalog.createNamespace(ns)),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await catalog.namespaceExists(ns)).toBe(true);
  });

  it('lists nested namespaces and registers a table from its metadata file', async () => {
    const catalog = new RestCatalog({ uri, io });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    await catalog.createNamespace([ns, 'inner']);
    const all = await catalog.listNamespaces();
    expect(all).toContainEqual([ns]);
    expect(all).toContainEqual([ns, 'inner']);
    expect(await catalog.namespaceExists([ns, 'inner'])).toBe(true);
    const id = { namespace: [ns, 'inner'], name: 'src' };
    const t = await catalog.createTable(id, { schema });
    await catalog.dropTable(id, false);
    const again = await catalog.registerTable(
      { namespace: [ns], name: 'copy' },
      t.metadataLocation,
    );
    expect(again.metadata.tableUuid).toBe(t.metadata.tableUuid);
    expect(await catalog.listTables([ns])).toEqual([{ namespace: [ns], name: 'copy' }]);
  });

  it('authenticates with OAuth2 client credentials and never puts the secret in an error', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      seen.push(`${init?.method ?? 'GET'} ${String(input)} ${headers.get('authorization') ?? '-'}`);
      return fetch(input, init);
    };
    const catalog = new RestCatalog({ uri, io, credential: 'kice:s3cr3t-value', fetch: spy });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    expect(seen[0]).toBe(`POST ${uri}/v1/oauth/tokens -`);
    // The test server issues "client-credentials-token:sub=<client_id>".
    expect(seen[1]).toBe(`GET ${uri}/v1/config Bearer client-credentials-token:sub=kice`);
    expect(seen.slice(1).every((s) => s.endsWith('Bearer client-credentials-token:sub=kice'))).toBe(
      true,
    );
    const err = await catalog.loadTable({ namespace: [ns], name: 'nope' }).catch((e) => e);
    expect(String(err.message)).not.toContain('s3cr3t');
    const unreachable = new RestCatalog({
      uri,
      io,
      credential: 'kice:s3cr3t-value',
      oauth2ServerUri: 'http://127.0.0.1:1/token',
      retry: { minWaitMs: 1, maxWaitMs: 1, timeoutMs: 0 },
    });
    const e2 = await unreachable.listNamespaces().catch((e) => e);
    expect(e2).toBeInstanceOf(IcebergError);
    expect(JSON.stringify({ m: e2.message, c: e2.context })).not.toContain('s3cr3t');
  });

  it('fetches a new token once after a 401 and repeats the request', async () => {
    // A fault injector in front of the real server: the first namespace listing is
    // answered 401, as a server whose token was revoked would.
    const calls: string[] = [];
    let rejected = false;
    const spy: typeof fetch = async (input, init) => {
      const path = new URL(String(input)).pathname;
      calls.push(`${init?.method ?? 'GET'} ${path}`);
      if (path === '/v1/namespaces' && (init?.method ?? 'GET') === 'GET' && !rejected) {
        rejected = true;
        return new Response(
          JSON.stringify({
            error: { message: 'expired', type: 'NotAuthorizedException', code: 401 },
          }),
          { status: 401, headers: { 'content-type': 'application/json' } },
        );
      }
      return fetch(input, init);
    };
    const catalog = new RestCatalog({ uri, io, credential: 'kice:pw', fetch: spy });
    await catalog.listChildren(undefined);
    expect(calls).toEqual([
      'POST /v1/oauth/tokens',
      'GET /v1/config',
      'GET /v1/namespaces',
      'POST /v1/oauth/tokens',
      'GET /v1/namespaces',
    ]);
    // With a static token there is nothing to refresh: the 401 is the caller's error.
    rejected = false;
    const fixed = new RestCatalog({ uri, io, token: 'tok', fetch: spy });
    const err = await fixed.listChildren(undefined).catch((e) => e);
    expect(err).toBeInstanceOf(IcebergError);
    expect(err.context).toMatchObject({ status: 401, type: 'NotAuthorizedException' });
    expect(err.retryable).toBe(false);
  });

  it('follows next-page-token through every page of tables and namespaces', async () => {
    const pages: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      const u = new URL(String(input));
      if (u.pathname.endsWith('/tables') || u.pathname.endsWith('/namespaces'))
        pages.push(
          `${u.pathname.split('/').at(-1)} ${u.searchParams.get('pageToken') ? 'next' : 'first'}`,
        );
      return fetch(input, init);
    };
    const catalog = new RestCatalog({ uri, io, pageSize: 2, fetch: spy });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    for (const name of ['a', 'b', 'c', 'd', 'e'])
      await catalog.createTable({ namespace: [ns], name }, { schema });
    for (const child of ['x', 'y', 'z']) await catalog.createNamespace([ns, child]);
    pages.length = 0;
    expect((await catalog.listTables([ns])).map((t) => t.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(pages).toEqual(['tables first', 'tables next', 'tables next']);
    pages.length = 0;
    expect(await catalog.listChildren([ns])).toEqual([
      [ns, 'x'],
      [ns, 'y'],
      [ns, 'z'],
    ]);
    expect(pages).toEqual(['namespaces first', 'namespaces next']);
  });

  it('fetches a new OAuth2 token when the current one is about to expire', async () => {
    // A fake token endpoint (the test server's own issues tokens without expiry); the
    // catalog calls go to the real server, which accepts any bearer token.
    let issued = 0;
    const forms: string[] = [];
    const tokens = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        forms.push(body);
        issued++;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ access_token: `t${issued}`, token_type: 'bearer', expires_in: 1 }),
        );
      });
    });
    await new Promise<void>((r) => tokens.listen(0, '127.0.0.1', r));
    try {
      const port = (tokens.address() as AddressInfo).port;
      const auths: string[] = [];
      const spy: typeof fetch = async (input, init) => {
        if (String(input).startsWith(uri))
          auths.push(new Headers(init?.headers).get('authorization') ?? '-');
        return fetch(input, init);
      };
      const catalog = new RestCatalog({
        uri,
        io,
        credential: 'kice:pw',
        scope: 'catalog sign',
        oauth2ServerUri: `http://127.0.0.1:${port}/token`,
        fetch: spy,
      });
      const ns = fresh();
      expect(await catalog.namespaceExists([ns])).toBe(false);
      expect(auths).toEqual(['Bearer t1', 'Bearer t1']);
      // Refreshed at half the 4 s lifetime (the 60 s margin is longer than the lifetime).
      const later = Date.now() + 2_100;
      while (Date.now() < later) await new Promise((r) => setTimeout(r, 50));
      expect(await catalog.namespaceExists([ns])).toBe(false);
      expect(auths.at(-1)).toBe('Bearer t2');
      expect(issued).toBe(2);
      expect(new URLSearchParams(forms[0]).get('scope')).toBe('catalog sign');
      expect(new URLSearchParams(forms[0]).get('client_id')).toBe('kice');
      expect(new URLSearchParams(forms[0]).get('grant_type')).toBe('client_credentials');
    } finally {
      tokens.close();
    }
  });

  it('builds the table FileIO from the catalog and table config', async () => {
    const props: Record<string, string>[] = [];
    const catalog = new RestCatalog({
      uri,
      io,
      warehouse: 'ignored-by-test-server',
      accessDelegation: 'vended-credentials',
      ioFactory: (p) => {
        props.push({ ...p });
        return io;
      },
    });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    await catalog.createTable({ namespace: [ns], name: 't' }, { schema });
    await catalog.loadTable({ namespace: [ns], name: 't' });
    expect(props).toHaveLength(2);
    expect(props[1]?.warehouse).toBe('ignored-by-test-server');
  });
});

describe('REST catalog commit vocabulary and unknown outcomes', () => {
  it('sends every requirement and update in the JSON the Java server parses', async () => {
    const catalog = new RestCatalog({ uri, io });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    const id = { namespace: [ns], name: 'v' };
    const t0 = await catalog.createTable(id, { schema, properties: { gone: 'soon' } });
    const { table: t1 } = await appendWith(fastAppend, t0, rows(0, 2));
    const { table: t2 } = await appendWith(fastAppend, t1, rows(2, 2));
    const first = t1.metadata.currentSnapshotId as bigint;
    const wider = {
      ...schema,
      schemaId: 1,
      fields: [
        ...schema.fields,
        { id: 3, name: 'extra', required: false, type: 'string' as const },
      ],
    };
    const after = await catalog.commitTable(
      id,
      [
        { type: 'assert-table-uuid', uuid: t0.metadata.tableUuid },
        { type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: t2.metadata.currentSnapshotId },
        { type: 'assert-current-schema-id', currentSchemaId: 0 },
        { type: 'assert-last-assigned-field-id', lastAssignedFieldId: 2 },
        { type: 'assert-default-spec-id', defaultSpecId: 0 },
      ],
      [
        { action: 'add-schema', schema: wider },
        { action: 'set-current-schema', schemaId: -1 },
        {
          action: 'add-spec',
          spec: {
            specId: 1,
            fields: [{ sourceId: 2, fieldId: 1000, name: 'cat', transform: 'identity' }],
          },
        },
        { action: 'set-default-spec', specId: 1 },
        {
          action: 'set-snapshot-ref',
          refName: 'keep',
          ref: { snapshotId: first, type: 'tag', maxRefAgeMs: 86_400_000 },
        },
        { action: 'remove-properties', removals: ['gone'] },
      ],
    );
    expect(after.metadata.currentSchemaId).toBe(1);
    expect(after.metadata.lastColumnId).toBe(3);
    expect(after.metadata.defaultSpecId).toBe(1);
    expect(after.metadata.refs.keep).toEqual({
      snapshotId: first,
      type: 'tag',
      maxRefAgeMs: 86_400_000,
    });
    expect(after.metadata.properties.gone).toBeUndefined();
    const dropped = await catalog.commitTable(
      id,
      [],
      [
        { action: 'remove-snapshots', snapshotIds: [] },
        { action: 'set-properties', updates: { k: 'v' } },
      ],
    );
    expect(dropped.metadata.properties.k).toBe('v');
    expect(dropped.metadata.snapshots.map((s) => s.snapshotId)).toContain(first);
  });

  // A fault injector between the client and the real server: it forwards the commit (or
  // not) and then answers 503 as a failing gateway would, so the outcome is unknown.
  function gateway(mode: 'forward-then-503' | 'drop-503', times: number): typeof fetch {
    let left = times;
    return async (input, init) => {
      const commit =
        init?.method === 'POST' && /\/tables\/[^/]+$/.test(new URL(String(input)).pathname);
      if (!commit || left <= 0) return fetch(input, init);
      left--;
      if (mode === 'forward-then-503') await fetch(input, init);
      return new Response(
        JSON.stringify({
          error: { message: 'gateway lost it', type: 'CommitStateUnknownException', code: 503 },
        }),
        { status: 503, headers: { 'content-type': 'application/json' } },
      );
    };
  }

  it('after a 503 on a commit that landed, reports success and adds no second snapshot', async () => {
    const catalog = new RestCatalog({ uri, io, fetch: gateway('forward-then-503', 1) });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    const id = { namespace: [ns], name: 'u' };
    const t0 = await catalog.createTable(id, { schema });
    const { table } = await appendWith(fastAppend, t0, rows(0, 5));
    expect(table.metadata.snapshots).toHaveLength(1);
    const loaded = await catalog.loadTable(id);
    expect(loaded.metadata.snapshots).toHaveLength(1);
    expect((await scanRows(loaded)).map((r) => r.id)).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('after a 503 on a commit that did not land, retries it once', async () => {
    const catalog = new RestCatalog({ uri, io, fetch: gateway('drop-503', 1) });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    const id = { namespace: [ns], name: 'd' };
    const t0 = await catalog.createTable(id, { schema });
    const { table } = await appendWith(fastAppend, t0, rows(0, 5));
    expect(table.metadata.snapshots).toHaveLength(1);
    expect((await scanRows(await catalog.loadTable(id))).map((r) => r.id)).toEqual([
      0n,
      1n,
      2n,
      3n,
      4n,
    ]);
  });

  it('gives a properties-only commit with an unknown outcome a COMMIT_STATE_UNKNOWN error', async () => {
    const catalog = new RestCatalog({ uri, io, fetch: gateway('drop-503', 1) });
    const ns = fresh();
    await catalog.createNamespace([ns]);
    const id = { namespace: [ns], name: 'p' };
    await catalog.createTable(id, { schema });
    const err = await catalog
      .commitTable(id, [], [{ action: 'set-properties', updates: { a: 'b' } }])
      .catch((e) => e);
    expect(err).toBeInstanceOf(IcebergError);
    expect(err.code).toBe('COMMIT_STATE_UNKNOWN');
    expect(err.retryable).toBe(false);
  });
});
