/**
 * Record keys in registry formats (registry/key-codecs.ts through decode/record-meta.ts):
 * Confluent-framed Avro keys (encoded by avsc, an independent implementation), JSON Schema
 * keys and Protobuf keys (encoded by protobufjs's writer) on Avro, JSON, JSON Schema and raw
 * value batches; the key column's type evolves
 * with the key schema (stable field IDs), null keys are null, and a key that cannot be
 * read refuses its record with a reason that names the key.
 */
import { arrowValueToIceberg, type StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import avro from 'avsc';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import { decodeRawBatch } from '../../src/decode/raw-decoder.ts';
import type { KeySchemas, MetaSpec, RecordMeta } from '../../src/decode/record-meta.ts';
import { decodeAvroBatch } from '../../src/registry/avro-batch.ts';
import { decodeJsonSchemaBatch } from '../../src/registry/json-schema-batch.ts';

const frame = (id: number, payload: Uint8Array | string) => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, typeof payload === 'string' ? Buffer.from(payload) : payload]);
};

const packed = (values: (Uint8Array | null)[]) => {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => {
    offsets[i + 1] = (offsets[i] as number) + (v?.length ?? 0);
  });
  return {
    bytes: new Uint8Array(Buffer.concat(values.map((v) => v ?? new Uint8Array(0)))),
    offsets,
    nulls: Uint8Array.from(values.map((v) => (v === null ? 1 : 0))),
  };
};

const texts = (schemas: Record<number, unknown>, unknown: Record<number, string> = {}) => ({
  schemas: Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => [
      id,
      { schema: typeof s === 'string' ? s : JSON.stringify(s), references: [] },
    ]),
  ),
  unknown,
});

const meta = (keys: (Uint8Array | null)[], keySchemas: KeySchemas): RecordMeta => ({
  topic: 't',
  partition: 0,
  recordOffsets: BigInt64Array.from(keys.map((_, i) => BigInt(i))),
  timestamps: Float64Array.from(keys.map(() => 0)),
  keys: packed(keys),
  keySchemas,
});

function rowsOf(ipc: Uint8Array, schema: StructType): Record<string, unknown>[] {
  const t = arrow.tableFromIPC(ipc);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const f of schema.fields)
      row[f.name] = arrowValueToIceberg(f.type, t.getChild(f.name)?.get(i));
    rows.push(row);
  }
  return rows;
}

const rec = (name: string, fields: unknown[]) => ({ type: 'record', name, fields });
const enc = (schema: unknown, v: unknown) => avro.Type.forSchema(schema as avro.Schema).toBuffer(v);

describe('registry keys', () => {
  it('Avro record keys on Avro values: a struct key column evolving with the key schema, null keys null, bad keys refused', () => {
    const value = rec('V', [{ name: 'n', type: 'int' }]);
    const k1 = rec('K', [{ name: 'id', type: 'long' }]);
    const k2 = rec('K', [
      { name: 'id', type: 'long' },
      { name: 'region', type: ['null', 'string'], default: null },
    ]);
    const spec: MetaSpec = { key: { column: 'key', format: 'avro' } };
    const v = (n: number) => frame(1, enc(value, { n }));
    const keys1 = [
      frame(11, enc(k1, { id: 7 })),
      null,
      Buffer.from('{"id":1}'),
      frame(99, enc(k1, { id: 8 })),
      frame(11, Uint8Array.of(0x80)),
    ];
    const first = decodeAvroBatch({
      ...packed(keys1.map((_, i) => v(i))),
      schema: { type: 'struct', fields: [] },
      ...texts({ 1: value }),
      metadata: {
        spec,
        records: meta(
          keys1,
          texts({ 11: k1 }, { 99: 'schema id 99 is not in the registry (404)' }),
        ),
      },
    });
    expect(first.errors).toEqual([
      { index: 2, reason: 'key: not a Schema Registry frame: magic byte is 123, expected 0' },
      { index: 3, reason: 'key: schema id 99 is not in the registry (404)' },
      { index: 4, reason: 'key: truncated Avro payload: 1 bytes end inside the datum' },
    ]);
    expect(first.schema).toEqual({
      type: 'struct',
      fields: [
        { id: 1, name: 'n', required: false, type: 'int' },
        {
          id: 2,
          name: 'key',
          required: false,
          type: { type: 'struct', fields: [{ id: 3, name: 'id', required: false, type: 'long' }] },
        },
      ],
    });
    expect(rowsOf(first.ipc, first.schema)).toEqual([
      { n: 0, key: { id: 7n } },
      { n: 1, key: null },
    ]);
    // The key schema evolves: the new field gets the next ID, old keys read null for it.
    const keys2 = [frame(12, enc(k2, { region: 'eu', id: 9 })), frame(11, enc(k1, { id: 10 }))];
    const second = decodeAvroBatch({
      ...packed([v(5), v(6)]),
      schema: first.schema,
      ...texts({ 1: value }),
      metadata: { spec, records: meta(keys2, texts({ 11: k1, 12: k2 })) },
    });
    expect(second.errors).toEqual([]);
    const key = second.schema.fields[1];
    expect(key?.type).toEqual({
      type: 'struct',
      fields: [
        { id: 3, name: 'id', required: false, type: 'long' },
        { id: 4, name: 'region', required: false, type: 'string' },
      ],
    });
    expect(rowsOf(second.ipc, second.schema)).toEqual([
      { n: 5, key: { id: 9n, region: 'eu' } },
      { n: 6, key: { id: 10n, region: null } },
    ]);
  });

  it('a primitive Avro key on JSON values is a column of its type named key.column; a key schema the column cannot take refuses its keys', () => {
    const spec: MetaSpec = { key: { column: 'k', format: 'avro' } };
    const keys = [
      frame(5, enc('long', 1234567890123)),
      frame(5, enc('long', -1)),
      frame(6, enc('string', 'x')),
    ];
    const values = keys.map((_, i) => Buffer.from(`{"i":${i}}`));
    const r = decodeJsonBatch({
      ...packed(values),
      schema: { type: 'struct', fields: [] },
      metadata: { spec, records: meta(keys, texts({ 5: '"long"', 6: { type: 'string' } })) },
    });
    expect(r.errors).toEqual([
      {
        index: 2,
        reason: 'key: schema id 6: field "k": cannot change long to string',
      },
    ]);
    expect(r.schema.fields.map((f) => [f.name, f.type, f.required])).toEqual([
      ['i', 'long', false],
      ['k', 'long', false],
    ]);
    expect(rowsOf(r.ipc, r.schema)).toEqual([
      { k: 1234567890123n, i: 0n },
      { k: -1n, i: 1n },
    ]);
  });

  it('JSON Schema keys on JSON Schema values: declared types (local $refs resolve), a key that does not fit refused, a primitive key schema', () => {
    const value = { type: 'object', properties: { amount: { type: 'number' } } };
    const key = {
      type: 'object',
      properties: { user: { $ref: '#/$defs/user' }, at: { type: 'string', format: 'date-time' } },
      $defs: { user: { type: 'object', properties: { id: { type: 'integer' } } } },
    };
    const spec: MetaSpec = { key: { column: 'key', format: 'json-schema' } };
    const keys = [
      frame(21, '{"user":{"id":5},"at":"2024-01-02T03:04:05Z"}'),
      frame(21, '{"user":{"id":"five"}}'),
      frame(21, '{"user":'),
      null,
    ];
    const r = decodeJsonSchemaBatch({
      ...packed(keys.map((_, i) => frame(1, `{"amount":${i}.5}`))),
      schema: { type: 'struct', fields: [] },
      ...texts({ 1: value }),
      metadata: { spec, records: meta(keys, texts({ 21: key })) },
    });
    expect(r.errors).toEqual([
      { index: 1, reason: 'key: field "key.user.id": expected long, got string' },
      { index: 2, reason: 'key: invalid JSON: Unexpected end of JSON input' },
    ]);
    expect(r.schema.fields.map((f) => f.name)).toEqual(['amount', 'key']);
    expect(rowsOf(r.ipc, r.schema)).toEqual([
      { amount: 0.5, key: { user: { id: 5n }, at: 1704164645000000n } },
      { amount: 3.5, key: null },
    ]);
    // A primitive JSON Schema key, on JSON values.
    const pk = [frame(22, '"abc"'), frame(22, '17')];
    const p = decodeJsonBatch({
      ...packed([Buffer.from('{"a":1}'), Buffer.from('{"a":2}')]),
      schema: { type: 'struct', fields: [] },
      metadata: {
        spec: { key: { column: 'id', format: 'json-schema' } },
        records: meta(pk, texts({ 22: { type: 'string' } })),
      },
    });
    expect(p.errors.map((e) => e.reason)).toEqual(['key: field "id": expected string, got number']);
    expect(rowsOf(p.ipc, p.schema)).toEqual([{ id: 'abc', a: 1n }]);
  });

  it('Protobuf message keys on JSON values: the message the indexes choose as a struct column, evolving with the key schema; bad keys refused', () => {
    const proto = (extra = '') => `syntax = "proto3";
package k;
message Other { string x = 1; }
message Key { int64 id = 1; string user = 2;${extra} }
`;
    const p1 = proto();
    const p2 = proto(' optional string region = 3;');
    const encKey = (text: string, v: Record<string, unknown>) => {
      const T = protobuf.parse(text, { keepCase: true }).root.lookupType('k.Key');
      return T.encode(T.fromObject(v)).finish();
    };
    // Message indexes [1] (count 1, index 1, zigzag varints): k.Key.
    const KEY = Uint8Array.of(2, 2);
    const key = (id: number, indexes: Uint8Array, body: Uint8Array) =>
      frame(id, Buffer.concat([indexes, body]));
    const spec: MetaSpec = { key: { column: 'key', format: 'protobuf' } };
    const keys1 = [
      key(41, KEY, encKey(p1, { id: 7, user: 'ann' })),
      null,
      key(41, KEY, Uint8Array.of(0x0a, 0x01, 0x41)),
      key(41, Uint8Array.of(2, 10), encKey(p1, { id: 8 })),
      key(41, Uint8Array.of(2), new Uint8Array(0)),
      key(41, KEY, encKey(p1, { id: 9 })),
    ];
    const values = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => Buffer.from(`{"n":${from + i}}`));
    const first = decodeJsonBatch({
      ...packed(values(keys1.length)),
      schema: { type: 'struct', fields: [] },
      metadata: { spec, records: meta(keys1, texts({ 41: p1 })) },
    });
    expect(first.errors).toEqual([
      {
        index: 2,
        reason:
          'key: corrupt Protobuf payload: field "key.id" (number 1) has wire type 2, expected 0',
      },
      {
        index: 3,
        reason:
          'key: schema id 41: message indexes [5]: index 5 is out of range, the file has 2 messages',
      },
      {
        index: 4,
        reason: 'key: not a Protobuf frame: message-index count 1 does not fit the 0 bytes left',
      },
    ]);
    // The key column is made before the value's (JSON values are appended after the keys
    // of the batch are mapped).
    expect(first.schema).toEqual({
      type: 'struct',
      fields: [
        { id: 4, name: 'n', required: false, type: 'long' },
        {
          id: 1,
          name: 'key',
          required: false,
          type: {
            type: 'struct',
            fields: [
              { id: 2, name: 'id', required: false, type: 'long' },
              { id: 3, name: 'user', required: false, type: 'string' },
            ],
          },
        },
      ],
    });
    // Implicit presence (proto3): an absent scalar is its default, not null.
    expect(rowsOf(first.ipc, first.schema)).toEqual([
      { n: 0n, key: { id: 7n, user: 'ann' } },
      { n: 1n, key: null },
      { n: 5n, key: { id: 9n, user: '' } },
    ]);
    // A second version adds a field: it gets the next ID, keys of the first read null. The
    // indexes [0] choose k.Other, whose field joins the column like another version's; a
    // version changing a field's type is refused.
    const p3 = 'syntax = "proto3"; package k; message Key { string id = 1; }';
    const other = protobuf.parse(p1, { keepCase: true }).root.lookupType('k.Other');
    const keys2 = [
      key(42, KEY, encKey(p2, { id: 10, user: 'bo', region: 'eu' })),
      key(41, Uint8Array.of(0), other.encode(other.fromObject({ x: 'hi' })).finish()),
      key(43, Uint8Array.of(0), encKey(p3, { id: 'twelve' })),
      key(41, KEY, encKey(p1, { id: 11, user: 'cy' })),
    ];
    const second = decodeJsonBatch({
      ...packed(values(4, 6)),
      schema: first.schema,
      metadata: { spec, records: meta(keys2, texts({ 41: p1, 42: p2, 43: p3 })) },
    });
    expect(second.errors).toEqual([
      { index: 2, reason: 'key: schema id 43: field "key.id": cannot change long to string' },
    ]);
    expect(second.schema.fields[1]?.type).toEqual({
      type: 'struct',
      fields: [
        { id: 2, name: 'id', required: false, type: 'long' },
        { id: 3, name: 'user', required: false, type: 'string' },
        { id: 5, name: 'region', required: false, type: 'string' },
        { id: 6, name: 'x', required: false, type: 'string' },
      ],
    });
    expect(rowsOf(second.ipc, second.schema)).toEqual([
      { n: 6n, key: { id: 10n, user: 'bo', region: 'eu', x: null } },
      { n: 7n, key: { id: null, user: null, region: null, x: 'hi' } },
      { n: 9n, key: { id: 11n, user: 'cy', region: null, x: null } },
    ]);
  });

  it('format raw values with an Avro key: the bytes as they are beside the decoded key', () => {
    const k = rec('K', [{ name: 'id', type: 'long' }]);
    const keys = [frame(51, enc(k, { id: 3 })), frame(51, Uint8Array.of(0x80)), null];
    const values = [Buffer.from([0, 1, 2]), Buffer.from('x'), Buffer.from('')];
    const r = decodeRawBatch({
      ...packed(values),
      column: 'value',
      schema: { type: 'struct', fields: [] },
      metadata: {
        spec: { key: { column: 'key', format: 'avro' } },
        records: meta(keys, texts({ 51: k })),
      },
    });
    expect(r.errors).toEqual([
      { index: 1, reason: 'key: truncated Avro payload: 1 bytes end inside the datum' },
    ]);
    expect(r.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['value', 'binary'],
      ['key', { type: 'struct', fields: [{ id: 3, name: 'id', required: false, type: 'long' }] }],
    ]);
    expect(rowsOf(r.ipc, r.schema)).toEqual([
      { value: Uint8Array.of(0, 1, 2), key: { id: 3n } },
      { value: new Uint8Array(0), key: null },
    ]);
  });

  it('new key fields count against limits.maxColumns', () => {
    const key = rec('K', [
      { name: 'a', type: 'long' },
      { name: 'b', type: 'long' },
    ]);
    const keys = [frame(31, enc(key, { a: 1, b: 2 }))];
    const run = (maxColumns: number) =>
      decodeJsonBatch({
        ...packed([Buffer.from('{"v":1}')]),
        schema: { type: 'struct', fields: [] },
        options: { maxColumns },
        metadata: {
          spec: { key: { column: 'k', format: 'avro' } },
          records: meta(keys, texts({ 31: key })),
        },
      });
    // k, k.a, k.b and v: four columns.
    expect(run(4).errors).toEqual([]);
    // The key's three columns are counted: the value's field is the one too many.
    expect(run(3).errors).toEqual([
      {
        index: 0,
        reason: 'field "v": the table would have more than limits.maxColumns (3) columns',
      },
    ]);
    expect(run(2).errors).toEqual([
      {
        index: 0,
        reason: 'key: schema id 31: the table would have more than limits.maxColumns (2) columns',
      },
    ]);
  });

  it('config: registry key formats need schemaRegistry, and type their own column; raw tables take them', () => {
    const text = (registry: string, extra = '') => `
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: ./wh }
${registry}
tables: [{ topic: orders, table: shop.orders, key: { format: avro, column: k }${extra} }]
deadLetter: { topic: dlq }
`;
    expect(parseConfig(text('schemaRegistry: { url: "http://r:8081" }')).tables[0]?.key).toEqual({
      format: 'avro',
      column: 'k',
    });
    expect(() => parseConfig(text(''))).toThrow(
      'tables[0].key.format: key.format avro needs the top-level schemaRegistry setting',
    );
    expect(() =>
      parseConfig(text('schemaRegistry: { url: "http://r:8081" }', ', columns: { k.id: long }')),
    ).toThrow('the key\'s schema sets the types of the key column "k" (key.format avro)');
    const proto = text('', ', format: raw').replace('format: avro', 'format: protobuf');
    expect(() => parseConfig(proto)).toThrow(
      'tables[0].key.format: key.format protobuf needs the top-level schemaRegistry setting',
    );
    const raw = parseConfig(`schemaRegistry: { url: "http://r:8081" }\n${proto}`).tables[0];
    expect([raw?.format, raw?.key]).toEqual(['raw', { format: 'protobuf', column: 'k' }]);
  });
});
