import { describe, expect, it } from 'vitest';
import { checkExprJson, parseWhere, whereOf } from '../../src/query/where.ts';

const err = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect((e as { code?: string }).code).toBe('QUERY_INVALID');
    return (e as Error).message;
  }
  throw new Error('no error');
};

describe('parseWhere', () => {
  it('parses the issue example with AND precedence over OR and nested names', () => {
    expect(parseWhere("id > 5 AND kind IN ('a', 'b') AND user.tier IS NULL")).toEqual({
      op: 'and',
      left: {
        op: 'and',
        left: { op: 'gt', ref: 'id', value: 5 },
        right: { op: 'in', ref: 'kind', values: ['a', 'b'] },
      },
      right: { op: 'isNull', ref: 'user.tier' },
    });
    expect(parseWhere('a = 1 or b = 2 and c = 3')).toEqual({
      op: 'or',
      left: { op: 'eq', ref: 'a', value: 1 },
      right: {
        op: 'and',
        left: { op: 'eq', ref: 'b', value: 2 },
        right: { op: 'eq', ref: 'c', value: 3 },
      },
    });
    expect(parseWhere('(a = 1 OR b = 2) AND NOT c <> 3')).toEqual({
      op: 'and',
      left: {
        op: 'or',
        left: { op: 'eq', ref: 'a', value: 1 },
        right: { op: 'eq', ref: 'b', value: 2 },
      },
      right: { op: 'not', child: { op: 'notEq', ref: 'c', value: 3 } },
    });
  });

  it('reads every comparison, NOT IN, IS NOT NULL, quoted names, literals exactly', () => {
    expect(parseWhere('a != 1')).toEqual({ op: 'notEq', ref: 'a', value: 1 });
    expect(parseWhere('a<=-2')).toEqual({ op: 'ltEq', ref: 'a', value: -2 });
    expect(parseWhere('a >= 1.5')).toEqual({ op: 'gtEq', ref: 'a', value: 1.5 });
    expect(parseWhere('a < 0.1')).toEqual({ op: 'lt', ref: 'a', value: 0.1 });
    expect(parseWhere('a = 9007199254740993')).toEqual({
      op: 'eq',
      ref: 'a',
      value: 9007199254740993n,
    });
    expect(parseWhere('a = -9223372036854775808')).toEqual({
      op: 'eq',
      ref: 'a',
      value: -9223372036854775808n,
    });
    expect(parseWhere('a = 12345678901234567890.123456789')).toEqual({
      op: 'eq',
      ref: 'a',
      value: '12345678901234567890.123456789',
    });
    expect(parseWhere("s = 'it''s'")).toEqual({ op: 'eq', ref: 's', value: "it's" });
    expect(parseWhere('b = TRUE AND c = false')).toEqual({
      op: 'and',
      left: { op: 'eq', ref: 'b', value: true },
      right: { op: 'eq', ref: 'c', value: false },
    });
    expect(parseWhere('"weird name"."x""y" not in (1, 2)')).toEqual({
      op: 'notIn',
      ref: 'weird name.x"y',
      values: [1, 2],
    });
    expect(parseWhere('x IS NOT NULL')).toEqual({ op: 'notNull', ref: 'x' });
    expect(parseWhere("ts >= TIMESTAMP '2024-01-02T03:04:05.123456Z'")).toEqual({
      op: 'gtEq',
      ref: 'ts',
      value: '2024-01-02T03:04:05.123456Z',
    });
    expect(parseWhere("d = date '2024-02-29'")).toEqual({
      op: 'eq',
      ref: 'd',
      value: '2024-02-29',
    });
    expect(parseWhere('true')).toEqual({ op: 'true' });
  });

  it('names the position and the token of a bad where', () => {
    expect(err(() => parseWhere('id > '))).toBe(
      "where: expected a value after '>' at 5, got the end",
    );
    expect(err(() => parseWhere('id > AND x = 1'))).toBe(
      "where: expected a value after '>' at 5, got 'AND'",
    );
    expect(err(() => parseWhere('id = 1 x'))).toBe(
      "where: expected AND, OR or the end at 7, got 'x'",
    );
    expect(err(() => parseWhere("s = 'abc"))).toBe('where: unterminated string starting at 4');
    expect(err(() => parseWhere('a = 1 ; drop'))).toBe('where: unexpected character ";" at 6');
    expect(err(() => parseWhere('a = null'))).toBe(
      'where: null is not a value to compare with at 4 (use IS NULL / IS NOT NULL)',
    );
    expect(err(() => parseWhere('a IS 5'))).toBe("where: expected NULL after 'IS' at 5, got '5'");
    expect(err(() => parseWhere('a IN (1,'))).toBe(
      "where: expected a value after ',' at 8, got the end",
    );
    expect(err(() => parseWhere('(a = 1'))).toBe("where: expected ')' at 6, got the end");
    expect(err(() => parseWhere('a'))).toBe(
      'where: expected a comparison (=, !=, <, <=, >, >=, IN, IS NULL) after a at 1, got the end',
    );
    expect(err(() => parseWhere("t = TIMESTAMP 'yesterday'"))).toBe(
      "where: TIMESTAMP 'yesterday' at 14 is not an ISO 8601 timestamp",
    );
    expect(err(() => parseWhere('a = 12abc'))).toBe("where: malformed number '12a' at 4");
    expect(err(() => parseWhere('  '))).toBe('where: empty (leave it out to read every row)');
    expect(err(() => parseWhere(`${'('.repeat(100)}a=1${')'.repeat(100)}`))).toMatch(
      /^where: nested deeper than 64 at \d+$/,
    );
  });

  it('never crashes on hostile text: parses or a QUERY_INVALID where: error', () => {
    const alphabet = [
      ...'abAZ_ ."\'()=<>!,-019eE\t\n;\\\u0000é😀',
      'AND',
      'OR',
      'NOT',
      'IN',
      'IS',
      'NULL',
      'TIMESTAMP',
      ' ',
    ];
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const len = rnd(30);
      for (let k = 0; k < len; k++) s += alphabet[rnd(alphabet.length)];
      try {
        parseWhere(s);
        parsed++;
      } catch (e) {
        expect((e as { code?: string }).code).toBe('QUERY_INVALID');
        expect((e as Error).message).toMatch(/^where: /);
        refused++;
      }
    }
    expect(parsed + refused).toBe(5000);
    expect(refused).toBeGreaterThan(0);
  });
});

describe('expression JSON', () => {
  it('accepts the tree as @kice/iceberg builds it', () => {
    const e = {
      op: 'and',
      left: { op: 'gt', ref: 'id', value: 5 },
      right: { op: 'not', child: { op: 'in', ref: 'k', values: ['a', 9007199254740993n] } },
    };
    expect(whereOf(e)).toEqual(e);
    expect(whereOf('id = 1')).toEqual({ op: 'eq', ref: 'id', value: 1 });
  });

  it('names the JSON path of what is wrong', () => {
    expect(err(() => checkExprJson({ op: 'and', left: { op: 'gt', ref: 'a', value: 1 } }))).toBe(
      'where.right: missing (op "and")',
    );
    expect(
      err(() =>
        checkExprJson({ op: 'or', left: { op: 'eq', ref: 'a', value: {} }, right: { op: 'true' } }),
      ),
    ).toBe('where.left.value: expected a number, string or boolean, got an object');
    expect(err(() => checkExprJson({ op: 'like', ref: 'a' }))).toMatch(
      /^where\.op: expected one of true, false, and, or, not, isNull, notNull, eq, .* got "like"$/,
    );
    expect(err(() => checkExprJson({ op: 'isNull', ref: 'a', value: 1 }))).toBe(
      'where.value: unknown field for op "isNull" (fields: op, ref)',
    );
    expect(err(() => checkExprJson({ op: 'in', ref: 'a', values: [] }))).toBe(
      'where.values: expected an array of 1 to 10000 values',
    );
    expect(err(() => checkExprJson({ op: 'in', ref: 'a', values: [1, null] }))).toBe(
      'where.values[1]: expected a number, string or boolean, got null',
    );
    expect(err(() => checkExprJson(5))).toBe(
      'where: expected an expression object or a where string, got 5',
    );
  });
});
