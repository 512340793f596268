import { expect, test } from 'vitest';
import { KiceError } from '../../src/errors.ts';
import { hintFor, parseHints } from '../../src/schema/hints.ts';

test('parseHints canonicalizes types and hintFor looks paths up exactly', () => {
  const h = parseHints({ ts: 'timestamptz', 'o.price': 'decimal(10,2)', 'tags[]': ' uuid ' });
  expect(h).toEqual({ ts: 'timestamptz', 'o.price': 'decimal(10, 2)', 'tags[]': 'uuid' });
  expect(Object.isFrozen(h)).toBe(true);
  expect(hintFor(h, 'o.price')).toBe('decimal(10, 2)');
  expect(hintFor(h, 'price')).toBeUndefined();
  expect(hintFor(h, 'toString')).toBeUndefined();
  expect(hintFor(undefined, 'ts')).toBeUndefined();
});

test('parseHints reports every bad entry at once', () => {
  let err: unknown;
  try {
    parseHints({ a: 'timestamp_tz', 'b..c': 'long', d: 'decimal(40, 2)' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KiceError);
  expect((err as KiceError).code).toBe('CONFIG_INVALID');
  expect((err as KiceError).message).toBe(
    'hints["a"]: unknown primitive type "timestamp_tz"; ' +
      'hints["b..c"]: expected a column path like "a", "a.b" or "tags[]"; ' +
      'hints["d"]: invalid decimal type "decimal(40, 2)": need 1 <= P <= 38 and S <= P',
  );
});
