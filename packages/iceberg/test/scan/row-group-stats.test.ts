import { describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import type { FileMetaData, SchemaElement, Statistics } from '../../src/scan/parquet-footer.ts';
import { parseFileMetaData } from '../../src/scan/parquet-footer.ts';
import { RowGroupStats } from '../../src/scan/row-group-stats.ts';
import { type PrimitiveType, schemaFromJson } from '../../src/spec/types.ts';
import { writeParquet } from '../../src/writer/parquet.ts';

const le32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
};
const le64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return b;
};
const f64 = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
};
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A one-column, one-row-group footer of 100 rows. */
function meta(
  el: Omit<SchemaElement, 'name' | 'numChildren' | 'fieldId'>,
  statistics: Statistics,
  typeDefinedOrder?: boolean,
): FileMetaData {
  return {
    schema: [
      { name: 'root', numChildren: 1, fieldId: undefined },
      { name: 'c', numChildren: undefined, fieldId: 1, repetition: 1, ...el },
    ],
    numRows: 100,
    rowGroups: [
      {
        numRows: 100,
        columns: [
          {
            path: ['c'],
            start: 4,
            length: 10,
            indexes: [],
            physicalType: el.physicalType ?? 0,
            numValues: 100,
            statistics,
          },
        ],
      },
    ],
    typeDefinedOrder: typeDefinedOrder === undefined ? undefined : [typeDefinedOrder],
  };
}

const stats = (m: FileMetaData, type: PrimitiveType, id = 1) =>
  new RowGroupStats(m, new Map([[id, type]])).forRowGroup(0)(id);

describe('row group statistics', () => {
  test('min_value/max_value and null_count of an INT64 column', () => {
    const m = meta({ physicalType: 2 }, { minValue: le64(-5n), maxValue: le64(9n), nullCount: 3 });
    expect(stats(m, 'long')).toEqual({ lower: -5n, upper: 9n, mayHaveNull: true, allNull: false });
  });

  test('an INT32 column read as long (promotion) gives bigint bounds', () => {
    const m = meta({ physicalType: 1 }, { minValue: le32(-7), maxValue: le32(70), nullCount: 0 });
    expect(stats(m, 'long')).toEqual({
      lower: -7n,
      upper: 70n,
      mayHaveNull: false,
      allNull: false,
    });
  });

  test('deprecated min/max: used for ints, never for byte arrays', () => {
    expect(stats(meta({ physicalType: 1 }, { min: le32(1), max: le32(2) }), 'int')).toEqual({
      lower: 1,
      upper: 2,
    });
    expect(stats(meta({ physicalType: 6 }, { min: utf8('a'), max: utf8('z') }), 'string')).toEqual(
      {},
    );
  });

  test('min_value/max_value are ignored when the column order is not TypeDefinedOrder', () => {
    const s = { minValue: utf8('a'), maxValue: utf8('z') };
    expect(stats(meta({ physicalType: 6 }, s, false), 'string')).toEqual({});
    expect(stats(meta({ physicalType: 6 }, s, true), 'string')).toEqual({ lower: 'a', upper: 'z' });
  });

  test('a string bound cut inside a code point is dropped', () => {
    const cut = utf8('é').subarray(0, 1);
    expect(
      stats(meta({ physicalType: 6 }, { minValue: utf8('a'), maxValue: cut }), 'string'),
    ).toEqual({});
  });

  test('NaN bounds are dropped; zero bounds widen to -0 / +0', () => {
    expect(
      stats(meta({ physicalType: 5 }, { minValue: f64(1), maxValue: f64(Number.NaN) }), 'double'),
    ).toEqual({});
    const z = stats(meta({ physicalType: 5 }, { minValue: f64(0), maxValue: f64(-0) }), 'double');
    expect(Object.is(z?.lower, -0)).toBe(true);
    expect(Object.is(z?.upper, 0)).toBe(true);
  });

  test('timestamps only in µs; other units give no bounds', () => {
    const s = { minValue: le64(1n), maxValue: le64(2n) };
    const micros = { physicalType: 2, logical: { kind: 8, unit: 2 } };
    const millis = { physicalType: 2, logical: { kind: 8, unit: 1 } };
    expect(stats(meta(micros, s), 'timestamptz')).toEqual({ lower: 1n, upper: 2n });
    expect(stats(meta(millis, s), 'timestamptz')).toEqual({});
    expect(stats(meta({ physicalType: 2, convertedType: 9 }, s), 'timestamp')).toEqual({});
  });

  test('decimals need the same scale; unsigned ints give no bounds', () => {
    const s = { minValue: le32(-150), maxValue: le32(250) };
    const dec = { physicalType: 1, logical: { kind: 5, scale: 2 } };
    expect(stats(meta(dec, s), 'decimal(9, 2)')).toEqual({ lower: -150n, upper: 250n });
    expect(stats(meta(dec, s), 'decimal(9, 3)')).toEqual({});
    expect(stats(meta({ physicalType: 1, convertedType: 13 }, s), 'long')).toEqual({});
  });

  test('all nulls; and a field the file lacks is all null', () => {
    expect(stats(meta({ physicalType: 2 }, { nullCount: 100 }), 'long')).toEqual({
      mayHaveNull: true,
      allNull: true,
    });
    expect(stats(meta({ physicalType: 2 }, {}), 'long', 2)).toEqual({
      mayHaveNull: true,
      allNull: true,
    });
  });

  test('statistics kice writes decode to the column bounds', () => {
    const schema = schemaFromJson({
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'id', required: true, type: 'long' },
        { id: 2, name: 'name', required: false, type: 'string' },
        { id: 3, name: 'ts', required: false, type: 'timestamptz' },
        { id: 4, name: 'dec', required: false, type: 'decimal(20, 3)' },
        { id: 5, name: 'dt', required: false, type: 'date' },
      ],
    });
    const rows = [
      { id: 7n, name: 'pear', ts: 5n, dec: -12345n, dt: -3 },
      { id: -2n, name: 'apple', ts: null, dec: 99n, dt: 19000 },
      { id: 40n, name: null, ts: 1n, dec: null, dt: null },
    ];
    const bytes = writeParquet(icebergRowsToArrow(schema, rows));
    const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 8, true);
    const m = parseFileMetaData(bytes.subarray(bytes.length - 8 - len, bytes.length - 8));
    const types = new Map<number, PrimitiveType>([
      [1, 'long'],
      [2, 'string'],
      [3, 'timestamptz'],
      [4, 'decimal(20, 3)'],
      [5, 'date'],
    ]);
    const get = new RowGroupStats(m, types).forRowGroup(0);
    expect([1, 2, 3, 4, 5].map(get)).toEqual([
      { lower: -2n, upper: 40n, mayHaveNull: false, allNull: false },
      { lower: 'apple', upper: 'pear', mayHaveNull: true, allNull: false },
      { lower: 1n, upper: 5n, mayHaveNull: true, allNull: false },
      { lower: -12345n, upper: 99n, mayHaveNull: true, allNull: false },
      { lower: -3, upper: 19000, mayHaveNull: true, allNull: false },
    ]);
  });
});
