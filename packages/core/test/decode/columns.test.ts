/**
 * The growable columns: room reserved up front changes no value, rolled-back rows leave
 * nothing behind, and null counts agree with the bitmap for every length (whole bytes and
 * the bits past them).
 */
import { describe, expect, it } from 'vitest';
import {
  BoolColumn,
  BytesColumn,
  FixedColumn,
  Int64Column,
  ListColumn,
  NumberColumn,
} from '../../src/decode/columns.ts';
import { reserveRows, rootNode } from '../../src/decode/tree.ts';

const text = new TextEncoder();

/** Fills a column with `n` rows, every third one null, with or without reserving first. */
function filled<T extends { reserve(rows: number): void }>(
  make: () => T,
  fill: (c: T, i: number) => void,
  n: number,
  reserve: boolean,
): T {
  const c = make();
  if (reserve) c.reserve(n);
  for (let i = 0; i < n; i++) fill(c, i);
  return c;
}

describe('columns', () => {
  for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4097]) {
    it(`hold the same rows with and without reserve, and count nulls right (${n} rows)`, () => {
      for (const reserve of [false, true]) {
        const num = filled(
          () => new NumberColumn(),
          (c, i) => (i % 3 === 0 ? c.appendNull() : c.append(i * 1.5)),
          n,
          reserve,
        );
        expect(Array.from(num.float64())).toEqual(
          Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : i * 1.5)),
        );
        expect(num.nullCount()).toBe(Math.ceil(n / 3));
        const bits = num.bitmap();
        expect(bits.length).toBe((n + 7) >> 3);
        for (let i = 0; i < n; i++)
          expect(((bits[i >> 3] as number) >> (i & 7)) & 1).toBe(i % 3 === 0 ? 0 : 1);

        const big = filled(
          () => new Int64Column(),
          (c, i) => (i % 3 === 0 ? c.appendNull() : c.appendBig(-(2n ** 62n) + BigInt(i))),
          n,
          reserve,
        );
        expect(Array.from(big.int64())).toEqual(
          Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0n : -(2n ** 62n) + BigInt(i))),
        );

        const bool = filled(
          () => new BoolColumn(),
          (c, i) => (i % 3 === 0 ? c.appendNull() : c.append(i % 2 === 0)),
          n,
          reserve,
        );
        const data = bool.data();
        for (let i = 0; i < n; i++)
          expect(((data[i >> 3] as number) >> (i & 7)) & 1).toBe(
            i % 3 !== 0 && i % 2 === 0 ? 1 : 0,
          );

        const str = new BytesColumn();
        if (reserve) str.reserve(n, 4 * n);
        for (let i = 0; i < n; i++) {
          if (i % 3 === 0) str.appendNull();
          else str.appendRange(text.encode(`v${i}`), 0, `v${i}`.length);
        }
        const offsets = str.valueOffsets();
        const bytes = str.data();
        const values = Array.from({ length: n }, (_, i) =>
          Buffer.from(bytes.subarray(offsets[i], offsets[i + 1])).toString(),
        );
        expect(values).toEqual(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? '' : `v${i}`)));

        const fixed = filled(
          () => new FixedColumn(3),
          (c, i) => {
            const at = c.append();
            c.bytes[at] = i & 0xff;
          },
          n,
          reserve,
        );
        expect(fixed.data().length).toBe(3 * n);
        expect(Array.from({ length: n }, (_, i) => fixed.data()[3 * i])).toEqual(
          Array.from({ length: n }, (_, i) => i & 0xff),
        );

        const list = filled(
          () => new ListColumn(),
          (c, i) => c.append(true, 2 * i),
          n,
          reserve,
        );
        expect(Array.from(list.valueOffsets())).toEqual(
          Array.from({ length: n + 1 }, (_, i) => (i === 0 ? 0 : 2 * (i - 1))),
        );
      }
    });
  }

  it('a rolled-back row leaves no bit behind in the bitmap a view returns', () => {
    const c = new NumberColumn();
    c.reserve(16);
    for (let i = 0; i < 9; i++) c.append(i);
    c.truncate(5);
    c.appendNull();
    expect(c.length).toBe(6);
    expect(c.nullCount()).toBe(1);
    expect(Array.from(c.bitmap())).toEqual([0b011111]);
  });

  it('reserveRows gives string columns at most the batch size in bytes between them', () => {
    const root = rootNode({
      type: 'struct',
      fields: Array.from({ length: 100 }, (_, k) => ({
        id: k + 1,
        name: `s${k}`,
        required: false,
        type: 'string' as const,
      })),
    });
    reserveRows(root, 10_000, 50_000);
    let reserved = 0;
    for (const ch of root.children) reserved += (ch.col as BytesColumn).bytes.length;
    // 500 bytes each (the batch's 50,000 over 100 columns), rounded up to a power of two.
    expect(reserved).toBe(100 * 1024);
    const first = root.children[0]?.col as BytesColumn | undefined;
    expect(first?.offsets.length).toBeGreaterThanOrEqual(10_001);
  });
});
