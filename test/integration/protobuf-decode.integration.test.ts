/**
 * Protobuf records framed and encoded by Confluent's own serializer (confluent-kafka's
 * ProtobufSerializer, test/support/produce_registry_protobuf.py) through the real registry
 * and broker, read back raw and decoded by kice's batch decoder
 * (packages/core/src/registry/protobuf-batch.ts) with ids and references resolved as the
 * coordinator resolves them: every scalar and well-known type, an import across subjects,
 * nested message indexes, three schema versions mid-stream interleaved in one batch, an
 * incompatible version, and each bad-input class with its reason.
 */
import { randomBytes } from 'node:crypto';
import { arrowValueToIceberg, type StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { SchemaRegistryClient } from '../../packages/core/src/registry/client.ts';
import { schemaRegistrySchema } from '../../packages/core/src/registry/config.ts';
import { decodeProtobufBatch } from '../../packages/core/src/registry/protobuf-batch.ts';
import { resolveBatchSchemas } from '../../packages/core/src/registry/resolve.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, readTopic } from '../support/produce.ts';
import {
  EVERY_TYPE_COLUMNS,
  EVERY_TYPE_EXPECTED,
  EVERY_TYPE_MESSAGE,
  EVERY_TYPE_ROWS,
  everyTypeFiles,
} from '../support/protobuf-fixtures.ts';
import { produceProtobuf, registerProto, startRegistry } from '../support/schema-registry.ts';

const RUN = randomBytes(4).toString('hex');
let broker: string;
let registry: string;

beforeAll(async () => {
  [broker, registry] = await Promise.all([startKafka(), startRegistry()]);
});

function client() {
  return new SchemaRegistryClient(schemaRegistrySchema.parse({ url: registry }), {
    maxAttempts: 3,
  });
}

/** Packs raw values as the coordinator does (bytes + offsets) and resolves their ids. */
async function batchOf(values: Buffer[], c: SchemaRegistryClient) {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => {
    offsets[i + 1] = (offsets[i] as number) + v.length;
  });
  const bytes = new Uint8Array(Buffer.concat(values));
  const { schemas, unknown } = await resolveBatchSchemas(c, bytes, offsets);
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

const EMPTY: StructType = { type: 'struct', fields: [] };
const kind = (f: StructType['fields'][number]) =>
  `${f.name}:${typeof f.type === 'string' ? f.type : f.type.type}`;

describe('Protobuf from confluent-kafka ProtobufSerializer', () => {
  it('decodes every scalar and well-known type, nested, repeated, map, oneof, enum, an imported message', async () => {
    const topic = `pb-all-${RUN}`;
    await createTopic([broker], topic, 1);
    const files = everyTypeFiles(RUN);
    const [ids] = await produceProtobuf(broker, registry, topic, [
      { files, message: EVERY_TYPE_MESSAGE, rows: EVERY_TYPE_ROWS },
      { files, message: 'kice.test.Everything.Item', rows: [{ name: 'nested', qty: 3 }] },
    ]);
    const c = client();
    const values = (await readTopic([broker], topic)).map((r) => r.value as Buffer);
    const input = await batchOf(values.slice(0, 3), c);
    // The imported file, registered under its own subject, came with the schema.
    expect(input.schemas[ids?.[0] as number]?.references.map((r) => r.name)).toEqual([
      `common_${RUN}.proto`,
    ]);
    const r = decodeProtobufBatch({ ...input, schema: EMPTY });
    expect(r.errors).toEqual([]);
    expect(r.schema.fields.map(kind)).toEqual(EVERY_TYPE_COLUMNS);
    expect(rowsOf(r.ipc, r.schema)).toEqual(EVERY_TYPE_EXPECTED);
    // Message indexes [0, 2]: Everything's nested types are CountsEntry, ByIdEntry (map
    // entries count, as in the serializer's descriptor) and Item.
    expect(values[3]?.subarray(5, 8)).toEqual(Buffer.from([4, 0, 4]));
    const nested = decodeProtobufBatch({
      ...(await batchOf([values[3] as Buffer], c)),
      schema: EMPTY,
    });
    expect(rowsOf(nested.ipc, nested.schema)).toEqual([{ name: 'nested', qty: 3 }]);
  });

  it('evolves through three versions mid-stream, interleaved in one batch, and dead-letters an incompatible one', async () => {
    const topic = `pb-evo-${RUN}`;
    await createTopic([broker], topic, 1);
    const proto = (body: string, user: string) => ({
      [`evo_${RUN}.proto`]: `syntax = "proto3";\npackage kice.evo;\nmessage Ev {\n${body}\n  message User {\n${user}\n  }\n}\n`,
    });
    const v1 = proto(
      '  int32 id = 1;\n  User user = 2;\n  string note = 3;',
      '    string name = 1;',
    );
    const v2 = proto(
      '  int64 id = 1;\n  User user = 2;\n  string note = 3;',
      '    string name = 1;\n    optional string email = 2;',
    );
    const v3 = proto(
      '  int64 id = 1;\n  User user = 2;',
      '    string name = 1;\n    optional string email = 2;',
    );
    const bad = proto('  string id = 1;', '    string name = 1;');
    const m = 'kice.evo.Ev';
    const ids = await produceProtobuf(broker, registry, topic, [
      { files: v1, message: m, rows: [{ id: 1, user: { name: 'a' }, note: 'n1' }] },
      { files: v2, message: m, rows: [{ id: '5000000000', user: { name: 'b', email: 'b@x' } }] },
      { files: v1, message: m, rows: [{ id: 3, user: { name: 'c' }, note: 'n3' }] },
      { files: v3, message: m, rows: [{ id: '4', user: { name: 'd' } }] },
      { files: bad, message: m, rows: [{ id: 'five' }] },
      { files: v2, message: m, rows: [{ id: '6', user: { name: 'f', email: 'f@x' }, note: 'n6' }] },
    ]);
    const [i1, i2, , i3, ib] = ids.map((x) => x?.[0] as number);
    expect(new Set([i1, i2, i3, ib]).size).toBe(4);
    const c = client();
    const values = (await readTopic([broker], topic)).map((r) => r.value as Buffer);
    const r = decodeProtobufBatch({ ...(await batchOf(values, c)), schema: EMPTY });
    expect(c.requests).toBe(4);
    expect(r.errors).toEqual([
      { index: 4, reason: `schema id ${ib}: field "id": cannot change long to string` },
    ]);
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
      { id: 5000000000n, user: { name: 'b', email: 'b@x' }, note: '' },
      { id: 3n, user: { name: 'c', email: null }, note: 'n3' },
      { id: 4n, user: { name: 'd', email: null }, note: null },
      { id: 6n, user: { name: 'f', email: 'f@x' }, note: 'n6' },
    ]);
    // A later batch of v1 only against the evolved schema: no change, int widened to long.
    const again = decodeProtobufBatch({
      ...(await batchOf([values[0] as Buffer], c)),
      schema: r.schema,
    });
    expect(again.changed).toBe(false);
    expect(rowsOf(again.ipc, again.schema)).toEqual([
      { id: 1n, user: { name: 'a', email: null }, note: 'n1' },
    ]);
  });

  it('reads a schema registered as .proto text with a reference to another subject', async () => {
    const topic = `pb-text-${RUN}`;
    await createTopic([broker], topic, 1);
    const lib = `text_lib_${RUN}.proto`;
    const app = `text_app_${RUN}.proto`;
    const files = {
      [lib]:
        'syntax = "proto3";\npackage kice.lib;\nmessage Money {\n  int64 cents = 1;\n  string currency = 2;\n}\n',
      [app]: `syntax = "proto3";\npackage kice.app;\nimport "${lib}";\nimport "google/protobuf/timestamp.proto";\nmessage Order {\n  string id = 1;\n  kice.lib.Money total = 2;\n  google.protobuf.Timestamp at = 3;\n}\n`,
    };
    await registerProto(registry, lib, files[lib] as string);
    const id = await registerProto(registry, `text-${RUN}`, files[app] as string, [
      { name: lib, subject: lib, version: 1 },
    ]);
    // Confluent's registry hands out .proto text; Apicurio keeps what the serializer
    // registered (a descriptor). So the serializer's bytes (message indexes + message)
    // are framed again with the id of the same file registered as text.
    await produceProtobuf(broker, registry, topic, [
      {
        files,
        message: 'kice.app.Order',
        rows: [{ id: 'o1', total: { cents: '1250', currency: 'EUR' }, at: '1970-01-01T00:00:01Z' }],
      },
    ]);
    const produced = (await readTopic([broker], topic))[0]?.value as Buffer;
    const reframed = Buffer.concat([
      Buffer.from([0, id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]),
      produced.subarray(5),
    ]);
    const c = client();
    const input = await batchOf([reframed], c);
    expect(input.schemas[id]?.schema).toContain('message Order');
    const r = decodeProtobufBatch({ ...input, schema: EMPTY });
    expect(r.errors).toEqual([]);
    expect(rowsOf(r.ipc, r.schema)).toEqual([
      { id: 'o1', total: { cents: 1250n, currency: 'EUR' }, at: 1_000_000n },
    ]);
  });

  it('a reference the registry does not know is a clear error (not retried)', async () => {
    const c = client();
    await expect(c.getVersion(`no-such-subject-${RUN}`, 1)).rejects.toThrow(
      `unknown schema reference no-such-subject-${RUN} version 1: the registry answered 404 (No artifact with ID 'no-such-subject-${RUN}' in group 'null' was found. error_code 40401)`,
    );
    expect(c.requests).toBe(1);
  });

  it('each bad-input class is a per-record error with its reason; the rest decode', async () => {
    const topic = `pb-bad-${RUN}`;
    await createTopic([broker], topic, 1);
    const files = {
      [`small_${RUN}.proto`]: `syntax = "proto3";\npackage kice.small;\nmessage Small {\n  string s = 1;\n  uint64 n = 2;\n}\n`,
    };
    const [ids] = await produceProtobuf(broker, registry, topic, [
      {
        files,
        message: 'kice.small.Small',
        rows: [{ s: 'abcdef', n: '1' }, { n: '18446744073709551615' }],
      },
    ]);
    const [good, huge] = (await readTopic([broker], topic)).map((r) => r.value as Buffer);
    const g = good as Buffer;
    const idHex = Number(ids?.[0]).toString(16).padStart(8, '0');
    const bad = [
      `01${g.subarray(1).toString('hex')}`, // wrong magic byte
      `00${(987_650).toString(16).padStart(8, '0')}000a0161`, // unknown schema id
      g.subarray(0, g.length - 3).toString('hex'), // truncated
      `00${idHex}000a`, // length prefix without its bytes
      `00${idHex}000a016110ffffffffffffffffffff01`, // an 11-byte varint
      `00${idHex}00${'08'}01`, // field 1 (string) with wire type 0
      `00${idHex}02040a0161`, // message indexes [2]: out of range
      `00${idHex}`, // no message indexes
      `00${idHex}00ff01`, // a tag of field 31 with wire type 7
    ];
    await produceProtobuf(
      broker,
      registry,
      topic,
      bad.map((raw) => ({ raw })),
    );
    const values = (await readTopic([broker], topic)).map((r) => r.value as Buffer);
    const r = decodeProtobufBatch({ ...(await batchOf(values, client())), schema: EMPTY });
    expect(rowsOf(r.ipc, r.schema)).toEqual([{ s: 'abcdef', n: 1n }]);
    expect(huge?.length).toBeGreaterThan(0);
    expect(r.errors).toEqual([
      {
        index: 1,
        reason: 'field "n": uint64 value 18446744073709551615 does not fit a long (above 2^63-1)',
      },
      { index: 2, reason: 'not a Schema Registry frame: magic byte is 1, expected 0' },
      {
        index: 3,
        reason:
          "unknown schema id 987650: the registry answered 404 (No content with ID '987650' was found. error_code 40403)",
      },
      { index: 4, reason: 'truncated Protobuf payload: the bytes end inside a field' },
      { index: 5, reason: 'truncated Protobuf payload: the bytes end inside a field' },
      { index: 6, reason: 'corrupt Protobuf payload: varint longer than 10 bytes' },
      {
        index: 7,
        reason: 'corrupt Protobuf payload: field "s" (number 1) has wire type 0, expected 2',
      },
      {
        index: 8,
        reason: `schema id ${ids?.[0]}: message indexes [2]: index 2 is out of range, the file has 1 message`,
      },
      {
        index: 9,
        reason: 'not a Protobuf frame: the message-index list is missing after the schema id',
      },
      { index: 10, reason: 'corrupt Protobuf payload: wire type 7 of field 31' },
    ]);
  });
});
