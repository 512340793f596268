/**
 * kice reads tables that Java wrote (Apache Spark 4.0 with the Iceberg Spark runtime,
 * through its Hadoop catalog into a kice filesystem warehouse), value by value:
 * - a table Spark created (its own field IDs, partition spec bucket(4, id) + days(tstz))
 *   holding every type of the all-types fixture Spark can write (no `time`; `uuid` and
 *   `fixed` are string and binary columns in Spark DDL, read with the same values);
 * - a format-v2 table with `write.delete.mode=merge-on-read`: DELETE and UPDATE write
 *   position delete files, which kice's scan applies (and PyIceberg and DuckDB agree);
 *   time travel to each snapshot too; then kice appends to that table and Spark reads the
 *   old rows (deletes still applied) and the new ones;
 * - a table Spark wrote with small pages (its Parquet writer writes the page index): a
 *   filtered cold scan skips the pages the filter rules out, on this thread and through a
 *   decoder that may read only the bytes it was handed, and returns the rows Spark does.
 */
import {
  and,
  arrowTableToRows,
  type ColdScanOptions,
  coldScan,
  collectTable,
  decodeRowGroup,
  eq,
  gtEq,
  isNull,
  lt,
  or,
  planFiles,
  type RowGroupRequest,
  scanRows,
  snapshotById,
  type Table,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckdbRows, encodeTagged, pyicebergRows, type Row, sortBy } from '../support/readers.ts';
import { sparkBatch, sparkFiles } from '../support/spark.ts';
import { BASE_TS, DAY_US, sparkTypesRow } from './all-types.ts';
import { appendRows, newWarehouse } from './helpers.ts';

const warehouse = await newWarehouse('spark-writes');
afterAll(() => warehouse.cleanup());

const TYPES_DDL = `CREATE TABLE {k}.db.types (
  id bigint NOT NULL, b boolean, i int, l bigint, f float, d double,
  dec9 decimal(9, 2), dec38 decimal(38, 10), dt date, ts timestamp_ntz, tstz timestamp,
  s string, u string, fx binary, bin binary, cat string,
  st struct<a: int, inner: struct<x: string, y: double>>,
  ls array<string>, lst array<struct<k: string, v: bigint>>, m map<string, bigint>
) USING iceberg PARTITIONED BY (bucket(4, id), days(tstz))
TBLPROPERTIES ('format-version' = '2')`;

const written = Array.from({ length: 24 }, (_, k) => sparkTypesRow(k + 1));

async function load(name: string): Promise<Table> {
  return warehouse.catalog.loadTable({ namespace: ['db'], name });
}

describe('kice reads what Spark (Java) wrote', () => {
  beforeAll(async () => {
    await sparkBatch([
      { op: 'sql', warehouse: warehouse.dir, sql: 'CREATE NAMESPACE {k}.db' },
      { op: 'sql', warehouse: warehouse.dir, sql: TYPES_DDL },
      {
        op: 'append',
        warehouse: warehouse.dir,
        table: 'db.types',
        rows: written.map((r) => encodeTagged(r)),
      },
    ]);
  });

  it('reads every value of a partitioned all-types table Spark wrote', async () => {
    const table = await load('types');
    expect(table.metadata.formatVersion).toBe(2);
    const plan = await planFiles(table);
    expect(plan.files.length).toBeGreaterThan(4); // 4 buckets × several days
    expect(sortBy(await scanRows(table), 'id')).toEqual(written);
  });

  it("prunes Spark's files with its own transforms (bucket of id, day of tstz) and finds the rows", async () => {
    const table = await load('types');
    const total = (await planFiles(table)).files.length;
    for (const id of [1n, 7n, 24n]) {
      const plan = await planFiles(table, { filter: eq('id', id) });
      expect(plan.files.length).toBeLessThan(total);
      expect(await scanRows(table, { filter: eq('id', id) })).toEqual(
        written.filter((r) => r.id === id),
      );
    }
    const day = BASE_TS; // tstz is BASE_TS + id in most rows
    const inDay = (r: Row) => typeof r.tstz === 'bigint' && r.tstz >= day && r.tstz < day + DAY_US;
    expect(written.some(inDay)).toBe(true);
    const filter = and(gtEq('tstz', day), lt('tstz', day + DAY_US));
    expect((await planFiles(table, { filter })).files.length).toBeLessThan(total);
    expect(sortBy(await scanRows(table, { filter }), 'id')).toEqual(written.filter(inDay));
  });

  describe('merge-on-read DELETE and UPDATE (position delete files)', () => {
    const row = (id: number, s: string): Row => ({ id: BigInt(id), s, p: id % 2 });
    const first = Array.from({ length: 30 }, (_, k) => row(k + 1, `r${k + 1}`));
    const second = Array.from({ length: 10 }, (_, k) => row(k + 31, `r${k + 31}`));
    const snapshots: Row[] = [];

    beforeAll(async () => {
      const values = (rs: Row[]) => rs.map((r) => `(${r.id}, '${r.s}', ${r.p})`).join(', ');
      const sql = (text: string) => ({ op: 'sql' as const, warehouse: warehouse.dir, sql: text });
      const results = await sparkBatch([
        sql(`CREATE TABLE {k}.db.pd (id bigint NOT NULL, s string, p int) USING iceberg
             PARTITIONED BY (p)
             TBLPROPERTIES ('format-version' = '2', 'write.delete.mode' = 'merge-on-read',
                            'write.update.mode' = 'merge-on-read')`),
        sql(`INSERT INTO {k}.db.pd VALUES ${values(first)}`),
        sql('DELETE FROM {k}.db.pd WHERE id % 3 = 0'),
        sql(`INSERT INTO {k}.db.pd VALUES ${values(second)}`),
        sql('DELETE FROM {k}.db.pd WHERE id IN (1, 31, 40)'),
        sql("UPDATE {k}.db.pd SET s = 'updated' WHERE id = 2 OR id = 35"),
        sql(
          'SELECT snapshot_id, operation FROM {k}.db.pd.snapshots ORDER BY committed_at, snapshot_id',
        ),
      ]);
      snapshots.push(...(results.at(-1) as Row[]));
    });

    it('Spark wrote position delete files (the test exercises what it means to)', async () => {
      const files = await sparkFiles(warehouse.dir, 'db.pd');
      expect(files.filter((f) => f.content === 1).length).toBeGreaterThanOrEqual(3);
      expect(files.filter((f) => f.content === 2)).toEqual([]);
      expect(snapshots.map((s) => s.operation)).toEqual([
        'append',
        'delete',
        'append',
        'delete',
        'overwrite',
      ]);
    });

    it('reads exactly the rows left after the deletes and the update', async () => {
      const table = await load('pd');
      // The first DELETE ran before the second INSERT: it removed ids 3, 6, …, 30 only.
      const expected = [...first.filter((r) => (r.id as bigint) % 3n !== 0n), ...second]
        .filter((r) => ![1n, 31n, 40n].includes(r.id as bigint))
        .map((r) => (r.id === 2n || r.id === 35n ? { ...r, s: 'updated' } : r));
      expect(sortBy(await scanRows(table), 'id')).toEqual(expected);
      // And the same as Spark reads it.
      const [spark] = await sparkBatch([{ op: 'rows', warehouse: warehouse.dir, table: 'db.pd' }]);
      expect(sortBy(spark as Row[], 'id')).toEqual(expected);
      expect((await planFiles(table)).deleteFiles).toBeGreaterThanOrEqual(3);
    });

    it('PyIceberg and DuckDB read the same rows (they apply position deletes too)', async () => {
      const table = await load('pd');
      const expected = sortBy(await scanRows(table), 'id');
      expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual(expected);
      expect(sortBy(await duckdbRows(table.metadataLocation), 'id')).toEqual(expected);
    });

    it('kice appends to the table with deletes, and Spark and kice read old and new rows', async () => {
      let table = await load('pd');
      const before = sortBy(await scanRows(table), 'id');
      const added = [row(100, 'kice'), row(101, 'kice')];
      table = (await appendRows(table, added)).table;
      const summary = table.metadata.snapshots.at(-1)?.summary ?? {};
      const parent = table.metadata.snapshots.at(-2)?.summary ?? {};
      expect(summary['total-delete-files']).toBe(parent['total-delete-files']);
      expect(summary['total-position-deletes']).toBe(parent['total-position-deletes']);
      expect(summary['total-records']).toBe(String(Number(parent['total-records']) + 2));
      const [spark] = await sparkBatch([{ op: 'rows', warehouse: warehouse.dir, table: 'db.pd' }]);
      expect(sortBy(spark as Row[], 'id')).toEqual([...before, ...added]);
      expect(sortBy(await scanRows(table), 'id')).toEqual([...before, ...added]);
    });

    it('reads each older snapshot as it was', async () => {
      const table = await load('pd');
      const at = async (i: number) => {
        const id = snapshots[i]?.snapshot_id as bigint;
        expect(snapshotById(table.metadata, id)).toBeDefined();
        return sortBy(await scanRows(table, { snapshotId: id }), 'id');
      };
      expect(await at(0)).toEqual(first);
      const afterFirstDelete = first.filter((r) => (r.id as bigint) % 3n !== 0n);
      expect(await at(1)).toEqual(afterFirstDelete);
      expect(await at(2)).toEqual([...afterFirstDelete, ...second]);
    });
  });

  describe('the page index of the files Spark wrote', () => {
    const N = 40_000;
    const expected = (keep: (id: number) => boolean): Row[] =>
      Array.from({ length: N }, (_, i) => i)
        .filter(keep)
        .map((i) => ({ id: BigInt(i), s: `s${i % 7}`, n: i % 10 === 0 ? null : i }));

    beforeAll(async () => {
      const sql = (text: string) => ({ op: 'sql' as const, warehouse: warehouse.dir, sql: text });
      await sparkBatch([
        sql(`CREATE TABLE {k}.db.paged (id bigint NOT NULL, s string, n int) USING iceberg
             TBLPROPERTIES ('format-version' = '2', 'write.parquet.page-row-limit' = '500')`),
        sql(`INSERT INTO {k}.db.paged SELECT /*+ COALESCE(1) */ id, concat('s', id % 7),
             CASE WHEN id % 10 = 0 THEN NULL ELSE CAST(id AS int) END
             FROM range(${N}) ORDER BY id`),
      ]);
    });

    const scan = async (options: ColdScanOptions) => {
      const s = await coldScan(await load('paged'), options);
      const rows = arrowTableToRows(s.schema, await collectTable(s.arrowSchema, s.batches()));
      return { rows: sortBy(rows, 'id'), stats: s.stats };
    };

    const cases: [string, ColdScanOptions['filter'], (id: number) => boolean][] = [
      ['a range', and(gtEq('id', 12_345n), lt('id', 12_400n)), (i) => i >= 12_345 && i < 12_400],
      ['a point', eq('id', 31_337n), (i) => i === 31_337],
      ['both ends', or(lt('id', 10n), gtEq('id', 39_990n)), (i) => i < 10 || i >= 39_990],
      ['nulls in a range', and(isNull('n'), lt('id', 2000n)), (i) => i % 10 === 0 && i < 2000],
    ];
    for (const [name, filter, keep] of cases)
      it(`skips pages and returns exactly the rows: ${name}`, async () => {
        const want = expected(keep);
        const here = await scan({ filter });
        expect(here.rows).toEqual(want);
        expect(here.stats.rowsPageSkipped).toBeGreaterThan(N / 2);
        expect(here.stats.rowsDecoded).toBeLessThan(N / 10);
        const requests: RowGroupRequest[] = [];
        const held = await scan({
          filter,
          decoder: (r) => {
            requests.push(r);
            return decodeRowGroup(r);
          },
        });
        expect(held.rows).toEqual(want);
        expect(requests.every((r) => r.limit !== undefined)).toBe(true);
      });

    it('Spark reads the same rows for the same filter', async () => {
      const [spark] = await sparkBatch([
        {
          op: 'sql',
          warehouse: warehouse.dir,
          sql: 'SELECT * FROM {k}.db.paged WHERE id >= 12345 AND id < 12400',
        },
      ]);
      expect(sortBy(spark as Row[], 'id')).toEqual(expected((i) => i >= 12_345 && i < 12_400));
    });
  });
});
