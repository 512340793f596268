import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import type { MetaSpec, RecordMeta } from '../../src/decode/record-meta.ts';
import type { RecordHeader } from '../../src/source/types.ts';
import { column, pack } from './helpers.ts';

const EMPTY: StructType = { type: 'struct', fields: [] };
const enc = new TextEncoder();

interface Rec {
  value: string;
  key?: string | Uint8Array | null;
  ts?: number;
  logAppend?: boolean;
  headers?: RecordHeader[];
}

function records(recs: Rec[], firstOffset = 40n): RecordMeta {
  const keys = recs.map((r) =>
    r.key === undefined || r.key === null
      ? null
      : typeof r.key === 'string'
        ? enc.encode(r.key)
        : r.key,
  );
  const offsets = new Int32Array(recs.length + 1);
  const nulls = new Uint8Array(recs.length);
  let total = 0;
  keys.forEach((k, i) => {
    if (k === null) nulls[i] = 1;
    total += k?.byteLength ?? 0;
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(total);
  keys.forEach((k, i) => {
    if (k) bytes.set(k, offsets[i] as number);
  });
  return {
    topic: 'orders',
    partition: 3,
    recordOffsets: BigInt64Array.from(recs.map((_, i) => firstOffset + BigInt(i) * 2n)),
    timestamps: Float64Array.from(recs.map((r) => r.ts ?? 1_700_000_000_123)),
    timestampTypes: Uint8Array.from(recs.map((r) => (r.logAppend ? 1 : 0))),
    keys: { bytes, offsets, nulls },
    headers: recs.map((r) => r.headers ?? []),
  };
}

function decode(recs: Rec[], spec: MetaSpec, schema: StructType = EMPTY) {
  const r = decodeJsonBatch({
    ...pack(recs.map((x) => x.value)),
    schema,
    metadata: { spec, records: records(recs) },
  });
  return { ...r, table: arrow.tableFromIPC(r.ipc) };
}

const KAFKA_FIELD = (id: number) => ({
  id,
  name: '_kafka',
  required: false,
  type: {
    type: 'struct',
    fields: [
      { id: id + 1, name: 'topic', required: false, type: 'string' },
      { id: id + 2, name: 'partition', required: false, type: 'int' },
      { id: id + 3, name: 'offset', required: false, type: 'long' },
      { id: id + 4, name: 'timestamp', required: false, type: 'timestamptz' },
      { id: id + 5, name: 'timestamp_type', required: false, type: 'string' },
      {
        id: id + 6,
        name: 'headers',
        required: false,
        type: {
          type: 'list',
          elementId: id + 7,
          elementRequired: false,
          element: {
            type: 'struct',
            fields: [
              { id: id + 8, name: 'key', required: false, type: 'string' },
              { id: id + 9, name: 'value', required: false, type: 'binary' },
            ],
          },
        },
      },
    ],
  },
});

describe('Kafka metadata column', () => {
  test('topic, partition, real offsets, timestamps, types, headers with repeats and raw bytes', () => {
    const r = decode(
      [
        {
          value: '{"a":1}',
          headers: [
            { key: 'h', value: new Uint8Array([0xff, 0x00]) },
            { key: 'h', value: enc.encode('two') },
            { key: 'nil', value: null },
          ],
        },
        { value: '{"a":2}', ts: 5, logAppend: true },
      ],
      { kafka: '_kafka' },
    );
    expect(r.errors).toEqual([]);
    // New metadata columns come after the value's; their provisional IDs come first.
    expect(r.schema.fields.map((f) => f.name)).toEqual(['a', '_kafka']);
    expect(r.schema.fields[1]).toEqual(KAFKA_FIELD(1));
    const k = r.table.getChild('_kafka') as arrow.Vector;
    const row0 = k.get(0)?.toJSON() as Record<string, unknown>;
    expect(row0.topic).toBe('orders');
    expect(row0.partition).toBe(3);
    expect(row0.offset).toBe(40n);
    // Arrow JS reads a µs timestamp back as epoch milliseconds.
    expect(row0.timestamp).toBe(1_700_000_000_123);
    expect(row0.timestamp_type).toBe('CreateTime');
    const hs = Array.from(row0.headers as arrow.Vector, (h) => h?.toJSON());
    expect(hs).toEqual([
      { key: 'h', value: new Uint8Array([0xff, 0x00]) },
      { key: 'h', value: enc.encode('two') },
      { key: 'nil', value: null },
    ]);
    const row1 = k.get(1)?.toJSON() as Record<string, unknown>;
    expect(row1.offset).toBe(42n);
    expect(row1.timestamp).toBe(5);
    expect(row1.timestamp_type).toBe('LogAppendTime');
    expect(Array.from(row1.headers as arrow.Vector)).toEqual([]);
    expect(column(r.table, 'a')).toEqual([1n, 2n]);
  });

  test('an existing metadata column keeps its IDs and place; no timestamp is null', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'a', required: false, type: 'long' }, KAFKA_FIELD(2)] as never,
    };
    const r = decode([{ value: '{"a":1,"b":"x"}', ts: -1 }], { kafka: '_kafka' }, schema);
    expect(r.errors).toEqual([]);
    expect(r.schema.fields.map((f) => [f.name, f.id])).toEqual([
      ['a', 1],
      ['_kafka', 2],
      ['b', 12],
    ]);
    const row = (r.table.getChild('_kafka') as arrow.Vector).get(0)?.toJSON();
    expect(row?.timestamp).toBeNull();
  });

  test('a value field named like the metadata column is refused, the others kept', () => {
    const r = decode(
      [{ value: '{"a":1}' }, { value: '{"_kafka":{"x":1}}' }, { value: '{"a":3}' }],
      {
        kafka: '_kafka',
      },
    );
    expect(r.errors).toEqual([
      {
        index: 1,
        reason:
          'field "_kafka": the value has a field named like the metadata column (metadata.column)',
      },
    ]);
    expect(Array.from(r.accepted)).toEqual([0, 2]);
    expect(column(r.table, 'a')).toEqual([1n, 3n]);
    expect((r.table.getChild('_kafka') as arrow.Vector).get(1)?.toJSON().offset).toBe(44n);
  });

  test('a table column of that name of another type fails the batch clearly', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: '_kafka', required: false, type: 'string' }],
    };
    expect(() => decode([{ value: '{"a":1}' }], { kafka: '_kafka' }, schema)).toThrow(
      'the table has a column "_kafka" that is not the Kafka metadata struct; set metadata.column to another name',
    );
  });

  test('a batch that refuses every record adds no metadata column', () => {
    const r = decode([{ value: 'nope' }], { kafka: '_kafka' });
    expect(r.rows).toBe(0);
    expect(r.schema.fields).toEqual([]);
    expect(r.changed).toBe(false);
  });
});

describe('key column', () => {
  test('string keys: text, null key is null, empty key is ""; invalid UTF-8 refused', () => {
    const r = decode(
      [
        { value: '{"a":1}', key: 'k-1' },
        { value: '{"a":2}', key: null },
        { value: '{"a":3}', key: '' },
        { value: '{"a":4}', key: new Uint8Array([0xc3]) },
      ],
      { key: { column: '_key', format: 'string' } },
    );
    expect(r.errors).toEqual([{ index: 3, reason: 'key: not valid UTF-8' }]);
    expect(column(r.table, '_key')).toEqual(['k-1', null, '']);
    expect(r.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['a', 'long'],
      ['_key', 'string'],
    ]);
  });

  test('JSON keys are inferred like values: struct, evolving, exact numbers, null key', () => {
    const r = decode(
      [
        { value: '{"a":1}', key: null },
        { value: '{"a":2}', key: '{"id":9007199254740993}' },
        { value: '{"a":3}', key: '{"id":1,"region":"eu"}' },
        { value: '{"a":4}', key: 'not json' },
        { value: '{"a":5}', key: '{"id":"x"}' },
      ],
      { key: { column: '_key', format: 'json' } },
    );
    expect(r.errors.map((e) => e.index)).toEqual([3]);
    expect(r.errors[0]?.reason).toMatch(/^key: invalid JSON: /);
    const keyField = r.schema.fields.find((f) => f.name === '_key');
    expect(keyField?.type).toEqual({
      type: 'struct',
      fields: [
        { id: 3, name: 'id', required: false, type: 'string' },
        { id: 4, name: 'region', required: false, type: 'string' },
      ],
    });
    // The conflict (long, then "x") made id a string column, as for values.
    expect(column(r.table, '_key')).toEqual([
      null,
      { id: '9007199254740993', region: null },
      { id: '1', region: 'eu' },
      { id: 'x', region: null },
    ]);
  });

  test('a JSON key of a committed type that does not fit is refused with the key path', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: '_key', required: false, type: 'long' }],
    };
    const r = decodeJsonBatch({
      ...pack(['{"a":1}', '{"a":2}']),
      schema,
      options: { typeConflicts: 'deadLetter' },
      metadata: {
        spec: { key: { column: '_key', format: 'json' } },
        records: records([
          { value: '', key: '7' },
          { value: '', key: '[1]' },
        ]),
      },
    });
    expect(r.errors).toEqual([{ index: 1, reason: 'key: field "_key": expected long, got array' }]);
    expect(column(arrow.tableFromIPC(r.ipc), '_key')).toEqual([7n]);
  });

  test('a value field named like the key column is refused', () => {
    const r = decode([{ value: '{"_key":1}', key: 'k' }], {
      key: { column: '_key', format: 'string' },
    });
    expect(r.errors).toEqual([
      {
        index: 0,
        reason: 'field "_key": the value has a field named like the key column (key.column)',
      },
    ]);
  });

  test('key and metadata together, custom names', () => {
    const r = decode([{ value: '{"a":1}', key: 'k' }], {
      kafka: 'meta',
      key: { column: 'k', format: 'string' },
    });
    expect(r.errors).toEqual([]);
    expect(r.schema.fields.map((f) => f.name)).toEqual(['a', 'k', 'meta']);
    expect(column(r.table, 'k')).toEqual(['k']);
  });
});

describe('key column hints', () => {
  test('columns hints type fields of a JSON key', () => {
    const r = decodeJsonBatch({
      ...pack(['{"a":1}']),
      schema: EMPTY,
      hints: { '_key.at': 'timestamptz' },
      metadata: {
        spec: { key: { column: '_key', format: 'json' } },
        records: records([{ value: '', key: '{"at":"2024-03-01T00:00:00Z"}' }]),
      },
    });
    expect(r.errors).toEqual([]);
    expect(r.schema.fields[1]).toEqual({
      id: 2,
      name: '_key',
      required: false,
      type: {
        type: 'struct',
        fields: [{ id: 3, name: 'at', required: false, type: 'timestamptz' }],
      },
    });
  });
});

describe('limits', () => {
  test('a new metadata column counts its 10 fields against limits.maxColumns', () => {
    const r = decodeJsonBatch({
      ...pack(['{"a":1}']),
      schema: EMPTY,
      options: { maxColumns: 10 },
      metadata: { spec: { kafka: '_kafka' }, records: records([{ value: '' }]) },
    });
    expect(r.errors).toEqual([
      {
        index: 0,
        reason: 'field "a": the table would have more than limits.maxColumns (10) columns',
      },
    ]);
  });
});
