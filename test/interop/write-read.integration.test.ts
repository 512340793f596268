/**
 * Tables written by @kice/iceberg (FilesystemCatalog + LocalFileIO, 5 fast appends each),
 * read back by two independent readers: PyIceberg (StaticTable on the metadata file) and
 * DuckDB (`iceberg_scan`). Every row is compared value by value with what was written;
 * PyIceberg's filtered plan and its view of the snapshot history are checked too.
 */
import {
  arrowTableToRows,
  currentSchema,
  type DataFile,
  type PartitionField,
  readParquet,
  scanRows,
  type Table,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  duckdbRows,
  pyicebergHistory,
  pyicebergPlan,
  pyicebergRows,
  type Row,
  sortBy,
} from '../support/readers.ts';
import { ALL_TYPES_SCHEMA, allTypesRow, BASE_TS, DAY_US } from './all-types.ts';
import { appendRows, newWarehouse } from './helpers.ts';
import { asPyicebergReads } from './reader-quirks.ts';

const APPENDS = 5;
const ROWS_PER_APPEND = 12;

interface Case {
  readonly name: string;
  /** Partition fields by source column name (IDs are resolved against the schema). */
  readonly fields: readonly { source: string; name: string; transform: string }[];
  /** PyIceberg row filter, and the same predicate over written rows. */
  readonly filter: string;
  readonly matches: (r: Row) => boolean;
}

const day2 = BASE_TS + 2n * DAY_US;
const CASES: readonly Case[] = [
  { name: 'unpartitioned', fields: [], filter: 'id = 7', matches: (r) => r.id === 7n },
  {
    name: 'identity(cat)',
    fields: [{ source: 'cat', name: 'cat', transform: 'identity' }],
    filter: "cat = 'b c'",
    matches: (r) => r.cat === 'b c',
  },
  {
    name: 'day(ts)',
    fields: [{ source: 'ts', name: 'ts_day', transform: 'day' }],
    filter: "ts >= '2024-01-03T00:00:00' and ts < '2024-01-04T00:00:00'",
    matches: (r) => typeof r.ts === 'bigint' && r.ts >= day2 && r.ts < day2 + DAY_US,
  },
  {
    name: 'bucket[16](id)',
    fields: [{ source: 'id', name: 'id_bucket', transform: 'bucket[16]' }],
    filter: 'id = 7',
    matches: (r) => r.id === 7n,
  },
  {
    name: 'truncate[4](s)',
    fields: [{ source: 's', name: 's_trunc', transform: 'truncate[4]' }],
    filter: "s = 'héllo wörld'",
    matches: (r) => r.s === 'héllo wörld',
  },
];

const warehouse = await newWarehouse('write-read');
afterAll(() => warehouse.cleanup());
beforeAll(() => warehouse.catalog.createNamespace(['db']));

function fieldId(name: string): number {
  const f = ALL_TYPES_SCHEMA.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no column ${name}`);
  return f.id;
}

describe.each(CASES)('kice writes, PyIceberg and DuckDB read: $name', (c) => {
  let table: Table;
  const written: Row[] = [];
  const files: DataFile[] = [];

  beforeAll(async () => {
    const spec = {
      specId: 0,
      fields: c.fields.map(
        (f, i): PartitionField => ({
          sourceId: fieldId(f.source),
          fieldId: 1000 + i,
          name: f.name,
          transform: f.transform,
        }),
      ),
    };
    const tableName = c.name.replace(/\W+/g, '_');
    table = await warehouse.catalog.createTable(
      { namespace: ['db'], name: tableName },
      { schema: ALL_TYPES_SCHEMA, spec },
    );
    for (let a = 0; a < APPENDS; a++) {
      const rows = Array.from({ length: ROWS_PER_APPEND }, (_, k) =>
        allTypesRow(a * ROWS_PER_APPEND + k + 1),
      );
      const res = await appendRows(table, rows);
      table = res.table;
      written.push(...rows);
      files.push(...res.files);
    }
  });

  it('commits 5 snapshots holding every row (our own reader agrees)', async () => {
    expect(table.metadata.snapshots.length).toBe(APPENDS);
    expect(sortBy(await scanRows(table), 'id')).toEqual(written);
  });

  it('PyIceberg reads every row exactly (null list<struct> as [], its known defect)', async () => {
    const expected = written.map((r) => asPyicebergReads(currentSchema(table.metadata), r));
    expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual(expected);
  });

  // DuckDB 1.4.4 needs no conversion: its Arrow export of TIME is time64[us], of UUID a
  // canonical string (our uuid convention), of FIXED a blob (bytes, as fixed is here), of
  // TIMESTAMPTZ timestamp[us, UTC]; NaN, ±Infinity, -0.0 and 38-digit decimals come through.
  it('DuckDB reads every row exactly', async () => {
    expect(sortBy(await duckdbRows(table.metadataLocation), 'id')).toEqual(written);
  });

  it(`PyIceberg plans fewer files for "${c.filter}" and returns exactly the matching rows`, async () => {
    const expectedRows = written.filter(c.matches);
    expect(expectedRows.length).toBeGreaterThan(0);
    // The files that hold at least one matching row (read back with our reader, which the
    // first test shows equal to what was written).
    const schema = currentSchema(table.metadata);
    const holding: string[] = [];
    for (const f of files) {
      const rows = arrowTableToRows(schema, readParquet(await table.io.read(f.filePath), schema));
      if (rows.some(c.matches)) holding.push(f.filePath);
    }
    const plan = await pyicebergPlan(table.metadataLocation, c.filter);
    expect(plan.totalFiles).toBe(files.length);
    expect(plan.files).toEqual(holding.sort());
    expect(plan.files.length).toBeLessThan(plan.totalFiles);
    const rows = await pyicebergRows(table.metadataLocation, { filter: c.filter });
    expect(sortBy(rows, 'id')).toEqual(expectedRows.map((r) => asPyicebergReads(schema, r)));
  });

  it('PyIceberg sees our snapshot history (ids, parents, sequence numbers, summaries)', async () => {
    const py = await pyicebergHistory(table.metadataLocation);
    const m = table.metadata;
    expect(py.currentSnapshotId).toBe(m.currentSnapshotId);
    expect(py.snapshots).toEqual(
      m.snapshots.map((s) => ({
        snapshotId: s.snapshotId,
        parentSnapshotId: s.parentSnapshotId ?? null,
        sequenceNumber: s.sequenceNumber,
        timestampMs: s.timestampMs,
        schemaId: s.schemaId ?? null,
        manifestList: s.manifestList,
        summary: s.summary,
      })),
    );
    expect(py.snapshots.map((s) => s.sequenceNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(py.snapshots.at(-1)?.summary['total-records']).toBe(String(written.length));
    expect(py.snapshots.at(-1)?.summary['total-data-files']).toBe(String(files.length));
  });
});
