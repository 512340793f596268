import { describe, expect, it } from 'vitest';
import { IcebergError } from '../../src/errors.ts';
import { murmur3x86_32 } from '../../src/spec/murmur3.ts';
import {
  applyTransform,
  canTransform,
  humanPartitionValue,
  parseTransform,
  type Transform,
  transformResultType,
  transformToString,
} from '../../src/spec/transforms.ts';
import type { PrimitiveType } from '../../src/spec/types.ts';
import { toBytes } from '../../src/spec/values.ts';

const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const hex = (b: unknown): string => Buffer.from(b as Uint8Array).toString('hex');
const DAY_2017_11_16 = 17486;
const TS_2017_11_16_223108 = 1510871468000000n;

/** Hash as the bucket transform hashes: the bucket of N = 2^31 - 1 keeps (hash & MAX) % MAX. */
function specHash(type: PrimitiveType, value: unknown): number {
  const t = parseTransform('bucket[2147483647]');
  const bucket = applyTransform(t, type, value) as number;
  return bucket;
}

describe('murmur3x86_32', () => {
  it('hashes every length of tail', () => {
    expect(murmur3x86_32(new Uint8Array(0))).toBe(0);
    expect(murmur3x86_32(bytes('00010203'))).toBe(-188683207);
    expect(murmur3x86_32(new TextEncoder().encode('iceberg'))).toBe(1210000089);
    expect(murmur3x86_32(new TextEncoder().encode('hello'))).toBe(613153351);
    expect(murmur3x86_32(bytes('01'), 1)).not.toBe(murmur3x86_32(bytes('01'), 0));
  });

  it('matches every Appendix B vector', () => {
    const h = (type: PrimitiveType, v: unknown): number =>
      murmur3x86_32(type === 'int' ? toBytes('long', BigInt(v as number)) : toBytes(type, v));
    expect(h('int', 34)).toBe(2017239379);
    expect(h('long', 34n)).toBe(2017239379);
    expect(murmur3x86_32(bytes('058c'))).toBe(-500754589); // decimal 14.20
    expect(murmur3x86_32(toBytes('long', BigInt(DAY_2017_11_16)))).toBe(-653330422);
    expect(h('time', 81068000000n)).toBe(-662762989);
    expect(h('timestamp', TS_2017_11_16_223108)).toBe(-2047944441);
    expect(h('timestamptz', TS_2017_11_16_223108)).toBe(-2047944441);
    expect(h('timestamp', TS_2017_11_16_223108 + 1n)).toBe(-1207196810);
    expect(h('string', 'iceberg')).toBe(1210000089);
    expect(h('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7')).toBe(1488055340);
    expect(h('binary', bytes('00010203'))).toBe(-188683207);
  });
});

describe('bucket transform', () => {
  it('hashes each source type as Appendix B requires', () => {
    const pos = (x: number): number => (x & 0x7fffffff) % 2147483647;
    expect(specHash('int', 34)).toBe(pos(2017239379));
    expect(specHash('long', 34n)).toBe(pos(2017239379));
    expect(specHash('decimal(4, 2)', 1420n)).toBe(pos(-500754589));
    expect(specHash('date', DAY_2017_11_16)).toBe(pos(-653330422));
    expect(specHash('time', 81068000000n)).toBe(pos(-662762989));
    expect(specHash('timestamptz', TS_2017_11_16_223108)).toBe(pos(-2047944441));
    expect(specHash('string', 'iceberg')).toBe(pos(1210000089));
    expect(specHash('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7')).toBe(pos(1488055340));
    expect(specHash('fixed[4]', bytes('00010203'))).toBe(pos(-188683207));
  });

  it('bucket[16](34) = 3', () => {
    expect(applyTransform({ kind: 'bucket', n: 16 }, 'int', 34)).toBe(3);
    expect(applyTransform({ kind: 'bucket', n: 16 }, 'long', 34n)).toBe(3);
  });
});

describe('truncate transform (spec examples)', () => {
  const t10: Transform = { kind: 'truncate', width: 10 };
  it('ints and longs floor toward negative infinity', () => {
    expect(applyTransform(t10, 'int', 1)).toBe(0);
    expect(applyTransform(t10, 'int', -1)).toBe(-10);
    expect(applyTransform(t10, 'int', 10)).toBe(10);
    expect(applyTransform(t10, 'long', 1n)).toBe(0n);
    expect(applyTransform(t10, 'long', -1n)).toBe(-10n);
  });
  it('decimals on the unscaled value', () => {
    expect(applyTransform({ kind: 'truncate', width: 50 }, 'decimal(9, 2)', 1065n)).toBe(1050n);
    expect(applyTransform({ kind: 'truncate', width: 50 }, 'decimal(9, 2)', -1n)).toBe(-50n);
  });
  it('strings by code points, binary by bytes', () => {
    expect(applyTransform({ kind: 'truncate', width: 3 }, 'string', 'iceberg')).toBe('ice');
    expect(applyTransform({ kind: 'truncate', width: 2 }, 'string', '😀😁😂')).toBe('😀😁');
    expect(hex(applyTransform({ kind: 'truncate', width: 3 }, 'binary', bytes('0102030405')))).toBe(
      '010203',
    );
  });
});

describe('date/time transforms', () => {
  const y: Transform = { kind: 'year' };
  const m: Transform = { kind: 'month' };
  const d: Transform = { kind: 'day' };
  const h: Transform = { kind: 'hour' };
  it('count whole units since 1970', () => {
    expect(applyTransform(y, 'date', DAY_2017_11_16)).toBe(47);
    expect(applyTransform(m, 'date', DAY_2017_11_16)).toBe(47 * 12 + 10);
    expect(applyTransform(d, 'date', DAY_2017_11_16)).toBe(DAY_2017_11_16);
    expect(applyTransform(y, 'timestamp', TS_2017_11_16_223108)).toBe(47);
    expect(applyTransform(m, 'timestamptz', TS_2017_11_16_223108)).toBe(574);
    expect(applyTransform(d, 'timestamp', TS_2017_11_16_223108)).toBe(DAY_2017_11_16);
    expect(applyTransform(h, 'timestamp', TS_2017_11_16_223108)).toBe(DAY_2017_11_16 * 24 + 22);
  });
  it('floor negative values', () => {
    expect(applyTransform(y, 'date', -1)).toBe(-1);
    expect(applyTransform(m, 'date', -1)).toBe(-1);
    expect(applyTransform(y, 'date', -365)).toBe(-1); // 1969-01-01
    expect(applyTransform(y, 'date', -366)).toBe(-2); // 1968-12-31
    expect(applyTransform(d, 'timestamp', -1n)).toBe(-1);
    expect(applyTransform(h, 'timestamp', -1n)).toBe(-1);
    expect(applyTransform(h, 'timestamp', -3_600_000_000n)).toBe(-1);
    expect(applyTransform(h, 'timestamp', -3_600_000_001n)).toBe(-2);
    expect(applyTransform(y, 'timestamptz', -1n)).toBe(-1);
    expect(applyTransform(m, 'timestamptz', -1n)).toBe(-1);
    expect(applyTransform(d, 'timestamp', -86_400_000_000n)).toBe(-1);
  });
  it('null in, null out; void always null', () => {
    expect(applyTransform(d, 'date', null)).toBeNull();
    expect(applyTransform({ kind: 'bucket', n: 4 }, 'int', undefined)).toBeNull();
    expect(applyTransform({ kind: 'void' }, 'int', 5)).toBeNull();
    expect(applyTransform({ kind: 'identity' }, 'int', 5)).toBe(5);
  });
});

describe('parse, types, applicability', () => {
  it('round-trips strings', () => {
    for (const s of [
      'identity',
      'bucket[16]',
      'truncate[4]',
      'year',
      'month',
      'day',
      'hour',
      'void',
    ]) {
      expect(transformToString(parseTransform(s))).toBe(s);
    }
    expect(parseTransform('bucket[16]')).toEqual({ kind: 'bucket', n: 16 });
    expect(parseTransform('truncate[4]')).toEqual({ kind: 'truncate', width: 4 });
  });
  it('rejects unknown transforms naming them', () => {
    expect(() => parseTransform('bucket[x]')).toThrow('unknown transform "bucket[x]"');
    expect(() => parseTransform('weekly')).toThrow(IcebergError);
    expect(() => parseTransform('bucket[0]')).toThrow('invalid transform "bucket[0]"');
  });
  it('knows result types and source types', () => {
    expect(transformResultType({ kind: 'bucket', n: 2 }, 'string')).toBe('int');
    expect(transformResultType({ kind: 'day' }, 'timestamptz')).toBe('date');
    expect(transformResultType({ kind: 'hour' }, 'timestamp')).toBe('int');
    expect(transformResultType({ kind: 'truncate', width: 2 }, 'decimal(9, 2)')).toBe(
      'decimal(9, 2)',
    );
    expect(canTransform({ kind: 'bucket', n: 2 }, 'double')).toBe(false);
    expect(canTransform({ kind: 'bucket', n: 2 }, 'uuid')).toBe(true);
    expect(canTransform({ kind: 'hour' }, 'date')).toBe(false);
    expect(canTransform({ kind: 'truncate', width: 2 }, 'fixed[4]')).toBe(false);
    expect(canTransform({ kind: 'day' }, 'timestamptz')).toBe(true);
    expect(() => applyTransform({ kind: 'hour' }, 'date', 1)).toThrow(
      'transform hour cannot apply to type date',
    );
  });
});

describe('humanPartitionValue', () => {
  it('formats time units as Java does in paths', () => {
    expect(humanPartitionValue({ kind: 'year' }, 'int', 54)).toBe('2024');
    expect(humanPartitionValue({ kind: 'month' }, 'int', 54 * 12)).toBe('2024-01');
    expect(humanPartitionValue({ kind: 'month' }, 'int', -1)).toBe('1969-12');
    expect(humanPartitionValue({ kind: 'day' }, 'date', 19723)).toBe('2024-01-01');
    expect(humanPartitionValue({ kind: 'hour' }, 'int', 19723 * 24 + 10)).toBe('2024-01-01-10');
    expect(humanPartitionValue({ kind: 'hour' }, 'int', -1)).toBe('1969-12-31-23');
    expect(humanPartitionValue({ kind: 'day' }, 'date', null)).toBe('null');
  });
  it('formats identity values by type', () => {
    const id: Transform = { kind: 'identity' };
    expect(humanPartitionValue(id, 'string', 'a/b')).toBe('a/b');
    expect(humanPartitionValue(id, 'long', 3055729675574597004n)).toBe('3055729675574597004');
    expect(humanPartitionValue(id, 'boolean', true)).toBe('true');
    expect(humanPartitionValue(id, 'date', -1)).toBe('1969-12-31');
    expect(humanPartitionValue(id, 'timestamp', TS_2017_11_16_223108)).toBe('2017-11-16T22:31:08');
    expect(humanPartitionValue(id, 'timestamp', TS_2017_11_16_223108 + 1n)).toBe(
      '2017-11-16T22:31:08.000001',
    );
    expect(humanPartitionValue(id, 'timestamptz', -1n)).toBe('1969-12-31T23:59:59.999999+00:00');
    expect(humanPartitionValue(id, 'time', 36_000_000_000n)).toBe('10:00');
    expect(humanPartitionValue(id, 'time', 81068000000n)).toBe('22:31:08');
    expect(humanPartitionValue(id, 'time', 81068500000n)).toBe('22:31:08.500');
    expect(humanPartitionValue(id, 'decimal(9, 2)', 1420n)).toBe('14.20');
    expect(humanPartitionValue(id, 'decimal(9, 2)', -5n)).toBe('-0.05');
    expect(humanPartitionValue(id, 'binary', bytes('00010203'))).toBe('AAECAw==');
    expect(humanPartitionValue(id, 'double', 1)).toBe('1.0');
    expect(humanPartitionValue(id, 'double', 1e10)).toBe('1.0E10');
    expect(humanPartitionValue(id, 'float', Math.fround(0.1))).toBe('0.1');
    expect(humanPartitionValue({ kind: 'bucket', n: 16 }, 'int', 3)).toBe('3');
  });
});
