/**
 * Tables written by PyIceberg (SqlCatalog, 3 appends each) are read by @kice/iceberg
 * exactly; then kice appends to them (fast append through a table opened from PyIceberg's
 * metadata file, see ./static-table.ts) and PyIceberg and DuckDB still read every row,
 * old and new.
 *
 * day/bucket/truncate partitioning on the PyIceberg side needs the pyiceberg-core package
 * in the venv (PyIceberg computes those transforms with it when it writes).
 */
import {
  and,
  currentSchema,
  type Expr,
  eq,
  gtEq,
  lt,
  planFiles,
  type Row,
  scanRows,
  schemaToJson,
  type Table,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  duckdbRows,
  pyicebergHistory,
  pyicebergRows,
  pyicebergWrite,
  sortBy,
} from '../support/readers.ts';
import { ALL_TYPES_SCHEMA, allTypesRow, BASE_TS, DAY_US } from './all-types.ts';
import { appendRows, newWarehouse } from './helpers.ts';
import { asPyicebergReads } from './reader-quirks.ts';
import { openTableAt } from './static-table.ts';

const PY_APPENDS = 3;
const PY_ROWS = 20;
const KICE_APPENDS = 2;
const KICE_ROWS = 12;

interface Case {
  readonly name: string;
  readonly fields: readonly { source: string; name: string; transform: string }[];
  /** A kice filter that partition pruning (or column bounds) narrows, and the same predicate. */
  readonly filter: Expr;
  readonly matches: (r: Row) => boolean;
}

const day2 = BASE_TS + 2n * DAY_US;
const CASES: readonly Case[] = [
  { name: 'unpartitioned', fields: [], filter: eq('id', 7n), matches: (r) => r.id === 7n },
  {
    name: 'identity(cat)',
    fields: [{ source: 'cat', name: 'cat', transform: 'identity' }],
    filter: eq('cat', 'ü/ö'),
    matches: (r) => r.cat === 'ü/ö',
  },
  {
    name: 'day(ts)',
    fields: [{ source: 'ts', name: 'ts_day', transform: 'day' }],
    filter: and(gtEq('ts', day2), lt('ts', day2 + DAY_US)),
    matches: (r) => typeof r.ts === 'bigint' && r.ts >= day2 && r.ts < day2 + DAY_US,
  },
  {
    name: 'bucket[16](id)',
    fields: [{ source: 'id', name: 'id_bucket', transform: 'bucket[16]' }],
    filter: eq('id', 42n),
    matches: (r) => r.id === 42n,
  },
  {
    name: 'truncate[4](s)',
    fields: [{ source: 's', name: 's_trunc', transform: 'truncate[4]' }],
    filter: eq('s', '中文字符测试'),
    matches: (r) => r.s === '中文字符测试',
  },
];

const warehouse = await newWarehouse('read-pyiceberg');
afterAll(() => warehouse.cleanup());

function fieldId(name: string): number {
  const f = ALL_TYPES_SCHEMA.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no column ${name}`);
  return f.id;
}

const rowsFrom = (first: number, count: number) =>
  Array.from({ length: count }, (_, k) => allTypesRow(first + k));

describe.each(CASES)('PyIceberg writes, kice reads and appends: $name', (c) => {
  const pyWritten: Row[] = [];
  const kiceWritten: Row[] = [];
  let pyMetadataPath: string;
  let pyMetadataLocation: string;
  let kiceFirstMetadata: string | undefined;
  let table: Table;

  beforeAll(async () => {
    const appends = Array.from({ length: PY_APPENDS }, (_, a) =>
      rowsFrom(a * PY_ROWS + 1, PY_ROWS),
    );
    pyWritten.push(...appends.flat());
    const res = await pyicebergWrite(warehouse.dir, `db.${c.name.replace(/\W+/g, '_')}`, {
      schema: schemaToJson(ALL_TYPES_SCHEMA) as object,
      ...(c.fields.length > 0
        ? {
            partitionSpec: {
              fields: c.fields.map((f, i) => ({
                'source-id': fieldId(f.source),
                'field-id': 1000 + i,
                name: f.name,
                transform: f.transform,
              })),
            },
          }
        : {}),
      appends,
    });
    pyMetadataPath = res.metadataPath;
    pyMetadataLocation = res.metadataLocation;
    table = await openTableAt(res.metadataLocation);
  });

  it('kice reads every row PyIceberg wrote (its writer stores [] for a null list<struct>)', async () => {
    const schema = currentSchema(table.metadata);
    expect(table.metadata.snapshots.length).toBe(PY_APPENDS);
    expect(sortBy(await scanRows(table), 'id')).toEqual(
      pyWritten.map((r) => asPyicebergReads(schema, r)),
    );
  });

  it('kice prunes PyIceberg manifests by partition/bounds and filters rows exactly', async () => {
    const schema = currentSchema(table.metadata);
    const all = await planFiles(table);
    const plan = await planFiles(table, { filter: c.filter });
    expect(plan.files.length).toBeGreaterThan(0);
    expect(plan.files.length).toBeLessThan(all.files.length);
    const expected = pyWritten.filter(c.matches).map((r) => asPyicebergReads(schema, r));
    expect(expected.length).toBeGreaterThan(0);
    expect(sortBy(await scanRows(table, { filter: c.filter }), 'id')).toEqual(expected);
  });

  it('kice appends to the PyIceberg table; PyIceberg and DuckDB read old and new rows', async () => {
    const schema = currentSchema(table.metadata);
    const first = PY_APPENDS * PY_ROWS + 1;
    for (let a = 0; a < KICE_APPENDS; a++) {
      const rows = rowsFrom(first + a * KICE_ROWS, KICE_ROWS);
      table = (await appendRows(table, rows)).table;
      kiceFirstMetadata ??= table.metadataLocation;
      kiceWritten.push(...rows);
    }
    const pyStored = pyWritten.map((r) => asPyicebergReads(schema, r));
    // PyIceberg turns every null list<struct> into [] when reading, kice's rows included.
    expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual([
      ...pyStored,
      ...kiceWritten.map((r) => asPyicebergReads(schema, r)),
    ]);
    // DuckDB reads what is stored: [] in PyIceberg's files, null in kice's.
    expect(sortBy(await duckdbRows(table.metadataLocation), 'id')).toEqual([
      ...pyStored,
      ...kiceWritten,
    ]);
    expect(sortBy(await scanRows(table), 'id')).toEqual([...pyStored, ...kiceWritten]);
  });

  it('kice snapshots continue PyIceberg history (parents, sequence numbers, totals)', async () => {
    const py = await pyicebergHistory(table.metadataLocation);
    const before = await pyicebergHistory(pyMetadataPath);
    expect(py.snapshots.length).toBe(PY_APPENDS + KICE_APPENDS);
    expect(py.snapshots.slice(0, PY_APPENDS)).toEqual(before.snapshots);
    for (let k = PY_APPENDS; k < py.snapshots.length; k++) {
      const s = py.snapshots[k];
      expect(s?.parentSnapshotId).toBe(py.snapshots[k - 1]?.snapshotId);
      expect(s?.sequenceNumber).toBe(k + 1);
      expect(s?.summary.operation).toBe('append');
    }
    expect(py.currentSnapshotId).toBe(py.snapshots.at(-1)?.snapshotId);
    expect(py.snapshots.at(-1)?.summary['total-records']).toBe(
      String(pyWritten.length + kiceWritten.length),
    );
    // The metadata log links back to PyIceberg's last metadata file, then kice's first.
    expect(table.metadata.metadataLog.slice(-KICE_APPENDS).map((e) => e.metadataFile)).toEqual([
      pyMetadataLocation,
      kiceFirstMetadata,
    ]);
  });
});
