/**
 * The Schema Registry client (packages/core/src/registry/client.ts) against a real
 * Confluent-compatible registry (test/infra/schema-registry.sh, Apicurio) and, for
 * transient faults, test/support/fault-proxy.ts in front of it.
 */

import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SchemaRegistryClient,
  UnknownSchemaError,
} from '../../packages/core/src/registry/client.ts';
import { schemaRegistrySchema } from '../../packages/core/src/registry/config.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { registerSchema, startRegistry } from '../support/schema-registry.ts';

const conf = (url: string) => schemaRegistrySchema.parse({ url });
let registry: string;
let proxy: FaultProxy;
const schema = {
  type: 'record',
  name: 'Probe',
  namespace: 'kice.test',
  fields: [{ name: `f${Date.now()}`, type: 'long' }],
};
let id: number;

beforeAll(async () => {
  registry = await startRegistry();
  id = await registerSchema(registry, `sr-client-${Date.now()}-value`, schema);
  proxy = await startFaultProxy(registry.replace(/\/apis\/ccompat\/v7$/, ''));
});
afterAll(async () => {
  await proxy?.close();
});

describe('SchemaRegistryClient against Apicurio', () => {
  it('looks an id up once, however many callers ask at once', async () => {
    const c = new SchemaRegistryClient(conf(`${proxy.endpoint}/apis/ccompat/v7`));
    const before = proxy.forwarded;
    const all = await Promise.all(Array.from({ length: 8 }, () => c.getSchema(id)));
    await c.getSchema(id);
    expect(c.requests).toBe(1);
    expect(proxy.forwarded - before).toBe(1);
    for (const s of all) {
      expect(s).toEqual({ id, schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] });
    }
  });

  it('an unknown id is an UnknownSchemaError with the registry reason, asked again only after unknownIdRetryMs', async () => {
    let now = 1_000_000;
    const c = new SchemaRegistryClient(conf(registry), { now: () => now });
    const err = await c.getSchema(987654).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownSchemaError);
    expect((err as Error).message).toBe(
      "unknown schema id 987654: the registry answered 404 (No content with ID '987654' was found. error_code 40403)",
    );
    expect(c.requests).toBe(1);
    // Within the 30 s default: the same answer, no request.
    now += 29_999;
    for (let i = 0; i < 5; i++) {
      await expect(c.getSchema(987654)).rejects.toBe(err);
    }
    expect(c.requests).toBe(1);
    // Past it: asked again, once, however many callers.
    now += 1;
    const again = await Promise.all(
      Array.from({ length: 4 }, () => c.getSchema(987654).catch((e: unknown) => e)),
    );
    expect(c.requests).toBe(2);
    for (const e of again) expect(e).toBeInstanceOf(UnknownSchemaError);
    // A known id is unaffected, and unknownIdRetryMs: 0 asks every time.
    await c.getSchema(id);
    expect(c.requests).toBe(3);
    const eager = new SchemaRegistryClient(
      schemaRegistrySchema.parse({ url: registry, unknownIdRetryMs: 0 }),
    );
    await eager.getSchema(987654).catch(() => undefined);
    await eager.getSchema(987654).catch(() => undefined);
    expect(eager.requests).toBe(2);
  });

  it('retries 503s and connection resets with backoff, then answers', async () => {
    const c = new SchemaRegistryClient(conf(`${proxy.endpoint}/apis/ccompat/v7`), {
      backoffBaseMs: 10,
      onRetry: (r) => retries.push(r.reason),
    });
    const retries: string[] = [];
    proxy.setRules([
      { rate: 1, fault: '503', limit: 2 },
      { rate: 1, fault: 'reset', limit: 2 },
    ]);
    try {
      const s = await c.getSchema(id);
      expect(s.schema).toBe(JSON.stringify(schema));
    } finally {
      proxy.setRules([]);
    }
    expect(proxy.injected['503']).toBe(2);
    expect(proxy.injected.reset).toBe(2);
    expect(retries.length).toBe(4);
    expect(retries.slice(0, 2)).toEqual([
      `GET /schemas/ids/${id}: HTTP 503`,
      `GET /schemas/ids/${id}: HTTP 503`,
    ]);
    expect(c.requests).toBe(5);
  });

  it('checkReachable: passes against the registry, a clear config error when nothing listens', async () => {
    await new SchemaRegistryClient(conf(registry)).checkReachable();
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const c = new SchemaRegistryClient(conf(`http://127.0.0.1:${port}/apis/ccompat/v7`), {
      backoffBaseMs: 10,
    });
    await expect(c.checkReachable()).rejects.toThrow(
      `schemaRegistry.url: the registry at http://127.0.0.1:${port}/apis/ccompat/v7 did not answer GET /subjects: GET /subjects: ECONNREFUSED`,
    );
  });
});
