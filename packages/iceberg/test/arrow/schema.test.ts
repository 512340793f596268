import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { arrowSchemaFor, icebergSchemaFromArrow } from '../../src/arrow/schema.ts';
import { ALL_TYPES } from './all-types.ts';

describe('arrowSchemaFor', () => {
  const s = arrowSchemaFor(ALL_TYPES);
  const field = (name: string) => s.fields.find((f) => f.name === name) as arrow.Field;

  test('maps every primitive type', () => {
    expect(s.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual([
      ['b', 'Bool', true],
      ['i', 'Int32', false],
      ['l', 'Int64', true],
      ['f', 'Float32', true],
      ['d', 'Float64', true],
      ['dec', 'Decimal[38e+10]', true],
      ['dt', 'Date32<DAY>', true],
      ['t', 'Time64<MICROSECOND>', true],
      ['ts', 'Timestamp<MICROSECOND>', true],
      ['tstz', 'Timestamp<MICROSECOND, UTC>', true],
      ['s', 'Utf8', true],
      ['u', 'FixedSizeBinary[16]', true],
      ['fx', 'FixedSizeBinary[3]', true],
      ['bin', 'Binary', true],
      ['st', 'Struct<{x:Int32, y:Utf8}>', true],
      ['ls', 'List<Utf8>', true],
      ['mp', 'Map<{key:Utf8, value:Int64}>', true],
      ['dec9', 'Decimal[9e+2]', true],
      ['dec18', 'Decimal[18e+2]', true],
      ['lst', 'List<Struct<{z:Float64}>>', true],
    ]);
    const dec = field('dec').type as arrow.Decimal;
    expect([dec.precision, dec.scale, dec.bitWidth]).toEqual([38, 10, 128]);
    expect(field('u').metadata.get('ARROW:extension:name')).toBe('arrow.uuid');
  });

  test('every field, element, key and value carries PARQUET:field_id', () => {
    const id = (f: arrow.Field | undefined) => f?.metadata.get('PARQUET:field_id');
    expect(s.fields.map(id)).toEqual(ALL_TYPES.fields.map((f) => String(f.id)));
    const st = field('st').type as arrow.Struct;
    expect(st.children.map(id)).toEqual(['16', '17']);
    expect(st.children[1]?.nullable).toBe(false);
    const ls = field('ls').type as arrow.List;
    expect([ls.children[0]?.name, id(ls.children[0]), ls.children[0]?.nullable]).toEqual([
      'element',
      '19',
      true,
    ]);
    const entries = (field('mp').type as arrow.Map_).children[0] as arrow.Field;
    expect(entries.name).toBe('key_value');
    expect(entries.nullable).toBe(false);
    const kv = (entries.type as arrow.Struct).children;
    expect(kv.map((f) => [f.name, id(f), f.nullable])).toEqual([
      ['key', '21', false],
      ['value', '22', true],
    ]);
  });
});

describe('icebergSchemaFromArrow', () => {
  test('inverts arrowSchemaFor', () => {
    expect(icebergSchemaFromArrow(arrowSchemaFor(ALL_TYPES))).toEqual(ALL_TYPES);
  });

  test('a field without an id is refused, naming its path', () => {
    const s = new arrow.Schema([
      new arrow.Field(
        'st',
        new arrow.Struct([new arrow.Field('x', new arrow.Int32(), true)]),
        true,
        new Map([['PARQUET:field_id', '1']]),
      ),
    ]);
    expect(() => icebergSchemaFromArrow(s)).toThrow('st.x: Arrow field has no PARQUET:field_id');
  });

  test('a FixedSizeBinary(16) without the uuid extension is fixed[16]', () => {
    const s = new arrow.Schema([
      new arrow.Field(
        'f',
        new arrow.FixedSizeBinary(16),
        false,
        new Map([['PARQUET:field_id', '1']]),
      ),
    ]);
    expect(icebergSchemaFromArrow(s).fields[0]?.type).toBe('fixed[16]');
  });
});
