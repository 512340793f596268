import { describe, expect, it } from 'vitest';
import { readAvroFile, writeAvroFile } from '../../src/avro/container.ts';
import {
  avroFieldName,
  avroSchemaFor,
  decimalRequiredBytes,
  fromAvroValue,
  structFromAvroSchema,
  toAvroValue,
} from '../../src/spec/avro-schema.ts';
import type { StructType } from '../../src/spec/types.ts';

const STRUCT: StructType = {
  type: 'struct',
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'price', required: false, type: 'decimal(9, 2)' },
    { id: 3, name: 'cost', required: false, type: 'decimal(9, 2)' },
    { id: 4, name: 'day', required: false, type: 'date' },
    { id: 5, name: 'ts', required: true, type: 'timestamptz' },
    { id: 6, name: 'u', required: false, type: 'uuid' },
    {
      id: 7,
      name: 'tags',
      required: false,
      type: { type: 'list', elementId: 10, element: 'string', elementRequired: false },
    },
    {
      id: 8,
      name: 'attrs',
      required: false,
      type: {
        type: 'map',
        keyId: 11,
        key: 'string',
        valueId: 12,
        value: 'binary',
        valueRequired: true,
      },
    },
    {
      id: 9,
      name: 'by-id',
      required: false,
      type: {
        type: 'map',
        keyId: 13,
        key: 'int',
        valueId: 14,
        value: {
          type: 'struct',
          fields: [{ id: 15, name: 't', required: false, type: 'time' }],
        },
        valueRequired: false,
      },
    },
  ],
};

describe('Iceberg → Avro schema (Appendix A)', () => {
  it('produces the exact schema JSON', () => {
    expect(avroSchemaFor(STRUCT, 'r1')).toEqual({
      type: 'record',
      name: 'r1',
      fields: [
        { name: 'id', type: 'long', 'field-id': 1 },
        {
          name: 'price',
          type: [
            'null',
            {
              type: 'fixed',
              name: 'decimal_9_2',
              size: 4,
              logicalType: 'decimal',
              precision: 9,
              scale: 2,
            },
          ],
          default: null,
          'field-id': 2,
        },
        { name: 'cost', type: ['null', 'decimal_9_2'], default: null, 'field-id': 3 },
        {
          name: 'day',
          type: ['null', { type: 'int', logicalType: 'date' }],
          default: null,
          'field-id': 4,
        },
        {
          name: 'ts',
          type: { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true },
          'field-id': 5,
        },
        {
          name: 'u',
          type: ['null', { type: 'fixed', name: 'uuid_fixed', size: 16, logicalType: 'uuid' }],
          default: null,
          'field-id': 6,
        },
        {
          name: 'tags',
          type: ['null', { type: 'array', items: ['null', 'string'], 'element-id': 10 }],
          default: null,
          'field-id': 7,
        },
        {
          name: 'attrs',
          type: ['null', { type: 'map', values: 'bytes', 'key-id': 11, 'value-id': 12 }],
          default: null,
          'field-id': 8,
        },
        {
          name: 'by_x2Did',
          type: [
            'null',
            {
              type: 'array',
              logicalType: 'map',
              items: {
                type: 'record',
                name: 'k13_v14',
                fields: [
                  { name: 'key', type: 'int', 'field-id': 13 },
                  {
                    name: 'value',
                    type: [
                      'null',
                      {
                        type: 'record',
                        name: 'r14',
                        fields: [
                          {
                            name: 't',
                            type: ['null', { type: 'long', logicalType: 'time-micros' }],
                            default: null,
                            'field-id': 15,
                          },
                        ],
                      },
                    ],
                    default: null,
                    'field-id': 14,
                  },
                ],
              },
            },
          ],
          default: null,
          'field-id': 9,
          'iceberg-field-name': 'by-id',
        },
      ],
    });
  });

  it('converts back to the same Iceberg struct', () => {
    expect(structFromAvroSchema(avroSchemaFor(STRUCT, 'r1'))).toEqual(STRUCT);
  });

  it('sizes decimals with the minimal bytes for their precision', () => {
    expect([1, 2, 3, 9, 10, 18, 19, 38].map(decimalRequiredBytes)).toEqual([
      1, 1, 2, 4, 5, 8, 9, 16,
    ]);
  });

  it('sanitizes names as Java does', () => {
    expect(avroFieldName('ok_name1')).toBe('ok_name1');
    expect(avroFieldName('1st')).toBe('_1st');
    expect(avroFieldName('a.b c')).toBe('a_x2Eb_x20c');
  });
});

describe('values ↔ Avro datums', () => {
  it('encodes decimals as two-complement big-endian fixed bytes and uuids as 16 bytes', () => {
    expect(toAvroValue('decimal(9, 2)', 1420n)).toEqual(new Uint8Array([0, 0, 0x05, 0x8c]));
    expect(toAvroValue('decimal(9, 2)', -1n)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    expect(fromAvroValue('decimal(9, 2)', new Uint8Array([0xff, 0xff, 0xfa, 0x74]))).toBe(-1420n);
    expect(() => toAvroValue('decimal(2, 0)', 200n)).toThrow(/does not fit precision 2/);
    const u = 'f79c3e09-677c-4bbd-a479-3f349cb785e7';
    const bytes = toAvroValue('uuid', u) as Uint8Array;
    expect([...bytes.subarray(0, 4)]).toEqual([0xf7, 0x9c, 0x3e, 0x09]);
    expect(fromAvroValue('uuid', bytes)).toBe(u);
  });

  it('round-trips a full row through an Avro file', () => {
    const row = {
      id: 3055729675574597004n,
      price: -123456789n,
      cost: null,
      day: 19723,
      ts: -1n,
      u: 'f79c3e09-677c-4bbd-a479-3f349cb785e7',
      tags: ['a', null],
      attrs: new Map([['k', new Uint8Array([1, 2])]]),
      'by-id': new Map([
        [7, { t: 1_000_000n }],
        [8, null],
      ]),
    };
    const schema = avroSchemaFor(STRUCT, 'r1');
    const file = readAvroFile(writeAvroFile(schema, [toAvroValue(STRUCT, row) as never]));
    expect(fromAvroValue(STRUCT, file.records[0])).toEqual(row);
  });
});
