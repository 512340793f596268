/**
 * Schema versions mid-stream, produced by confluent-kafka's AvroSerializer through the real
 * registry and broker: kice's Avro batch decoder (packages/core/src/registry/avro-batch.ts)
 * evolves the schema by name path (nested field added, int → long, an optional field
 * removed), decodes interleaved versions in one batch, and refuses an incompatible
 * version's records with the reason while the others land.
 */
import { arrowValueToIceberg, type StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAvroBatch } from '../../packages/core/src/registry/avro-batch.ts';
import { SchemaRegistryClient } from '../../packages/core/src/registry/client.ts';
import { schemaRegistrySchema } from '../../packages/core/src/registry/config.ts';
import { resolveBatchSchemas } from '../../packages/core/src/registry/resolve.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, readTopic } from '../support/produce.ts';
import { produceAvro, startRegistry } from '../support/schema-registry.ts';

const user = (extra: unknown[] = []) => ({
  type: 'record',
  name: 'User',
  fields: [{ name: 'name', type: 'string' }, ...extra],
});
const email = { name: 'email', type: ['null', 'string'], default: null };
const note = { name: 'note', type: ['null', 'string'], default: null };
const V1 = {
  type: 'record',
  name: 'Ev',
  fields: [{ name: 'id', type: 'int' }, { name: 'user', type: user() }, note],
};
const V2 = {
  type: 'record',
  name: 'Ev',
  fields: [{ name: 'id', type: 'long' }, { name: 'user', type: user([email]) }, note],
};
const V3 = {
  type: 'record',
  name: 'Ev',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'user', type: user([email]) },
  ],
};
const BAD = { type: 'record', name: 'Ev', fields: [{ name: 'id', type: 'string' }] };

let broker: string;
let registry: string;

beforeAll(async () => {
  [broker, registry] = await Promise.all([startKafka(), startRegistry()]);
});

/** Packs raw values as the coordinator does (bytes + offsets) and resolves their ids. */
async function batchOf(values: Buffer[], client: SchemaRegistryClient) {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => {
    offsets[i + 1] = (offsets[i] as number) + v.length;
  });
  const bytes = new Uint8Array(Buffer.concat(values));
  const { schemas, unknown } = await resolveBatchSchemas(client, bytes, offsets);
  return { bytes, offsets, schemas, unknown };
}

function rowsOf(ipc: Uint8Array, schema: StructType): Record<string, unknown>[] {
  const t = arrow.tableFromIPC(ipc);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const r: Record<string, unknown> = {};
    for (const f of schema.fields)
      r[f.name] = arrowValueToIceberg(f.type, t.getChild(f.name)?.get(i));
    out.push(r);
  }
  return out;
}

describe('Avro schema versions mid-stream', () => {
  it('evolves through three versions, decodes them interleaved, dead-letters an incompatible one', async () => {
    const topic = `avro-evo-${Date.now()}`;
    await createTopic([broker], topic, 1);
    const ids = await produceAvro(broker, registry, topic, [
      { schema: V1, rows: [{ id: 1, user: { name: 'a' }, note: 'n1' }] },
      {
        schema: V2,
        rows: [{ id: { $int: '5000000000' }, user: { name: 'b', email: 'b@x' }, note: null }],
      },
      { schema: V1, rows: [{ id: 3, user: { name: 'c' }, note: 'n3' }] },
      { schema: V3, rows: [{ id: 4, user: { name: 'd', email: null } }] },
      { schema: BAD, rows: [{ id: 'five' }] },
      { schema: V2, rows: [{ id: 6, user: { name: 'f', email: 'f@x' }, note: 'n6' }] },
    ]);
    const [v1, v2, , v3, bad] = ids.map((x) => x?.[0] as number);
    expect(new Set([v1, v2, v3, bad]).size).toBe(4);
    const client = new SchemaRegistryClient(schemaRegistrySchema.parse({ url: registry }), {
      maxAttempts: 3,
    });
    const values = (await readTopic([broker], topic)).map((r) => r.value as Buffer);
    const input = await batchOf(values, client);
    expect(client.requests).toBe(4);
    const r = decodeAvroBatch({ ...input, schema: { type: 'struct', fields: [] } });
    expect(r.errors).toEqual([
      { index: 4, reason: `schema id ${bad}: field "id": cannot change long to string` },
    ]);
    expect(r.changed).toBe(true);
    expect(r.schema).toEqual({
      type: 'struct',
      fields: [
        { id: 1, name: 'id', required: false, type: 'long' },
        {
          id: 2,
          name: 'user',
          required: false,
          type: {
            type: 'struct',
            fields: [
              { id: 3, name: 'name', required: false, type: 'string' },
              { id: 5, name: 'email', required: false, type: 'string' },
            ],
          },
        },
        { id: 4, name: 'note', required: false, type: 'string' },
      ],
    });
    expect(rowsOf(r.ipc, r.schema)).toEqual([
      { id: 1n, user: { name: 'a', email: null }, note: 'n1' },
      { id: 5000000000n, user: { name: 'b', email: 'b@x' }, note: null },
      { id: 3n, user: { name: 'c', email: null }, note: 'n3' },
      { id: 4n, user: { name: 'd', email: null }, note: null },
      { id: 6n, user: { name: 'f', email: 'f@x' }, note: 'n6' },
    ]);
    // A later batch of v1 only, against the evolved schema: no change, values widened.
    const again = decodeAvroBatch({
      ...(await batchOf([values[0] as Buffer], client)),
      schema: r.schema,
    });
    expect(again.changed).toBe(false);
    expect(rowsOf(again.ipc, again.schema)).toEqual([
      { id: 1n, user: { name: 'a', email: null }, note: 'n1' },
    ]);
    expect(client.requests).toBe(4);
  });

  it('bad frames and unknown ids in a batch are per-record errors; the rest decode', async () => {
    const topic = `avro-evo-bad-${Date.now()}`;
    await createTopic([broker], topic, 1);
    const ids = await produceAvro(broker, registry, topic, [
      { schema: V3, rows: [{ id: 7, user: { name: 'g', email: null } }] },
      { raw: '02000000010203' },
      { raw: `00${(876_543).toString(16).padStart(8, '0')}02` },
    ]);
    const client = new SchemaRegistryClient(schemaRegistrySchema.parse({ url: registry }), {
      maxAttempts: 3,
    });
    const values = (await readTopic([broker], topic)).map((x) => x.value as Buffer);
    const r = decodeAvroBatch({
      ...(await batchOf(values, client)),
      schema: { type: 'struct', fields: [] },
    });
    expect(ids[0]?.length).toBe(1);
    expect(r.rows).toBe(1);
    expect(r.errors).toEqual([
      { index: 1, reason: 'not a Schema Registry frame: magic byte is 2, expected 0' },
      {
        index: 2,
        reason:
          "unknown schema id 876543: the registry answered 404 (No content with ID '876543' was found. error_code 40403)",
      },
    ]);
    expect(rowsOf(r.ipc, r.schema)).toEqual([{ id: 7n, user: { name: 'g', email: null } }]);
  });
});
