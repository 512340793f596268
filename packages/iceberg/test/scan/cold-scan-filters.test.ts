import { describe, expect, test } from 'vitest';
import { type ColdScanOptions, coldScan, collectTable } from '../../src/scan/cold-scan.ts';
import {
  and,
  bind,
  type Expr,
  eq,
  evalRow,
  gt,
  gtEq,
  isIn,
  isNull,
  lt,
  ltEq,
  not,
  notEq,
  notIn,
  notNull,
  or,
} from '../../src/scan/expressions.ts';
import { arrowTableToRows } from '../../src/scan/read-parquet.ts';
import { structPaths } from '../../src/scan/table-scan.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';
import { append, tableOf } from './cold-scan-support.ts';

const schema: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    {
      id: 2,
      name: 's',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 3, name: 'a', required: false, type: 'int' },
          { id: 4, name: 'b', required: false, type: 'string' },
        ],
      },
    },
    { id: 5, name: 'f', required: false, type: 'double' },
    { id: 6, name: 'str', required: false, type: 'string' },
    { id: 7, name: 'd', required: false, type: 'date' },
    { id: 8, name: 'ts', required: false, type: 'timestamptz' },
    { id: 9, name: 'dec', required: false, type: 'decimal(9, 2)' },
    { id: 10, name: 'flag', required: false, type: 'boolean' },
    { id: 13, name: 'n', required: false, type: 'long' },
    {
      id: 11,
      name: 'tags',
      required: false,
      type: { type: 'list', 'element-id': 12, element: 'string', 'element-required': false },
    },
  ],
});

const LONGS = [
  -(2n ** 63n),
  -1n,
  0n,
  1n,
  2n ** 32n,
  -(2n ** 32n),
  2n ** 63n - 1n,
  null,
  4294967295n,
];
const FLOATS = [0.5, -0, 0, Number.NaN, 1.5, null, -2.25, 3];
const STRINGS = ['a', 'b', 'é', '\u{1F600}', '\uFFFD', null, 'm', 'zz', ''];

/** 40 rows, ids in order (row groups of 8 rows have disjoint id ranges). */
const ROWS = Array.from({ length: 40 }, (_, i) => ({
  id: BigInt(i),
  s: i % 7 === 3 ? null : { a: i % 5 === 0 ? null : i % 4, b: i % 6 === 0 ? null : `k${i % 3}` },
  f: FLOATS[i % FLOATS.length],
  str: STRINGS[i % STRINGS.length],
  d: i % 10 === 9 ? null : 19000 + (i % 4),
  ts: i % 11 === 10 ? null : 1_700_000_000_000_000n + BigInt(i) * 1_000_000n,
  dec: i % 9 === 8 ? null : BigInt(i * 37 - 400),
  flag: i % 3 === 2 ? null : i % 2 === 0,
  n: LONGS[i % LONGS.length],
  tags: i % 8 === 1 ? null : [`t${i % 2}`, null],
}));

function expected(filter: Expr, select?: readonly string[]): Record<string, unknown>[] {
  const bound = bind(schema, filter);
  const paths = structPaths(schema);
  const value = (row: Record<string, unknown>, id: number): unknown => {
    let cur: unknown = row;
    for (const p of paths.get(id) ?? []) {
      if (cur === null || cur === undefined) return null;
      cur = (cur as Record<string, unknown>)[p];
    }
    return cur;
  };
  return ROWS.filter((r) => evalRow(bound, (id) => value(r, id))).map((r) => {
    if (!select) return r;
    const out: Record<string, unknown> = {};
    for (const n of select) out[n] = r[n as keyof typeof r];
    return out;
  });
}

async function scanned(options: ColdScanOptions) {
  const { table } = await setup;
  const scan = await coldScan(table, options);
  const t = await collectTable(scan.arrowSchema, scan.batches());
  return { rows: arrowTableToRows(scan.schema, t), scan };
}

const setup = (async () => {
  const { io, table } = await tableOf(schema);
  return { io, ...(await append(table, ROWS, 8)) };
})();

const FILTERS: [string, Expr][] = [
  ['id = 5', eq('id', 5n)],
  ['id != 5', notEq('id', 5n)],
  ['id < 3', lt('id', 3n)],
  ['id <= 3', ltEq('id', 3n)],
  ['id > 36', gt('id', 36n)],
  ['id >= 36', gtEq('id', 36n)],
  ['id in (1, 17, 100)', isIn('id', [1n, 17n, 100n])],
  ['id not in (1, 17)', notIn('id', [1n, 17n])],
  ['id = 4 as a number literal', eq('id', 4)],
  ['str is null', isNull('str')],
  ['str is not null', notNull('str')],
  ['str = é', eq('str', 'é')],
  ['str > é (UTF-8 byte order)', gt('str', 'é')],
  ['str < U+1F600 (code point order, not UTF-16)', lt('str', '\u{1F600}')],
  ['str >= U+FFFD', gtEq('str', '\uFFFD')],
  ['str in (a, "", zz)', isIn('str', ['a', '', 'zz'])],
  ['str = "" (empty string)', eq('str', '')],
  ['s.a = 3 (nested)', eq('s.a', 3)],
  ['s.a is null (null struct or null field)', isNull('s.a')],
  ['s.a is not null', notNull('s.a')],
  ['s.b < k1', lt('s.b', 'k1')],
  ['s.b not in (k0)', notIn('s.b', ['k0'])],
  ['f = NaN', eq('f', Number.NaN)],
  ['f != NaN', notEq('f', Number.NaN)],
  ['f in (NaN, 1.5)', isIn('f', [Number.NaN, 1.5])],
  ['f < 0.5', lt('f', 0.5)],
  ['f = -0', eq('f', -0)],
  ['f = 0', eq('f', 0)],
  ['f >= 0', gtEq('f', 0)],
  ['f != 3', notEq('f', 3)],
  ['n < 0 (64-bit halves: sign)', lt('n', 0n)],
  ['n = -1', eq('n', -1n)],
  ['n > 2^32 - 1 (high half)', gt('n', 2n ** 32n - 1n)],
  ['n <= 4294967295 (low half unsigned)', ltEq('n', 4294967295n)],
  ['n >= 2^63 (beyond the long range)', gtEq('n', 2n ** 63n)],
  ['n > -2^64 (beyond the long range)', gt('n', -(2n ** 64n))],
  ['n in (-2^63, 2^63 - 1)', isIn('n', [-(2n ** 63n), 2n ** 63n - 1n])],
  ['d = 19001', eq('d', 19001)],
  ['d > 19001', gt('d', 19001)],
  ['ts >= 1700000025000000', gtEq('ts', 1_700_000_025_000_000n)],
  ['ts < 1700000003000000', lt('ts', 1_700_000_003_000_000n)],
  ['dec < 0', lt('dec', 0n)],
  ['dec = 451', eq('dec', 451n)],
  ['dec in (-400, 1043)', isIn('dec', [-400n, 1043n])],
  ['flag = true', eq('flag', true)],
  ['flag != true', notEq('flag', true)],
  ['not (id = 5)', not(eq('id', 5n))],
  ['not (s.a = 1)', not(eq('s.a', 1))],
  ['id > 10 and id < 20', and(gt('id', 10n), lt('id', 20n))],
  ['str = b or s.a = 1', or(eq('str', 'b'), eq('s.a', 1))],
  ['not (f < 1 or str is null)', not(or(lt('f', 1), isNull('str')))],
  ['id = 1000 (no row)', eq('id', 1000n)],
];

describe('coldScan returns exactly the rows the row evaluator selects', () => {
  test.each(FILTERS)('%s', async (_name, filter) => {
    const { rows } = await scanned({ filter });
    expect(rows).toEqual(expected(filter));
  });

  test('the filter columns need not be selected; select order is kept', async () => {
    const filter = and(gtEq('id', 20n), isNull('s.a'));
    const { rows } = await scanned({ filter, select: ['str', 'id'] });
    expect(rows).toEqual(expected(filter, ['str', 'id']));
    expect(rows.map((r) => Object.keys(r))).toEqual(rows.map(() => ['str', 'id']));
  });

  test('a nested field selected alone comes back inside its pruned struct', async () => {
    const { rows, scan } = await scanned({ filter: lt('id', 5n), select: ['s.b', 'id'] });
    expect(scan.schema.fields.map((f) => f.name)).toEqual(['s', 'id']);
    expect(rows).toEqual(
      ROWS.slice(0, 5).map((r) => ({ s: r.s === null ? null : { b: r.s.b }, id: r.id })),
    );
  });

  test('limit stops after that many rows, in file order', async () => {
    const filter = notNull('str');
    const { rows, scan } = await scanned({ filter, limit: 7 });
    expect(rows).toEqual(expected(filter).slice(0, 7));
    expect(scan.stats.rowsReturned).toBe(7);
    // 7 matching rows are in the first two row groups: the rest are never read.
    expect(scan.stats.rowGroupsRead).toBe(2);
  });

  test('an empty select counts the matching rows; limit 0 reads nothing', async () => {
    const { table } = await setup;
    const scan = await coldScan(table, { filter: lt('id', 10n), select: [] });
    const t = await collectTable(scan.arrowSchema, scan.batches());
    expect(t.schema.fields).toEqual([]);
    expect(t.numRows).toBe(10);
    const none = await coldScan(table, { limit: 0 });
    const n = await collectTable(none.arrowSchema, none.batches());
    expect(n.numRows).toBe(0);
    expect(none.stats.filesOpened).toBe(0);
  });

  test('bad arguments are refused by name', async () => {
    const { table } = await setup;
    await expect(coldScan(table, { select: ['s.zz'] })).rejects.toThrow(
      'select: no column named "s.zz"',
    );
    await expect(coldScan(table, { filter: eq('nope', 1) })).rejects.toThrow(
      'filter references unknown column "nope"',
    );
    await expect(coldScan(table, { limit: -1 })).rejects.toThrow(
      'limit must be a non-negative integer, got -1',
    );
    await expect(coldScan(table, { concurrency: 0 })).rejects.toThrow(
      'concurrency must be a positive integer, got 0',
    );
  });
});
