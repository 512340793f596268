/**
 * Values exactly as written (empties, 64-bit integers, decimal digits, -0, 1e400) and
 * messy JSON (type conflicts), through decodeJsonBatch with the fast path on and off.
 */
import type { IcebergType, StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { afterEach, describe, expect, test } from 'vitest';
import { type DecodeOptions, decodeJsonBatch, useFastScan } from '../../src/decode/json-decoder.ts';
import { column, pack, raw64 } from './helpers.ts';

const EMPTY: StructType = { type: 'struct', fields: [] };

function decode(
  values: string[],
  schema: StructType = EMPTY,
  opts: { hints?: Record<string, string>; relaxed?: number[]; options?: DecodeOptions } = {},
) {
  const r = decodeJsonBatch({
    ...pack(values),
    schema,
    hints: (opts.hints ?? {}) as never,
    relaxedFieldIds: opts.relaxed ?? [],
    options: opts.options ?? {},
  });
  return { ...r, table: arrow.tableFromIPC(r.ipc) };
}

afterEach(() => useFastScan(true));

const long = (id: number, name: string): StructType['fields'][number] => ({
  id,
  name,
  required: false,
  type: 'long',
});

const list = (elementId: number, element: IcebergType): IcebergType => ({
  type: 'list',
  elementId,
  element,
  elementRequired: false,
});

const stringMap = (keyId: number): IcebergType => ({
  type: 'map',
  keyId,
  key: 'string',
  valueId: keyId + 1,
  value: 'string',
  valueRequired: false,
});

describe.each([true, false])('fast path %s', (fast) => {
  test('an empty array or object first seen stays empty, never null', () => {
    useFastScan(fast);
    const r = decode([
      '{"id":1,"items":[],"meta":{}}',
      '{"id":2,"items":[{"sku":"a"}],"meta":{"k":"v"}}',
      '{"id":3,"items":null}',
    ]);
    expect(r.errors).toEqual([]);
    expect(column(r.table, 'items')).toEqual([[], [{ sku: 'a' }], null]);
    expect(column(r.table, 'meta')).toEqual([{ k: null }, { k: 'v' }, null]);
  });

  test('a field only ever [] / {} in the batch gets a column anyway: list<string>, map<string, string>', () => {
    useFastScan(fast);
    const r = decode(
      [
        '{"id":1,"items":[],"meta":{},"nested":[[]],"objs":[{}],"o":{"a":[]},"tags":[]}',
        '{"id":2,"items":null}',
        '{"id":3,"items":[],"meta":{},"nested":[],"objs":[],"o":{},"tags":[]}',
      ],
      EMPTY,
      { hints: { 'tags[]': 'long' } },
    );
    expect(r.errors).toEqual([]);
    // tags: its element is declared, so it is a column at once; the rest once the batch is
    // over, in first-seen order
    expect(r.schema.fields).toEqual([
      long(1, 'id'),
      { id: 2, name: 'tags', required: false, type: list(3, 'long') },
      { id: 4, name: 'items', required: false, type: list(5, 'string') },
      { id: 6, name: 'meta', required: false, type: stringMap(7) },
      { id: 9, name: 'nested', required: false, type: list(10, list(11, 'string')) },
      { id: 12, name: 'objs', required: false, type: list(13, stringMap(14)) },
      {
        id: 16,
        name: 'o',
        required: false,
        type: {
          type: 'struct',
          fields: [{ id: 17, name: 'a', required: false, type: list(18, 'string') }],
        },
      },
    ]);
    expect(column(r.table, 'items')).toEqual([[], null, []]);
    const meta = r.table.getChild('meta');
    const sizes = [0, 1, 2].map((i) => (meta?.get(i) as Map<string, string> | null)?.size ?? null);
    expect(sizes).toEqual([0, null, 0]);
    expect(column(r.table, 'nested')).toEqual([[[]], null, []]);
    expect(column(r.table, 'objs').map((x) => (x as unknown[] | null)?.length ?? null)).toEqual([
      1,
      null,
      0,
    ]);
    expect(column(r.table, 'o')).toEqual([{ a: [] }, null, { a: null }]);
    expect(column(r.table, 'tags')).toEqual([[], null, []]);
  });

  test('a declared string column takes [] / {} as JSON text from the first one on', () => {
    useFastScan(fast);
    const r = decode(['{"meta":{},"tags":[]}', '{"meta":{"k":[1]},"tags":["x",2]}'], EMPTY, {
      hints: { meta: 'string', tags: 'string' },
    });
    expect(r.errors).toEqual([]);
    expect(r.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['meta', 'string'],
      ['tags', 'string'],
    ]);
    expect(column(r.table, 'meta')).toEqual(['{}', '{"k":[1]}']);
    expect(column(r.table, 'tags')).toEqual(['[]', '["x",2]']);
  });

  test('later values of any kind fit the placeholders as JSON text (typeConflicts deadLetter: refused)', () => {
    useFastScan(fast);
    const committed: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'items', required: false, type: list(2, 'string') },
        { id: 3, name: 'meta', required: false, type: stringMap(4) },
      ],
    };
    const values = [
      '{"items":[1,2.5,"x",{"sku":"a","n":[1]},[],null],"meta":{"k":1,"s":"v","o":{"p":[true]}}}',
      '{"items":[],"meta":{}}',
    ];
    const r = decode(values, committed);
    expect(r.errors).toEqual([]);
    expect(r.changed).toBe(false);
    expect(column(r.table, 'items')).toEqual([
      ['1', '2.5', 'x', '{"sku":"a","n":[1]}', '[]', null],
      [],
    ]);
    const meta = r.table.getChild('meta');
    expect([0, 1].map((i) => Object.fromEntries(meta?.get(i) ?? []))).toEqual([
      { k: '1', s: 'v', o: '{"p":[true]}' },
      {},
    ]);
    const strict = decode(values, committed, { options: { typeConflicts: 'deadLetter' } });
    expect(strict.errors).toEqual([
      { index: 0, reason: 'field "items[]": expected string, got number' },
    ]);
  });

  test('64-bit integers land exactly in a long column; inference picks long', () => {
    useFastScan(fast);
    const values = [
      '{"big":9007199254740996}',
      '{"big":9007199254740993}',
      '{"big":-9223372036854775808}',
      '{"big":9223372036854775807}',
      '{"big":1}',
      '{"big":-0}',
    ];
    const r = decode(values);
    expect(r.errors).toEqual([]);
    expect(r.schema.fields).toEqual([long(1, 'big')]);
    const want = [9007199254740996n, 9007199254740993n, -(2n ** 63n), 2n ** 63n - 1n, 1n, 0n];
    expect(raw64(r.table, 'big')).toEqual(want);
    // the same into a committed long column (the steady state the fast path takes)
    const again = decode(values, { type: 'struct', fields: [long(1, 'big')] });
    expect(again.errors).toEqual([]);
    expect(raw64(again.table, 'big')).toEqual(want);
  });

  test('beyond int64: a declared decimal(38, 0) or string keeps the digits, else a reason', () => {
    useFastScan(fast);
    const values = ['{"a":1,"h":99999999999999999999}', '{"a":2,"h":-9223372036854775809}'];
    const committed: StructType = { type: 'struct', fields: [long(1, 'a'), long(2, 'h')] };
    const dead = decode(values, committed);
    expect(dead.errors.map((e) => e.reason)).toEqual([
      'field "h": 99999999999999999999 is beyond the range of long; declare the column as decimal(38, 0) or string to keep it',
      'field "h": -9223372036854775809 is beyond the range of long; declare the column as decimal(38, 0) or string to keep it',
    ]);
    const inferred = decode(values);
    expect(inferred.errors.map((e) => e.index)).toEqual([0, 1]);
    const asDecimal = decode(values, EMPTY, { hints: { h: 'decimal(38, 0)' } });
    expect(asDecimal.errors).toEqual([]);
    const dec = asDecimal.table.getChild('h')?.data[0]?.values as Uint32Array;
    const unscaled = (k: number) =>
      BigInt.asIntN(
        128,
        [0, 1, 2, 3].reduce(
          (acc, w) => acc | (BigInt(dec[4 * k + w] as number) << BigInt(32 * w)),
          0n,
        ),
      );
    expect([unscaled(0), unscaled(1)]).toEqual([99999999999999999999n, -9223372036854775809n]);
    const asString = decode(values, EMPTY, { hints: { h: 'string' } });
    expect(asString.errors).toEqual([]);
    expect(column(asString.table, 'h')).toEqual(['99999999999999999999', '-9223372036854775809']);
  });

  test('a decimal column takes the literal digits, never a double', () => {
    useFastScan(fast);
    const r = decode(['{"p":12345678901234567.89}', '{"p":0.1}'], EMPTY, {
      hints: { p: 'decimal(38, 2)' },
    });
    expect(r.errors).toEqual([]);
    const words = r.table.getChild('p')?.data[0]?.values as Uint32Array;
    const v0 = [0, 1, 2, 3].reduce(
      (a, w) => a | (BigInt(words[w] as number) << BigInt(32 * w)),
      0n,
    );
    expect(v0).toBe(1234567890123456789n);
    expect(words[4]).toBe(10);
  });

  test('floats are what JSON.parse gives; -0 is -0.0 as a double, 0 as a long', () => {
    useFastScan(fast);
    const values = [
      '{"d":0.5,"n":-0}',
      '{"d":-0.0,"n":-0}',
      '{"d":1e400,"n":1}',
      '{"d":0.30000000000000004441,"n":2}',
    ];
    const r = decode(values, {
      type: 'struct',
      fields: [{ ...long(1, 'd'), type: 'double' }, long(2, 'n')],
    });
    expect(r.errors).toEqual([]);
    expect(column(r.table, 'd')).toEqual(values.map((v) => JSON.parse(v).d));
    expect(Object.is(column(r.table, 'd')[1], -0)).toBe(true);
    expect(raw64(r.table, 'n')).toEqual([0n, 0n, 1n, 2n]);
  });
});

describe('messy JSON', () => {
  /** The first batch: zip, tag, n of mixed kinds, meta an object or null. */
  function messy(count: number): string[] {
    return Array.from({ length: count }, (_, i) =>
      JSON.stringify({
        id: i,
        zip: i % 3 === 0 ? '02134' : 12345,
        tag: i % 4 === 0 ? ['x'] : 'x',
        n: i % 5 === 0 ? '5' : 5,
        meta: i % 2 === 0 ? { k: i } : null,
      }),
    );
  }

  test('a first batch of 1,000 mixed events: every row kept, mixed columns as JSON text', () => {
    const values = messy(1000);
    const r = decode(values);
    expect(r.errors).toEqual([]);
    expect(r.rows).toBe(1000);
    expect(r.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['id', 'long'],
      ['zip', 'string'],
      ['tag', 'string'],
      ['n', 'string'],
      [
        'meta',
        {
          type: 'struct',
          fields: [{ id: expect.any(Number), name: 'k', required: false, type: 'long' }],
        },
      ],
    ]);
    expect(column(r.table, 'zip').slice(0, 3)).toEqual(['02134', '12345', '12345']);
    expect(column(r.table, 'tag').slice(0, 2)).toEqual(['["x"]', 'x']);
    expect(column(r.table, 'n').slice(0, 2)).toEqual(['5', '5']);
    expect(column(r.table, 'meta').slice(0, 2)).toEqual([{ k: 0n }, null]);
  });

  test('typeConflicts deadLetter keeps the old strictness', () => {
    const r = decode(messy(20), EMPTY, { options: { typeConflicts: 'deadLetter' } });
    expect(r.rows).toBeLessThan(20);
    expect(r.errors[0]?.reason).toMatch(/^field "(zip|tag|n)": expected /);
  });

  test('after a commit: a string column takes any value as JSON text; a long column only what it keeps exactly', () => {
    const committed: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 's', required: false, type: 'string' }, long(2, 'zip')],
    };
    const r = decode(
      [
        '{"s":12,"zip":"12345"}',
        '{"s":["x",{"a":1.5}],"zip":1}',
        '{"s":{"b":12345678901234567890},"zip":"02134"}',
        '{"s":true,"zip":"5.0"}',
      ],
      committed,
    );
    expect(r.errors.map((e) => [e.index, e.reason])).toEqual([
      [2, 'field "zip": expected long, got string'],
      [3, 'field "zip": expected long, got string'],
    ]);
    expect(column(r.table, 's')).toEqual(['12', '["x",{"a":1.5}]']);
    expect(column(r.table, 'zip')).toEqual([12345n, 1n]);
  });

  test('an uncommitted column from an earlier batch becomes a string column', () => {
    const observed: StructType = { type: 'struct', fields: [long(1, 'zip')] };
    const r = decode(['{"zip":12345}', '{"zip":"02134"}'], observed, { relaxed: [1] });
    expect(r.errors).toEqual([]);
    expect(r.changed).toBe(true);
    expect(r.schema.fields).toEqual([{ ...long(1, 'zip'), type: 'string' }]);
    expect(column(r.table, 'zip')).toEqual(['12345', '02134']);
  });
});

describe('hostile records', () => {
  test('refused with a reason: too deep, too many columns, invalid UTF-8, lone surrogates, empty keys', () => {
    const deep = `{"a":${'['.repeat(40)}1${']'.repeat(40)}}`;
    const wide = `{${Array.from({ length: 50 }, (_, i) => `"k${i}":1`).join(',')}}`;
    const badUtf8 = Buffer.concat([Buffer.from('{"s":"a'), Buffer.from([0xff]), Buffer.from('"}')]);
    const values = [
      deep,
      wide,
      badUtf8.toString('latin1'),
      '{"s":"\\ud800"}',
      '{"":1}',
      '{"ok":1}',
    ];
    const input = pack(values);
    // pack() wrote the latin1 string as UTF-8; put the raw 0xff back
    const bytes = Buffer.concat([
      Buffer.from(deep),
      Buffer.from(wide),
      badUtf8,
      Buffer.from(values[3] as string),
      Buffer.from(values[4] as string),
      Buffer.from(values[5] as string),
    ]);
    const offsets = new Int32Array(values.length + 1);
    [deep, wide, badUtf8, values[3], values[4], values[5]].forEach((v, i) => {
      offsets[i + 1] = (offsets[i] as number) + Buffer.byteLength(v as string | Buffer);
    });
    expect(input.offsets.length).toBe(offsets.length);
    const r = decodeJsonBatch({
      bytes,
      offsets,
      schema: EMPTY,
      options: { maxNestingDepth: 32, maxColumns: 20 },
    });
    expect(r.errors).toEqual([
      { index: 0, reason: 'nested deeper than limits.maxNestingDepth (32)' },
      {
        index: 1,
        reason: 'field "k20": the table would have more than limits.maxColumns (20) columns',
      },
      { index: 2, reason: 'not valid UTF-8' },
      {
        index: 3,
        reason: 'the string "\\ud800" has a lone surrogate escape, which UTF-8 cannot store',
      },
      { index: 4, reason: 'field "": an empty key cannot be a column name' },
    ]);
    expect(r.schema.fields.map((f) => f.name)).toEqual(['ok']);
  });

  test('a BOM is skipped; duplicate keys: the last one wins', () => {
    const r = decode(['\ufeff{"a":1}', '{"a":2,"a":3}', '{"a":4,"a":9007199254740993}']);
    expect(r.errors).toEqual([]);
    expect(raw64(r.table, 'a')).toEqual([1n, 3n, 9007199254740993n]);
  });
});
