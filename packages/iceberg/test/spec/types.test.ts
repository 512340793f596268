import { describe, expect, it } from 'vitest';
import {
  decimalParams,
  fixedLength,
  indexById,
  maxFieldId,
  parsePrimitive,
  schemaFromJson,
  schemaToJson,
  validateFieldIds,
} from '../../src/spec/types.ts';

const NESTED = {
  type: 'struct',
  'schema-id': 3,
  'identifier-field-ids': [1],
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'price', required: false, type: 'decimal(38, 10)' },
    {
      id: 3,
      name: 'tags',
      required: false,
      type: { type: 'list', 'element-id': 6, element: 'string', 'element-required': false },
    },
    {
      id: 4,
      name: 'attrs',
      required: false,
      type: {
        type: 'map',
        'key-id': 7,
        key: 'string',
        'value-id': 8,
        value: 'fixed[16]',
        'value-required': true,
      },
    },
    {
      id: 5,
      name: 'loc',
      required: false,
      doc: 'where',
      type: { type: 'struct', fields: [{ id: 9, name: 'lat', required: true, type: 'double' }] },
    },
  ],
};

describe('types', () => {
  it('canonicalizes decimal and fixed', () => {
    expect(parsePrimitive('decimal(9,2)')).toBe('decimal(9, 2)');
    expect(parsePrimitive('fixed[ 4 ]')).toBe('fixed[4]');
    expect(decimalParams('decimal(38, 10)')).toEqual({ precision: 38, scale: 10 });
    expect(fixedLength('fixed[16]')).toBe(16);
  });

  it('rejects unknown and out-of-range types', () => {
    expect(() => parsePrimitive('decimal(39, 1)')).toThrow('invalid decimal type "decimal(39, 1)"');
    expect(() => parsePrimitive('varchar')).toThrow('unknown primitive type "varchar"');
  });

  it('round-trips a nested schema exactly', () => {
    const s = schemaFromJson(NESTED);
    expect(schemaToJson(s)).toEqual(NESTED);
    expect(maxFieldId(s)).toBe(9);
    expect([...indexById(s).keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('names the path of a bad field', () => {
    const bad = { type: 'struct', fields: [{ id: 1, name: 'x', required: true, type: 'varchar' }] };
    expect(() => schemaFromJson(bad)).toThrow('schema.fields[0].type: unknown type "varchar"');
  });

  it('finds duplicate field ids', () => {
    const dup = schemaFromJson({
      type: 'struct',
      fields: [
        { id: 1, name: 'a', required: true, type: 'int' },
        { id: 1, name: 'b', required: true, type: 'int' },
      ],
    });
    expect(() => validateFieldIds(dup)).toThrow('schema.b: duplicate field id 1');
  });
});
