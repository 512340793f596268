import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { type DecodeOptions, decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import { conformToSchema } from '../../src/schema/conform.ts';
import { column, fieldsOf, pack, raw64 } from './helpers.ts';

const EMPTY: StructType = { type: 'struct', fields: [] };

function decode(
  values: string[],
  schema: StructType = EMPTY,
  hints = {},
  options: DecodeOptions = {},
) {
  const r = decodeJsonBatch({ ...pack(values), schema, hints, options });
  return { ...r, table: arrow.tableFromIPC(r.ipc) };
}

describe('inference', () => {
  test('mixed records with nulls: types, provisional ids, null until first value', () => {
    const r = decode([
      '{"id":1,"name":"a","score":null,"ok":true}',
      '{"id":2,"score":1.5,"name":null}',
      '{"name":"ü€😀","ok":false,"id":-9007199254740991}',
    ]);
    expect(r.errors).toEqual([]);
    expect(r.rows).toBe(3);
    expect(Array.from(r.accepted)).toEqual([0, 1, 2]);
    expect(r.changed).toBe(true);
    expect(r.schema).toEqual({
      type: 'struct',
      fields: [
        { id: 1, name: 'id', required: false, type: 'long' },
        { id: 2, name: 'name', required: false, type: 'string' },
        { id: 3, name: 'ok', required: false, type: 'boolean' },
        { id: 4, name: 'score', required: false, type: 'double' },
      ],
    });
    expect(fieldsOf(r.table)).toEqual([
      'id:Int64#1',
      'name:Utf8#2',
      'ok:Bool#3',
      'score:Float64#4',
    ]);
    expect(column(r.table, 'id')).toEqual([1n, 2n, -9007199254740991n]);
    expect(column(r.table, 'name')).toEqual(['a', null, 'ü€😀']);
    expect(column(r.table, 'ok')).toEqual([true, null, false]);
    expect(column(r.table, 'score')).toEqual([null, 1.5, null]);
  });

  test('nested objects and arrays; ids parent first; new nested fields midway', () => {
    const r = decode([
      '{"user":{"name":"x","geo":{"lat":1.5}},"tags":["a","b"]}',
      '{"user":{"name":"y","age":30},"tags":[],"items":[{"sku":"s1"},{"sku":"s2","qty":2}]}',
      '{"user":null,"tags":null,"items":[null,{"qty":3}]}',
    ]);
    expect(r.errors).toEqual([]);
    expect(r.schema.fields).toEqual([
      {
        id: 1,
        name: 'user',
        required: false,
        type: {
          type: 'struct',
          fields: [
            { id: 2, name: 'name', required: false, type: 'string' },
            {
              id: 3,
              name: 'geo',
              required: false,
              type: {
                type: 'struct',
                fields: [{ id: 4, name: 'lat', required: false, type: 'double' }],
              },
            },
            { id: 7, name: 'age', required: false, type: 'long' },
          ],
        },
      },
      {
        id: 5,
        name: 'tags',
        required: false,
        type: { type: 'list', elementId: 6, element: 'string', elementRequired: false },
      },
      {
        id: 8,
        name: 'items',
        required: false,
        type: {
          type: 'list',
          elementId: 9,
          element: {
            type: 'struct',
            fields: [
              { id: 10, name: 'sku', required: false, type: 'string' },
              { id: 11, name: 'qty', required: false, type: 'long' },
            ],
          },
          elementRequired: false,
        },
      },
    ]);
    expect(column(r.table, 'user')).toEqual([
      { name: 'x', geo: { lat: 1.5 }, age: null },
      { name: 'y', geo: null, age: 30n },
      null,
    ]);
    expect(column(r.table, 'tags')).toEqual([['a', 'b'], [], null]);
    expect(column(r.table, 'items')).toEqual([
      null,
      [
        { sku: 's1', qty: null },
        { sku: 's2', qty: 2n },
      ],
      [null, { sku: null, qty: 3n }],
    ]);
    const items = r.table.schema.fields[2] as arrow.Field;
    const element = (items.type as arrow.List).children[0] as arrow.Field;
    expect(element.name).toBe('element');
    expect(element.metadata.get('PARQUET:field_id')).toBe('9');
    const qty = (element.type as arrow.Struct).children[1] as arrow.Field;
    expect(qty.metadata.get('PARQUET:field_id')).toBe('11');
  });

  test('null creates no column; [] and {} placeholders after the batch; ids continue above the input schema', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 7, name: 'a', required: false, type: 'long' }],
    };
    const r = decode(['{"a":1,"n":null,"e":[],"o":{},"z":[null,[]]}', '{"b":"x"}'], schema);
    expect(r.schema.fields.map((f) => [f.id, f.name])).toEqual([
      [7, 'a'],
      [8, 'b'],
      [9, 'e'],
      [11, 'o'],
      [14, 'z'],
    ]);
    expect(column(r.table, 'a')).toEqual([1n, null]);
    expect(column(r.table, 'b')).toEqual([null, 'x']);
    expect(column(r.table, 'e')).toEqual([[], null]);
    expect(column(r.table, 'z')).toEqual([[null, []], null]);
  });

  test('nothing new: changed is false and the schema is the input', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'a', required: true, type: 'long' }],
    };
    const r = decode(['{"a":1}', '{"a":2,"n":null}'], schema);
    expect(r.changed).toBe(false);
    expect(r.schema).toEqual(schema);
    expect(fieldsOf(r.table)).toEqual(['a:Int64!#1']);
  });

  test('SharedArrayBuffer-backed input decodes the same', () => {
    const input = pack(['{"s":"é"}', '{"s":"b"}'], true);
    const r = decodeJsonBatch({ ...input, schema: EMPTY });
    expect(column(arrow.tableFromIPC(r.ipc), 's')).toEqual(['é', 'b']);
  });
});

describe('numbers', () => {
  test('committed long column: integral ok, 1.5 rejected; double column takes integers', () => {
    const committed: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'n', required: false, type: 'long' }],
    };
    const r = decode(['{"n":1,"d":0.5}', '{"n":1.5}', '{"n":2,"d":3}', '{"n":1e300}'], committed);
    expect(r.errors).toEqual([
      { index: 1, reason: 'field "n": 1.5 does not fit long' },
      {
        index: 3,
        reason: 'field "n": 1e300 does not fit long',
      },
    ]);
    expect(column(r.table, 'n')).toEqual([1n, 2n]);
    expect(column(r.table, 'd')).toEqual([0.5, 3]);
  });

  test('int widens to long and float to double when a value needs it', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'i', required: false, type: 'int' },
        { id: 2, name: 'f', required: false, type: 'float' },
      ],
    };
    const narrow = decode(['{"i":5,"f":1.5}'], schema);
    expect(narrow.changed).toBe(false);
    expect(fieldsOf(narrow.table)).toEqual(['i:Int32#1', 'f:Float32#2']);
    const wide = decode(['{"i":5,"f":1.5}', '{"i":3000000000,"f":1e39}'], schema);
    expect(wide.changed).toBe(true);
    expect(wide.schema.fields.map((f) => f.type)).toEqual(['long', 'double']);
    expect(fieldsOf(wide.table)).toEqual(['i:Int64#1', 'f:Float64#2']);
    expect(column(wide.table, 'i')).toEqual([5n, 3000000000n]);
    expect(column(wide.table, 'f')).toEqual([1.5, 1e39]);
  });

  test('a rejected record undoes its promotion and its new columns', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'i', required: false, type: 'int' }],
    };
    const r = decode(
      ['{"i":3000000000,"x":{"y":1},"arr":[1,"s"],"j":1}', '{"bad":1}', '{"i":1}'],
      schema,
      {},
      { typeConflicts: 'deadLetter' },
    );
    expect(r.errors).toEqual([{ index: 0, reason: 'field "arr[]": expected long, got string' }]);
    expect(r.schema.fields).toEqual([
      { id: 1, name: 'i', required: false, type: 'int' },
      { id: 2, name: 'bad', required: false, type: 'long' },
    ]);
    expect(column(r.table, 'i')).toEqual([null, 1]);
    expect(Array.from(r.accepted)).toEqual([1, 2]);
  });
});

describe('errors', () => {
  test('every record-level message (typeConflicts: deadLetter)', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'amount', required: false, type: 'long' },
        { id: 2, name: 'x', required: true, type: 'string' },
        {
          id: 3,
          name: 'tags',
          required: false,
          type: { type: 'list', elementId: 4, element: 'string', elementRequired: true },
        },
        {
          id: 5,
          name: 'a',
          required: false,
          type: {
            type: 'struct',
            fields: [{ id: 6, name: 'b', required: false, type: 'boolean' }],
          },
        },
      ],
    };
    const r = decode(
      [
        '',
        '{"x":',
        '[1]',
        '"s"',
        '12',
        'null',
        '{"x":"ok","amount":1.5}',
        '{"x":"ok","amount":"12"}',
        '{"amount":1}',
        '{"x":null}',
        '{"x":"ok","tags":["a",null]}',
        '{"x":"ok","tags":["a",1]}',
        '{"x":"ok","a":{"b":"yes"}}',
        '{"x":"ok","a":[1]}',
        '{"x":"ok","amount":2}',
      ],
      schema,
      {},
      { typeConflicts: 'deadLetter' },
    );
    expect(r.errors.map((e) => `${e.index}: ${e.reason}`)).toEqual([
      '0: empty value',
      `1: invalid JSON: ${jsonError('{"x":')}`,
      '2: expected a JSON object, got array',
      '3: expected a JSON object, got string',
      '4: expected a JSON object, got number',
      '5: expected a JSON object, got null',
      '6: field "amount": 1.5 does not fit long',
      '7: field "amount": expected long, got string',
      '8: field "x" is required',
      '9: field "x" is required',
      '10: field "tags[]" is required',
      '11: field "tags[]": expected string, got number',
      '12: field "a.b": expected boolean, got string',
      '13: field "a": expected struct, got array',
    ]);
    expect(r.rows).toBe(1);
    expect(Array.from(r.accepted)).toEqual([14]);
    expect(column(r.table, 'amount')).toEqual([2n]);
    expect(column(r.table, 'tags')).toEqual([null]);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('round trip through IPC', () => {
  test('every hinted and inferred type reads back exactly', () => {
    const hints = {
      ts: 'timestamptz',
      local: 'timestamp',
      day: 'date',
      price: 'decimal(10, 2)',
      id: 'uuid',
      blob: 'binary',
      n: 'int',
      f: 'float',
      t: 'time',
      'o.at': 'timestamptz',
    } as const;
    const r = decode(
      [
        '{"ts":"2024-03-10T12:34:56.123456+02:00","local":"2024-03-10T12:34:56.5","day":"2024-02-29","price":"12345678.91","id":"F79C3E09-677C-4BBD-A479-3F349CB785E7","blob":"AAEC/w==","n":7,"f":0.25,"t":"22:31:08.000001","o":{"at":0}}',
        '{"ts":1700000000123,"local":"1969-12-31T23:59:59.999999Z","day":19000,"price":-0.5,"n":-1,"o":{"at":"1970-01-01T00:00:00Z"}}',
        '{"ts":"2024-01-01T00:00:00.123456789Z","price":"1e3"}',
      ],
      EMPTY,
      hints,
    );
    expect(r.errors).toEqual([]);
    expect(fieldsOf(r.table)).toEqual([
      'ts:Timestamp<MICROSECOND, UTC>#1',
      'local:Timestamp<MICROSECOND>#2',
      'day:Date32<DAY>#3',
      'price:Decimal[10e+2]#4',
      'id:FixedSizeBinary[16]#5',
      'blob:Binary#6',
      'n:Int32#7',
      'f:Float32#8',
      't:Time64<MICROSECOND>#9',
      'o:Struct<{at:Timestamp<MICROSECOND, UTC>}>#10',
    ]);
    expect(raw64(r.table, 'ts')).toEqual([1710066896123456n, 1700000000123000n, 1704067200123456n]);
    expect(raw64(r.table, 'local')).toEqual([1710074096500000n, -1n, null]);
    expect(column(r.table, 'day')).toEqual([Date.UTC(2024, 1, 29), 19000 * 86400000, null]);
    const price = r.table.getChild('price')?.data[0];
    const words = Array.from(price?.values as Uint32Array);
    expect(words.slice(0, 4)).toEqual([1234567891, 0, 0, 0]);
    expect(words.slice(4, 8)).toEqual([0xffffffce, 0xffffffff, 0xffffffff, 0xffffffff]);
    expect(words.slice(8, 12)).toEqual([100000, 0, 0, 0]);
    expect(column(r.table, 'id')).toEqual([
      Uint8Array.from([
        0xf7, 0x9c, 0x3e, 0x09, 0x67, 0x7c, 0x4b, 0xbd, 0xa4, 0x79, 0x3f, 0x34, 0x9c, 0xb7, 0x85,
        0xe7,
      ]),
      null,
      null,
    ]);
    expect(column(r.table, 'blob')).toEqual([Uint8Array.from([0, 1, 2, 255]), null, null]);
    expect(column(r.table, 'n')).toEqual([7, -1, null]);
    expect(column(r.table, 'f')).toEqual([0.25, null, null]);
    expect(raw64(r.table, 't')).toEqual([81068000001n, null, null]);
    const at = r.table.getChild('o')?.data[0]?.children[0];
    expect(Array.from(at?.values as BigInt64Array)).toEqual([0n, 0n, 0n]);
    expect([0, 1, 2].map((i) => at?.getValid(i))).toEqual([true, true, false]);
  });

  test('hinted values that do not parse are rejected with the field and value', () => {
    const hints = {
      ts: 'timestamptz',
      day: 'date',
      price: 'decimal(5, 2)',
      id: 'uuid',
      blob: 'binary',
    } as const;
    const r = decode(
      [
        '{"ts":"2024-03-10T12:34:56"}',
        '{"ts":"2024-02-30T00:00:00Z"}',
        '{"day":"2024-13-01"}',
        '{"price":"1.234"}',
        '{"price":1234.5}',
        '{"price":"abc"}',
        '{"id":"not-a-uuid"}',
        '{"blob":"***"}',
        '{"ts":true}',
      ],
      EMPTY,
      hints,
    );
    expect(r.errors.map((e) => e.reason)).toEqual([
      'field "ts": "2024-03-10T12:34:56" is not an ISO-8601 timestamp with Z or an offset',
      'field "ts": "2024-02-30T00:00:00Z" is not an ISO-8601 timestamp with Z or an offset',
      'field "day": "2024-13-01" is not a date (YYYY-MM-DD)',
      'field "price": "1.234" does not fit decimal(5, 2)',
      'field "price": 1234.5 does not fit decimal(5, 2)',
      'field "price": "abc" is not a decimal',
      'field "id": "not-a-uuid" is not a uuid',
      'field "blob": "***" is not base64',
      'field "ts": expected timestamptz, got boolean',
    ]);
    expect(r.rows).toBe(0);
    expect(r.schema.fields).toEqual([]);
    expect(r.table.numCols).toBe(0);
  });
});

test('throughput smoke (printed, not asserted): 100k records of ~300 bytes', () => {
  const values: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    values.push(
      JSON.stringify({
        id: i,
        user: `user-${i % 1000}`,
        ts: `2024-03-10T12:${String(i % 60).padStart(2, '0')}:56.123456Z`,
        amount: (i % 1000) + 0.25,
        ok: i % 2 === 0,
        geo: { lat: 52.52, lon: 13.405, city: 'Berlin' },
        tags: ['a', 'bb', 'ccc'],
        note: 'the quick brown fox jumps over the lazy dog, again and again and again',
      }),
    );
  }
  const input = pack(values);
  const t0 = performance.now();
  const r = decodeJsonBatch({ ...input, schema: EMPTY, hints: { ts: 'timestamptz' } });
  const ms = performance.now() - t0;
  expect(r.rows).toBe(100_000);
  const avg = input.bytes.length / values.length;
  console.log(
    `decodeJsonBatch: ${Math.round((r.rows / ms) * 1000)} rows/s (${avg.toFixed(0)} B/record, ${ms.toFixed(0)} ms)`,
  );
});

test('map columns from the schema take JSON objects as entries', () => {
  const schema: StructType = {
    type: 'struct',
    fields: [
      {
        id: 1,
        name: 'attrs',
        required: false,
        type: {
          type: 'map',
          keyId: 2,
          key: 'string',
          valueId: 3,
          value: 'long',
          valueRequired: false,
        },
      },
    ],
  };
  const r = decode(
    ['{"attrs":{"a":1,"b":null}}', '{"attrs":{}}', '{}', '{"attrs":{"c":"x"}}'],
    schema,
  );
  expect(r.errors).toEqual([
    { index: 3, reason: 'field "attrs.value": expected long, got string' },
  ]);
  const attrs = r.table.getChild('attrs');
  expect(fieldsOf(r.table)).toEqual(['attrs:Map<{key:Utf8, value:Int64}>#1']);
  expect(
    [0, 1, 2].map((i) => (attrs?.get(i) ? [...(attrs.get(i) as Iterable<unknown>)] : null)),
  ).toEqual([
    [
      ['a', 1n],
      ['b', null],
    ],
    [],
    null,
  ]);
  // apache-arrow names map entries "entries" when reading IPC; the flush worker's conform
  // step restores Iceberg's "key_value" before Parquet
  const conformed = conformToSchema(r.ipc, { ...schema, schemaId: 0 });
  const mapType = (conformed.schema.fields[0] as arrow.Field).type as arrow.Map_;
  expect((mapType.children[0] as arrow.Field).name).toBe('key_value');
  expect(column(conformed, 'attrs').length).toBe(3);
});
