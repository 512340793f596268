import { parquetMetadata } from 'hyparquet';
import { describe, expect, test } from 'vitest';
import { arrowSchemaFor } from '../../src/arrow/schema.ts';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { arrowTableToRows, readParquet } from '../../src/scan/read-parquet.ts';
import { schemaFromJson, schemaToJson } from '../../src/spec/types.ts';
import { writeDataFile } from '../../src/writer/data-file-writer.ts';
import { ALL_TYPES, ALL_TYPES_ROWS } from '../arrow/all-types.ts';

describe('writeDataFile', () => {
  test('writes the Parquet file and describes it', async () => {
    const io = new MemoryFileIO();
    const path = 'memory://wh/t/data/f.parquet';
    const table = icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS);
    const df = await writeDataFile(io, path, table, {
      schema: ALL_TYPES,
      specId: 3,
      partition: [],
    });
    const bytes = await io.read(path);
    expect(df.content).toBe(0);
    expect(df.filePath).toBe(path);
    expect(df.fileFormat).toBe('PARQUET');
    expect(df.specId).toBe(3);
    expect(df.partition).toEqual([]);
    expect(df.recordCount).toBe(3);
    expect(df.fileSizeInBytes).toBe(bytes.length);
    expect(df.splitOffsets).toEqual([4]);
    // struct child 16 gets metrics, list/map leaves (19, 21, 22, 27) only sizes
    expect(df.valueCounts?.get(16)).toBe(3);
    expect(df.nullValueCounts?.get(16)).toBe(2);
    expect(df.valueCounts?.has(19)).toBe(false);
    expect(df.columnSizes?.has(19)).toBe(true);
    expect(df.columnSizes?.has(27)).toBe(true);
    expect(arrowTableToRows(ALL_TYPES, readParquet(bytes))).toEqual(ALL_TYPES_ROWS);
  });

  test('the footer carries iceberg.schema and every field id, nested ones included', async () => {
    const io = new MemoryFileIO();
    const table = icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS);
    await writeDataFile(io, 'memory://f.parquet', table, {
      schema: ALL_TYPES,
      specId: 0,
      partition: [],
    });
    const meta = parquetMetadata(await io.read('memory://f.parquet'));
    const kv = Object.fromEntries((meta.key_value_metadata ?? []).map((e) => [e.key, e.value]));
    expect(kv['iceberg.schema']).toBe(JSON.stringify(schemaToJson(ALL_TYPES)));
    const ids = meta.schema.slice(1).map((e) => [e.name, e.field_id ?? null]);
    expect(ids).toEqual([
      ['b', 1],
      ['i', 2],
      ['l', 3],
      ['f', 4],
      ['d', 5],
      ['dec', 6],
      ['dt', 7],
      ['t', 8],
      ['ts', 9],
      ['tstz', 10],
      ['s', 11],
      ['u', 12],
      ['fx', 13],
      ['bin', 14],
      ['st', 15],
      ['x', 16],
      ['y', 17],
      ['ls', 18],
      ['list', null],
      ['element', 19],
      ['mp', 20],
      ['key_value', null],
      ['key', 21],
      ['value', 22],
      ['dec9', 23],
      ['dec18', 24],
      ['lst', 25],
      ['list', null],
      ['element', 26],
      ['z', 27],
    ]);
    const byName = new Map(meta.schema.map((e) => [e.name, e]));
    expect(byName.get('u')?.type).toBe('FIXED_LEN_BYTE_ARRAY');
    expect(byName.get('u')?.type_length).toBe(16);
    expect(byName.get('dec')?.type_length).toBe(16);
    expect(byName.get('dec9')?.type).toBe('INT32');
    expect(byName.get('dec18')?.type).toBe('INT64');
    expect(byName.get('ts')?.logical_type).toEqual({
      type: 'TIMESTAMP',
      isAdjustedToUTC: false,
      unit: 'MICROS',
    });
    expect(byName.get('tstz')?.logical_type).toEqual({
      type: 'TIMESTAMP',
      isAdjustedToUTC: true,
      unit: 'MICROS',
    });
  });

  test('codec and row group size are applied', async () => {
    const io = new MemoryFileIO();
    const schema = schemaFromJson({
      type: 'struct',
      fields: [{ id: 1, name: 'n', required: true, type: 'long' }],
    });
    const rows = Array.from({ length: 10 }, (_, i) => ({ n: BigInt(i) }));
    const df = await writeDataFile(io, 'memory://z.parquet', icebergRowsToArrow(schema, rows), {
      schema,
      specId: 0,
      partition: [],
      compression: 'zstd',
      rowGroupSize: 4,
    });
    const meta = parquetMetadata(await io.read('memory://z.parquet'));
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([4, 4, 2]);
    expect(meta.row_groups.map((g) => g.columns[0]?.meta_data?.codec)).toEqual([
      'ZSTD',
      'ZSTD',
      'ZSTD',
    ]);
    // Java's BlockMetaData.getStartingPos: the dictionary page when there is one.
    const starts = meta.row_groups.map((g) => {
      const md = g.columns[0]?.meta_data;
      return Number(md?.dictionary_page_offset ?? md?.data_page_offset);
    });
    expect(starts[0]).toBe(4);
    expect(df.splitOffsets).toEqual(starts);
  });

  test('a table that does not follow the schema is refused', async () => {
    const other = schemaFromJson({
      type: 'struct',
      fields: [{ id: 9, name: 'n', required: true, type: 'long' }],
    });
    const table = icebergRowsToArrow(other, [{ n: 1n }]);
    expect(arrowSchemaFor(other).fields[0]?.metadata.get('PARQUET:field_id')).toBe('9');
    await expect(
      writeDataFile(new MemoryFileIO(), 'memory://x', table, {
        schema: ALL_TYPES,
        specId: 0,
        partition: [],
      }),
    ).rejects.toThrow(/field ids 9\) do not match the schema/);
  });
});
