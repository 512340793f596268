/**
 * POST /query's limits on a real node:http server: queries beyond maxConcurrent get 503
 * while others stream to clients that read nothing, and a reader that stalls is cut after
 * stallMs; in both cases the batch iterator is returned (the scan stops). The Queryable is
 * an endless source of real Arrow batches, so a response can only end by being cut.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { icebergRowsToArrow, type Schema } from '@kice/iceberg';
import type * as arrow from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { type Queryable, type QueryLimits, serveQuery } from '../../src/http/query-routes.ts';

const schema: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [{ id: 1, name: 'id', required: true, type: 'long' }],
};
const batch = icebergRowsToArrow(
  schema,
  Array.from({ length: 1000 }, (_, i) => ({ id: BigInt(i) })),
).batches[0] as arrow.RecordBatch;

function endless(): { q: Queryable; returned: () => number; outcomes: string[] } {
  let returned = 0;
  const outcomes: string[] = [];
  const q: Queryable = {
    async query(table) {
      const batches: AsyncIterable<arrow.RecordBatch> = {
        [Symbol.asyncIterator]: () => ({
          next: async () => ({ done: false, value: batch }),
          return: async () => {
            returned++;
            return { done: true, value: undefined };
          },
        }),
      };
      return {
        table,
        snapshotId: null,
        hot: null,
        schema: batch.schema,
        batches,
        toTable: () => Promise.reject(new Error('endless')),
      };
    },
    get: async () => undefined,
    observeQuery: (_route, outcome) => outcomes.push(outcome),
  };
  return { q, returned: () => returned, outcomes };
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

async function serve(q: Queryable, limits: QueryLimits): Promise<number> {
  server = createServer((req, res) => {
    res.on('error', () => {});
    void serveQuery(q, req, res, limits);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** A query whose response is not read: resolves with the response (paused) and its request. */
function stalled(port: number) {
  return new Promise<{ status: number; destroy: () => void }>((resolve) => {
    const req = request({
      port,
      host: '127.0.0.1',
      path: '/query',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', () => {});
    req.on('response', (res) => {
      res.pause();
      res.on('error', () => {});
      resolve({ status: res.statusCode ?? 0, destroy: () => req.destroy() });
    });
    req.end('{"table": "a.b"}');
  });
}

const until = async (pred: () => boolean) => {
  while (!pred()) await new Promise((r) => setTimeout(r, 20));
};

describe('POST /query limits', () => {
  it('answers 503 past maxConcurrent; a slot frees when its client leaves', async () => {
    const { q, returned, outcomes } = endless();
    const limits: QueryLimits = { maxConcurrent: 2, stallMs: 600_000, running: 0 };
    const port = await serve(q, limits);
    const a = await stalled(port);
    const b = await stalled(port);
    expect([a.status, b.status, limits.running]).toEqual([200, 200, 2]);
    const busy = await fetch(`http://127.0.0.1:${port}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"table": "a.b"}',
    });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(await busy.json()).toEqual({ error: 'busy: 2 queries are running; retry later' });
    a.destroy();
    await until(() => limits.running === 1);
    expect(returned()).toBe(1);
    const c = await stalled(port);
    expect(c.status).toBe(200);
    b.destroy();
    c.destroy();
    await until(() => limits.running === 0);
    expect(returned()).toBe(3);
    expect(outcomes.sort()).toEqual(['busy', 'client_gone', 'client_gone', 'client_gone']);
  });

  it('cuts a reader that takes nothing for stallMs and stops its scan', async () => {
    const { q, returned, outcomes } = endless();
    const limits: QueryLimits = { maxConcurrent: 4, stallMs: 300, running: 0 };
    const port = await serve(q, limits);
    const a = await stalled(port);
    expect(limits.running).toBe(1);
    await until(() => limits.running === 0); // cut by the server (the paused client sees nothing)
    a.destroy();
    expect(returned()).toBe(1);
    expect(outcomes).toEqual(['client_gone']);
  });
});
