import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeJsonSchemaBatch } from '../../src/registry/json-schema-batch.ts';
import { column } from '../decode/helpers.ts';

/** Confluent frames: magic 0, big-endian id, then the JSON text. */
function frames(values: readonly (readonly [number, string] | Uint8Array)[]) {
  const enc = values.map((v) => {
    if (v instanceof Uint8Array) return v;
    const [id, json] = v;
    const head = Buffer.alloc(5);
    head.writeUInt32BE(id, 1);
    return Buffer.concat([head, Buffer.from(json, 'utf8')]);
  });
  const offsets = new Int32Array(enc.length + 1);
  enc.forEach((b, i) => {
    offsets[i + 1] = (offsets[i] as number) + b.length;
  });
  return { bytes: new Uint8Array(Buffer.concat(enc)), offsets };
}

const EMPTY: StructType = { type: 'struct', fields: [] };
const s = (o: unknown) => ({ schema: JSON.stringify(o), references: [] });
const v1 = s({
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    addr: { type: 'object', properties: { city: { type: 'string' } } },
  },
});
// v2: a nested field added, `name` removed.
const v2 = s({
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    addr: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'string' } } },
  },
});
// Incompatible with v1: id integer → number (Iceberg cannot turn long into double).
const bad = s({ type: 'object', properties: { id: { type: 'number' } } });

describe('decodeJsonSchemaBatch', () => {
  it('decodes interleaved versions into the merged columns; bad input is dead-lettered', () => {
    const { bytes, offsets } = frames([
      [1, '{"id": 1, "name": "a", "at": "2024-01-02T03:04:05.123456Z", "addr": {"city": "X"}}'],
      [2, '{"id": 2, "at": "2024-01-02T03:04:05+01:00", "addr": {"city": "Y", "zip": "9"}}'],
      [1, '{"id": 9007199254740993, "name": "c", "extra": [1, 2]}'],
      [3, '{"id": 4}'],
      Uint8Array.from([1, 0, 0, 0, 1, 0x7b, 0x7d]),
      Uint8Array.from([0, 0, 0]),
      [7, '{}'],
      [1, '{"id": 5, "name": '],
      [1, '{"id": "6"}'],
      [1, '{"id": 1.5}'],
      [2, '{"at": 1700000000}'],
      [2, '{"at": "2024-01-02T03:04:05"}'],
      [1, '{"addr": "nowhere"}'],
      [1, '[1]'],
      [2, '{"id": 7, "addr": null}'],
    ]);
    const r = decodeJsonSchemaBatch({
      bytes,
      offsets,
      schema: EMPTY,
      schemas: { 1: v1, 2: v2, 3: bad },
      unknown: { 7: 'unknown schema id 7: the registry answered 404 (Schema not found)' },
    });
    expect(r.errors).toEqual([
      {
        index: 3,
        reason: 'schema id 3: field "id": cannot change long to double',
      },
      { index: 4, reason: 'not a Schema Registry frame: magic byte is 1, expected 0' },
      {
        index: 5,
        reason: 'not a Schema Registry frame: 3 bytes, the header alone is 5',
      },
      { index: 6, reason: 'unknown schema id 7: the registry answered 404 (Schema not found)' },
      { index: 7, reason: expect.stringMatching(/^invalid JSON: /) },
      { index: 8, reason: 'field "id": expected long, got string' },
      { index: 9, reason: 'field "id": 1.5 does not fit long' },
      { index: 10, reason: 'field "at": expected timestamptz, got number' },
      {
        index: 11,
        reason:
          'field "at": "2024-01-02T03:04:05" is not an ISO-8601 timestamp with Z or an offset',
      },
      { index: 12, reason: 'field "addr": expected struct, got string' },
      { index: 13, reason: 'expected a JSON object, got array' },
    ]);
    expect(r.changed).toBe(true);
    expect(r.schema.fields.map((f) => f.name)).toEqual(['id', 'name', 'at', 'addr']);
    const t = arrow.tableFromIPC(r.ipc);
    expect(r.rows).toBe(4);
    expect(column(t, 'id')).toEqual([1n, 2n, 9007199254740993n, 7n]);
    expect(column(t, 'name')).toEqual(['a', null, 'c', null]);
    const at = t.getChild('at');
    expect([at?.data[0]?.values[0], at?.data[0]?.values[1], at?.isValid(2)]).toEqual([
      1704164645123456n,
      1704161045000000n,
      false,
    ]);
    expect(column(t, 'addr')).toEqual([
      { city: 'X', zip: null },
      { city: 'Y', zip: '9' },
      null,
      null,
    ]);
  });

  it('unions go to the member of the value type; {} columns keep any JSON as text', () => {
    const u = s({
      type: 'object',
      properties: {
        v: { type: ['string', 'integer', 'number', 'null'] },
        any: {},
        t: { type: 'string', format: 'time' },
        d: { type: 'string', format: 'date' },
      },
    });
    const { bytes, offsets } = frames([
      [1, '{"v": "x", "any": {"a": [1, 2.5]}, "t": "10:00:00Z", "d": "2024-02-29"}'],
      [1, '{"v": 3, "any": "s", "t": "10:00:00.5+02:00"}'],
      [1, '{"v": 3.5, "any": 12345678901234567890, "t": "23:59:59"}'],
      [1, '{"v": true}'],
      [1, '{"d": 19000}'],
    ]);
    const r = decodeJsonSchemaBatch({ bytes, offsets, schema: EMPTY, schemas: { 1: u } });
    expect(r.errors).toEqual([
      { index: 3, reason: 'field "v": true is none of its types (string, integer, number)' },
      { index: 4, reason: 'field "d": expected date, got number' },
    ]);
    const t = arrow.tableFromIPC(r.ipc);
    expect(column(t, 'v')).toEqual([
      { string: 'x', integer: null, number: null },
      { string: null, integer: 3n, number: null },
      { string: null, integer: null, number: 3.5 },
    ]);
    expect(column(t, 'any')).toEqual(['{"a":[1,2.5]}', 's', '12345678901234567890']);
    expect(Array.from(t.getChild('t')?.data[0]?.values ?? [])).toEqual([
      36_000_000_000n,
      28_800_500_000n,
      86_399_000_000n,
    ]);
  });

  it('a recursive schema dead-letters its records; unions nest in lists and hold objects', () => {
    const rec = s({
      type: 'object',
      properties: { name: { type: 'string' }, kids: { type: 'array', items: { $ref: '#' } } },
    });
    const u = s({
      type: 'object',
      properties: {
        xs: {
          type: 'array',
          items: {
            oneOf: [{ type: 'integer' }, { type: 'object', properties: { k: { type: 'string' } } }],
          },
        },
      },
    });
    const { bytes, offsets } = frames([
      [1, '{"name": "a", "kids": []}'],
      [2, '{"xs": [1, {"k": "v", "other": 1}, null]}'],
      [2, '{"xs": [{"k": 5}]}'],
    ]);
    const r = decodeJsonSchemaBatch({ bytes, offsets, schema: EMPTY, schemas: { 1: rec, 2: u } });
    expect(r.errors).toEqual([
      {
        index: 0,
        reason:
          'schema id 1: json schema at "kids[]": recursive $ref "#" (Iceberg has no recursive types)',
      },
      { index: 2, reason: 'field "xs[].object.k": expected string, got number' },
    ]);
    expect(column(arrow.tableFromIPC(r.ipc), 'xs')).toEqual([
      [{ integer: 1n, object: null }, { integer: null, object: { k: 'v' } }, null],
    ]);
  });
});
