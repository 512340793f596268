/**
 * Column metrics against Java's: the same rows written once by kice and once by Spark
 * (the Iceberg Spark runtime's Parquet writer, default metrics mode truncate(16)) into two
 * tables kice created with the same schema (so the field IDs are the same), one data file
 * each; then the `files` metadata table of both (read by Spark) compared column by column:
 * value, null and NaN counts and the lower/upper bounds (decoded, so that a difference
 * reads as values), and which columns have sizes. Java is the reference.
 *
 * Cases: the all-types fixture (nested structs, lists, maps, NaN, ±0, extremes); strings
 * and binaries past the truncation width (astral code points, an upper bound that needs a
 * carry); values whose upper bound cannot be incremented; float columns of only NaN and
 * of only −0.0/+0.0.
 */
import {
  currentSchema,
  fromBytes,
  indexById,
  type PrimitiveType,
  type Schema,
  scanRows,
  schemaFromJson,
  type Table,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTagged, type Row, sortBy } from '../support/readers.ts';
import { type SparkFile, sparkBatch, sparkFilesSql, toSparkFile } from '../support/spark.ts';
import { SPARK_TYPES_SCHEMA, sparkTypesRow } from './all-types.ts';
import { appendRows, newWarehouse } from './helpers.ts';

const EDGE_SCHEMA = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 's', required: false, type: 'string' },
    { id: 3, name: 'bin', required: false, type: 'binary' },
    { id: 4, name: 'f', required: false, type: 'float' },
    { id: 5, name: 'd', required: false, type: 'double' },
    { id: 6, name: 'fx', required: false, type: 'fixed[20]' },
  ],
});

const bytes = (...b: number[]) => new Uint8Array(b);
const MAX_CP = '\u{10FFFF}';

interface Case {
  readonly name: string;
  readonly schema: Schema;
  readonly rows: Row[];
  /** Facts about Java's metrics that show the case exercises what it is meant to. */
  readonly java?: Record<string, Partial<ColumnMetrics>>;
}

const CASES: readonly Case[] = [
  {
    name: 'all_types',
    schema: SPARK_TYPES_SCHEMA,
    rows: Array.from({ length: 24 }, (_, k) => sparkTypesRow(k + 1)),
    java: {
      '5:f': { nans: 3n, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY },
      '12:s': { lower: '', upper: '😀 emoji 🎉 ok' },
    },
  },
  {
    name: 'truncation',
    schema: EDGE_SCHEMA,
    rows: [
      // '0' and 19 emoji: the lower bound is cut to 16 code points (31 UTF-16 units).
      { id: 1n, s: `0${'😀'.repeat(19)}`, bin: new Uint8Array(20).fill(7), f: -0, d: -0, fx: null },
      // The maxima: their 16th code point / byte is the largest, so the truncated upper
      // bound carries into the 15th ('a' × 14 + 'b'; 08 × 14 + 09).
      {
        id: 2n,
        s: `${'a'.repeat(15)}${MAX_CP}zz`,
        bin: bytes(...new Array(15).fill(8), 0xff, 0xff, 3),
        f: 0,
        d: 0,
        fx: new Uint8Array(20).fill(0xfe),
      },
      { id: 3n, s: 'Short', bin: bytes(1, 2), f: Number.NaN, d: Number.NaN, fx: null },
    ],
    java: {
      '2:s': { lower: `0${'😀'.repeat(15)}`, upper: `${'a'.repeat(14)}b` },
      '3:bin': { upper: bytes(...new Array(14).fill(8), 9) },
      '4:f': { lower: -0, upper: 0, nans: 1n },
    },
  },
  {
    name: 'no_upper',
    schema: EDGE_SCHEMA,
    rows: [
      // Nothing in the first 16 code points/bytes can be incremented: no upper bound.
      {
        id: 1n,
        s: MAX_CP.repeat(17),
        bin: new Uint8Array(17).fill(0xff),
        f: Number.NaN,
        d: Number.NaN,
        fx: new Uint8Array(20).fill(0xff),
      },
      {
        id: 2n,
        s: MAX_CP.repeat(3),
        bin: new Uint8Array(3).fill(0xff),
        f: null,
        d: null,
        fx: null,
      },
    ],
    java: { '2:s': { lower: MAX_CP.repeat(3) }, '3:bin': { lower: bytes(0xff, 0xff, 0xff) } },
  },
];

/** One column's metrics, bounds decoded with the column's type. */
interface ColumnMetrics {
  values?: bigint;
  nulls?: bigint;
  nans?: bigint;
  lower?: unknown;
  upper?: unknown;
  sized: boolean;
}

function byColumn(schema: Schema, f: SparkFile): Record<string, ColumnMetrics> {
  const fields = indexById(schema);
  const out: Record<string, ColumnMetrics> = {};
  const ids = new Set<number>();
  for (const m of [f.columnSizes, f.valueCounts, f.nullValueCounts, f.nanValueCounts]) {
    for (const id of m?.keys() ?? []) ids.add(id);
  }
  for (const m of [f.lowerBounds, f.upperBounds]) for (const id of m?.keys() ?? []) ids.add(id);
  for (const id of [...ids].sort((a, b) => a - b)) {
    const field = fields.get(id);
    const type =
      field && typeof field.type === 'string' ? (field.type as PrimitiveType) : undefined;
    const decode = (b: Uint8Array | undefined) => {
      if (b === undefined) return undefined;
      try {
        if (type) return fromBytes(type, b);
      } catch {
        // Shown as bytes below: a bound of the wrong width is a difference too.
      }
      return `bytes:${Buffer.from(b).toString('hex')}`;
    };
    const c: ColumnMetrics = { sized: f.columnSizes?.has(id) ?? false };
    const put = <K extends keyof ColumnMetrics>(k: K, v: ColumnMetrics[K] | undefined) => {
      if (v !== undefined) c[k] = v;
    };
    put('values', f.valueCounts?.get(id));
    put('nulls', f.nullValueCounts?.get(id));
    put('nans', f.nanValueCounts?.get(id));
    put('lower', decode(f.lowerBounds?.get(id)));
    put('upper', decode(f.upperBounds?.get(id)));
    out[`${id}:${field?.name ?? '?'}`] = c;
  }
  return out;
}

const warehouse = await newWarehouse('spark-metrics');
afterAll(() => warehouse.cleanup());

describe.each(CASES)('column metrics of kice and Java for the same rows: $name', (c) => {
  let kice: SparkFile[];
  let java: SparkFile[];
  /** The tables' schema as created (the catalog assigns fresh field IDs). */
  let schema: Schema;

  beforeAll(async () => {
    if (!(await warehouse.catalog.namespaceExists(['db']))) {
      await warehouse.catalog.createNamespace(['db']);
    }
    const spec = { specId: 0, fields: [] };
    let k: Table = await warehouse.catalog.createTable(
      { namespace: ['db'], name: `${c.name}_kice` },
      { schema: c.schema, spec },
    );
    await warehouse.catalog.createTable(
      { namespace: ['db'], name: `${c.name}_java` },
      { schema: c.schema, spec },
    );
    k = (await appendRows(k, c.rows)).table;
    schema = currentSchema(k.metadata);
    const [, a, b] = await sparkBatch([
      {
        op: 'append',
        warehouse: warehouse.dir,
        table: `db.${c.name}_java`,
        rows: c.rows.map((r) => encodeTagged(r)),
      },
      { op: 'sql', warehouse: warehouse.dir, sql: sparkFilesSql(`db.${c.name}_kice`) },
      { op: 'sql', warehouse: warehouse.dir, sql: sparkFilesSql(`db.${c.name}_java`) },
    ]);
    kice = (a as Row[]).map(toSparkFile);
    java = (b as Row[]).map(toSparkFile);
  });

  it('both wrote one data file of every row', () => {
    expect(kice.map((f) => [f.content, f.recordCount])).toEqual([[0, BigInt(c.rows.length)]]);
    expect(java.map((f) => [f.content, f.recordCount])).toEqual([[0, BigInt(c.rows.length)]]);
  });

  it('Java computed what the case is about', () => {
    const cols = byColumn(schema, java[0] as SparkFile);
    for (const [col, want] of Object.entries(c.java ?? {}))
      expect(cols[col], col).toMatchObject(want);
    if (c.name === 'no_upper') {
      expect(cols['2:s']?.upper).toBeUndefined();
      expect(cols['3:bin']?.upper).toBeUndefined();
    }
  });

  it('kice reads the file Java wrote into its table (uuid and fixed columns included)', async () => {
    const table = await warehouse.catalog.loadTable({ namespace: ['db'], name: `${c.name}_java` });
    expect(sortBy(await scanRows(table), 'id')).toEqual(c.rows);
  });

  it('kice computes the counts and bounds Java computes, column by column', () => {
    expect(byColumn(schema, kice[0] as SparkFile)).toEqual(byColumn(schema, java[0] as SparkFile));
  });
});
