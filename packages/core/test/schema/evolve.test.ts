import type { Schema, StructType } from '@kice/iceberg';
import { describe, expect, test } from 'vitest';
import { KiceError } from '../../src/errors.ts';
import { evolveSchema } from '../../src/schema/evolve.ts';

const table: Schema = {
  type: 'struct',
  schemaId: 3,
  identifierFieldIds: [1],
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'n', required: false, type: 'int' },
    {
      id: 3,
      name: 'user',
      required: false,
      type: { type: 'struct', fields: [{ id: 4, name: 'name', required: false, type: 'string' }] },
    },
    { id: 5, name: 'f', required: false, type: 'float' },
  ],
};

describe('evolveSchema', () => {
  test('observed subset with the same types: unchanged, same object', () => {
    const observed: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'id', required: false, type: 'long' },
        { id: 2, name: 'n', required: false, type: 'int' },
      ],
    };
    const r = evolveSchema(table, observed, 5);
    expect(r).toEqual({ schema: table, lastColumnId: 5, changed: false });
    expect(r.schema).toBe(table);
  });

  test('new fields (nested too) get fresh ids parent first; promotions apply; ids kept', () => {
    const observed: StructType = {
      type: 'struct',
      fields: [
        {
          id: 9,
          name: 'tags',
          required: false,
          type: { type: 'list', elementId: 10, element: 'string', elementRequired: false },
        },
        { id: 2, name: 'n', required: false, type: 'long' },
        {
          id: 3,
          name: 'user',
          required: false,
          type: {
            type: 'struct',
            fields: [
              {
                id: 11,
                name: 'geo',
                required: false,
                type: {
                  type: 'struct',
                  fields: [{ id: 12, name: 'lat', required: false, type: 'double' }],
                },
              },
              { id: 4, name: 'name', required: false, type: 'string' },
            ],
          },
        },
        { id: 5, name: 'f', required: false, type: 'double' },
      ],
    };
    const r = evolveSchema(table, observed, 7);
    expect(r.changed).toBe(true);
    expect(r.lastColumnId).toBe(11);
    expect(r.schema).toEqual({
      type: 'struct',
      schemaId: 4,
      identifierFieldIds: [1],
      fields: [
        { id: 1, name: 'id', required: true, type: 'long' },
        { id: 2, name: 'n', required: false, type: 'long' },
        {
          id: 3,
          name: 'user',
          required: false,
          type: {
            type: 'struct',
            fields: [
              { id: 4, name: 'name', required: false, type: 'string' },
              {
                id: 8,
                name: 'geo',
                required: false,
                type: {
                  type: 'struct',
                  fields: [{ id: 9, name: 'lat', required: false, type: 'double' }],
                },
              },
            ],
          },
        },
        { id: 5, name: 'f', required: false, type: 'double' },
        {
          id: 10,
          name: 'tags',
          required: false,
          type: { type: 'list', elementId: 11, element: 'string', elementRequired: false },
        },
      ],
    });
  });

  test('narrower observed types keep the table type; decimal precision may grow', () => {
    const wide: Schema = {
      type: 'struct',
      schemaId: 0,
      fields: [
        { id: 1, name: 'a', required: false, type: 'long' },
        { id: 2, name: 'p', required: false, type: 'decimal(9, 2)' },
      ],
    };
    const narrow = evolveSchema(
      wide,
      { type: 'struct', fields: [{ id: 1, name: 'a', required: false, type: 'int' }] },
      2,
    );
    expect(narrow.changed).toBe(false);
    const grown = evolveSchema(
      wide,
      { type: 'struct', fields: [{ id: 2, name: 'p', required: false, type: 'decimal(12, 2)' }] },
      2,
    );
    expect(grown.schema.fields[1]).toEqual({
      id: 2,
      name: 'p',
      required: false,
      type: 'decimal(12, 2)',
    });
    expect(grown.schema.schemaId).toBe(1);
  });

  test.each([
    [
      'user.name',
      {
        id: 3,
        name: 'user',
        required: false,
        type: { type: 'struct', fields: [{ id: 4, name: 'name', required: false, type: 'long' }] },
      },
      'field "user.name": cannot change string to long',
    ],
    [
      'id',
      { id: 1, name: 'id', required: false, type: 'double' },
      'field "id": cannot change long to double',
    ],
    [
      'user',
      { id: 3, name: 'user', required: false, type: 'string' },
      'field "user": cannot change struct to string',
    ],
    [
      'n',
      {
        id: 2,
        name: 'n',
        required: false,
        type: { type: 'list', elementId: 9, element: 'int', elementRequired: false },
      },
      'field "n": cannot change int to list',
    ],
  ] as const)('incompatible %s throws SCHEMA_INCOMPATIBLE', (_path, field, message) => {
    const observed = { type: 'struct', fields: [field] } as StructType;
    let err: unknown;
    try {
      evolveSchema(table, observed, 5);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KiceError);
    expect((err as KiceError).code).toBe('SCHEMA_INCOMPATIBLE');
    expect((err as KiceError).message).toBe(message);
  });
});

describe('conflictsAsString (typeConflicts asString, before the first commit)', () => {
  const table: Schema = {
    type: 'struct',
    schemaId: 0,
    fields: [
      { id: 1, name: 'zip', required: false, type: 'long' },
      { id: 2, name: 's', required: false, type: 'string' },
      { id: 3, name: 'n', required: false, type: 'int' },
    ],
  };
  test('different kinds make a string column; numbers still promote; a string column stays', () => {
    const seen: StructType = {
      type: 'struct',
      fields: [
        { id: 11, name: 'zip', required: false, type: 'string' },
        {
          id: 12,
          name: 's',
          required: false,
          type: { type: 'list', elementId: 13, element: 'long', elementRequired: false },
        },
        { id: 14, name: 'n', required: false, type: 'long' },
      ],
    };
    const r = evolveSchema(table, seen, 3, { conflictsAsString: true });
    expect(r.changed).toBe(true);
    expect(r.schema.fields.map((f) => [f.id, f.type])).toEqual([
      [1, 'string'],
      [2, 'string'],
      [3, 'long'],
    ]);
    expect(() => evolveSchema(table, seen, 3)).toThrow('field "zip": cannot change long to string');
  });
});
