/**
 * The cold scan (@kice/iceberg coldScan) against an independent reader: DuckDB's
 * `iceberg_scan` runs the same filter as SQL on the same table (every primitive type,
 * nested structs, lists and maps, edge values; small row groups so statistics skip some),
 * and both must return exactly the same rows, value by value; the scan gives the same rows
 * again with each row group decoded from the bytes read for it alone (`decodeRowGroup`, what
 * engine.query's pool decoder runs).
 *
 * Filters are chosen where Iceberg's and SQL's semantics agree: Iceberg orders -0 below +0
 * and never matches NaN with <, >, = (DuckDB treats NaN as the largest value and -0 = +0),
 * so float comparisons here keep away from NaN and zero.
 */
import {
  and,
  arrowTableToRows,
  coldScan,
  collectTable,
  currentSchema,
  decodeRowGroup,
  type Expr,
  eq,
  fastAppend,
  gt,
  gtEq,
  icebergRowsToArrow,
  isIn,
  isNull,
  lt,
  not,
  notIn,
  or,
  type RowGroupDecoder,
  specById,
  type Table,
  writePartitioned,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckdbQuery, type Row, sortBy } from '../support/readers.ts';
import { ALL_TYPES_SCHEMA, allTypesRow, BASE_TS } from './all-types.ts';
import { newWarehouse } from './helpers.ts';

const CASES: readonly [Expr, string][] = [
  [eq('id', 7n), 'id = 7'],
  [and(gtEq('id', 10n), lt('id', 30n)), 'id >= 10 AND id < 30'],
  [eq('i', 2_147_483_647), 'i = 2147483647'],
  [lt('l', 0n), 'l < 0'],
  [isNull('s'), 's IS NULL'],
  [eq('s', '😀 emoji 🎉 ok'), "s = '😀 emoji 🎉 ok'"],
  [gt('s', 'plain'), "s > 'plain'"],
  [isIn('cat', ['alpha', 'α=β']), "cat IN ('alpha', 'α=β')"],
  [eq('st.a', 1), 'st.a = 1'],
  [isNull('st.inner.x'), 'st.inner.x IS NULL'],
  [lt('d', -1), 'd < -1'],
  [gt('f', 1), 'f > 1 AND NOT isnan(f)'],
  [gtEq('dt', 19_723), "dt >= DATE '2024-01-01'"],
  [lt('tstz', BASE_TS), "tstz < TIMESTAMPTZ '2024-01-01 00:00:00+00'"],
  [gt('ts', BASE_TS + 86_400_000_000n), "ts > TIMESTAMP '2024-01-02 00:00:00'"],
  [eq('dec9', 12_345n), 'dec9 = 123.45'],
  [lt('dec38', 0n), 'dec38 < 0'],
  [not(eq('b', true)), 'NOT (b = true)'],
  [or(eq('i', 0), isNull('l')), 'i = 0 OR l IS NULL'],
  [notIn('i', [0, 1]), 'i NOT IN (0, 1)'],
];

describe('coldScan returns the rows DuckDB iceberg_scan returns', () => {
  let table: Table;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const wh = await newWarehouse('coldscan-duckdb');
    cleanup = wh.cleanup;
    await wh.catalog.createNamespace(['interop']);
    table = await wh.catalog.createTable(
      { namespace: ['interop'], name: 'cold' },
      { schema: ALL_TYPES_SCHEMA },
    );
    for (let a = 0; a < 3; a++) {
      const schema = currentSchema(table.metadata);
      const rows = Array.from({ length: 20 }, (_, k) => allTypesRow(a * 20 + k + 1));
      const files = await writePartitioned(table.io, {
        schema,
        spec: specById(table.metadata, table.metadata.defaultSpecId),
        table: icebergRowsToArrow(schema, rows),
        dataLocation: `${table.metadata.location}/data`,
        rowGroupSize: 5,
      });
      const op = fastAppend(table);
      for (const f of files) op.appendFile(f);
      table = await op.commit();
    }
  }, 120_000);

  afterAll(async () => {
    await cleanup?.();
  });

  async function kiceRows(filter: Expr, select?: string[]): Promise<Row[]> {
    const read = async (decoder?: RowGroupDecoder) => {
      const scan = await coldScan(table, {
        filter,
        ...(select ? { select } : {}),
        ...(decoder ? { decoder } : {}),
      });
      return arrowTableToRows(scan.schema, await collectTable(scan.arrowSchema, scan.batches()));
    };
    const inThread = await read();
    // engine.query's path: each row group decoded from the bytes read for it alone.
    expect(await read(decodeRowGroup)).toEqual(inThread);
    return inThread;
  }

  it.each(CASES.map(([filter, where]) => [where, filter] as const))(
    'WHERE %s',
    async (where, filter) => {
      const duck = sortBy(
        await duckdbQuery(table.metadataLocation, `SELECT * FROM {t} WHERE ${where}`),
        'id',
      );
      expect(duck.length).toBeGreaterThan(0);
      expect(sortBy(await kiceRows(filter), 'id')).toEqual(duck);
    },
    60_000,
  );

  it('a projection of nested and top-level columns matches too', async () => {
    const duck = await duckdbQuery(
      table.metadataLocation,
      'SELECT id, s, st, m FROM {t} WHERE id >= 40',
    );
    expect(sortBy(await kiceRows(gtEq('id', 40n), ['id', 's', 'st', 'm']), 'id')).toEqual(
      sortBy(duck, 'id'),
    );
  }, 60_000);
});
