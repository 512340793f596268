import { describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { parseFileMetaData } from '../../src/scan/parquet-footer.ts';
import {
  COALESCE_GAP,
  coalesce,
  neededRanges,
  readFooter,
  readParquetRanged,
  TAIL_BYTES,
} from '../../src/scan/ranged-read.ts';
import { arrowTableToRows, readParquet } from '../../src/scan/read-parquet.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';
import { writeParquet } from '../../src/writer/parquet.ts';
import { ALL_TYPES, ALL_TYPES_ROWS } from '../arrow/all-types.ts';

/** MemoryFileIO that records every ranged read and refuses whole-file reads. */
class CountingIO extends MemoryFileIO {
  readonly ranges: { start: number; length: number }[] = [];
  override async read(path: string): Promise<Uint8Array> {
    throw new Error(`whole-file read of ${path}`);
  }
  override async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    this.ranges.push({ start: offset, length });
    const data = this.files.get(path);
    if (!data) throw new Error(`missing ${path}`);
    return data.slice(offset, offset + length);
  }
  get bytes(): number {
    return this.ranges.reduce((n, r) => n + r.length, 0);
  }
}

function schemaOf(
  fields: { id: number; name: string; type: string; required?: boolean }[],
): Schema {
  return schemaFromJson({
    type: 'struct',
    'schema-id': 0,
    fields: fields.map((f) => ({ required: false, ...f })),
  });
}

// Ten string columns of 64 bytes per value, 3000 rows in row groups of 1000.
const WIDE = schemaOf(
  Array.from({ length: 10 }, (_, k) => ({ id: k + 1, name: `c${k}`, type: 'string' })),
);
const WIDE_ROWS = Array.from({ length: 3000 }, (_, i) => {
  const row: Record<string, unknown> = {};
  for (let k = 0; k < 10; k++)
    row[`c${k}`] = `${k}:${i}:`.padEnd(64, String.fromCharCode(97 + ((i * 7 + k) % 26)));
  return row;
});
const WIDE_FILE = writeParquet(icebergRowsToArrow(WIDE, WIDE_ROWS), {
  compression: 'uncompressed',
  rowGroupSize: 1000,
});

describe('Parquet footer parser', () => {
  test('schema elements, field IDs, row counts and chunk ranges of a file kice writes', async () => {
    const io = new CountingIO();
    io.files.set('memory://t/wide.parquet', WIDE_FILE);
    const { meta } = await readFooter(io, 'memory://t/wide.parquet', WIDE_FILE.length);
    expect(meta.numRows).toBe(3000);
    expect(meta.schema.map((e) => [e.name, e.numChildren, e.fieldId])).toEqual([
      ['arrow_schema', 10, undefined],
      ...Array.from({ length: 10 }, (_, k) => [`c${k}`, undefined, k + 1]),
    ]);
    expect(meta.rowGroups.map((g) => g.numRows)).toEqual([1000, 1000, 1000]);
    // Chunks tile the file between the leading magic and the footer, in order.
    const chunks = meta.rowGroups.flatMap((g) => g.columns);
    expect(chunks.map((c) => c.path)).toEqual(Array.from({ length: 30 }, (_, j) => [`c${j % 10}`]));
    let at = 4;
    for (const c of chunks) {
      expect(c.start).toBe(at);
      at += c.length;
    }
    // Then the page indexes (offset index of each chunk, in order), then the footer.
    for (const ix of chunks.flatMap((c) => c.indexes)) {
      expect(ix.start).toBe(at);
      at += ix.length;
    }
    expect(chunks.every((c) => c.indexes.length === 1)).toBe(true);
    const footerLen = new DataView(WIDE_FILE.buffer).getUint32(WIDE_FILE.length - 8, true);
    expect(at).toBe(WIDE_FILE.length - footerLen - 8);
  });

  test('nested columns: leaf paths and group children', () => {
    const bytes = writeParquet(icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS));
    const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 8, true);
    const meta = parseFileMetaData(bytes.subarray(bytes.length - 8 - len, bytes.length - 8));
    expect(meta.numRows).toBe(ALL_TYPES_ROWS.length);
    const st = meta.schema.find((e) => e.name === 'st');
    expect(st).toEqual({ name: 'st', numChildren: 2, fieldId: 15, repetition: 1 });
    const paths = meta.rowGroups[0]?.columns.map((c) => c.path.join('.'));
    expect(paths).toContain('st.x');
    expect(paths).toContain('st.y');
  });

  test('a file without trailing PAR1 is refused', async () => {
    const io = new CountingIO();
    io.files.set('memory://t/bad', new Uint8Array(100));
    await expect(readFooter(io, 'memory://t/bad', 100)).rejects.toThrow(
      'not a Parquet file (no trailing PAR1): memory://t/bad',
    );
  });

  test('coalescing merges overlapping and near ranges only', () => {
    expect(
      coalesce(
        [
          { start: 500, length: 10 },
          { start: 0, length: 100 },
          { start: 50, length: 100 },
          { start: 160, length: 5 },
        ],
        10,
      ),
    ).toEqual([
      { start: 0, length: 165 },
      { start: 500, length: 10 },
    ]);
  });
});

describe('ranged read over FileIO', () => {
  test('1 of 10 columns reads only its chunks + the footer tail; rows exact', async () => {
    const io = new CountingIO();
    const path = 'memory://t/wide.parquet';
    io.files.set(path, WIDE_FILE);
    const only = schemaOf([{ id: 4, name: 'c3', type: 'string' }]);
    const table = await readParquetRanged(io, path, WIDE_FILE.length, only);
    const whole = arrowTableToRows(only, readParquet(WIDE_FILE, only));
    expect(arrowTableToRows(only, table)).toEqual(whole);
    expect(whole[2999]).toEqual({ c3: WIDE_ROWS[2999]?.c3 });

    // Requested: the speculative tail (which holds the page indexes), then exactly the c3
    // chunks (never coalesced: the other columns' chunks between them exceed the gap).
    // parquet-wasm asked for nothing beyond them (no read-through).
    const probe = new CountingIO();
    probe.files.set(path, WIDE_FILE);
    const { meta } = await readFooter(probe, path, WIDE_FILE.length);
    const c3 = meta.rowGroups.flatMap((g) => g.columns.filter((c) => c.path[0] === 'c3'));
    expect(c3[0]?.length).toBeGreaterThan(COALESCE_GAP);
    const indexStart = Math.min(
      ...meta.rowGroups.flatMap((g) => g.columns.flatMap((c) => c.indexes.map((i) => i.start))),
    );
    expect(indexStart).toBeGreaterThanOrEqual(WIDE_FILE.length - TAIL_BYTES);
    expect(io.ranges).toEqual([
      { start: WIDE_FILE.length - TAIL_BYTES, length: TAIL_BYTES },
      ...c3.map((c) => ({ start: c.start, length: c.length })),
    ]);
    console.log(`ranged read: ${io.bytes} of ${WIDE_FILE.length} bytes`);
    expect(io.bytes).toBeLessThan(WIDE_FILE.length / 5);
  });

  test('every column, nested ones too, reads the same rows as the whole file', async () => {
    const io = new CountingIO();
    const bytes = writeParquet(icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS), {
      compression: 'zstd',
    });
    io.files.set('memory://t/all.parquet', bytes);
    const table = await readParquetRanged(io, 'memory://t/all.parquet', bytes.length, ALL_TYPES);
    expect(arrowTableToRows(ALL_TYPES, table)).toEqual(ALL_TYPES_ROWS);
  });

  test('a nested struct column alone, plus a column the file lacks', async () => {
    const io = new CountingIO();
    const bytes = writeParquet(icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS));
    io.files.set('memory://t/all.parquet', bytes);
    const st = ALL_TYPES.fields.find((f) => f.name === 'st');
    if (!st) throw new Error('no st');
    const read = schemaFromJson({
      type: 'struct',
      'schema-id': 1,
      fields: [
        { id: 15, name: 'st', required: false, type: st.type },
        { id: 99, name: 'added', required: false, type: 'string' },
      ],
    });
    const table = await readParquetRanged(io, 'memory://t/all.parquet', bytes.length, read);
    expect(arrowTableToRows(read, table)).toEqual(
      ALL_TYPES_ROWS.map((r) => ({ st: r.st, added: null })),
    );
  });

  test('only columns the file lacks: footer read only, every row null', async () => {
    const io = new CountingIO();
    io.files.set('memory://t/wide.parquet', WIDE_FILE);
    const read = schemaOf([{ id: 99, name: 'added', type: 'long' }]);
    const table = await readParquetRanged(io, 'memory://t/wide.parquet', WIDE_FILE.length, read);
    expect(table.numRows).toBe(3000);
    expect(arrowTableToRows(read, table).every((r) => r.added === null)).toBe(true);
    expect(io.ranges).toHaveLength(1);
  });

  test('a footer longer than the speculative tail costs one more read', async () => {
    const many = schemaOf(
      Array.from({ length: 400 }, (_, k) => ({ id: k + 1, name: `column_${k}`, type: 'int' })),
    );
    const rows = Array.from({ length: 20 }, (_, i) => {
      const r: Record<string, unknown> = {};
      for (let k = 0; k < 400; k++) r[`column_${k}`] = i * k;
      return r;
    });
    const bytes = writeParquet(icebergRowsToArrow(many, rows), { rowGroupSize: 2 });
    const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 8, true);
    expect(len + 8).toBeGreaterThan(TAIL_BYTES);
    const io = new CountingIO();
    io.files.set('memory://t/many.parquet', bytes);
    const only = schemaOf([{ id: 400, name: 'column_399', type: 'int' }]);
    const table = await readParquetRanged(io, 'memory://t/many.parquet', bytes.length, only);
    expect(arrowTableToRows(only, table)).toEqual(rows.map((r) => ({ column_399: r.column_399 })));
    expect(io.ranges[1]).toEqual({
      start: bytes.length - len - 8,
      length: len + 8 - TAIL_BYTES,
    });
  });
});

test('neededRanges of no columns is empty', async () => {
  const io = new CountingIO();
  io.files.set('memory://t/wide.parquet', WIDE_FILE);
  const { meta } = await readFooter(io, 'memory://t/wide.parquet', WIDE_FILE.length);
  expect(neededRanges(meta, [])).toEqual([]);
});
