/**
 * Java (Apache Spark 4.0 with the Iceberg Spark runtime, the reference implementation)
 * reads tables kice wrote, through its Hadoop catalog over kice's filesystem warehouse:
 * - every type of the all-types fixture, nested struct/list/map included, under each
 *   partition transform (identity, bucket, truncate, year, month, day, hour, void), value
 *   by value; and the partition tuple kice recorded for each file equals Spark's own
 *   transform of each row's value (`_partition` against the `system.*` functions), so
 *   that Spark's pruning is right too;
 * - a table whose schema evolved (columns added, top level and in a struct; int → long,
 *   float → double, decimal(9, 2) → decimal(18, 2)) between appends.
 * Spark has no TIME type: a table with a `time` column cannot be read at all
 * ("Spark does not support time fields"), so these tables leave the fixture's `tm` out;
 * the `time` column is read by Iceberg Java's own generic reader (IcebergGenerics) instead.
 */
import {
  currentSchema,
  type PartitionField,
  type Schema,
  scanRows,
  schemaFromJson,
  type Table,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Row, sortBy } from '../support/readers.ts';
import { sparkBatch } from '../support/spark.ts';
import { ALL_TYPES_SCHEMA, allTypesRow, SPARK_TYPES_SCHEMA, sparkTypesRow } from './all-types.ts';
import { appendRows, newWarehouse } from './helpers.ts';

interface Case {
  readonly name: string;
  readonly source: string;
  readonly transform: string;
  /** Spark SQL of the transform applied to the row (`{k}` = the catalog). */
  readonly expected: string;
}

const CASES: readonly Case[] = [
  { name: 'identity', source: 'cat', transform: 'identity', expected: 'cat' },
  { name: 'bucket', source: 'id', transform: 'bucket[16]', expected: '{k}.system.bucket(16, id)' },
  {
    name: 'bucket_s',
    source: 's',
    transform: 'bucket[7]',
    expected: '{k}.system.bucket(7, s)',
  },
  {
    name: 'truncate',
    source: 's',
    transform: 'truncate[4]',
    expected: '{k}.system.truncate(4, s)',
  },
  {
    name: 'truncate_dec',
    source: 'dec9',
    transform: 'truncate[100]',
    expected: '{k}.system.truncate(100, dec9)',
  },
  { name: 'year', source: 'ts', transform: 'year', expected: '{k}.system.years(ts)' },
  { name: 'month', source: 'tstz', transform: 'month', expected: '{k}.system.months(tstz)' },
  { name: 'day', source: 'dt', transform: 'day', expected: '{k}.system.days(dt)' },
  { name: 'hour', source: 'ts', transform: 'hour', expected: '{k}.system.hours(ts)' },
  { name: 'void', source: 'i', transform: 'void', expected: 'CAST(NULL AS INT)' },
];

const APPENDS = 2;
const ROWS_PER_APPEND = 12;
const written = Array.from({ length: APPENDS * ROWS_PER_APPEND }, (_, k) => sparkTypesRow(k + 1));

const warehouse = await newWarehouse('spark-reads');
afterAll(() => warehouse.cleanup());

function fieldId(schema: Schema, name: string): number {
  const f = schema.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no column ${name}`);
  return f.id;
}

describe('Spark (Java) reads what kice wrote', () => {
  const tables = new Map<string, Table>();
  const read = new Map<string, Row[]>();
  const partitions = new Map<string, Row[]>();

  beforeAll(async () => {
    await warehouse.catalog.createNamespace(['db']);
    for (const c of CASES) {
      const spec = {
        specId: 0,
        fields: [
          {
            sourceId: fieldId(SPARK_TYPES_SCHEMA, c.source),
            fieldId: 1000,
            name: `p_${c.name}`,
            transform: c.transform,
          } satisfies PartitionField,
        ],
      };
      let table = await warehouse.catalog.createTable(
        { namespace: ['db'], name: c.name },
        { schema: SPARK_TYPES_SCHEMA, spec },
      );
      for (let a = 0; a < APPENDS; a++) {
        table = (
          await appendRows(table, written.slice(a * ROWS_PER_APPEND, (a + 1) * ROWS_PER_APPEND))
        ).table;
      }
      tables.set(c.name, table);
    }
    // One batch, one query per table: its rows, with the partition value kice recorded for
    // each row's file and Spark's own transform of the row's value.
    const results = await sparkBatch(
      CASES.map((c) => ({
        op: 'sql' as const,
        warehouse: warehouse.dir,
        sql: `SELECT *, _partition.p_${c.name} AS __recorded, ${c.expected} AS __spark FROM {k}.db.${c.name}`,
      })),
    );
    for (const [i, c] of CASES.entries()) {
      const rows = sortBy(results[i] as Row[], 'id');
      read.set(
        c.name,
        rows.map(({ __recorded: _, __spark: __, ...row }) => row),
      );
      partitions.set(
        c.name,
        rows.map((r) => ({ id: r.id, recorded: r.__recorded, spark: r.__spark })),
      );
    }
  });

  it.each(CASES)('reads every value of the $transform-partitioned table exactly', (c) => {
    expect(read.get(c.name)).toEqual(written);
  });

  it.each(CASES)('agrees with the $transform partition values kice recorded', async (c) => {
    const rows = partitions.get(c.name) as Row[];
    expect(rows).toHaveLength(written.length);
    const differing = rows.filter((r) => !Object.is(r.recorded, r.spark) && r.recorded !== r.spark);
    expect(differing).toEqual([]);
    const distinct = new Set(rows.map((r) => String(r.recorded)));
    if (c.transform === 'void') expect([...distinct]).toEqual(['null']);
    else expect(distinct.size).toBeGreaterThan(1);
    // kice's own reader agrees with what was written (the files Spark read).
    expect(sortBy(await scanRows(tables.get(c.name) as Table), 'id')).toEqual(written);
  });
});

describe('Iceberg Java reads the time column kice wrote', () => {
  it('reads every time value exactly (Spark itself refuses the table)', async () => {
    await warehouse.catalog.createNamespace(['tm']);
    const table = await warehouse.catalog.createTable(
      { namespace: ['tm'], name: 't' },
      { schema: ALL_TYPES_SCHEMA, spec: { specId: 0, fields: [] } },
    );
    const rows = Array.from({ length: 12 }, (_, k) => allTypesRow(k + 1));
    await appendRows(table, rows);
    const [generic] = await sparkBatch([
      {
        op: 'java-generic',
        location: `${warehouse.dir}/tm/t`,
        columns: ['id', 'tm', 'dt', 'i', 's', 'b'],
      },
    ]);
    expect(sortBy(generic as Row[], 'id')).toEqual(
      rows.map((r) => ({ id: r.id, tm: r.tm, dt: r.dt, i: r.i, s: r.s, b: r.b })),
    );
    await expect(
      sparkBatch([{ op: 'rows', warehouse: warehouse.dir, table: 'tm.t' }]),
    ).rejects.toThrow('Spark does not support time fields');
  });
});

describe('Spark (Java) reads a table whose schema kice evolved', () => {
  const V0 = schemaFromJson({
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'i', required: false, type: 'int' },
      { id: 3, name: 'f', required: false, type: 'float' },
      { id: 4, name: 'dec', required: false, type: 'decimal(9, 2)' },
      {
        id: 5,
        name: 'st',
        required: false,
        type: {
          type: 'struct',
          fields: [{ id: 6, name: 'a', required: false, type: 'string' }],
        },
      },
    ],
  });
  const V1 = schemaFromJson({
    type: 'struct',
    'schema-id': 1,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'i', required: false, type: 'long' },
      { id: 3, name: 'f', required: false, type: 'double' },
      { id: 4, name: 'dec', required: false, type: 'decimal(18, 2)' },
      {
        id: 5,
        name: 'st',
        required: false,
        type: {
          type: 'struct',
          fields: [
            { id: 6, name: 'a', required: false, type: 'string' },
            { id: 8, name: 'b', required: false, type: 'long' },
          ],
        },
      },
      { id: 7, name: 'added', required: false, type: 'string' },
    ],
  });
  const before: Row[] = [
    { id: 1n, i: -2_147_483_648, f: Math.fround(0.1), dec: -999_999_999n, st: { a: 'x' } },
    { id: 2n, i: 7, f: Number.NaN, dec: 1n, st: null },
    { id: 3n, i: null, f: -0, dec: null, st: { a: null } },
  ];
  const after: Row[] = [
    {
      id: 4n,
      i: 9_007_199_254_740_993n,
      f: 1e300,
      dec: 999_999_999_999_999_999n,
      st: { a: 'y', b: -1n },
      added: 'new',
    },
    { id: 5n, i: null, f: null, dec: null, st: null, added: null },
  ];
  /** `before` rows read with V1: promoted values, added columns null. */
  const beforeAsV1: Row[] = before.map((r) => ({
    ...r,
    i: r.i === null ? null : BigInt(r.i as number),
    st: r.st === null ? null : { ...(r.st as Row), b: null },
    added: null,
  }));
  let table: Table;
  let firstMetadata: string;

  beforeAll(async () => {
    await warehouse.catalog.createNamespace(['evo']);
    table = await warehouse.catalog.createTable(
      { namespace: ['evo'], name: 't' },
      { schema: V0, spec: { specId: 0, fields: [] } },
    );
    table = (await appendRows(table, before)).table;
    firstMetadata = table.metadataLocation;
    table = await warehouse.catalog.commitTable(
      { namespace: ['evo'], name: 't' },
      [{ type: 'assert-current-schema-id', currentSchemaId: 0 }],
      [
        { action: 'add-schema', schema: V1 },
        { action: 'set-current-schema', schemaId: -1 },
      ],
    );
    expect(currentSchema(table.metadata).schemaId).toBe(1);
    table = (await appendRows(table, after)).table;
  });

  it('reads the old files with promoted types and the added columns as null', async () => {
    const [rows] = await sparkBatch([{ op: 'rows', warehouse: warehouse.dir, table: 'evo.t' }]);
    expect(sortBy(rows as Row[], 'id')).toEqual([...beforeAsV1, ...after]);
    // kice's own reader agrees.
    expect(sortBy(await scanRows(table), 'id')).toEqual([...beforeAsV1, ...after]);
  });

  it('reads an older metadata file as a static table, with its own schema', async () => {
    expect(firstMetadata).toMatch(/\/v2\.metadata\.json$/);
    const [old, folder] = await sparkBatch([
      { op: 'load', location: firstMetadata },
      { op: 'load', location: `${warehouse.dir}/evo/t` },
    ]);
    expect(sortBy(old as Row[], 'id')).toEqual(before);
    expect(sortBy(folder as Row[], 'id')).toEqual([...beforeAsV1, ...after]);
  });

  it("sees kice's snapshot history (ids, parents, operations, summaries)", async () => {
    const [snaps] = await sparkBatch([
      {
        op: 'sql',
        warehouse: warehouse.dir,
        sql: 'SELECT snapshot_id, parent_id, operation, summary FROM {k}.evo.t.snapshots ORDER BY committed_at',
      },
    ]);
    expect(snaps).toEqual(
      table.metadata.snapshots.map((s) => ({
        snapshot_id: s.snapshotId,
        parent_id: s.parentSnapshotId ?? null,
        operation: s.summary.operation,
        summary: new Map(Object.entries(s.summary).filter(([k]) => k !== 'operation')),
      })),
    );
  });
});
