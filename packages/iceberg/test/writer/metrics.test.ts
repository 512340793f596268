import { ParquetFile } from 'parquet-wasm';
import { describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';
import { computeMetrics } from '../../src/writer/metrics.ts';
import { writeParquet } from '../../src/writer/parquet.ts';

const bytes = (...b: number[]) => new Uint8Array(b);

const SCHEMA = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'int' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'score', required: false, type: 'double' },
    {
      id: 4,
      name: 'tags',
      required: false,
      type: { type: 'list', 'element-id': 5, element: 'string', 'element-required': false },
    },
    {
      id: 6,
      name: 'info',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 7, name: 'flag', required: false, type: 'boolean' },
          { id: 8, name: 'w', required: false, type: 'float' },
        ],
      },
    },
    {
      id: 9,
      name: 'props',
      required: false,
      type: {
        type: 'map',
        'key-id': 10,
        key: 'string',
        'value-id': 11,
        value: 'int',
        'value-required': false,
      },
    },
    { id: 12, name: 'u', required: false, type: 'uuid' },
    { id: 13, name: 'dec', required: false, type: 'decimal(9, 2)' },
  ],
});

const ROWS = [
  {
    id: 3,
    name: 'abcdefghijklmnopqrstuvwxyz',
    score: Number.NaN,
    tags: ['x'],
    info: { flag: true, w: 1.5 },
    props: new Map([['a', 1]]),
    u: '00000000-0000-0000-0000-000000000001',
    dec: 150n,
  },
  { id: -7, name: 'é', score: -0, tags: null, info: null, props: null, u: null, dec: -5n },
  {
    id: 10,
    name: null,
    score: 0,
    tags: [],
    info: { flag: false, w: Number.NaN },
    props: new Map(),
    u: '00000000-0000-0000-0000-000000000002',
    dec: null,
  },
  { id: 0, name: 'b', score: null, info: { flag: null, w: null } },
];

function metricsOf(schema: Schema, rows: Record<string, unknown>[], rowGroupSize?: number) {
  const table = icebergRowsToArrow(schema, rows);
  const parquet = writeParquet(table, rowGroupSize === undefined ? {} : { rowGroupSize });
  return { parquet, m: computeMetrics(schema, table, parquet) };
}

describe('computeMetrics (Java ParquetMetrics, truncate(16))', () => {
  const { parquet, m } = metricsOf(SCHEMA, ROWS);

  test('counts: list/map leaves get none; float under a null struct is not counted', () => {
    expect(m.recordCount).toBe(4);
    expect(Object.fromEntries(m.valueCounts)).toEqual({
      1: 4,
      2: 4,
      3: 4,
      7: 4,
      8: 3,
      12: 4,
      13: 4,
    });
    expect(Object.fromEntries(m.nullValueCounts)).toEqual({
      1: 0,
      2: 1,
      3: 1,
      7: 2,
      8: 1,
      12: 2,
      13: 2,
    });
    expect(Object.fromEntries(m.nanValueCounts)).toEqual({ 3: 1, 8: 1 });
  });

  test('bounds: exact bytes, NaN excluded, -0.0 below +0.0, strings truncated', () => {
    expect(Object.fromEntries(m.lowerBounds)).toEqual({
      1: bytes(0xf9, 0xff, 0xff, 0xff), // -7
      2: new TextEncoder().encode('abcdefghijklmnop'),
      3: bytes(0, 0, 0, 0, 0, 0, 0, 0x80), // -0.0
      7: bytes(0),
      8: bytes(0, 0, 0xc0, 0x3f), // 1.5f
      12: bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
      13: bytes(0xfb), // -5
    });
    expect(Object.fromEntries(m.upperBounds)).toEqual({
      1: bytes(10, 0, 0, 0),
      2: bytes(0xc3, 0xa9), // 'é'
      3: bytes(0, 0, 0, 0, 0, 0, 0, 0), // +0.0
      7: bytes(1),
      8: bytes(0, 0, 0xc0, 0x3f),
      12: bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2),
      13: bytes(0x00, 0x96), // 150
    });
  });

  test('column sizes cover every leaf with an ID, list/map leaves included', async () => {
    expect([...m.columnSizes.keys()].sort((a, b) => a - b)).toEqual([
      1, 2, 3, 5, 7, 8, 10, 11, 12, 13,
    ]);
    // Cross-check against parquet-rs's own reading of the footer.
    const file = await ParquetFile.fromFile(new Blob([parquet]));
    const rg = file.metadata().rowGroup(0);
    const byPath = new Map(rg.columns().map((c) => [c.columnPath().join('.'), c.compressedSize()]));
    expect(m.columnSizes.get(1)).toBe(byPath.get('id'));
    expect(m.columnSizes.get(5)).toBe(byPath.get('tags.list.element'));
    expect(m.columnSizes.get(8)).toBe(byPath.get('info.w'));
    expect(m.columnSizes.get(11)).toBe(byPath.get('props.key_value.value'));
    expect(m.splitOffsets).toEqual([4]);
  });
});

describe('computeMetrics edge cases', () => {
  const S = schemaFromJson({
    type: 'struct',
    fields: [
      { id: 1, name: 's', required: false, type: 'string' },
      { id: 2, name: 'b', required: false, type: 'binary' },
      { id: 3, name: 'e', required: false, type: 'string' },
      { id: 4, name: 'd', required: false, type: 'double' },
      { id: 5, name: 'n', required: false, type: 'long' },
    ],
  });

  test('truncated upper bounds are incremented; impossible ones are left out', () => {
    const { m } = metricsOf(S, [
      {
        s: `${'a'.repeat(17)}!`,
        b: new Uint8Array(20).fill(0xff),
        e: '😀'.repeat(17),
        d: Number.NaN,
      },
      { s: `${'b'.repeat(16)}€`, b: bytes(0, 0xff), e: '😀', d: Number.NaN },
      { s: 'ab', b: null, e: null, d: null },
    ]);
    const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
    expect(dec(m.lowerBounds.get(1))).toBe('a'.repeat(16));
    expect(dec(m.upperBounds.get(1))).toBe(`${'b'.repeat(15)}c`);
    expect(m.lowerBounds.get(2)).toEqual(bytes(0, 0xff));
    expect(m.upperBounds.has(2)).toBe(false);
    expect(dec(m.lowerBounds.get(3))).toBe('😀');
    expect(dec(m.upperBounds.get(3))).toBe(`${'😀'.repeat(15)}😁`);
    // all NaN or null: counts but no bounds
    expect(m.valueCounts.get(4)).toBe(3);
    expect(m.nanValueCounts.get(4)).toBe(2);
    expect(m.lowerBounds.has(4)).toBe(false);
    expect(m.upperBounds.has(4)).toBe(false);
    expect(m.nullValueCounts.get(5)).toBe(3);
    expect(m.lowerBounds.has(5)).toBe(false);
  });

  test('split offsets are the row-group starts; sizes sum over row groups', async () => {
    const { parquet, m } = metricsOf(
      S,
      [1, 2, 3, 4, 5].map((i) => ({ s: `v${i}`, n: BigInt(i) })),
      2,
    );
    const file = await ParquetFile.fromFile(new Blob([parquet]));
    const groups = file.metadata().rowGroups();
    expect(groups.map((g) => g.numRows())).toEqual([2, 2, 1]);
    const sizes = groups.map((g) => g.columns().map((c) => c.compressedSize()));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    // parquet-rs writes the chunks of a row group back to back after the 4-byte magic.
    expect(m.splitOffsets).toEqual([
      4,
      4 + sum(sizes[0] ?? []),
      4 + sum(sizes[0] ?? []) + sum(sizes[1] ?? []),
    ]);
    expect(m.columnSizes.get(5)).toBe(sum(sizes.map((s) => s[4] ?? 0)));
    expect(m.lowerBounds.get(5)).toEqual(bytes(1, 0, 0, 0, 0, 0, 0, 0));
    expect(m.upperBounds.get(5)).toEqual(bytes(5, 0, 0, 0, 0, 0, 0, 0));
  });

  test('beyond 100 top-level columns only the first 100 get metrics', () => {
    const wide = schemaFromJson({
      type: 'struct',
      fields: Array.from({ length: 101 }, (_, i) => ({
        id: i + 1,
        name: `c${i + 1}`,
        required: true,
        type: 'int',
      })),
    });
    const row = Object.fromEntries(wide.fields.map((f) => [f.name, f.id]));
    const { m } = metricsOf(wide, [row]);
    expect(m.valueCounts.size).toBe(100);
    expect(m.valueCounts.has(101)).toBe(false);
    expect(m.columnSizes.size).toBe(100);
    expect(m.columnSizes.has(101)).toBe(false);
    expect(m.upperBounds.get(100)).toEqual(bytes(100, 0, 0, 0));
  });
});
