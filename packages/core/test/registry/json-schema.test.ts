import { describe, expect, it } from 'vitest';
import { jsonSchemaToIceberg } from '../../src/registry/json-schema.ts';

const map = (schema: unknown, references: { name: string; schema: unknown }[] = []) =>
  jsonSchemaToIceberg({
    schema: JSON.stringify(schema),
    references: references.map((r) => ({ name: r.name, schema: JSON.stringify(r.schema) })),
  });

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
});

describe('jsonSchemaToIceberg', () => {
  it('maps every type and format, all columns optional, IDs parent before children', () => {
    const m = map(
      obj(
        {
          s: { type: 'string', description: 'a string' },
          i: { type: 'integer' },
          n: { type: 'number' },
          b: { type: 'boolean' },
          ts: { type: 'string', format: 'date-time' },
          d: { type: 'string', format: 'date' },
          t: { type: 'string', format: 'time' },
          u: { type: 'string', format: 'uuid' },
          bin: { type: 'string', contentEncoding: 'base64' },
          e: { enum: ['A', 'B'] },
          en: { type: 'string', enum: ['X'] },
          tags: { type: 'array', items: { type: 'string' } },
          nested: obj({ x: { type: 'integer' }, y: { type: ['string', 'null'] } }),
          m: { type: 'object', additionalProperties: { type: 'number' } },
          any: {},
          open: { type: 'object' },
        },
        { required: ['s', 'i'] },
      ),
    );
    expect(m.struct).toEqual({
      type: 'struct',
      fields: [
        { id: 1, name: 's', required: false, type: 'string', doc: 'a string' },
        { id: 2, name: 'i', required: false, type: 'long' },
        { id: 3, name: 'n', required: false, type: 'double' },
        { id: 4, name: 'b', required: false, type: 'boolean' },
        { id: 5, name: 'ts', required: false, type: 'timestamptz' },
        { id: 6, name: 'd', required: false, type: 'date' },
        { id: 7, name: 't', required: false, type: 'time' },
        { id: 8, name: 'u', required: false, type: 'uuid' },
        { id: 9, name: 'bin', required: false, type: 'binary' },
        { id: 10, name: 'e', required: false, type: 'string' },
        { id: 11, name: 'en', required: false, type: 'string' },
        {
          id: 12,
          name: 'tags',
          required: false,
          type: { type: 'list', elementId: 17, element: 'string', elementRequired: false },
        },
        {
          id: 13,
          name: 'nested',
          required: false,
          type: {
            type: 'struct',
            fields: [
              { id: 18, name: 'x', required: false, type: 'long' },
              { id: 19, name: 'y', required: false, type: 'string' },
            ],
          },
        },
        {
          id: 14,
          name: 'm',
          required: false,
          type: {
            type: 'map',
            keyId: 20,
            key: 'string',
            valueId: 21,
            value: 'double',
            valueRequired: false,
          },
        },
        { id: 15, name: 'any', required: false, type: 'string' },
        { id: 16, name: 'open', required: false, type: 'string' },
      ],
    });
    expect(m.anyPaths).toEqual(['any', 'open']);
    expect(m.unionPaths).toEqual([]);
  });

  it('null unions are optional T; other unions are structs of members named by JSON type', () => {
    const m = map(
      obj({
        a: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
        b: { oneOf: [{ type: 'string' }, { type: 'null' }] },
        c: { type: ['string', 'integer', 'null'] },
        d: { oneOf: [{ type: 'boolean' }, obj({ k: { type: 'string' } })] },
        e: { anyOf: [{ type: 'string', format: 'date' }, { type: 'string' }] },
        f: { type: ['integer', 'number'] },
      }),
    );
    expect(m.struct.fields.map((f) => [f.name, f.type])).toEqual([
      ['a', 'long'],
      ['b', 'string'],
      [
        'c',
        {
          type: 'struct',
          fields: [
            { id: 7, name: 'string', required: false, type: 'string' },
            { id: 8, name: 'integer', required: false, type: 'long' },
          ],
        },
      ],
      [
        'd',
        {
          type: 'struct',
          fields: [
            { id: 9, name: 'boolean', required: false, type: 'boolean' },
            {
              id: 10,
              name: 'object',
              required: false,
              type: {
                type: 'struct',
                fields: [{ id: 11, name: 'k', required: false, type: 'string' }],
              },
            },
          ],
        },
      ],
      // Two string branches cannot be told apart by the value: JSON text.
      ['e', 'string'],
      ['f', 'double'],
    ]);
    expect(m.unionPaths).toEqual(['c', 'd']);
    expect(m.anyPaths).toEqual(['e']);
  });

  it('resolves $ref into definitions, $defs and other subjects (references)', () => {
    const address = obj(
      { street: { type: 'string' }, zip: { $ref: '#/$defs/zip' } },
      {
        $defs: { zip: { type: 'integer' } },
      },
    );
    const m = map(
      obj(
        {
          home: { $ref: 'address.json' },
          work: { $ref: 'address.json#/properties/street' },
          tag: { $ref: '#/definitions/tag' },
          list: { type: 'array', items: { $ref: '#/definitions/tag' } },
        },
        { definitions: { tag: { type: 'string', format: 'uuid' } } },
      ),
      [{ name: 'address.json', schema: address }],
    );
    expect(m.struct.fields.map((f) => [f.name, f.type])).toEqual([
      [
        'home',
        {
          type: 'struct',
          fields: [
            { id: 5, name: 'street', required: false, type: 'string' },
            { id: 6, name: 'zip', required: false, type: 'long' },
          ],
        },
      ],
      ['work', 'string'],
      ['tag', 'uuid'],
      ['list', { type: 'list', elementId: 7, element: 'uuid', elementRequired: false }],
    ]);
  });

  it('merges allOf of object schemas', () => {
    const m = map(
      obj(
        {},
        {
          allOf: [obj({ a: { type: 'string' } }), { $ref: '#/definitions/B' }],
          definitions: { B: obj({ b: { type: 'boolean' } }) },
        },
      ),
    );
    expect(m.struct.fields.map((f) => [f.name, f.type])).toEqual([
      ['a', 'string'],
      ['b', 'boolean'],
    ]);
  });

  it('refuses recursive schemas, unknown refs and non-object roots with a clear reason', () => {
    expect(() =>
      map(obj({ name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } })),
    ).toThrow('json schema at "children[]": recursive $ref "#" (Iceberg has no recursive types)');
    expect(() =>
      map(
        obj(
          { node: { $ref: '#/definitions/N' } },
          { definitions: { N: obj({ next: { $ref: '#/definitions/N' } }) } },
        ),
      ),
    ).toThrow('json schema at "node.next": recursive $ref "#/definitions/N"');
    expect(() => map(obj({ a: { $ref: 'other.json' } }))).toThrow(
      'json schema at "a": $ref "other.json" names no schema reference of this schema (references: none)',
    );
    expect(() => map(obj({ a: { $ref: '#/definitions/missing' } }))).toThrow(
      'json schema at "a": $ref pointer "#/definitions/missing" leads nowhere',
    );
    expect(() => map({ type: 'string' })).toThrow(
      'json schema: the top-level schema must be an object with properties',
    );
    expect(() => jsonSchemaToIceberg({ schema: '{nope', references: [] })).toThrow(
      'json schema: the schema text is not JSON',
    );
  });
});
