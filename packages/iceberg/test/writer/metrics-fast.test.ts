/**
 * The typed-array fast paths of computeMetrics against the value-by-value pass: same
 * counts and bounds on random data with nulls, null parent structs, NaN, ±0, extreme
 * integers (64-bit ones differing only in their low or high 32 bits), booleans and non-BMP
 * strings, with and without nulls, whole and sliced, in one batch and in several.
 */
import type * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';
import { computeMetrics } from '../../src/writer/metrics.ts';
import { writeParquet } from '../../src/writer/parquet.ts';

const SCHEMA: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'i', required: false, type: 'int' },
    { id: 2, name: 'l', required: false, type: 'long' },
    { id: 3, name: 'f', required: false, type: 'float' },
    { id: 4, name: 'd', required: false, type: 'double' },
    { id: 5, name: 'dt', required: false, type: 'date' },
    { id: 6, name: 'ts', required: false, type: 'timestamptz' },
    { id: 7, name: 's', required: false, type: 'string' },
    {
      id: 8,
      name: 'st',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 9, name: 'x', required: false, type: 'double' },
          { id: 10, name: 'y', required: false, type: 'string' },
          { id: 11, name: 'z', required: false, type: 'long' },
          { id: 12, name: 'b', required: false, type: 'boolean' },
        ],
      },
    },
    { id: 13, name: 'flag', required: false, type: 'boolean' },
    { id: 14, name: 'nn', required: true, type: 'long' },
    { id: 15, name: 'nt', required: true, type: 'timestamp' },
  ],
});

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = [
  '',
  'a',
  'é',
  '\u{1F600}x',
  '\uFFFDz',
  'zz',
  'Ω',
  'abcdefghijklmnopqrstu',
  '\u{10FFFF}',
];
const DOUBLES = [0, -0, Number.NaN, 1.5, -1e300, 1e300, Number.POSITIVE_INFINITY, -3];
/** 64-bit values that differ only in the low word, only in the high word, or in sign. */
const LONGS = [
  -(2n ** 63n),
  2n ** 63n - 1n,
  -1n,
  0n,
  1n,
  2n ** 32n,
  2n ** 32n + 1n,
  2n ** 32n - 1n,
  -(2n ** 32n),
  -(2n ** 32n) + 1n,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_ffffn,
];

function rows(n: number, seed: number): Record<string, unknown>[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const maybe = <T>(v: T): T | null => (r() < 0.2 ? null : v);
  return Array.from({ length: n }, () => ({
    i: maybe(Math.floor((r() - 0.5) * 2 ** 32)),
    l: maybe(BigInt(Math.floor((r() - 0.5) * 2 ** 53)) * (r() < 0.1 ? 1000n : 1n)),
    f: maybe(Math.fround(pick(DOUBLES) * r())),
    d: maybe(pick(DOUBLES)),
    dt: maybe(Math.floor((r() - 0.5) * 40000)),
    ts: maybe(BigInt(Math.floor(r() * 2 ** 50))),
    s: maybe(pick(STRINGS) + pick(STRINGS)),
    st:
      r() < 0.25
        ? null
        : {
            x: maybe(pick(DOUBLES)),
            y: maybe(pick(STRINGS)),
            z: maybe(BigInt(Math.floor(r() * 1e6))),
            b: maybe(r() < 0.5),
          },
    flag: maybe(r() < 0.7),
    nn: pick(LONGS) + BigInt(Math.floor(r() * 3)),
    nt: BigInt(Math.floor((r() - 0.5) * 2 ** 60)),
  }));
}

function both(table: arrow.Table) {
  const parquet = writeParquet(table);
  return {
    fast: computeMetrics(SCHEMA, table, parquet),
    slow: computeMetrics(SCHEMA, table, parquet, { valueByValue: true }),
  };
}

describe('computeMetrics fast paths', () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`equal the value-by-value metrics (seed ${seed})`, () => {
      const { fast, slow } = both(icebergRowsToArrow(SCHEMA, rows(500, seed)));
      expect(fast).toEqual(slow);
      // The data is varied enough that every leaf has bounds and floats have NaNs.
      expect([...fast.lowerBounds.keys()].sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15,
      ]);
      expect(fast.nanValueCounts.get(4)).toBeGreaterThan(0);
    });
  }

  test('equal on several batches and on a sliced table', () => {
    const a = icebergRowsToArrow(SCHEMA, rows(300, 7));
    const b = icebergRowsToArrow(SCHEMA, rows(200, 8));
    const multi = a.concat(b);
    expect(multi.batches).toHaveLength(2);
    const m = both(multi);
    expect(m.fast).toEqual(m.slow);
    const sliced = both(multi.slice(37, 411));
    expect(sliced.fast.recordCount).toBe(374);
    expect(sliced.fast).toEqual(sliced.slow);
  });

  test('all-null and empty leaves get counts and no bounds', () => {
    const t = icebergRowsToArrow(SCHEMA, [
      { i: null, st: null, nn: 1n, nt: 2n },
      { i: null, st: { x: null }, nn: 1n, nt: 2n },
    ]);
    const { fast, slow } = both(t);
    expect(fast).toEqual(slow);
    // Only the required columns have values.
    expect([...fast.lowerBounds.keys()].sort((a, b) => a - b)).toEqual([14, 15]);
    expect(fast.nullValueCounts.get(1)).toBe(2);
  });

  test('-0.0 sorts before +0.0 in either arrival order', () => {
    for (const order of [
      [0, -0],
      [-0, 0],
    ]) {
      const t = icebergRowsToArrow(
        SCHEMA,
        order.map((d) => ({ d, f: d, st: { x: d }, nn: 0n, nt: 0n })),
      );
      const { fast, slow } = both(t);
      expect(fast).toEqual(slow);
      for (const id of [3, 4, 9]) {
        const lo = fast.lowerBounds.get(id) as Uint8Array;
        const hi = fast.upperBounds.get(id) as Uint8Array;
        // Little-endian IEEE 754: the sign bit is the top bit of the last byte.
        expect((lo[lo.length - 1] as number) & 0x80).toBe(0x80);
        expect((hi[hi.length - 1] as number) & 0x80).toBe(0);
      }
    }
  });
});

describe('computeMetrics fast paths, single-valued columns', () => {
  test('a boolean column of one value bounds it on both sides; 64-bit extremes come out exact', () => {
    const t = icebergRowsToArrow(
      SCHEMA,
      [2n ** 63n - 1n, -(2n ** 63n), 2n ** 32n].map((nn) => ({ flag: true, nn, nt: -nn - 1n })),
    );
    const { fast, slow } = both(t);
    expect(fast).toEqual(slow);
    expect(fast.lowerBounds.get(13)).toEqual(Uint8Array.of(1));
    expect(fast.upperBounds.get(13)).toEqual(Uint8Array.of(1));
    const long = (b: Uint8Array | undefined) =>
      new DataView((b as Uint8Array).buffer, (b as Uint8Array).byteOffset).getBigInt64(0, true);
    expect(long(fast.lowerBounds.get(14))).toBe(-(2n ** 63n));
    expect(long(fast.upperBounds.get(14))).toBe(2n ** 63n - 1n);
    expect(long(fast.lowerBounds.get(15))).toBe(-(2n ** 63n));
    expect(long(fast.upperBounds.get(15))).toBe(2n ** 63n - 1n);
  });

  test('64-bit values sharing their high word are ordered by the unsigned low word', () => {
    for (const high of [0n, -1n, 5n]) {
      const lows = [0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 1n, 0n];
      const t = icebergRowsToArrow(
        SCHEMA,
        lows.map((l) => ({ nn: high * 2n ** 32n + l, nt: -(high * 2n ** 32n + l) })),
      );
      const { fast, slow } = both(t);
      expect(fast).toEqual(slow);
      const long = (b: Uint8Array | undefined) =>
        new DataView((b as Uint8Array).buffer, (b as Uint8Array).byteOffset).getBigInt64(0, true);
      expect(long(fast.lowerBounds.get(14))).toBe(high * 2n ** 32n);
      expect(long(fast.upperBounds.get(14))).toBe(high * 2n ** 32n + 0xffff_ffffn);
    }
  });
});
