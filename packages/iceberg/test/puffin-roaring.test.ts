import { describe, expect, it } from 'vitest';
import { Roaring32 } from '../src/puffin/roaring.ts';
import { concat, hex, u16, u32 } from './puffin-support.ts';

/** Values `base + k` for k in [0, n) where keep(k). */
function values(base: number, n: number, keep: (k: number) => boolean): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) if (keep(k)) out.push(base + k);
  return out;
}

function serialize(bitmap: Roaring32): Uint8Array {
  const out = new Uint8Array(bitmap.serializedSize);
  expect(bitmap.write(out, 0)).toBe(out.length);
  return out;
}

function kinds(vs: number[]): string[] {
  return Roaring32.fromSorted(vs).containers.map((c) => c.kind);
}

describe('32-bit Roaring containers: the choice Java makes (add, then runOptimize)', () => {
  // Java: an array up to 4096 values, else a bitmap; a run container instead when
  // 2 + 4 × runs is strictly smaller than 2 × cardinality (array) or 8192 (bitmap).
  it('array vs run at the tie: 3 consecutive values stay an array, 4 become a run', () => {
    expect(kinds([0, 1, 2])).toEqual(['array']); // run 2 + 4 = 6, array 6
    expect(kinds([0, 1, 2, 3])).toEqual(['run']); // run 6 < array 8
    expect(kinds([0, 1, 2, 3, 10])).toEqual(['array']); // run 10, array 10
    expect(kinds([0, 1, 2, 3, 10, 11])).toEqual(['run']); // run 10 < array 12
  });

  it('array vs bitmap at 4096 values', () => {
    expect(kinds(values(0, 8192, (k) => k % 2 === 0))).toEqual(['array']); // 4096
    expect(kinds(values(0, 8194, (k) => k % 2 === 0))).toEqual(['bitmap']); // 4097
  });

  it('bitmap vs run at 2047 runs (2 + 4 × 2047 = 8190 < 8192)', () => {
    expect(kinds(values(0, 2047 * 4, (k) => k % 4 < 3))).toEqual(['run']); // 6141 values
    expect(kinds(values(0, 2048 * 4, (k) => k % 4 < 3))).toEqual(['bitmap']); // 2048 runs
    expect(kinds(values(0, 65536, () => true))).toEqual(['run']);
  });

  it('one container per 65536 values, by key', () => {
    const b = Roaring32.fromSorted([1, 65536, 65537, 0xffffffff]);
    expect(b.containers.map((c) => [c.key, c.kind, c.cardinality])).toEqual([
      [0, 'array', 1],
      [1, 'array', 2],
      [65535, 'array', 1],
    ]);
    expect(b.cardinality).toBe(4);
  });
});

describe('32-bit Roaring serialization', () => {
  it('round trips every container kind, with has() and forEach()', () => {
    const vs = [
      ...values(0, 100, (k) => k % 3 === 0), // array
      ...values(65536, 65536, (k) => k % 5 !== 0), // bitmap
      ...values(3 * 65536, 5000, () => true), // run
      0xfffffffe,
    ];
    const b = Roaring32.fromSorted(vs);
    expect(b.containers.map((c) => c.kind)).toEqual(['array', 'bitmap', 'run', 'array']);
    const bytes = serialize(b);
    const { bitmap, end } = Roaring32.read(bytes, 0, bytes.length, 't');
    expect(end).toBe(bytes.length);
    const got: number[] = [];
    bitmap.forEach((v) => {
      got.push(v);
    });
    expect(got).toEqual(vs);
    for (const v of [0, 99, 65536, 65537, 3 * 65536 + 4999, 0xfffffffe]) {
      expect(bitmap.has(v)).toBe(vs.includes(v));
    }
    expect(bitmap.has(3 * 65536 + 5000)).toBe(false);
    expect(bitmap.has(2 * 65536)).toBe(false);
    expect(bitmap.has(0xffffffff)).toBe(false);
  });

  it('with run containers and 4 or more containers, writes the offset header', () => {
    const b = Roaring32.fromSorted([0, 1, 2, 3, 65536, 131072, 196608]);
    expect(serialize(b)).toEqual(
      concat(
        u32(12347 | (3 << 16)), // cookie: run containers, 4 containers
        hex('01'), // container 0 is a run container
        u16(0, 3, 1, 0, 2, 0, 3, 0), // keys and cardinality - 1
        u32(4 + 1 + 16 + 16), // offsets: first container after the headers (37)
        u32(37 + 6),
        u32(37 + 6 + 2),
        u32(37 + 6 + 4),
        u16(1, 0, 3), // 1 run: 0, length 4
        u16(0),
        u16(0),
        u16(0),
      ),
    );
  });

  it('an empty bitmap is 8 bytes: cookie 12346, 0 containers', () => {
    expect(serialize(Roaring32.EMPTY)).toEqual(hex('3a300000 00000000'));
    expect(Roaring32.read(hex('3a300000 00000000'), 0, 8, 't').bitmap.cardinality).toBe(0);
  });

  it('reads a run container whose runs touch (non-canonical, as Java accepts)', () => {
    const bytes = concat(u32(12347), hex('01'), u16(0, 5), u16(2, 0, 2, 3, 2));
    const got: number[] = [];
    Roaring32.read(bytes, 0, bytes.length, 't').bitmap.forEach((v) => {
      got.push(v);
    });
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
