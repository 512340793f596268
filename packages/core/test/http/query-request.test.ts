import { describe, expect, it } from 'vitest';
import { fieldMessage, formatFor, queryRequest } from '../../src/http/query-routes.ts';

const bad = (body: unknown): string => {
  try {
    queryRequest(body);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('POST /query body', () => {
  it('takes table, select, where (text or JSON), asOf and limit', () => {
    expect(
      queryRequest({
        table: 'a.b',
        select: ['x'],
        where: 'x = 1',
        limit: 5,
        asOf: { snapshotId: 12 },
      }),
    ).toEqual({
      table: 'a.b',
      options: {
        select: ['x'],
        where: { op: 'eq', ref: 'x', value: 1 },
        limit: 5,
        asOf: { snapshotId: '12' },
      },
    });
    expect(
      queryRequest({ table: 'a.b', where: { op: 'isNull', ref: 'y' }, asOf: { timestampMs: 7 } }),
    ).toEqual({
      table: 'a.b',
      options: { where: { op: 'isNull', ref: 'y' }, asOf: { timestampMs: 7 } },
    });
    expect(
      queryRequest({ table: 'a.b', asOf: { snapshotId: 9223372036854775807n } }).options,
    ).toEqual({
      asOf: { snapshotId: '9223372036854775807' },
    });
  });

  it('names the field of every problem', () => {
    expect(bad([])).toBe('body: expected a JSON object {"table": …}');
    expect(bad({})).toBe('table: expected a table name "namespace.name"');
    expect(bad({ table: 'a.b', Select: [] })).toBe(
      'Select: unknown field (fields: table, select, where, asOf, limit)',
    );
    expect(bad({ table: 'a.b', select: 'x' })).toBe(
      'select: expected a non-empty array of column names',
    );
    expect(bad({ table: 'a.b', where: 'x ==' })).toBe(
      "where: expected a value after '=' at 3, got '='",
    );
    expect(bad({ table: 'a.b', where: { op: 'eq', ref: 'x' } })).toBe(
      'where.value: missing (op "eq")',
    );
    expect(bad({ table: 'a.b', limit: 1.5 })).toBe(
      'limit: expected an integer from 0 to 2147483647, got "1.5"',
    );
    expect(bad({ table: 'a.b', limit: 9007199254740993n })).toBe(
      'limit: expected an integer from 0 to 2147483647, got "9007199254740993"',
    );
    expect(bad({ table: 'a.b', asOf: {} })).toBe(
      'asOf: expected exactly one of snapshotId, timestampMs',
    );
    expect(bad({ table: 'a.b', asOf: { snapshot: 1 } })).toBe(
      'asOf.snapshot: unknown field (fields: snapshotId, timestampMs)',
    );
    expect(bad({ table: 'a.b', asOf: { snapshotId: 'x' } })).toBe(
      'asOf.snapshotId: expected an integer (a number or its digits as a string)',
    );
    expect(bad({ table: 'a.b', asOf: { timestampMs: -1 } })).toBe(
      'asOf.timestampMs: expected milliseconds since the epoch (a non-negative integer)',
    );
  });

  it('maps engine.query errors to the field', () => {
    expect(fieldMessage('query: unknown table "a.x" (no configured topic routes to it)')).toEqual({
      status: 400,
      error: 'table: unknown table "a.x" (no configured topic routes to it)',
    });
    expect(fieldMessage('query a.b: select: no column named "q"')).toEqual({
      status: 400,
      error: 'select: no column named "q"',
    });
    expect(fieldMessage('query a.b: filter references unknown column "q"')).toEqual({
      status: 400,
      error: 'where: filter references unknown column "q"',
    });
    expect(fieldMessage('query a.b: snapshot 5 not found')).toEqual({
      status: 400,
      error: 'asOf: snapshot 5 not found',
    });
    expect(fieldMessage('query a.b: asOf: the table has no snapshots yet')).toEqual({
      status: 400,
      error: 'asOf: the table has no snapshots yet',
    });
    expect(fieldMessage('query a.b: the engine is stopping')).toEqual({
      status: 503,
      error: 'the engine is stopping',
    });
  });
});

describe('Accept', () => {
  it('picks the first type served; none or */* is JSON; others undefined (406)', () => {
    expect(formatFor(undefined)).toBe('json');
    expect(formatFor('*/*')).toBe('json');
    expect(formatFor('text/html, application/x-ndjson;q=0.9')).toBe('ndjson');
    expect(formatFor('Application/Vnd.Apache.Arrow.Stream')).toBe('arrow');
    expect(formatFor('text/csv')).toBeUndefined();
  });
});

describe('hostile bodies', () => {
  it('random JSON values never crash: a query or an error naming a field', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const keys = [
      'table',
      'select',
      'where',
      'asOf',
      'limit',
      'op',
      'ref',
      'value',
      'values',
      'left',
      'right',
      'child',
      'snapshotId',
      'timestampMs',
      '__proto__',
      'x',
    ];
    const ops = ['and', 'or', 'not', 'eq', 'in', 'isNull', 'true', 'gt', 'bogus'];
    const value = (depth: number): unknown => {
      switch (rnd(depth > 4 ? 6 : 9)) {
        case 0:
          return null;
        case 1:
          return rnd(2) === 0;
        case 2:
          return rnd(1000) - 500;
        case 3:
          return ops[rnd(ops.length)];
        case 4:
          return 'id > 5 AND (';
        case 5:
          return 9007199254740993n;
        case 6:
          return Array.from({ length: rnd(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(
            Array.from({ length: rnd(5) }, () => [keys[rnd(keys.length)], value(depth + 1)]),
          );
      }
    };
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const body = rnd(3) === 0 ? value(0) : { table: 'a.b', ...(value(1) as object) };
      try {
        queryRequest(body);
        ok++;
      } catch (e) {
        expect((e as Error).message).toMatch(
          /^(body|table|select|where|asOf|limit|[\w$]+)(\.[\w$[\]]+)*: /,
        );
        refused++;
      }
    }
    expect(ok + refused).toBe(5000);
    expect(ok).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
