/**
 * Escaped strings in the byte-level fast path (decode/scan.ts): values and object keys
 * with every JSON escape (\" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs, \u0000) are
 * decoded by the scanner itself, and what it refuses (lone surrogates, unknown or short
 * escapes, raw control characters, ill-formed UTF-8) goes to the general path, which
 * refuses it with its own reason. On a hostile generator the fast and the general path give
 * byte-identical Arrow IPC, the same errors and schema, and the fast path gives up on
 * exactly the records the general path refuses.
 *
 * Escapes: https://www.rfc-editor.org/rfc/rfc8259#section-7
 */
import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useFastScan } from '../../src/decode/json-decoder.ts';
import { appendRecordFast } from '../../src/decode/scan.ts';
import { rootNode } from '../../src/decode/tree.ts';
import { fallbackStarts } from './fallbacks.ts';
import { decodeWith } from './fast-or-general.ts';
import { appendContext, rng } from './helpers.ts';

vi.mock('../../src/decode/scan.ts', async (original) =>
  (await import('./fallbacks.ts')).countFallbacks(await original()),
);

const WEIRD = ['quo"te', 'é', '\u{1F600}', 'tab\tkey', 'sl/ash'];

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'note', required: false, type: 'string' },
    {
      id: 4,
      name: 'geo',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 5, name: 'country', required: false, type: 'string' },
          { id: 6, name: 'city', required: false, type: 'string' },
        ],
      },
    },
    {
      id: 7,
      name: 'tags',
      required: false,
      type: { type: 'list', elementId: 8, element: 'string', elementRequired: false },
    },
    { id: 9, name: 'ts', required: false, type: 'timestamptz' },
    { id: 10, name: 'u', required: false, type: 'uuid' },
    ...WEIRD.map((name, k) => ({ id: 11 + k, name, required: false, type: 'string' as const })),
  ],
};

/** Stands for a run of ill-formed UTF-8 in the text; replaced by bytes in `encode`. */
const BAD_UTF8 = '\uE000';
const BAD_SEQUENCES = [
  [0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

/** Hex digits of `n` (4), each digit in random case. */
function hex(r: () => number, n: number): string {
  return [...n.toString(16).padStart(4, '0')]
    .map((d) => (r() < 0.5 ? d.toUpperCase() : d))
    .join('');
}

/** Pieces of a string literal's body that JSON.parse takes and the scanner must too. */
function goodPiece(r: () => number): string {
  const x = r();
  if (x < 0.25) {
    const n = 1 + Math.floor(r() * 8);
    let s = '';
    for (let k = 0; k < n; k++) {
      const c = 0x20 + Math.floor(r() * 0x60);
      s += c === 0x22 || c === 0x5c ? 'q' : String.fromCharCode(c); // 0x7f (DEL) included
    }
    return s;
  }
  if (x < 0.4) return pick(r, ['é', '日本', '\u{1F600}', '\u07ff', '\uffff', '\u{10FFFF}', '€']);
  if (x < 0.6) return pick(r, ['\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t']);
  if (x < 0.8) {
    const fixed = [0, 0x1f, 0x20, 0x22, 0x5c, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfeff];
    const cp = r() < 0.5 ? pick(r, [...fixed, 0xffff]) : Math.floor(r() * 0xd800);
    return `\\u${hex(r, cp)}`;
  }
  // An escaped surrogate pair: one astral code point.
  const hi = 0xd800 + Math.floor(r() * 0x400);
  const lo = 0xdc00 + Math.floor(r() * 0x400);
  return `\\u${hex(r, pick(r, [hi, 0xd83d, 0xdbff]))}\\u${hex(r, pick(r, [lo, 0xde00, 0xdfff]))}`;
}

/** Pieces that make the record fail: the general path refuses them, the scanner gives up. */
const BAD_PIECES = [
  '\\ud800', // lone high surrogate…
  '\\uD83Dx', // …followed by a character
  '\\ud83d\\n', // …followed by another escape
  '\\ud83d\\ud83d', // …followed by another high one
  'x\\udc00', // lone low surrogate (after a character: not the end of a lone high one)
  '\\uDE00\\uD83D', // a pair in the wrong order
  '\\x41', // not JSON escapes
  "\\'",
  '\\U0041',
  '\\a',
  '\\0',
  '\\u12', // too short
  '\\u12G4',
  '\\u 123',
  '\u0000', // raw control characters
  '\u0001',
  '\n',
  '\u001f',
  BAD_UTF8,
];

/** A string literal; `bad` when it holds a piece that must fail the record. */
function literal(r: () => number, badChance: number): { text: string; bad: boolean } {
  const parts: string[] = [];
  let bad = false;
  const n = Math.floor(r() * 6);
  for (let k = 0; k < n; k++) {
    if (r() < badChance) {
      parts.push(pick(r, BAD_PIECES));
      bad = true;
    } else parts.push(goodPiece(r));
  }
  return { text: `"${parts.join('')}"`, bad };
}

/** A key spelled as JSON.stringify does, with every character escaped, or partly escaped. */
function key(r: () => number, name: string): string {
  const x = r();
  if (x < 0.5) return JSON.stringify(name);
  const units = [...name].map((ch) => {
    if (x < 0.75 || r() < 0.5) {
      let units = '';
      for (let i = 0; i < ch.length; i++) units += `\\u${hex(r, ch.charCodeAt(i))}`;
      return units;
    }
    return JSON.stringify(ch).slice(1, -1);
  });
  return `"${units.join('')}"`;
}

const TIMESTAMPS = ['"2026-11-25T10:00:00.123Z"', '"2026-11-25T10:00:00\\u002e5\\u002B01:00"'];
const UUIDS = [
  '"00000000-0000-0000-0000-00000000000a"',
  '"0000\\u0030000-0000-0000-0000-00000000000B"',
];

/** Record `i`: known columns only, strings full of escapes; `bad` when it must fail. */
function record(r: () => number, i: number, badChance: number): { text: string; bad: boolean } {
  const badFields = new Set<string>();
  let field = '';
  const str = () => {
    const l = literal(r, badChance);
    if (l.bad) badFields.add(field);
    return l.text;
  };
  const value: [string, () => string][] = [
    ['id', () => String(i)],
    ['name', str],
    ['note', () => (r() < 0.1 ? 'null' : str())],
    ['geo', () => `{${key(r, 'country')}:${str()},${key(r, 'city')}:${str()}}`],
    ['tags', () => `[${Array.from({ length: Math.floor(r() * 3) }, str).join(',')}]`],
    ['ts', () => pick(r, TIMESTAMPS)],
    ['u', () => pick(r, UUIDS)],
    ...WEIRD.map((w): [string, () => string] => [w, str]),
  ];
  const fields = value
    .filter(([k]) => k === 'id' || r() < 0.8)
    .map(([k, v]): [string, string] => {
      field = k;
      return [k, v()];
    });
  if (r() < 0.2) fields.sort(() => r() - 0.5);
  const text = `{${fields.map(([k, v]) => `${key(r, k)}:${v}`).join(',')}}`;
  return { text, bad: badFields.size > 0 };
}

/** UTF-8 bytes of a record, each BAD_UTF8 replaced by an ill-formed sequence. */
function encode(r: () => number, text: string): Buffer {
  const parts = text.split(BAD_UTF8);
  const out: Buffer[] = [];
  parts.forEach((p, k) => {
    if (k > 0) out.push(Buffer.from(pick(r, BAD_SEQUENCES)));
    out.push(Buffer.from(p, 'utf8'));
  });
  return Buffer.concat(out);
}

beforeEach(() => {
  fallbackStarts.length = 0;
});
afterEach(() => useFastScan(true));

describe('escaped strings in the fast path', () => {
  it('decodes valid escaped values and keys itself: no record falls back', () => {
    const r = rng(7);
    const values = Array.from({ length: 2000 }, (_, i) => encode(r, record(r, i, 0).text));
    const fast = decodeWith(values, SCHEMA, true);
    expect(fast.fallbacks).toEqual([]);
    expect(fast.errors).toEqual([]);
    expect(fast.rows).toBe(2000);
    const slow = decodeWith(values, SCHEMA, false);
    expect(fast.schema).toEqual(SCHEMA);
    expect(Buffer.from(fast.ipc).equals(Buffer.from(slow.ipc))).toBe(true);
    // And the values are the UTF-8 of JSON.parse's own strings.
    const table = arrow.tableFromIPC(fast.ipc);
    for (const name of ['name', 'quo"te', '\u{1F600}']) {
      const data = table.getChild(name)?.data[0] as arrow.Data<arrow.Utf8>;
      values.forEach((v, i) => {
        const want = (JSON.parse(v.toString('utf8')) as Record<string, unknown>)[name];
        if (typeof want !== 'string') {
          expect(data.getValid(i)).toBe(false);
          return;
        }
        const got = data.values.subarray(data.valueOffsets[i], data.valueOffsets[i + 1]);
        expect(Buffer.from(got).equals(Buffer.from(want, 'utf8'))).toBe(true);
      });
    }
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`matches the general path on hostile strings and falls back only on refused records (seed ${seed})`, () => {
      const r = rng(seed);
      const records = Array.from({ length: 1500 }, (_, i) => record(r, i, 0.01));
      const values = records.map((x) => encode(r, x.text));
      const bad = records.flatMap((x, i) => (x.bad ? [i] : []));
      const fast = decodeWith(values, SCHEMA, true);
      const slow = decodeWith(values, SCHEMA, false);
      expect(fast.errors).toEqual(slow.errors);
      expect(fast.schema).toEqual(slow.schema);
      expect([...fast.accepted]).toEqual([...slow.accepted]);
      expect(Buffer.from(fast.ipc).equals(Buffer.from(slow.ipc))).toBe(true);
      expect(fast.errors.map((e) => e.index)).toEqual(bad);
      expect(fast.fallbacks).toEqual(bad);
      // Every kind of refusal is there.
      const reasons = fast.errors.map((e) => e.reason);
      expect(reasons.filter((x) => x.includes('lone surrogate escape')).length).toBeGreaterThan(5);
      expect(reasons.filter((x) => x === 'not valid UTF-8').length).toBeGreaterThan(5);
      expect(reasons.filter((x) => x.startsWith('invalid JSON')).length).toBeGreaterThan(5);
      expect(fast.rows).toBeGreaterThan(500);
    });
  }

  it('takes escapes record by record, and leaves lone surrogates and bad escapes alone', () => {
    const cx = appendContext();
    const root = rootNode(SCHEMA);
    const take = (s: string) => {
      const b = Buffer.from(s);
      return appendRecordFast(b, 0, b.length, root, cx);
    };
    expect(take('{"id":1,"name":"a\\nb\\"c\\\\d\\/e\\b\\f\\r\\t"}')).toBe(true);
    expect(take('{"id":2,"name":"\\u00e9\\u65E5\\uD83D\\uDE00\\u0000"}')).toBe(true);
    expect(take('{"\\u0069d":3,"na\\u006De":"x","quo\\"te":"y","\\u00e9":"z"}')).toBe(true);
    expect(take('{"id":4,"ts":"2026-11-25T10:00:00\\u005a"}')).toBe(true);
    expect(take('{"id":5,"name":"\\ud800"}')).toBe(false);
    expect(take('{"id":5,"name":"\\udc00\\ud800"}')).toBe(false);
    expect(take('{"id":5,"name":"\\ud83d\\u0041"}')).toBe(false);
    expect(take('{"id":5,"name":"\\x41"}')).toBe(false);
    expect(take('{"id":5,"name":"\\u00G1"}')).toBe(false);
    expect(take('{"id":5,"name":"\\u00e"}')).toBe(false);
    expect(take('{"id":5,"name":"a\\')).toBe(false);
    expect(take('{"\\u0069e":5}')).toBe(false); // "ie": a new column, the general path adds it
  });
});
