/**
 * Map columns in the byte-level fast path (decode/scan.ts): a JSON object into a
 * map<K, V> column is appended entry by entry by the scanner (nested values, empty maps,
 * escaped keys, non-string key types), and it gives up where JSON.parse's object differs
 * from the text — duplicate keys (the last value wins, at the first key's place) and array
 * index keys (listed first, in numeric order) — or the value does not fit. On a hostile
 * generator the fast and the general path give byte-identical Arrow IPC, the same errors
 * and schema, and the fast path gives up on exactly those records.
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

const mapOf = (keyId: number, key: 'string' | 'int', value: unknown, valueRequired = false) =>
  ({ type: 'map', keyId, key, valueId: keyId + 1, value, valueRequired }) as const;

const SCHEMA = {
  type: 'struct',
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'attrs', required: false, type: mapOf(100, 'string', 'string') },
    { id: 3, name: 'counts', required: false, type: mapOf(102, 'string', 'long', true) },
    {
      id: 4,
      name: 'nested',
      required: false,
      type: mapOf(104, 'string', {
        type: 'struct',
        fields: [
          { id: 106, name: 'a', required: false, type: 'string' },
          {
            id: 107,
            name: 'b',
            required: false,
            type: { type: 'list', elementId: 108, element: 'long', elementRequired: false },
          },
        ],
      }),
    },
    {
      id: 5,
      name: 'mm',
      required: false,
      type: mapOf(110, 'string', mapOf(112, 'string', 'string')),
    },
    {
      id: 6,
      name: 'lm',
      required: false,
      type: {
        type: 'list',
        elementId: 114,
        element: mapOf(115, 'string', 'int'),
        elementRequired: false,
      },
    },
    { id: 7, name: 'im', required: false, type: mapOf(117, 'int', 'string') },
  ],
} as StructType;

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

/** What a generated piece makes of its record. */
interface Gen {
  /** The fast path must give up on the record (the general path decides it). */
  falls: boolean;
  /** The general path refuses the record. */
  refused: boolean;
  hostile: number;
}

const KEYS = ['a', 'b', 'k1', 'é', '', '__proto__', 'constructor', 'toString', '01', '-1', '1.5'];
const SPELLED: Record<string, string[]> = {
  a: ['"a"', '"\\u0061"'],
  é: ['"é"', '"\\u00e9"', '"\\u00E9"'],
  '\u0000': ['"\\u0000"'],
  '\u{1F600}': ['"\u{1F600}"', '"\\ud83d\\ude00"'],
};
const INDEX_KEYS = ['0', '7', '42', '4294967294'];
const NOT_INDEX_KEYS = ['4294967295', '00', '12345678901'];

/** A JSON object for a map column: `value` writes one entry's value. */
function object(r: () => number, g: Gen, value: () => string, keys?: string[]): string {
  if (r() < 0.1) return pick(r, [' { } ', '{}']);
  const n = 1 + Math.floor(r() * 5);
  const names = keys ?? [...KEYS, '\u0000', '\u{1F600}', ...NOT_INDEX_KEYS];
  /** Key → its value's text: a duplicate repeats it (the record stays as classified). */
  const used = new Map<string, string>();
  const entries: string[] = [];
  for (let k = 0; k < n; k++) {
    let name: string;
    if (r() < g.hostile) {
      // A duplicate key, or (string keys) an array index key.
      name = used.size > 0 && (keys || r() < 0.5) ? pick(r, [...used.keys()]) : pick(r, INDEX_KEYS);
      g.falls = true;
    } else {
      name = pick(r, names);
      if (used.has(name)) continue; // a repeat by chance
    }
    const text = used.get(name) ?? value();
    used.set(name, text);
    const spelled = pick(
      r,
      Object.hasOwn(SPELLED, name) ? (SPELLED[name] as string[]) : [JSON.stringify(name)],
    );
    entries.push(`${spelled}${pick(r, [':', ' : '])}${text}`);
  }
  return `{${entries.join(pick(r, [',', ' ,\n']))}}`;
}

/** A hostile value: the general path refuses it, or takes it after the fast path gave up. */
function hostile(r: () => number, g: Gen, options: { refused: string[]; falls: string[] }) {
  g.falls = true;
  if (r() < options.refused.length / (options.refused.length + options.falls.length)) {
    g.refused = true;
    return pick(r, options.refused);
  }
  return pick(r, options.falls);
}

function record(r: () => number, i: number, chance: number): { text: string; g: Gen } {
  const g: Gen = { falls: false, refused: false, hostile: chance };
  const bad = () => r() < chance;
  const str = () => pick(r, ['"x"', '"a\\"b\\n"', '"\\u00e9\\ud83d\\ude00"', 'null', '""']);
  const attrs = () =>
    bad()
      ? hostile(r, g, { refused: [], falls: ['{"a":1}', '1', 'true', '[]', '[1,"x"]'] })
      : str();
  const count = () =>
    bad()
      ? hostile(r, g, { refused: ['null', '1.5', '"x"'], falls: [] })
      : pick(r, ['0', '-7', '9007199254740993']);
  const nestedValue = () => {
    if (bad())
      return hostile(r, g, {
        refused: ['{"b":[1.5]}', '{"b":"x"}'],
        falls: ['{"a":1}', '{"a":"x","a":"y"}', '{"a":1.5}'],
      });
    return pick(r, ['null', '{}', '{"a":"x"}', '{"b":[1,null,3]}', '{"b":[],"a":"\\t"}']);
  };
  const fields: [string, () => string][] = [
    ['id', () => String(i)],
    ['attrs', () => object(r, g, attrs)],
    ['counts', () => object(r, g, count)],
    ['nested', () => object(r, g, nestedValue)],
    ['mm', () => object(r, g, () => (r() < 0.2 ? 'null' : object(r, g, str)))],
    [
      'lm',
      () =>
        `[${Array.from({ length: Math.floor(r() * 3) }, () => object(r, g, () => pick(r, ['1', '-2', 'null']))).join(',')}]`,
    ],
    ['im', () => object(r, g, str, ['-5', '-12', '-2147483648'])],
  ];
  const kept = fields.filter(([k]) => k === 'id' || r() < 0.85);
  const parts = kept.map(([k, v]) => {
    if (k !== 'id' && r() < 0.05) return `"${k}":null`;
    if (k !== 'id' && bad()) {
      g.falls = true; // not the JSON kind of the column
      g.refused = true;
      return `"${k}":${pick(r, k === 'lm' ? ['"s"', '1', '{}'] : ['[]', '"s"', '1', 'true'])}`;
    }
    return `"${k}":${v()}`;
  });
  return { text: `{${parts.join(',')}}`, g };
}

beforeEach(() => {
  fallbackStarts.length = 0;
});
afterEach(() => useFastScan(true));

describe('map columns in the fast path', () => {
  it('appends maps itself (nested, empty, escaped keys, int keys): no record falls back', () => {
    const r = rng(11);
    const values = Array.from({ length: 2000 }, (_, i) => Buffer.from(record(r, i, 0).text));
    const fast = decodeWith(values, SCHEMA, true);
    expect(fast.fallbacks).toEqual([]);
    expect(fast.errors).toEqual([]);
    expect(fast.schema).toEqual(SCHEMA);
    const slow = decodeWith(values, SCHEMA, false);
    expect(Buffer.from(fast.ipc).equals(Buffer.from(slow.ipc))).toBe(true);
    // The entries are JSON.parse's, in its order.
    const attrs = arrow.tableFromIPC(fast.ipc).getChild('attrs');
    values.forEach((v, i) => {
      const want = (JSON.parse(v.toString()) as { attrs?: Record<string, unknown> }).attrs;
      const got = attrs?.get(i) as arrow.MapRow<arrow.Utf8, arrow.Utf8> | null;
      if (want === undefined || want === null) expect(got).toBeNull();
      else expect([...(got ?? [])].map(([k]) => k)).toEqual(Object.keys(want));
    });
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`matches the general path on hostile maps and falls back only where it must (seed ${seed})`, () => {
      const r = rng(seed);
      const records = Array.from({ length: 1500 }, (_, i) => record(r, i, 0.015));
      const values = records.map((x) => Buffer.from(x.text));
      const fast = decodeWith(values, SCHEMA, true);
      const slow = decodeWith(values, SCHEMA, false);
      expect(fast.errors).toEqual(slow.errors);
      expect(fast.schema).toEqual(slow.schema);
      expect([...fast.accepted]).toEqual([...slow.accepted]);
      expect(Buffer.from(fast.ipc).equals(Buffer.from(slow.ipc))).toBe(true);
      const refused = records.flatMap((x, i) => (x.g.refused ? [i] : []));
      const falls = records.flatMap((x, i) => (x.g.falls ? [i] : []));
      expect(fast.errors.map((e) => e.index)).toEqual(refused);
      expect(fast.fallbacks).toEqual(falls);
      expect(falls.length - refused.length).toBeGreaterThan(50); // taken after a fall-back
      expect(refused.length).toBeGreaterThan(50);
    });
  }

  it('keeps JSON.parse order and last-wins duplicates by leaving those to the general path', () => {
    const cx = { ...appendContext(), asString: true };
    const root = rootNode(SCHEMA);
    const take = (s: string) => {
      const b = Buffer.from(s);
      return appendRecordFast(b, 0, b.length, root, cx);
    };
    expect(take('{"id":1,"attrs":{"b":"1","a":"2","01":"3","4294967295":"4"}}')).toBe(true);
    expect(take('{"id":2,"attrs":{},"mm":{"x":{"y":null}},"im":{"-3":"z"}}')).toBe(true);
    expect(take('{"id":3,"attrs":{"b":"1","2":"2"}}')).toBe(false); // listed first by JSON.parse
    expect(take('{"id":4,"attrs":{"a":"1","b":"2","a":"3"}}')).toBe(false); // duplicate
    expect(take('{"id":4,"attrs":{"a":"1","\\u0061":"3"}}')).toBe(false); // duplicate, escaped
    expect(take('{"id":5,"counts":{"a":null}}')).toBe(false); // a required value
    expect(take('{"id":6,"im":{"x":"y"}}')).toBe(false); // not an int key
    const many = Array.from({ length: 40 }, (_, k) => `"k${k}":"v"`);
    expect(take(`{"id":7,"attrs":{${many.join(',')}}}`)).toBe(true);
    expect(take(`{"id":8,"attrs":{${many.join(',')},"k3":"w"}}`)).toBe(false); // past 16 entries
  });
});
