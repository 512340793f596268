import { parquetMetadata } from 'hyparquet';
import { describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { arrowTableToRows, readParquet } from '../../src/scan/read-parquet.ts';
import type { Schema } from '../../src/spec/types.ts';
import {
  arrowByteLength,
  DEFAULT_DICTIONARY_PAGE_BYTES,
  writeParquet,
  writeParquetStream,
} from '../../src/writer/parquet.ts';
import { ALL_TYPES, ALL_TYPES_ROWS } from '../arrow/all-types.ts';

const EVENTS: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'score', required: false, type: 'double' },
  ],
};

function events(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: BigInt(i),
    name: i % 7 === 0 ? null : `user-${i % 1000}-${'x'.repeat(i % 13)}`,
    score: i / 3,
  }));
}

describe('writeParquetStream', () => {
  test('writes every type exactly as the one-shot writer does', async () => {
    const table = icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS);
    const bytes = await writeParquetStream(table, { compression: 'zstd' });
    expect(arrowTableToRows(ALL_TYPES, readParquet(bytes))).toEqual(ALL_TYPES_ROWS);
    const one = writeParquet(table, { compression: 'zstd' });
    expect(arrowTableToRows(ALL_TYPES, readParquet(one))).toEqual(ALL_TYPES_ROWS);
  });

  test('streams many slices into one file, rows in order', async () => {
    const rows = events(50_000);
    const bytes = await writeParquetStream(icebergRowsToArrow(EVENTS, rows));
    expect(arrowTableToRows(EVENTS, readParquet(bytes))).toEqual(rows);
    expect(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups).toHaveLength(1);
  });

  test('rowGroupBytes caps the Arrow bytes per row group', async () => {
    const rows = events(40_000);
    const table = icebergRowsToArrow(EVENTS, rows);
    const perRow = arrowByteLength(table) / rows.length;
    const cap = 256 * 1024;
    const bytes = await writeParquetStream(table, { rowGroupBytes: cap });
    const groups = parquetMetadata(bytes.buffer as ArrayBuffer).row_groups;
    const rowsPerGroup = Math.floor(cap / perRow);
    expect(groups).toHaveLength(Math.ceil(rows.length / rowsPerGroup));
    expect(groups.map((g) => Number(g.num_rows))).toEqual(
      groups.map((_, i) => Math.min(rowsPerGroup, rows.length - i * rowsPerGroup)),
    );
    expect(arrowTableToRows(EVENTS, readParquet(bytes))).toEqual(rows);
  });

  test('rowGroupSize still caps the rows when it is the smaller limit', async () => {
    const rows = events(10_000);
    const bytes = await writeParquetStream(icebergRowsToArrow(EVENTS, rows), {
      rowGroupSize: 3000,
      rowGroupBytes: 64 * 2 ** 20,
    });
    const groups = parquetMetadata(bytes.buffer as ArrayBuffer).row_groups;
    expect(groups.map((g) => Number(g.num_rows))).toEqual([3000, 3000, 3000, 1000]);
  });

  test('an empty table still makes a valid file with the schema', async () => {
    const bytes = await writeParquetStream(icebergRowsToArrow(EVENTS, []));
    expect(arrowTableToRows(EVENTS, readParquet(bytes))).toEqual([]);
  });

  test('a non-positive rowGroupBytes is refused by name', async () => {
    await expect(
      writeParquetStream(icebergRowsToArrow(EVENTS, events(3)), { rowGroupBytes: 0 }),
    ).rejects.toThrow('rowGroupBytes must be positive');
  });
});

describe('dictionary page cap', () => {
  // 20k distinct ~12-byte names: a ~300 KB dictionary, past 64 KiB and under parquet-rs's
  // own 1 MiB default; a second column of 5 distinct values.
  const SCHEMA: Schema = {
    type: 'struct',
    schemaId: 0,
    fields: [
      { id: 1, name: 'name', required: true, type: 'string' },
      { id: 2, name: 'kind', required: true, type: 'string' },
    ],
  };
  const rows = Array.from({ length: 40_000 }, (_, i) => ({
    name: `name-${(i % 20_000).toString().padStart(7, '0')}`,
    kind: `k${i % 5}`,
  }));
  const encodings = (bytes: Uint8Array) =>
    parquetMetadata(bytes.buffer as ArrayBuffer).row_groups[0]?.columns.map((c) =>
      [...(c.meta_data?.encodings ?? [])].sort(),
    );

  test('by default a column of mostly distinct values falls back to plain past 64 KiB', async () => {
    expect(DEFAULT_DICTIONARY_PAGE_BYTES).toBe(64 * 1024);
    const table = icebergRowsToArrow(SCHEMA, rows);
    for (const bytes of [writeParquet(table), await writeParquetStream(table)]) {
      const [name, kind] = encodings(bytes) ?? [];
      expect(name).toContain('PLAIN');
      expect(name).toContain('RLE_DICTIONARY');
      // The low-cardinality column stays dictionary-encoded (PLAIN there is the dictionary page).
      expect(kind).toContain('RLE_DICTIONARY');
      expect(arrowTableToRows(SCHEMA, readParquet(bytes))).toEqual(rows);
    }
  });

  test('a larger cap keeps the whole column in the dictionary', () => {
    const table = icebergRowsToArrow(SCHEMA, rows);
    const small = writeParquet(table);
    const big = writeParquet(table, { dictionaryPageBytes: 1 << 20 });
    const meta = (b: Uint8Array) =>
      parquetMetadata(b.buffer as ArrayBuffer).row_groups[0]?.columns[0]?.meta_data;
    // Without fallback the column's data pages are all dictionary indices: the chunk's
    // dictionary page is the only PLAIN-encoded page.
    expect(meta(big)?.encoding_stats?.filter((s) => s.encoding === 'PLAIN')).toEqual([
      expect.objectContaining({ page_type: 'DICTIONARY_PAGE' }),
    ]);
    expect(
      meta(small)?.encoding_stats?.some(
        (s) => s.encoding === 'PLAIN' && s.page_type === 'DATA_PAGE',
      ),
    ).toBe(true);
    expect(arrowTableToRows(SCHEMA, readParquet(big))).toEqual(rows);
  });

  test('a cap that is not a positive integer is refused, naming the option', () => {
    const table = icebergRowsToArrow(SCHEMA, rows.slice(0, 10));
    expect(() => writeParquet(table, { dictionaryPageBytes: 0 })).toThrow(
      /dictionaryPageBytes must be a positive integer/,
    );
  });
});
