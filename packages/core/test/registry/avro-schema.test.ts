import type { Schema, StructType } from '@kice/iceberg';
import { describe, expect, it } from 'vitest';
import { avroToIceberg } from '../../src/registry/avro-schema.ts';
import { evolveSchema } from '../../src/schema/evolve.ts';

const rec = (fields: unknown[], name = 'E') => ({ type: 'record', name, namespace: 'ns', fields });

describe('avroToIceberg', () => {
  it('maps primitives and every logical type', () => {
    const s = avroToIceberg(
      rec([
        { name: 'b', type: 'boolean' },
        { name: 'i', type: 'int' },
        { name: 'l', type: 'long' },
        { name: 'f', type: 'float' },
        { name: 'd', type: 'double' },
        { name: 'by', type: 'bytes' },
        { name: 's', type: 'string' },
        { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
        {
          name: 'decf',
          type: {
            type: 'fixed',
            name: 'D',
            size: 8,
            logicalType: 'decimal',
            precision: 18,
            scale: 0,
          },
        },
        { name: 'u', type: { type: 'string', logicalType: 'uuid' } },
        { name: 'dt', type: { type: 'int', logicalType: 'date' } },
        { name: 'tm', type: { type: 'int', logicalType: 'time-millis' } },
        { name: 'tu', type: { type: 'long', logicalType: 'time-micros' } },
        { name: 'tsm', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'tsu', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'ltm', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
        { name: 'ltu', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
        { name: 'fx', type: { type: 'fixed', name: 'F4', size: 4 } },
        { name: 'en', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
        { name: 'ns', type: { type: 'long', logicalType: 'timestamp-nanos' } },
        { name: 'bad', type: { type: 'int', logicalType: 'uuid' } },
      ]),
    );
    expect(s.fields.map((f) => [f.name, f.type, f.required])).toEqual([
      ['b', 'boolean', true],
      ['i', 'int', true],
      ['l', 'long', true],
      ['f', 'float', true],
      ['d', 'double', true],
      ['by', 'binary', true],
      ['s', 'string', true],
      ['dec', 'decimal(9, 2)', true],
      ['decf', 'decimal(18, 0)', true],
      ['u', 'uuid', true],
      ['dt', 'date', true],
      ['tm', 'time', true],
      ['tu', 'time', true],
      ['tsm', 'timestamptz', true],
      ['tsu', 'timestamptz', true],
      ['ltm', 'timestamp', true],
      ['ltu', 'timestamp', true],
      ['fx', 'fixed[4]', true],
      ['en', 'string', true],
      ['ns', 'long', true],
      ['bad', 'int', true],
    ]);
    expect(s.fields.map((f) => f.id)).toEqual(s.fields.map((_, i) => i + 1));
  });

  it('maps records, arrays, maps, optional unions and other unions', () => {
    const addr = rec([{ name: 'city', type: 'string' }], 'Address');
    const s = avroToIceberg(
      rec([
        { name: 'a', type: ['null', addr] },
        { name: 'tags', type: { type: 'array', items: ['null', 'string'] } },
        { name: 'm', type: { type: 'map', values: 'long' } },
        { name: 'again', type: ['Address', 'null'] },
        { name: 'u', type: ['null', 'int', 'string', 'Address'] },
      ]),
    );
    expect(s).toEqual({
      type: 'struct',
      fields: [
        {
          id: 1,
          name: 'a',
          required: false,
          type: {
            type: 'struct',
            fields: [{ id: 6, name: 'city', required: true, type: 'string' }],
          },
        },
        {
          id: 2,
          name: 'tags',
          required: true,
          type: { type: 'list', elementId: 7, element: 'string', elementRequired: false },
        },
        {
          id: 3,
          name: 'm',
          required: true,
          type: {
            type: 'map',
            keyId: 8,
            key: 'string',
            valueId: 9,
            value: 'long',
            valueRequired: true,
          },
        },
        {
          id: 4,
          name: 'again',
          required: false,
          type: {
            type: 'struct',
            fields: [{ id: 10, name: 'city', required: true, type: 'string' }],
          },
        },
        {
          id: 5,
          name: 'u',
          required: false,
          type: {
            type: 'struct',
            fields: [
              { id: 11, name: 'int', required: false, type: 'int' },
              { id: 12, name: 'string', required: false, type: 'string' },
              {
                id: 13,
                name: 'Address',
                required: false,
                type: {
                  type: 'struct',
                  fields: [{ id: 14, name: 'city', required: true, type: 'string' }],
                },
              },
            ],
          },
        },
      ],
    });
  });

  it('refuses recursive schemas, naming the path', () => {
    const node = {
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'v', type: 'int' },
        { name: 'next', type: ['null', 'Node'] },
      ],
    };
    expect(() => avroToIceberg(node)).toThrow(
      'avro schema at "next": recursive type "Node" (Iceberg has no recursive types)',
    );
    const indirect = rec([
      {
        name: 'tree',
        type: {
          type: 'record',
          name: 'T',
          fields: [{ name: 'kids', type: { type: 'array', items: 'T' } }],
        },
      },
    ]);
    expect(() => avroToIceberg(indirect)).toThrow(
      'avro schema at "tree.kids[]": recursive type "ns.T" (Iceberg has no recursive types)',
    );
  });

  it('refuses what Iceberg cannot hold with the path', () => {
    expect(() => avroToIceberg({ type: 'array', items: 'int' })).toThrow(
      'avro schema: the top-level schema must be a record',
    );
    expect(() =>
      avroToIceberg(
        rec([{ name: 'x', type: { type: 'bytes', logicalType: 'decimal', precision: 40 } }]),
      ),
    ).toThrow('avro schema at "x": decimal precision 40 exceeds Iceberg\'s maximum of 38');
    expect(() => avroToIceberg(rec([{ name: 'x', type: 'Missing' }]))).toThrow(
      'avro schema at "x": unknown type "Missing"',
    );
  });
});

describe('field IDs across Avro schema versions (through evolveSchema, by name path)', () => {
  it('keeps every existing field ID and appends new ones, nested too', () => {
    const v1 = avroToIceberg(
      rec([
        { name: 'id', type: 'int' },
        { name: 'user', type: rec([{ name: 'name', type: 'string' }], 'User') },
        { name: 'note', type: ['null', 'string'] },
      ]),
    );
    const empty: Schema = { type: 'struct', schemaId: 0, fields: [] };
    const t1 = evolveSchema(empty, v1, 0);
    const ids1 = JSON.stringify(t1.schema.fields);
    // v2 reorders, widens int → long, adds a nested field and drops the optional one.
    const v2 = avroToIceberg(
      rec([
        {
          name: 'user',
          type: rec(
            [
              { name: 'email', type: ['null', 'string'] },
              { name: 'name', type: 'string' },
            ],
            'User',
          ),
        },
        { name: 'id', type: 'long' },
      ]),
    );
    const t2 = evolveSchema(t1.schema, v2, t1.lastColumnId);
    const byName = (s: { fields: readonly { name: string; id: number }[] }) =>
      Object.fromEntries(s.fields.map((f) => [f.name, f.id]));
    expect(byName(t1.schema)).toEqual({ id: 1, user: 2, note: 4 });
    expect(byName(t2.schema)).toEqual({ id: 1, user: 2, note: 4 });
    const user = t2.schema.fields.find((f) => f.name === 'user')?.type as StructType;
    expect(byName(user)).toEqual({ name: 3, email: 5 });
    expect(t2.schema.fields.find((f) => f.name === 'id')?.type).toBe('long');
    expect(t2.lastColumnId).toBe(5);
    expect(JSON.stringify(t1.schema.fields)).toBe(ids1);
  });
});
