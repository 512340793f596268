import { describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { arrowTableToRows, readParquet } from '../../src/scan/read-parquet.ts';
import { partitionSpecFromJson } from '../../src/spec/partition-spec.ts';
import { schemaFromJson } from '../../src/spec/types.ts';
import { writePartitioned } from '../../src/writer/fanout.ts';

const SCHEMA = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'ts', required: false, type: 'timestamp' },
    {
      id: 3,
      name: 'meta',
      required: false,
      type: { type: 'struct', fields: [{ id: 4, name: 'cat', required: false, type: 'string' }] },
    },
  ],
});

const DAY = 86_400_000_000n; // µs
const ROWS = [
  { id: 1n, ts: 0n, meta: { cat: 'a' } }, // 1970-01-01, a
  { id: 2n, ts: DAY + 5n, meta: { cat: 'a' } }, // 1970-01-02, a
  { id: 3n, ts: 7n, meta: { cat: 'b/c' } }, // 1970-01-01, b/c
  { id: 4n, ts: -1n, meta: null }, // 1969-12-31, null
  { id: 5n, ts: 3n, meta: { cat: 'a' } }, // 1970-01-01, a
  { id: 6n, ts: null, meta: { cat: 'null' } }, // null day, the string "null"
  { id: 7n, ts: null, meta: { cat: null } }, // null day, null
];

function names() {
  let n = 0;
  return () => `f${n++}.parquet`;
}

describe('writePartitioned', () => {
  test('one file per partition tuple with the right tuple and rows', async () => {
    const io = new MemoryFileIO();
    const spec = partitionSpecFromJson({
      'spec-id': 1,
      fields: [
        { 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' },
        { 'source-id': 4, 'field-id': 1001, name: 'cat', transform: 'identity' },
      ],
    });
    const files = await writePartitioned(io, {
      schema: SCHEMA,
      spec,
      table: icebergRowsToArrow(SCHEMA, ROWS),
      dataLocation: 'memory://wh/t/data',
      fileName: names(),
    });
    expect(files.map((f) => [f.filePath, f.partition, f.recordCount, f.specId])).toEqual([
      ['memory://wh/t/data/ts_day=1970-01-01/cat=a/f0.parquet', [0, 'a'], 2, 1],
      ['memory://wh/t/data/ts_day=1970-01-02/cat=a/f1.parquet', [1, 'a'], 1, 1],
      ['memory://wh/t/data/ts_day=1970-01-01/cat=b%2Fc/f2.parquet', [0, 'b/c'], 1, 1],
      ['memory://wh/t/data/ts_day=1969-12-31/cat=null/f3.parquet', [-1, null], 1, 1],
      ['memory://wh/t/data/ts_day=null/cat=null/f4.parquet', [null, 'null'], 1, 1],
      ['memory://wh/t/data/ts_day=null/cat=null/f5.parquet', [null, null], 1, 1],
    ]);
    const ids = async (path: string) =>
      arrowTableToRows(SCHEMA, readParquet(await io.read(path))).map((r) => r.id);
    expect(await ids('memory://wh/t/data/ts_day=1970-01-01/cat=a/f0.parquet')).toEqual([1n, 5n]);
    expect(await ids('memory://wh/t/data/ts_day=null/cat=null/f5.parquet')).toEqual([7n]);
    expect(files[0]?.lowerBounds?.get(1)).toEqual(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
    expect(files[0]?.upperBounds?.get(1)).toEqual(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]));
    expect([...io.files.keys()].length).toBe(6);
  });

  test('bucket transform and a single partition write the table as is', async () => {
    const io = new MemoryFileIO();
    const spec = partitionSpecFromJson({
      'spec-id': 2,
      fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[1]' }],
    });
    const files = await writePartitioned(io, {
      schema: SCHEMA,
      spec,
      table: icebergRowsToArrow(SCHEMA, ROWS),
      dataLocation: 'memory://d/',
      fileName: names(),
    });
    expect(files.map((f) => [f.filePath, f.partition, f.recordCount])).toEqual([
      ['memory://d/id_bucket=0/f0.parquet', [0], 7],
    ]);
    const rows = arrowTableToRows(SCHEMA, readParquet(await io.read(files[0]?.filePath ?? '')));
    expect(rows).toEqual(ROWS);
  });

  test('unpartitioned: one file directly under the data location; default names are uuids', async () => {
    const io = new MemoryFileIO();
    const files = await writePartitioned(io, {
      schema: SCHEMA,
      spec: { specId: 0, fields: [] },
      table: icebergRowsToArrow(SCHEMA, ROWS),
      dataLocation: 'memory://wh/t/data',
    });
    expect(files).toHaveLength(1);
    expect(files[0]?.partition).toEqual([]);
    expect(files[0]?.filePath).toMatch(
      /^memory:\/\/wh\/t\/data\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.parquet$/,
    );
  });

  test('an empty table writes nothing', async () => {
    const io = new MemoryFileIO();
    const files = await writePartitioned(io, {
      schema: SCHEMA,
      spec: { specId: 0, fields: [] },
      table: icebergRowsToArrow(SCHEMA, []),
      dataLocation: 'memory://x',
    });
    expect(files).toEqual([]);
    expect(io.files.size).toBe(0);
  });
});
