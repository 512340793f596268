import { describe, expect, it } from 'vitest';
import {
  DeletionVector,
  decodeDeletionVector,
  encodeDeletionVector,
} from '../src/puffin/deletion-vector.ts';
import { Roaring32 } from '../src/puffin/roaring.ts';
import { readPortable64 } from '../src/puffin/roaring64.ts';
import {
  concat,
  expectIcebergError,
  frameDv,
  hex,
  referenceCrc32,
  u16,
  u32,
} from './puffin-support.ts';

const TWO_32 = 2 ** 32;

/** length (BE) + magic + bitmap + CRC-32 (BE) of magic + bitmap, by the reference CRC. */
function withCrc(lengthMagicBitmap: Uint8Array): Uint8Array {
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, referenceCrc32(lengthMagicBitmap.subarray(4)), false);
  return concat(lengthMagicBitmap, crc);
}

/** The kinds of the containers of each non-empty bucket of a blob. */
function containerKinds(blob: Uint8Array): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const b of readPortable64(blob, 8, blob.length - 4, 'test')) {
    out[b.key] = b.bitmap.containers.map((c) => c.kind);
  }
  return out;
}

function roundTrip(positions: readonly number[]): DeletionVector {
  const blob = encodeDeletionVector(positions);
  const dv = decodeDeletionVector(blob, { cardinality: positions.length });
  expect(dv.cardinality).toBe(positions.length);
  expect(Array.from(dv.positions())).toEqual(positions);
  expect(Array.from(dv.bigintPositions())).toEqual(positions.map(BigInt));
  expect(positions.every((p) => dv.has(p))).toBe(true);
  return dv;
}

describe('deletion-vector-v1 bytes, derived by hand from the spec', () => {
  it('the reference CRC-32 is the zlib one (check value of "123456789")', () => {
    expect(referenceCrc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('an empty vector: no buckets', () => {
    const expected = withCrc(
      hex(`
        0000000c                 // length of magic + bitmap: 4 + 8 = 12, big-endian
        d1d33964                 // magic
        0000000000000000         // bucket count 0, uint64 little-endian
      `),
    );
    expect(encodeDeletionVector([])).toEqual(expected);
    expect(expected.length).toBe(20);
    const dv = decodeDeletionVector(expected);
    expect(dv.cardinality).toBe(0);
    expect(dv.has(0)).toBe(false);
    expect(Array.from(dv.positions())).toEqual([]);
  });

  it('{0, 5, 6, 7}: one array container (2 runs would take 10 bytes, the array 8)', () => {
    const expected = withCrc(
      hex(`
        00000028                 // length: 4 + 36 = 40
        d1d33964
        0100000000000000         // 1 bucket
        00000000                 // bucket key 0 (uint32 LE)
        3a300000                 // cookie 12346 = 0x303a: no run containers
        01000000                 // 1 container
        0000 0300                // key 0, cardinality - 1 = 3
        10000000                 // offset of container 0: 16 bytes from the cookie
        0000 0500 0600 0700      // the array: 0, 5, 6, 7 as uint16 LE
      `),
    );
    expect(encodeDeletionVector([0, 5, 6, 7])).toEqual(expected);
    expect(Array.from(decodeDeletionVector(expected).positions())).toEqual([0, 5, 6, 7]);
  });

  it('10..19 and 2^32 + 1: a run container in bucket 0, an array in bucket 1', () => {
    const positions = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, TWO_32 + 1];
    const expected = withCrc(
      hex(`
        00000035                 // length: 4 + 49 = 53
        d1d33964
        0200000000000000         // 2 buckets
        00000000                 // key 0
        3b300000                 // cookie 12347 | (1 - 1) << 16: has run containers
        01                       // run flags: container 0 is a run container
        0000 0900                // key 0, cardinality 10
                                 // (fewer than 4 containers: no offset header)
        0100 0a00 0900           // 1 run: start 10, length - 1 = 9
        01000000                 // key 1
        3a300000 01000000        // no runs, 1 container
        0000 0000                // key 0, cardinality 1
        10000000                 // offset 16
        0100                     // the array: 1
      `),
    );
    expect(encodeDeletionVector(positions)).toEqual(expected);
    const dv = decodeDeletionVector(expected);
    expect(Array.from(dv.positions())).toEqual(positions);
    expect(dv.has(TWO_32 + 1)).toBe(true);
    expect(dv.has(1)).toBe(false);
  });

  it('2^33 + 3 alone: empty buckets 0 and 1 before it, as Java writes', () => {
    const expected = withCrc(
      hex(`
        0000003a                 // length: 4 + 54 = 58
        d1d33964
        0300000000000000         // 3 buckets: every key from 0 to 2
        00000000 3a300000 00000000  // key 0: an empty bitmap (cookie, 0 containers)
        01000000 3a300000 00000000  // key 1: empty
        02000000 3a300000 01000000  // key 2: 1 container
        0000 0000 10000000 0300  // key 0, cardinality 1, offset 16, value 3
      `),
    );
    expect(encodeDeletionVector([2 * TWO_32 + 3])).toEqual(expected);
    expect(encodeDeletionVector([2n * 2n ** 32n + 3n])).toEqual(expected);
    const dv = decodeDeletionVector(expected);
    expect(Array.from(dv.bigintPositions())).toEqual([2n * 2n ** 32n + 3n]);
  });

  it('a sparse bucket list (no empty buckets) decodes the same', () => {
    const sparse = frameDv(
      hex(`
        0100000000000000 02000000 3a300000 01000000 0000 0000 10000000 0300
      `),
    );
    expect(Array.from(decodeDeletionVector(sparse).positions())).toEqual([2 * TWO_32 + 3]);
  });
});

describe('deletion vector round trips', () => {
  it('empty and single positions', () => {
    roundTrip([]);
    roundTrip([0]);
    roundTrip([65535]);
    roundTrip([65536]);
    roundTrip([TWO_32 - 1]);
  });

  it('dense positions: bitmap containers', () => {
    const positions = Array.from({ length: 20_000 }, (_, i) => 3 * i);
    const blob = encodeDeletionVector(positions);
    expect(containerKinds(blob)).toEqual({ 0: ['bitmap'] });
    const dv = roundTrip(positions);
    expect(dv.has(1)).toBe(false);
    expect(dv.has(59_998)).toBe(false);
  });

  it('sparse positions: array containers', () => {
    const positions = Array.from({ length: 300 }, (_, i) => i * 997);
    expect(containerKinds(encodeDeletionVector(positions))).toEqual({
      0: ['array', 'array', 'array', 'array', 'array'],
    });
    const dv = roundTrip(positions);
    expect(dv.has(998)).toBe(false);
  });

  it('runs: run containers, also for a container that would be a bitmap', () => {
    const positions = [
      ...Array.from({ length: 1000 }, (_, i) => 100 + i),
      ...Array.from({ length: 65536 }, (_, i) => 65536 + i),
      ...Array.from({ length: 10 }, (_, i) => 200_000 + 2 * i),
    ];
    // 200_000 >> 16 = 3: ten isolated values are an array (20 bytes < 2 + 4 × 10).
    expect(containerKinds(encodeDeletionVector(positions))).toEqual({
      0: ['run', 'run', 'array'],
    });
    const dv = roundTrip(positions);
    expect(dv.has(99)).toBe(false);
    expect(dv.has(1100)).toBe(false);
    expect(dv.has(131072)).toBe(false);
    expect(dv.has(200_001)).toBe(false);
  });

  it('positions crossing 2^32: several buckets, as numbers and bigints', () => {
    const positions = [
      0,
      TWO_32 - 2,
      TWO_32 - 1,
      TWO_32,
      TWO_32 + 1,
      ...Array.from({ length: 5000 }, (_, i) => 2 * TWO_32 + 65536 + i),
      5 * TWO_32 + 7,
    ];
    const blob = encodeDeletionVector(positions);
    expect(encodeDeletionVector(positions.map(BigInt))).toEqual(blob);
    expect(containerKinds(blob)).toEqual({
      0: ['array', 'array'],
      1: ['array'],
      2: ['run'],
      5: ['array'],
    });
    const dv = roundTrip(positions);
    expect(dv.has(BigInt(TWO_32))).toBe(true);
    expect(dv.has(3 * TWO_32)).toBe(false);
    expect(dv.has(2 * TWO_32)).toBe(false);
  });

  it('positions of 2^53 and more: bigints only', () => {
    const big = 2n ** 53n + 5n; // bucket 2^21: 2^21 empty buckets before it (25 MB)
    const dv = decodeDeletionVector(encodeDeletionVector([1, big]));
    expect(dv.cardinality).toBe(2);
    expect(dv.has(big)).toBe(true);
    expect(dv.has(big - 1n)).toBe(false);
    expect(Array.from(dv.bigintPositions())).toEqual([1n, big]);
    expectIcebergError(() => dv.positions(), 'UNSUPPORTED', /2\^53.*bigintPositions/);
  });

  it('any order and repeats: the same bytes as sorted and unique', () => {
    const sorted = [1, 2, 3, 70_000, TWO_32 + 9];
    const shuffled = [TWO_32 + 9, 3, 70_000, 1, 3, 2, 1n, BigInt(TWO_32 + 9)];
    expect(encodeDeletionVector(shuffled)).toEqual(encodeDeletionVector(sorted));
    expect(encodeDeletionVector(new Set(sorted))).toEqual(encodeDeletionVector(sorted));
    expect(encodeDeletionVector(Float64Array.from(sorted))).toEqual(encodeDeletionVector(sorted));
  });

  it('DeletionVector.of(...).serialize() is encodeDeletionVector', () => {
    const positions = [4, 8, 15, 16, 23, 42];
    const dv = DeletionVector.of(positions);
    expect(dv.serialize()).toEqual(encodeDeletionVector(positions));
    expect(dv.cardinality).toBe(6);
  });

  it('has() is false for values that are no position', () => {
    const dv = DeletionVector.of([0, 1]);
    for (const v of [-1, 0.5, Number.NaN, -1n, 2n ** 63n, Number.MAX_SAFE_INTEGER + 1]) {
      expect(dv.has(v)).toBe(false);
    }
  });
});

describe('deletion vector encoder errors', () => {
  it('refuses positions that are not integers in [0, 2^63)', () => {
    const bad: unknown[] = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -1n, 2n ** 63n];
    for (const p of bad) {
      expectIcebergError(
        () => encodeDeletionVector([0, p as number]),
        'INVALID_ARGUMENT',
        /row position #1 .* is not an integer in \[0, 2\^63\)/,
      );
    }
    expectIcebergError(
      () => encodeDeletionVector(['7' as unknown as number]),
      'INVALID_ARGUMENT',
      /#0/,
    );
  });

  it('refuses a vector over the 2 GiB a blob may have, before allocating it', () => {
    expectIcebergError(
      () => encodeDeletionVector([2n ** 62n]),
      'INVALID_ARGUMENT',
      /over the 2 GiB/,
    );
  });
});

describe('deletion vector decoder errors', () => {
  const good = encodeDeletionVector([0, 5, 6, 7]);
  const noRunHeader = (count: number) => concat(u32(12346), u32(count));
  /** A 32-bit bitmap of the one value 9 (18 bytes). */
  const nine = concat(noRunHeader(1), u16(0, 0), u32(16), u16(9));
  /**
   * Bucket 0 holding {9}, then bucket 1 holding the given 32-bit bitmap bytes, framed
   * right: with a well-formed bucket first the bucket count passes its size check (12
   * bytes a bucket at least) whatever the second bucket's bytes.
   */
  const inBucket = (roaring: Uint8Array) =>
    frameDv(concat(hex('0200000000000000 00000000'), nine, u32(1), roaring));

  const cases: [string, Uint8Array, RegExp, number?][] = [
    ['shorter than 12 bytes', good.subarray(0, 11), /11 bytes is too short/],
    [
      'a length field saying less',
      concat(good, hex('00')),
      /length field says 40 .* 48 in all, but the blob has 49/,
    ],
    ['a truncated blob', good.subarray(0, good.length - 1), /but the blob has 47/],
    [
      'bad magic',
      frameDv(hex('0000000000000000'), hex('D1 D3 39 65')),
      /bad magic D1 D3 39 65, expected D1 D3 39 64/,
    ],
    [
      'a bad CRC',
      (() => {
        const b = good.slice();
        b[good.length - 6] = 0x08; // the last array value 7 → 8
        return b;
      })(),
      /CRC-32 mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/,
    ],
    ['no bucket count', frameDv(hex('01000000')), /truncated bucket count: needs 8 bytes, 4 left/],
    [
      'a bucket count past the bytes',
      frameDv(hex('0200000000000000 00000000 3a30000000000000')),
      /bucket count 2 does not fit in 12 bytes/,
    ],
    [
      'a bucket count of 2^32',
      frameDv(concat(hex('0000000001000000'), new Uint8Array(16))),
      /bucket count 4294967296/,
    ],
    [
      'a truncated bucket key',
      frameDv(concat(hex('0200000000000000 00000000'), nine, hex('010000'))),
      /truncated bucket key: needs 4 bytes, 3 left/,
    ],
    [
      'a key with the sign bit',
      frameDv(hex('0100000000000000 00000080 3a30000000000000')),
      /bucket key 2147483648 has the sign bit set/,
    ],
    [
      'keys out of order',
      frameDv(hex('0200000000000000 01000000 3a30000000000000 01000000 3a30000000000000')),
      /bucket keys are not strictly ascending \(1, 1\)/,
    ],
    [
      'a bad Roaring cookie',
      inBucket(hex('39300000 00000000')),
      /not a Roaring bitmap: cookie 0x00003039/,
    ],
    [
      'a truncated cookie',
      inBucket(hex('3a30')),
      /bucket 1: truncated Roaring cookie: needs 4 bytes, 2 left/,
    ],
    ['too many containers', inBucket(noRunHeader(70_000)), /70000 containers \(at most 65536\)/],
    [
      'a truncated container count',
      inBucket(u32(12346)),
      /bucket 1: truncated container count: needs 4 bytes, 0 left/,
    ],
    [
      'a truncated descriptive header',
      inBucket(concat(noRunHeader(2), u16(0, 0))),
      /truncated descriptive header/,
    ],
    [
      'a truncated offset header',
      inBucket(concat(noRunHeader(1), u16(0, 0), u16(0))),
      /truncated offset header/,
    ],
    ['truncated run flags', inBucket(u32(12347 | (8 << 16))), /truncated run container flags/],
    [
      'a truncated array container',
      inBucket(concat(noRunHeader(1), u16(0, 2), u32(16), u16(1, 2))),
      /truncated array container 0: needs 6 bytes, 4 left/,
    ],
    [
      'a truncated bitmap container',
      inBucket(concat(noRunHeader(1), u16(0, 4999), u32(16), new Uint8Array(100))),
      /truncated bitmap container 0: needs 8192 bytes, 100 left/,
    ],
    [
      'a truncated run container',
      inBucket(concat(u32(12347), hex('01'), u16(0, 9), u16(2), u16(0, 4))),
      /truncated run container 0: needs 8 bytes, 4 left/,
    ],
    [
      'a run container without its run count',
      inBucket(concat(u32(12347), hex('01'), u16(0, 9), hex('01'))),
      /truncated run container 0: needs 2 bytes, 1 left/,
    ],
    [
      'container keys out of order',
      inBucket(concat(noRunHeader(2), u16(1, 0, 1, 0), u32(24), u32(26), u16(1, 1))),
      /container keys are not strictly ascending \(1, 1\)/,
    ],
    [
      'array values out of order',
      inBucket(concat(noRunHeader(1), u16(0, 1), u32(16), u16(5, 5))),
      /array container 0: values are not strictly ascending/,
    ],
    [
      'a bitmap cardinality that the bits do not have',
      inBucket(concat(noRunHeader(1), u16(0, 4999), u32(16), new Uint8Array(8192).fill(1))),
      /bitmap container 0 holds 8192 values, its header says 5000/,
    ],
    [
      'a run cardinality that the runs do not have',
      inBucket(concat(u32(12347), hex('01'), u16(0, 9), u16(1), u16(0, 4))),
      /run container 0 holds 5 values, its header says 10/,
    ],
    [
      'overlapping runs',
      inBucket(concat(u32(12347), hex('01'), u16(0, 9), u16(2), u16(0, 4, 4, 4))),
      /runs overlap or are out of order/,
    ],
    [
      'a run past 65535',
      inBucket(concat(u32(12347), hex('01'), u16(0, 9), u16(1), u16(65530, 9))),
      /a run passes 65535/,
    ],
    ['bytes after the bitmap', frameDv(hex('0000000000000000 00')), /1 bytes follow the bitmap/],
  ];

  for (const [name, blob, message] of cases) {
    it(`refuses ${name}`, () => {
      expectIcebergError(() => decodeDeletionVector(blob), 'INVALID_METADATA', message);
    });
  }

  it('the framed cases are otherwise sound: their CRC is right (errors come from the bitmap)', () => {
    // A sanity check of the helper: a well-formed framed bitmap decodes.
    const blob = inBucket(concat(noRunHeader(1), u16(0, 1), u32(16), u16(5, 6)));
    expect(Array.from(decodeDeletionVector(blob).positions())).toEqual([9, TWO_32 + 5, TWO_32 + 6]);
  });

  it('checks the cardinality against the delete file record count', () => {
    expect(decodeDeletionVector(good, { cardinality: 4n }).cardinality).toBe(4);
    expectIcebergError(
      () => decodeDeletionVector(good, { cardinality: 5, source: 'x.puffin@4' }),
      'INVALID_METADATA',
      /^deletion vector x\.puffin@4: holds 4 positions, the delete file says 5$/,
    );
  });

  it('reads a bitmap through the 32-bit layer alone too', () => {
    // The 32-bit reader stops where the bitmap ends and reports that end.
    const bytes = concat(noRunHeader(1), u16(0, 0), u32(16), u16(9), hex('ffff'));
    const { bitmap, end } = Roaring32.read(bytes, 0, bytes.length, 't');
    expect(end).toBe(18);
    expect(bitmap.has(9)).toBe(true);
  });
});
