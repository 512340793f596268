import { describe, expect, test } from 'vitest';
import {
  daysFromCivil,
  parseBase64,
  parseDate,
  parseDecimal,
  parseTime,
  parseTimestamp,
  writeDecimal128,
  writeUuid,
} from '../../src/decode/values.ts';

describe('parseTimestamp', () => {
  test.each([
    ['1970-01-01T00:00:00Z', 0],
    ['2024-03-10T12:34:56.123456Z', 1710074096123456],
    ['2024-03-10T12:34:56.1Z', 1710074096100000],
    ['2024-03-10T12:34:56.123456789Z', 1710074096123456],
    ['2024-03-10 12:34:56.123456+02:00', 1710066896123456],
    ['2024-03-10T12:34:56-0130', 1710079496000000],
    ['2024-03-10T12:34Z', 1710074040000000],
    ['1969-12-31T23:59:59.999999Z', -1],
    ['1900-01-01T00:00:00Z', -2208988800000000],
    ['2024-02-29T00:00:00Z', 1709164800000000],
  ])('%s → %d µs', (s, us) => {
    expect(parseTimestamp(s, 'required')).toBe(us);
  });

  test('beyond 2^53 µs gives an exact bigint', () => {
    expect(parseTimestamp('9999-12-31T23:59:59.999999Z', 'required')).toBe(253402300799999999n);
  });

  test('zone rules and invalid texts', () => {
    expect(parseTimestamp('2024-03-10T12:34:56', 'required')).toBeUndefined();
    expect(parseTimestamp('2024-03-10T12:34:56', 'optional')).toBe(1710074096000000);
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2024-03-10T24:00:00Z',
      '2024-03-10T12:60:00Z',
      '2024-03-10T12:34:56.Z',
      '2024-03-10T12:34:56.1234567890Z',
      '2024-03-10',
      'yesterday',
    ]) {
      expect(parseTimestamp(bad, 'optional'), bad).toBeUndefined();
    }
  });
});

test('dates and times', () => {
  expect(daysFromCivil(1970, 1, 1)).toBe(0);
  expect(daysFromCivil(1969, 12, 31)).toBe(-1);
  expect(parseDate('2017-11-16')).toBe(17486);
  expect(parseDate('0001-01-01')).toBe(-719162);
  expect(parseDate('2017-11-31')).toBeUndefined();
  expect(parseTime('22:31:08')).toBe(81068000000);
  expect(parseTime('00:00:00.000001')).toBe(1);
  expect(parseTime('25:00:00')).toBeUndefined();
});

describe('parseDecimal', () => {
  test.each([
    ['14.20', 4, 2, 1420n],
    ['-0.5', 10, 2, -50n],
    ['.5', 3, 1, 5n],
    ['1e3', 10, 2, 100000n],
    ['1.50000', 5, 2, 150n],
    ['12345E-2', 5, 2, 12345n],
    ['0', 1, 0, 0n],
    ['-0.00', 3, 2, 0n],
    ['99999999999999999999999999999999999999', 38, 0, 99999999999999999999999999999999999999n],
    ['0.1', 38, 37, 10n ** 36n],
  ])('%s as decimal(%d, %d) → %d', (s, p, sc, v) => {
    expect(parseDecimal(s, p, sc)).toBe(v);
  });

  test('rejections name the reason', () => {
    expect(parseDecimal('1.234', 10, 2)).toBe('has more than 2 fraction digits');
    expect(parseDecimal('1000', 5, 2)).toBe('needs more than 5 digits');
    expect(parseDecimal('1e400', 38, 0)).toBe('needs more than 38 digits');
    expect(parseDecimal('abc', 5, 2)).toBe('not a number');
    expect(parseDecimal('.', 5, 2)).toBe('not a number');
  });
});

test('decimal128, uuid and base64 bytes', () => {
  const out = new Uint8Array(16);
  writeDecimal128(-2n, out, 0);
  expect(Array.from(out)).toEqual(new Array(16).fill(0).map((_, i) => (i === 0 ? 0xfe : 0xff)));
  writeDecimal128(258n, out, 0);
  expect(Array.from(out.subarray(0, 3))).toEqual([2, 1, 0]);
  expect(writeUuid('f79c3e09-677c-4bbd-a479-3f349cb785e7', out, 0)).toBe(true);
  expect(Buffer.from(out).toString('hex')).toBe('f79c3e09677c4bbda4793f349cb785e7');
  expect(writeUuid('f79c3e09677c4bbda4793f349cb785e7', out, 0)).toBe(false);
  expect(Array.from(parseBase64('AAEC') ?? [])).toEqual([0, 1, 2]);
  expect(parseBase64('AAE')).toBeUndefined();
  expect(parseBase64('AA=C')).toBeUndefined();
});
