import { describe, expect, it } from 'vitest';
import { IcebergError } from '../../src/errors.ts';
import type { PrimitiveType } from '../../src/spec/types.ts';
import {
  compareValues,
  fromBytes,
  toBytes,
  truncateLowerBound,
  truncateUpperBound,
} from '../../src/spec/values.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

describe('toBytes / fromBytes', () => {
  const cases: [PrimitiveType, unknown, string][] = [
    ['boolean', false, '00'],
    ['boolean', true, '01'],
    ['int', 1, '01000000'],
    ['int', -1, 'ffffffff'],
    ['int', 2147483647, 'ffffff7f'],
    ['date', 17486, '4e440000'], // 2017-11-16
    ['date', -1, 'ffffffff'],
    ['long', 34n, '2200000000000000'],
    ['long', -2n, 'feffffffffffffff'],
    ['long', 9223372036854775807n, 'ffffffffffffff7f'],
    ['time', 81068000000n, '008307e012000000'], // 22:31:08
    ['timestamp', 1510871468000000n, '00c3262d215e0500'], // 2017-11-16T22:31:08
    ['timestamptz', -1n, 'ffffffffffffffff'],
    ['float', 1, '0000803f'],
    ['float', -0, '00000080'],
    ['double', 1, '000000000000f03f'],
    ['double', -0, '0000000000000080'],
    ['double', 0, '0000000000000000'],
    ['string', 'iceberg', '69636562657267'],
    ['string', 'é😀', 'c3a9f09f9880'],
    ['string', '', ''],
    ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09677c4bbda4793f349cb785e7'],
    ['fixed[3]', bytes('00ff10'), '00ff10'],
    ['binary', bytes('00010203'), '00010203'],
    ['decimal(4, 2)', 1420n, '058c'], // 14.20
    ['decimal(9, 2)', 0n, '00'],
    ['decimal(9, 2)', 127n, '7f'],
    ['decimal(9, 2)', 128n, '0080'],
    ['decimal(9, 2)', 255n, '00ff'],
    ['decimal(9, 2)', -1n, 'ff'],
    ['decimal(9, 2)', -128n, '80'],
    ['decimal(9, 2)', -129n, 'ff7f'],
    ['decimal(9, 2)', -1420n, 'fa74'],
    ['decimal(9, 2)', -32768n, '8000'],
    ['decimal(9, 2)', -32769n, 'ff7fff'],
    ['decimal(38, 0)', 10n ** 37n, '0785ee10d5da46d900f436a000000000'],
  ];
  for (const [type, value, expected] of cases) {
    it(`${type} ${String(value)}`, () => {
      expect(hex(toBytes(type, value))).toBe(expected);
      const back = fromBytes(type, bytes(expected));
      if (Object.is(value, -0)) expect(Object.is(back, -0)).toBe(true);
      else expect(back).toEqual(value);
    });
  }

  it('accepts safe integer numbers for long-like types', () => {
    expect(hex(toBytes('long', 34))).toBe('2200000000000000');
  });

  it('reads from a view with an offset', () => {
    const buf = bytes('aa22000000bb');
    expect(fromBytes('int', buf.subarray(1, 5))).toBe(34);
  });

  it('rejects wrong values and lengths', () => {
    expect(() => toBytes('int', 2 ** 31)).toThrow(IcebergError);
    expect(() => toBytes('int', 1.5)).toThrow('expected an integer');
    expect(() => toBytes('long', 'x')).toThrow('expected a bigint');
    expect(() => toBytes('uuid', 'nope')).toThrow('invalid uuid "nope"');
    expect(() => toBytes('fixed[2]', bytes('00'))).toThrow('expected 2 bytes');
    expect(() => fromBytes('long', bytes('00'))).toThrow('long needs 8 bytes, got 1');
  });

  it('uppercase uuid reads back lowercase', () => {
    const b = toBytes('uuid', 'F79C3E09-677C-4BBD-A479-3F349CB785E7');
    expect(fromBytes('uuid', b)).toBe('f79c3e09-677c-4bbd-a479-3f349cb785e7');
  });
});

describe('compareValues', () => {
  it('orders numbers, -0.0 before +0.0 and NaN last', () => {
    expect(compareValues('double', -0, 0)).toBe(-1);
    expect(compareValues('double', 0, -0)).toBe(1);
    expect(compareValues('float', -0, -0)).toBe(0);
    expect(compareValues('double', Number.NaN, Number.POSITIVE_INFINITY)).toBe(1);
    expect(compareValues('double', Number.NaN, Number.NaN)).toBe(0);
    expect(compareValues('int', -5, 3)).toBe(-1);
    expect(compareValues('date', 3, 3)).toBe(0);
    expect(compareValues('boolean', false, true)).toBe(-1);
  });

  it('orders long-like and decimals by value', () => {
    expect(compareValues('long', -(2n ** 63n), 2n ** 63n - 1n)).toBe(-1);
    expect(compareValues('timestamp', 5n, 4n)).toBe(1);
    expect(compareValues('decimal(9, 2)', -1420n, 1n)).toBe(-1);
  });

  it('orders strings by code point, not UTF-16 unit', () => {
    // U+FFFD is one unit 0xFFFD; U+1F600 is 0xD83D 0xDE00: UTF-16 order would be reversed.
    expect(compareValues('string', '\uFFFD', '😀')).toBe(-1);
    expect(compareValues('string', '😀', '\uFFFD')).toBe(1);
    expect(compareValues('string', 'a', 'ab')).toBe(-1);
    expect(compareValues('string', 'b', 'ab')).toBe(1);
    expect(compareValues('string', 'x', 'x')).toBe(0);
  });

  it('orders binary unsigned and uuid by bytes', () => {
    expect(compareValues('binary', bytes('7f'), bytes('80'))).toBe(-1);
    expect(compareValues('binary', bytes('ff'), bytes('ff00'))).toBe(-1);
    expect(compareValues('fixed[1]', bytes('ff'), bytes('00'))).toBe(1);
    expect(
      compareValues(
        'uuid',
        '7fffffff-ffff-ffff-ffff-ffffffffffff',
        '80000000-0000-0000-0000-000000000000',
      ),
    ).toBe(-1);
  });
});

describe('truncate bounds', () => {
  it('keeps short values unchanged', () => {
    expect(truncateLowerBound('string', 'abc')).toBe('abc');
    expect(truncateUpperBound('string', 'abc')).toBe('abc');
    expect(truncateUpperBound('string', 'a'.repeat(16))).toBe('a'.repeat(16));
    expect(hex(truncateUpperBound('binary', bytes('ffff')) as Uint8Array)).toBe('ffff');
  });

  it('truncates strings by code points', () => {
    const s = `${'😀'.repeat(16)}z`;
    expect(truncateLowerBound('string', s)).toBe('😀'.repeat(16));
    expect(truncateUpperBound('string', s)).toBe(`${'😀'.repeat(15)}😁`);
    expect(truncateLowerBound('string', 'abcdef', 3)).toBe('abc');
    expect(truncateUpperBound('string', 'abcdef', 3)).toBe('abd');
  });

  it('skips surrogates and carries left on overflow', () => {
    expect(truncateUpperBound('string', 'a\uD7FFzz', 2)).toBe('a\uE000');
    expect(truncateUpperBound('string', 'a\u{10FFFF}zz', 2)).toBe('b');
    expect(truncateUpperBound('string', '\u{10FFFF}\u{10FFFF}z', 2)).toBeUndefined();
  });

  it('truncates binary by bytes with carry', () => {
    expect(hex(truncateLowerBound('binary', bytes('0102030405'), 3) as Uint8Array)).toBe('010203');
    expect(hex(truncateUpperBound('binary', bytes('0102030405'), 3) as Uint8Array)).toBe('010204');
    expect(hex(truncateUpperBound('binary', bytes('01ffff05'), 3) as Uint8Array)).toBe('02');
    expect(truncateUpperBound('binary', bytes('ffffff05'), 3)).toBeUndefined();
  });

  it('leaves other types alone', () => {
    const f = bytes('00'.repeat(20));
    expect(truncateUpperBound('fixed[20]', f)).toBe(f);
    expect(truncateLowerBound('long', 5n)).toBe(5n);
  });
});
