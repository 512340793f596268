/**
 * Self-test of the independent-reader harness (test/support/readers.ts + readers.py):
 * a table written by PyIceberg with values of every primitive type and nested types must
 * read back through PyIceberg and DuckDB exactly as written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeTagged,
  duckdbQuery,
  duckdbRows,
  encodeTagged,
  type PyWriteResult,
  pyicebergHistory,
  pyicebergPlan,
  pyicebergRows,
  pyicebergWrite,
  type Row,
  sortBy,
} from '../support/readers.ts';

const SCHEMA = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'i', required: false, type: 'int' },
    { id: 3, name: 'f', required: false, type: 'float' },
    { id: 4, name: 'd', required: false, type: 'double' },
    { id: 5, name: 'dec', required: false, type: 'decimal(38, 10)' },
    { id: 6, name: 'dt', required: false, type: 'date' },
    { id: 7, name: 'ts', required: false, type: 'timestamp' },
    { id: 8, name: 'tstz', required: false, type: 'timestamptz' },
    { id: 9, name: 's', required: false, type: 'string' },
    { id: 10, name: 'b', required: false, type: 'binary' },
    { id: 11, name: 'u', required: false, type: 'uuid' },
    { id: 12, name: 'fx', required: false, type: 'fixed[3]' },
    { id: 13, name: 'tm', required: false, type: 'time' },
    { id: 14, name: 'bo', required: false, type: 'boolean' },
    {
      id: 15,
      name: 'st',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 16, name: 'x', required: true, type: 'long' },
          { id: 17, name: 'y', required: false, type: 'string' },
        ],
      },
    },
    {
      id: 18,
      name: 'l',
      required: false,
      type: { type: 'list', 'element-id': 19, element: 'int', 'element-required': false },
    },
    {
      id: 20,
      name: 'm',
      required: false,
      type: {
        type: 'map',
        'key-id': 21,
        key: 'string',
        'value-id': 22,
        value: 'double',
        'value-required': false,
      },
    },
  ],
};

const ROW1: Row = {
  id: 1n,
  i: 7,
  f: Number.NaN,
  d: -0,
  dec: -123456789012345678901230123456789n, // -12345678901234567890123.0123456789
  dt: -1, // 1969-12-31
  ts: 1_700_000_000_123_456n,
  tstz: -1n,
  s: 'héllo ✓',
  b: new Uint8Array([0x00, 0xff, 0x10]),
  u: 'f79c3e09-677c-4bbd-a479-3f349cb785e7',
  fx: new Uint8Array([1, 2, 3]),
  tm: 81_068_000_000n, // 22:31:08
  bo: true,
  st: { x: 9_007_199_254_740_993n, y: null },
  l: [1, null, 3],
  m: new Map<string, number | null>([
    ['a', 1.5],
    ['b', Number.POSITIVE_INFINITY],
    ['c', null],
  ]),
};

const ROW2: Row = {
  id: 2n,
  i: null,
  f: Math.fround(0.1),
  d: null,
  dec: null,
  dt: null,
  ts: null,
  tstz: null,
  s: null,
  b: null,
  u: null,
  fx: null,
  tm: null,
  bo: null,
  st: null,
  l: null,
  m: null,
};

const ROW3: Row = {
  id: -9_223_372_036_854_775_808n,
  i: -2_147_483_648,
  f: Number.NEGATIVE_INFINITY,
  d: 1e300,
  dec: 5n, // 0.0000000005
  dt: 19_723, // 2024-01-01
  ts: -62_135_596_800_000_000n, // 0001-01-01T00:00:00
  tstz: 1_704_067_200_000_001n,
  s: '',
  b: new Uint8Array([]),
  u: '00000000-0000-0000-0000-000000000000',
  fx: new Uint8Array([0, 0, 0]),
  tm: 0n,
  bo: false,
  st: { x: -1n, y: 'y' },
  l: [],
  m: new Map(),
};

describe('tagged JSON', () => {
  it('decodes every tag into the in-memory conventions', () => {
    expect(decodeTagged({ $l: '-9223372036854775808' })).toBe(-9_223_372_036_854_775_808n);
    expect(decodeTagged({ $d: '-0.05' })).toBe(-5n);
    expect(decodeTagged({ $d: '120' })).toBe(120n);
    expect(decodeTagged({ $date: -719_162 })).toBe(-719_162);
    expect(decodeTagged({ $ts: '1' })).toBe(1n);
    expect(decodeTagged({ $tstz: '-1' })).toBe(-1n);
    expect(decodeTagged({ $time: '86399999999' })).toBe(86_399_999_999n);
    expect(Object.is(decodeTagged({ $f: '-0.0' }), -0)).toBe(true);
    expect(decodeTagged({ $f: 'NaN' })).toBeNaN();
    expect(decodeTagged({ $f: '-Infinity' })).toBe(Number.NEGATIVE_INFINITY);
    expect(decodeTagged({ $b: '00ff7f' })).toEqual(new Uint8Array([0, 255, 127]));
    expect(decodeTagged({ $uuid: 'f79c3e09-677c-4bbd-a479-3f349cb785e7' })).toBe(
      'f79c3e09-677c-4bbd-a479-3f349cb785e7',
    );
    expect(decodeTagged({ a: [1, null, { $map: [['k', { $l: '2' }]] }] })).toEqual({
      a: [1, null, new Map([['k', 2n]])],
    });
    expect(() => decodeTagged({ $nope: 1 })).toThrow('unknown value tag $nope');
  });

  it('round-trips rows through encodeTagged and decodeTagged', () => {
    for (const row of [ROW1, ROW2]) {
      const json = JSON.parse(JSON.stringify(encodeTagged(row)));
      const back = decodeTagged(json) as Row;
      // Without types, encodeTagged can only say "bigint": decimals, timestamps and times
      // stay bigints, which is what the conventions want; uuid stays a string.
      expect(back).toEqual(row);
    }
  });
});

describe('independent readers (PyIceberg, DuckDB)', () => {
  let dir: string;
  let table: PyWriteResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kice-readers-'));
    table = await pyicebergWrite(join(dir, 'warehouse'), 'interop.all_types', {
      schema: SCHEMA,
      partitionSpec: {
        fields: [{ 'source-id': 6, 'field-id': 1000, name: 'dt', transform: 'identity' }],
      },
      appends: [[ROW1, ROW2], [ROW3]],
    });
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a table whose metadata PyIceberg reports as a file URI', () => {
    expect(table.metadataLocation).toBe(`file://${table.metadataPath}`);
    expect(table.metadataPath).toMatch(
      /\/warehouse\/interop\/all_types\/metadata\/00002-[0-9a-f-]{36}\.metadata\.json$/,
    );
  });

  it('reads back every value exactly through PyIceberg', async () => {
    const rows = await pyicebergRows(table.metadataPath);
    expect(sortBy(rows, 'id')).toEqual([ROW3, ROW1, ROW2]);
  });

  it('reads back every value exactly through DuckDB iceberg_scan', async () => {
    const rows = await duckdbRows(table.metadataPath);
    expect(sortBy(rows, 'id')).toEqual([ROW3, ROW1, ROW2]);
  });

  it('reads an older snapshot and applies row filters through PyIceberg', async () => {
    const history = await pyicebergHistory(table.metadataPath);
    const first = history.snapshots[0]?.snapshotId as bigint;
    expect(sortBy(await pyicebergRows(table.metadataPath, { snapshotId: first }), 'id')).toEqual([
      ROW1,
      ROW2,
    ]);
    expect(await pyicebergRows(table.metadataPath, { filter: 'i = 7' })).toEqual([ROW1]);
  });

  it('reports the snapshot history with 63-bit ids intact', async () => {
    const { currentSnapshotId, snapshots } = await pyicebergHistory(table.metadataPath);
    expect(snapshots.map((s) => s.sequenceNumber)).toEqual([1, 2]);
    const [s1, s2] = snapshots;
    expect(s1?.parentSnapshotId).toBeNull();
    expect(s2?.parentSnapshotId).toBe(s1?.snapshotId);
    expect(currentSnapshotId).toBe(s2?.snapshotId);
    expect(typeof currentSnapshotId).toBe('bigint');
    expect(s2?.summary).toMatchObject({
      operation: 'append',
      'added-data-files': '1',
      'added-records': '1',
      'total-data-files': '3',
      'total-records': '3',
    });
  });

  it('plans only the files of the matching partition', async () => {
    const plan = await pyicebergPlan(table.metadataPath, "dt = '1969-12-31'");
    expect(plan.totalFiles).toBe(3);
    expect(plan.files).toHaveLength(1);
    expect(plan.files[0]).toMatch(/\/data\/dt=1969-12-31\/[^/]+\.parquet$/);
  });

  it('runs SQL over iceberg_scan in DuckDB', async () => {
    const rows = await duckdbQuery(
      table.metadataPath,
      'SELECT count(*) AS n, max(id) AS top, min(dec) AS low FROM {t}',
    );
    expect(rows).toEqual([{ n: 3n, top: 2n, low: ROW1.dec }]);
  });
});
