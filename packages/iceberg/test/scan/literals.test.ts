import { describe, expect, it } from 'vitest';
import { bind, evalRow, gt, isIn } from '../../src/scan/expressions.ts';
import { coerceLiteral } from '../../src/scan/literals.ts';
import type { Schema } from '../../src/spec/types.ts';

describe('filter literals bound to the column type', () => {
  it('converts text and plain numbers exactly', () => {
    expect(coerceLiteral('a', 'long', 5)).toBe(5n);
    expect(coerceLiteral('a', 'long', '9223372036854775807')).toBe(9223372036854775807n);
    expect(coerceLiteral('a', 'decimal(20, 2)', '12.5')).toBe(1250n);
    expect(coerceLiteral('a', 'decimal(38, 10)', '12345678901234567890.123456789')).toBe(
      123456789012345678901234567890n,
    );
    expect(coerceLiteral('a', 'decimal(9, 2)', -0.5)).toBe(-50n);
    expect(coerceLiteral('a', 'decimal(9, 2)', 7n)).toBe(7n); // already unscaled
    expect(coerceLiteral('a', 'timestamptz', '2024-03-01T00:00:01.123456Z')).toBe(
      1709251201123456n,
    );
    expect(coerceLiteral('a', 'timestamptz', '2024-03-01T01:00:01.123456+01:00')).toBe(
      1709251201123456n,
    );
    expect(coerceLiteral('a', 'timestamp', '2024-03-01')).toBe(1709251200000000n);
    expect(coerceLiteral('a', 'date', '1970-01-02')).toBe(1);
    expect(coerceLiteral('a', 'time', '00:00:01.5')).toBe(1_500_000n);
    expect(coerceLiteral('a', 'double', 9007199254740993n)).toBe(9007199254740992);
    expect(coerceLiteral('a', 'uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe(
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    );
    expect(coerceLiteral('a', 'binary', 'hi')).toEqual(new Uint8Array([104, 105]));
  });

  it('refuses a value the column cannot hold, naming column, type and value', () => {
    const msg = (t: Parameters<typeof coerceLiteral>[1], v: unknown) => {
      try {
        coerceLiteral('user.tier', t, v);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(msg('long', 'abc')).toBe('filter column "user.tier" (long): "abc" is not an integer');
    expect(msg('long', 1.5)).toBe('filter column "user.tier" (long): 1.5 is not an integer');
    expect(msg('string', 5)).toBe('filter column "user.tier" (string): 5 is not a string');
    expect(msg('decimal(9, 2)', '1.234')).toBe(
      'filter column "user.tier" (decimal(9, 2)): "1.234" has more than 2 fraction digits',
    );
    expect(msg('timestamptz', '2024-02-30T00:00:00Z')).toBe(
      'filter column "user.tier" (timestamptz): "2024-02-30T00:00:00Z" is not an ISO 8601 timestamp',
    );
    expect(msg('boolean', 'true')).toBe(
      'filter column "user.tier" (boolean): "true" is not a boolean',
    );
  });

  it('bind applies it, so rows compare exactly', () => {
    const schema: Schema = {
      type: 'struct',
      schemaId: 0,
      fields: [
        { id: 1, name: 'id', required: true, type: 'long' },
        { id: 2, name: 'ts', required: false, type: 'timestamptz' },
      ],
    };
    const b = bind(schema, gt('ts', '2024-03-01T00:00:00Z'));
    expect(b).toEqual({ op: 'gt', id: 2, type: 'timestamptz', value: 1709251200000000n });
    expect(evalRow(b, (id) => (id === 2 ? 1709251200000001n : null))).toBe(true);
    const ids = bind(schema, isIn('id', ['9007199254740993', 2]));
    expect(ids).toEqual({ op: 'in', id: 1, type: 'long', values: [9007199254740993n, 2n] });
  });
});
