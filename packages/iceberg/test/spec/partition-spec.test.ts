import { describe, expect, it } from 'vitest';
import {
  type PartitionSpec,
  partitionPath,
  partitionSpecFromJson,
  partitionSpecToJson,
  partitionTupleFor,
  partitionType,
  sortOrderFromJson,
  sortOrderToJson,
} from '../../src/spec/partition-spec.ts';
import { schemaFromJson } from '../../src/spec/types.ts';

const SCHEMA = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'ts', required: false, type: 'timestamptz' },
    { id: 3, name: 'category', required: false, type: 'string' },
    { id: 4, name: 'loc', required: false, type: { type: 'struct', fields: [] } },
  ],
});

const SPEC_JSON = {
  'spec-id': 1,
  fields: [
    { name: 'ts_day', transform: 'day', 'source-id': 2, 'field-id': 1000 },
    { name: 'id_bucket', transform: 'bucket[16]', 'source-id': 1, 'field-id': 1001 },
    { name: 'cat', transform: 'identity', 'source-id': 3, 'field-id': 1002 },
  ],
};

describe('partition spec JSON', () => {
  it('round-trips with Java key order', () => {
    const spec = partitionSpecFromJson(SPEC_JSON);
    expect(spec).toEqual({
      specId: 1,
      fields: [
        { sourceId: 2, fieldId: 1000, name: 'ts_day', transform: 'day' },
        { sourceId: 1, fieldId: 1001, name: 'id_bucket', transform: 'bucket[16]' },
        { sourceId: 3, fieldId: 1002, name: 'cat', transform: 'identity' },
      ],
    });
    expect(JSON.stringify(partitionSpecToJson(spec))).toBe(JSON.stringify(SPEC_JSON));
  });

  it('assigns 1000+i to fields without field-id and accepts one-element source-ids', () => {
    const spec = partitionSpecFromJson({
      'spec-id': 0,
      fields: [{ name: 'x', transform: 'identity', 'source-ids': [3] }],
    });
    expect(spec.fields[0]).toEqual({
      sourceId: 3,
      fieldId: 1000,
      name: 'x',
      transform: 'identity',
    });
  });

  it('names the bad key', () => {
    expect(() => partitionSpecFromJson({ fields: [] })).toThrow('partition-spec.spec-id: missing');
    expect(() =>
      partitionSpecFromJson({ 'spec-id': 0, fields: [{ name: 'x', transform: 'day' }] }),
    ).toThrow('partition-spec.fields[0].source-id: missing');
    expect(() =>
      partitionSpecFromJson({
        'spec-id': 0,
        fields: [{ name: 'x', transform: 'weekly', 'source-id': 1 }],
      }),
    ).toThrow('partition-spec.fields[0].transform: unknown transform "weekly"');
  });
});

describe('sort order JSON', () => {
  it('round-trips', () => {
    const json = {
      'order-id': 1,
      fields: [
        { transform: 'identity', 'source-id': 2, direction: 'asc', 'null-order': 'nulls-first' },
        { transform: 'bucket[4]', 'source-id': 3, direction: 'desc', 'null-order': 'nulls-last' },
      ],
    };
    const order = sortOrderFromJson(json);
    expect(order.fields[1]).toEqual({
      transform: 'bucket[4]',
      sourceId: 3,
      direction: 'desc',
      nullOrder: 'nulls-last',
    });
    expect(JSON.stringify(sortOrderToJson(order))).toBe(JSON.stringify(json));
  });

  it('rejects a bad direction', () => {
    expect(() =>
      sortOrderFromJson({
        'order-id': 1,
        fields: [
          { transform: 'identity', 'source-id': 2, direction: 'up', 'null-order': 'nulls-first' },
        ],
      }),
    ).toThrow('sort-order.fields[0].direction: expected asc or desc');
  });
});

describe('partition helpers', () => {
  const spec = partitionSpecFromJson(SPEC_JSON);

  it('partitionType has one optional field per partition field', () => {
    expect(partitionType(spec, SCHEMA)).toEqual({
      type: 'struct',
      fields: [
        { id: 1000, name: 'ts_day', required: false, type: 'date' },
        { id: 1001, name: 'id_bucket', required: false, type: 'int' },
        { id: 1002, name: 'cat', required: false, type: 'string' },
      ],
    });
    expect(partitionType({ specId: 0, fields: [] }, SCHEMA)).toEqual({
      type: 'struct',
      fields: [],
    });
  });

  it('partitionType throws for missing or nested sources', () => {
    const missing: PartitionSpec = {
      specId: 2,
      fields: [{ sourceId: 9, fieldId: 1000, name: 'x', transform: 'identity' }],
    };
    expect(() => partitionType(missing, SCHEMA)).toThrow('source field 9 is not in schema 0');
    const nested: PartitionSpec = {
      specId: 2,
      fields: [{ sourceId: 4, fieldId: 1000, name: 'x', transform: 'identity' }],
    };
    expect(() => partitionType(nested, SCHEMA)).toThrow('source field 4 (loc) is not a primitive');
  });

  it('computes tuples and URL-encoded paths', () => {
    const row = new Map<number, unknown>([
      [1, 34n],
      [2, 1704103200000000n], // 2024-01-01T10:00:00Z
      [3, 'a b/c=d'],
    ]);
    const tuple = partitionTupleFor(spec, SCHEMA, (id) => row.get(id));
    expect(tuple).toEqual([19723, 3, 'a b/c=d']);
    expect(partitionPath(spec, SCHEMA, tuple)).toBe(
      'ts_day=2024-01-01/id_bucket=3/cat=a%20b%2Fc%3Dd',
    );
    expect(partitionPath(spec, SCHEMA, [null, null, null])).toBe(
      'ts_day=null/id_bucket=null/cat=null',
    );
  });
});
