import { describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { arrowTableToRows, readParquet } from '../../src/scan/read-parquet.ts';
import { schemaFromJson } from '../../src/spec/types.ts';
import { writeParquet } from '../../src/writer/parquet.ts';
import { ALL_TYPES, ALL_TYPES_ROWS } from '../arrow/all-types.ts';

describe('rows → Arrow → Parquet → Arrow → rows', () => {
  for (const compression of ['snappy', 'zstd', 'lz4_raw', 'gzip', 'uncompressed'] as const) {
    test(`every type round-trips exactly (${compression})`, () => {
      const bytes = writeParquet(icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS), {
        compression,
      });
      const rows = arrowTableToRows(ALL_TYPES, readParquet(bytes));
      expect(rows).toEqual(ALL_TYPES_ROWS);
      // toEqual treats -0 and 0 alike: check the sign bit explicitly.
      expect(Object.is(rows[1]?.d, -0)).toBe(true);
      const lst = rows[0]?.lst as { z: number }[];
      expect(Object.is(lst[0]?.z, -0)).toBe(true);
    });
  }

  test('with a read schema the table has the schema columns, converted', () => {
    const bytes = writeParquet(icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS));
    const table = readParquet(bytes, ALL_TYPES);
    expect(table.schema.fields.map((f) => f.name)).toEqual(ALL_TYPES.fields.map((f) => f.name));
    expect(arrowTableToRows(ALL_TYPES, table)).toEqual(ALL_TYPES_ROWS);
  });
});

describe('schema evolution', () => {
  const v1 = schemaFromJson({
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'a', required: true, type: 'int' },
      { id: 2, name: 'f', required: false, type: 'float' },
      {
        id: 3,
        name: 's',
        required: false,
        type: { type: 'struct', fields: [{ id: 4, name: 'p', required: false, type: 'int' }] },
      },
    ],
  });
  const v2 = schemaFromJson({
    type: 'struct',
    'schema-id': 1,
    fields: [
      { id: 1, name: 'renamed', required: true, type: 'long' },
      { id: 2, name: 'f', required: false, type: 'double' },
      {
        id: 3,
        name: 's',
        required: false,
        type: {
          type: 'struct',
          fields: [
            { id: 5, name: 'q', required: false, type: 'string' },
            { id: 4, name: 'p', required: false, type: 'long' },
          ],
        },
      },
      { id: 6, name: 'added', required: false, type: 'string' },
    ],
  });

  test('columns match by field ID, promoted, missing ones null', () => {
    const bytes = writeParquet(
      icebergRowsToArrow(v1, [
        { a: 7, f: 0.5, s: { p: 3 } },
        { a: -1, f: null, s: null },
      ]),
    );
    expect(arrowTableToRows(v2, readParquet(bytes))).toEqual([
      { renamed: 7n, f: 0.5, s: { q: null, p: 3n }, added: null },
      { renamed: -1n, f: null, s: null, added: null },
    ]);
  });

  test('an incompatible type is refused', () => {
    const bytes = writeParquet(icebergRowsToArrow(v1, [{ a: 1 }]));
    const bad = schemaFromJson({
      type: 'struct',
      fields: [{ id: 1, name: 'a', required: true, type: 'string' }],
    });
    expect(() => arrowTableToRows(bad, readParquet(bytes))).toThrow(/cannot read a "int" column/);
  });
});
