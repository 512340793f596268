/**
 * The byte-level fast path (decode/scan.ts) against the general path (JSON.parse +
 * append.ts): on random and hostile records both must give byte-identical Arrow IPC, the
 * same errors and the same schema, batch after batch.
 */
import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJsonBatch, useFastScan } from '../../src/decode/json-decoder.ts';
import { appendRecordFast } from '../../src/decode/scan.ts';
import { rootNode } from '../../src/decode/tree.ts';
import { appendContext, pack, rng } from './helpers.ts';

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'price', required: false, type: 'double' },
    { id: 4, name: 'n', required: false, type: 'int' },
    { id: 5, name: 'f', required: false, type: 'float' },
    { id: 6, name: 'ok', required: false, type: 'boolean' },
    { id: 7, name: 'ts', required: false, type: 'timestamptz' },
    { id: 8, name: 'day', required: false, type: 'date' },
    { id: 9, name: 'amount', required: false, type: 'decimal(10, 2)' },
    { id: 10, name: 'u', required: false, type: 'uuid' },
    {
      id: 11,
      name: 'geo',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 12, name: 'country', required: false, type: 'string' },
          { id: 13, name: 'lat', required: false, type: 'double' },
          { id: 14, name: 'code', required: true, type: 'int' },
        ],
      },
    },
    {
      id: 15,
      name: 'tags',
      required: false,
      type: { type: 'list', elementId: 16, element: 'string', elementRequired: false },
    },
    {
      id: 17,
      name: 'pts',
      required: false,
      type: {
        type: 'list',
        elementId: 18,
        elementRequired: true,
        element: {
          type: 'struct',
          fields: [
            { id: 19, name: 'x', required: false, type: 'double' },
            { id: 20, name: 'y', required: false, type: 'long' },
          ],
        },
      },
    },
  ],
};

const STRINGS = [
  '"plain"',
  '""',
  '"é"',
  '"日本"',
  '"\u{1F600}"',
  '"a\\"b"',
  '"tab\\t"',
  '"\\u00e9"',
  '"x y"',
];
const NUMBERS = [
  '0',
  '-0',
  '1',
  '-17',
  '2147483647',
  '2147483648',
  '-2147483649',
  '9007199254740991',
  '9007199254740993',
  '123456789012345678',
  '1.5',
  '-0.25',
  '1e3',
  '1E-2',
  '2.5e+2',
  '3.4028235e38',
  '1e400',
  '0.1',
  '100.00',
];
const BAD_NUMBERS = ['01', '-', '1.', '.5', '1e', '+1', '0x10', 'NaN', '--1'];
const OTHER = ['true', 'false', 'null', '[]', '["a",null]', '{}', '{"country":"FR","code":1}'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

/** A JSON-ish record: usually valid and fitting, sometimes not, in every way. */
function record(r: () => number, i: number): string {
  const ws = () => pick(r, ['', '', '', ' ', '\n', '\t', ' \r\n ']);
  const val = (): string => {
    const x = r();
    if (x < 0.3) return pick(r, STRINGS);
    if (x < 0.65) return pick(r, NUMBERS);
    if (x < 0.7) return pick(r, BAD_NUMBERS);
    return pick(r, OTHER);
  };
  // Each field is a surprise (a value of any kind, valid or not) 3% of the time.
  const ok = () => r() < 0.97;
  const fields: [string, string][] = [
    ['id', r() < 0.99 ? String(i) : val()],
    ['name', ok() ? `"user-${i % 13}"` : val()],
    ['price', ok() ? String(Math.round(r() * 10000) / 100) : val()],
    ['n', ok() ? String(Math.floor(r() * 1000)) : val()],
    ['f', ok() ? '0.5' : val()],
    ['ok', ok() ? pick(r, ['true', 'false']) : val()],
    ['ts', ok() ? '"2026-11-25T10:00:00.123Z"' : pick(r, ['1700000000123', '"2026-13-01"', val()])],
    ['day', ok() ? '"2026-11-25"' : val()],
    ['amount', ok() ? pick(r, ['"12.34"', '12.5', '"1e3"']) : val()],
    ['u', ok() ? '"00000000-0000-0000-0000-00000000000a"' : val()],
    [
      'geo',
      r() < 0.8
        ? `{${ws()}"country":${ws()}"${pick(r, ['FR', 'JP', 'é'])}",${ws()}"lat":${pick(r, NUMBERS)},"code":${pick(r, ['1', '2', 'null', '"x"'])}}`
        : val(),
    ],
    [
      'tags',
      ok()
        ? pick(r, ['["a","b"]', '[]', ' [ "x" , null ,"é"] ', 'null'])
        : pick(r, ['["a",]', '[1]', '["a" "b"]', '[', '["a"x', val()]),
    ],
    [
      'pts',
      ok()
        ? pick(r, ['[{"x":1.5,"y":2},{"y":3}]', '[ ]', '[{"x":0.25}]', 'null'])
        : pick(r, ['[null]', '[{"x":"s"}]', '[{"x":1,"z":2}]', '[[1]]', '[{"y":1.5}]', val()]),
    ],
  ];
  // Shuffle sometimes, drop some, add unknown or duplicate keys sometimes.
  if (r() < 0.2) fields.sort(() => r() - 0.5);
  const kept = fields.filter(() => r() > 0.05);
  if (r() < 0.05) kept.push([`new${Math.floor(r() * 3)}`, val()]);
  if (r() < 0.03) kept.push(['name', '"dup"']);
  if (r() < 0.1) kept.push([pick(r, ['never', 'new1']), 'null']); // an explicit null, no column
  if (r() < 0.02) kept.push(['na\\u006de', '"escaped key"']);
  let s = `${ws()}{${kept.map(([k, v]) => `${ws()}"${k}"${ws()}:${ws()}${v}${ws()}`).join(',')}}${ws()}`;
  const y = r();
  if (y < 0.01)
    s = s.slice(0, Math.floor(s.length / 2)); // truncated
  else if (y < 0.02)
    s += 'x'; // trailing garbage
  else if (y < 0.03) s = `[${s}]`;
  else if (y < 0.035) s = `\uFEFF${s}`;
  else if (y < 0.04) s = s.replace('"user', '"us\u0001er'); // raw control character
  return s;
}

/** Records as bytes, some with invalid UTF-8 spliced into a string. */
function batch(r: () => number, first: number, count: number): { values: Buffer[] } {
  const values: Buffer[] = [];
  for (let i = first; i < first + count; i++) {
    const b = Buffer.from(record(r, i), 'utf8');
    if (r() < 0.01) {
      const at = b.indexOf('user-');
      if (at >= 0) b[at + 1] = pick(r, [0xff, 0xc0, 0xed, 0xe0]);
    }
    values.push(b);
  }
  return { values };
}

function decodeWith(values: Buffer[], schema: StructType, fast: boolean) {
  useFastScan(fast);
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => {
    offsets[i + 1] = (offsets[i] as number) + v.length;
  });
  return decodeJsonBatch({
    bytes: Buffer.concat(values),
    offsets,
    schema,
    hints: { day: 'date' },
    relaxedFieldIds: [4],
  });
}

afterEach(() => useFastScan(true));

describe('fixed-width columns', () => {
  it('take more values than their first buffer holds (uuid, decimal, fixed)', () => {
    // Regression: the slot was reserved (growing the buffer) after the old buffer was read.
    const schema: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'u', required: false, type: 'uuid' },
        { id: 2, name: 'd', required: false, type: 'decimal(10, 2)' },
        { id: 3, name: 'x', required: false, type: 'fixed[2]' },
      ],
    };
    const values = Array.from({ length: 300 }, (_, i) =>
      Buffer.from(
        JSON.stringify({
          u: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
          d: `${i}.25`,
          x: Buffer.from([i & 0xff, 7]).toString('base64'),
        }),
      ),
    );
    for (const fast of [true, false]) {
      const r = decodeWith(values, schema, fast);
      expect(r.errors).toEqual([]);
      expect(r.rows).toBe(300);
    }
  });
});

describe('decoder fast path', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`decodes exactly like JSON.parse + the general appender (seed ${seed})`, () => {
      let fastSchema = SCHEMA;
      let slowSchema = SCHEMA;
      const r = rng(seed);
      for (let b = 0; b < 3; b++) {
        const { values } = batch(r, b * 600, 600);
        const fast = decodeWith(values, fastSchema, true);
        const slow = decodeWith(values, slowSchema, false);
        expect(fast.errors).toEqual(slow.errors);
        expect(fast.schema).toEqual(slow.schema);
        expect(fast.rows).toBe(slow.rows);
        expect([...fast.accepted]).toEqual([...slow.accepted]);
        expect(Buffer.from(fast.ipc).equals(Buffer.from(slow.ipc))).toBe(true);
        expect(fast.errors.length).toBeGreaterThan(10); // the hostile records are there
        expect(fast.rows).toBeGreaterThan(100);
        fastSchema = fast.schema;
        slowSchema = slow.schema;
      }
    });
  }

  it('reads numbers exactly as JSON.parse does', () => {
    const r = rng(99);
    const digits = (n: number) =>
      Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
    const texts: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const int = String(Number(digits(1 + Math.floor(r() * 18))));
      const frac = r() < 0.7 ? `.${digits(1 + Math.floor(r() * 20))}` : '';
      const exp =
        r() < 0.3 ? `${pick(r, ['e', 'E'])}${pick(r, ['', '+', '-'])}${Math.floor(r() * 330)}` : '';
      texts.push(`${r() < 0.5 ? '-' : ''}${int}${frac}${exp}`);
    }
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'x', required: false, type: 'double' }],
    };
    const values = texts.map((t) => Buffer.from(`{"x":${t}}`));
    const fast = decodeWith(values, schema, true);
    expect(fast.errors).toEqual([]);
    const column = arrow.tableFromIPC(fast.ipc).getChild('x');
    const wrong = texts.filter((t, i) => !Object.is(column?.get(i), JSON.parse(t)));
    expect(wrong).toEqual([]);
    const slow = decodeWith(values, schema, false);
    expect(Buffer.from(fast.ipc).equals(Buffer.from(slow.ipc))).toBe(true);
  });

  it('leaves ill-formed UTF-8 to the general path, which refuses it', () => {
    const bad = [
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [0xf0, 0x80, 0x80, 0x80], // overlong 4-byte form
      [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
      [0xe2, 0x82], // truncated
    ];
    const values = [
      ...bad.map((seq, i) =>
        Buffer.concat([Buffer.from(`{"id":${i},"name":"a`), Buffer.from(seq), Buffer.from('b"}')]),
      ),
      Buffer.from('{"id":9,"name":"\u20ac\u{10FFFF}\u07ff"}'), // valid 3-, 4- and 2-byte forms
    ];
    const fast = decodeWith(values, SCHEMA, true);
    const slow = decodeWith(values, SCHEMA, false);
    expect(fast.rows).toBe(1);
    expect(fast.errors).toEqual(bad.map((_, index) => ({ index, reason: 'not valid UTF-8' })));
    expect(Buffer.from(fast.ipc).equals(Buffer.from(slow.ipc))).toBe(true);
    const cx = appendContext();
    const root = rootNode(SCHEMA);
    for (const v of values.slice(0, bad.length))
      expect(appendRecordFast(v, 0, v.length, root, cx)).toBe(false);
    const good = values.at(-1) as Buffer;
    expect(appendRecordFast(good, 0, good.length, root, cx)).toBe(true);
  });

  it('takes well-formed records whole, and leaves the rest to the general path', () => {
    const cx = appendContext();
    const root = rootNode(SCHEMA);
    const take = (s: string) => {
      const b = Buffer.from(s);
      return appendRecordFast(b, 0, b.length, root, cx);
    };
    expect(take('{"id":1,"name":"a","geo":{"country":"FR","code":2},"price":-0.5e1}')).toBe(true);
    expect(take(' { "id" : 2 , "ok" : true , "ts" : "2026-11-25T10:00:00Z" } ')).toBe(true);
    expect(take('{"id":3,"name":"日本 \u{1F600}","day":"2026-01-02","amount":"1.25"}')).toBe(true);
    expect(take('{"id":4,"tags":["a", null],"pts":[{"x":1,"y":2},{}]}')).toBe(true);
    expect(take('{"id":4,"pts":[null]}')).toBe(false); // a required element
    expect(take('{"id":4,"tags":[1]}')).toBe(false); // an element that does not fit
    expect(take('{"id":5,"zzz":1}')).toBe(false); // a new column
    expect(take('{"id":5,"zzz":null,"geo":{"code":1,"zz":null}}')).toBe(true); // no column
    expect(take('{"id":5,"zzz":null,"zzz":1}')).toBe(false); // a new column after all
    expect(take('{"id":6,"name":"a\\nb"}')).toBe(true); // an escape (scan-strings.test.ts)
    expect(take('{"id":6,"name":"\\ud800"}')).toBe(false); // a lone surrogate
    expect(take('{"id":7,"n":3000000000}')).toBe(false); // int → long promotion
    expect(take('{"id":8,"id":9}')).toBe(false); // duplicate key
    expect(take('{"id":10} x')).toBe(false);
    expect(take('{"name":"no id"}')).toBe(false); // required field missing
  });

  it('matches keys as the text spells them: escaped, prefixes, names that need escapes', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'a', required: false, type: 'long' },
        { id: 2, name: 'ab', required: false, type: 'long' },
        { id: 3, name: 'q"t', required: false, type: 'long' },
        { id: 4, name: 'é', required: false, type: 'long' },
      ],
    };
    const rows = [
      '{"a":1,"ab":2,"q\\"t":3,"é":4}', // in the columns' order
      '{"\\u0061":5,"a\\u0062":6}', // the same keys, escaped in the text
      '{"ab":7,"a":8}', // "ab" where "a" is expected: a longer key, not a match of "a"
      '{"\\u00e9":9,"q\\u0022t":10}',
    ];
    for (const fast of [true, false]) {
      useFastScan(fast);
      const r = decodeJsonBatch({
        ...pack(rows),
        schema,
      });
      expect(r.errors).toEqual([]);
      const t = arrow.tableFromIPC(r.ipc);
      expect(t.toArray().map((x) => ({ ...x.toJSON() }))).toEqual([
        { a: 1n, ab: 2n, 'q"t': 3n, é: 4n },
        { a: 5n, ab: 6n, 'q"t': null, é: null },
        { a: 8n, ab: 7n, 'q"t': null, é: null },
        { a: null, ab: null, 'q"t': 10n, é: 9n },
      ]);
    }
    useFastScan(true);
  });
});
