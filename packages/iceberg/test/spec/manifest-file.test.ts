import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readAvroFile } from '../../src/avro/container.ts';
import type { ManifestEntry } from '../../src/spec/manifest.ts';
import { readManifest, writeManifest } from '../../src/spec/manifest-file.ts';
import type { PartitionSpec } from '../../src/spec/partition-spec.ts';
import type { Schema, StructType } from '../../src/spec/types.ts';

const SCHEMA: Schema = {
  type: 'struct',
  schemaId: 3,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'ts', required: false, type: 'timestamptz' },
    { id: 3, name: 'amount', required: false, type: 'decimal(9, 2)' },
  ],
};
const SPEC: PartitionSpec = {
  specId: 2,
  fields: [
    { sourceId: 2, fieldId: 1000, name: 'ts_day', transform: 'day' },
    { sourceId: 3, fieldId: 1001, name: 'amount_trunc', transform: 'truncate[50]' },
  ],
};
const PARTITION_TYPE: StructType = {
  type: 'struct',
  fields: [
    { id: 1000, name: 'ts_day', required: false, type: 'date' },
    { id: 1001, name: 'amount_trunc', required: false, type: 'decimal(9, 2)' },
  ],
};
const SNAPSHOT = 3055729675574597004n;

const FULL: ManifestEntry = {
  status: 0,
  snapshotId: SNAPSHOT,
  sequenceNumber: 7,
  fileSequenceNumber: 6,
  dataFile: {
    content: 0,
    filePath: 's3://bucket/t/data/ts_day=2024-01-01/00000-0-a.parquet',
    fileFormat: 'PARQUET',
    specId: 2,
    partition: [19723, -1050n],
    recordCount: 1000,
    fileSizeInBytes: 2 ** 40 + 5,
    columnSizes: new Map([
      [1, 100],
      [2, 200],
    ]),
    valueCounts: new Map([[1, 1000]]),
    nullValueCounts: new Map([[2, 0]]),
    nanValueCounts: new Map(),
    lowerBounds: new Map([[1, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]]),
    upperBounds: new Map([[1, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0])]]),
    keyMetadata: new Uint8Array([9, 9]),
    splitOffsets: [4, 1_000_000],
    equalityIds: [1],
    sortOrderId: 0,
  },
};
const ADDED: ManifestEntry = {
  status: 1,
  snapshotId: SNAPSHOT,
  sequenceNumber: null,
  fileSequenceNumber: null,
  dataFile: {
    content: 0,
    filePath: 's3://bucket/t/data/ts_day=null/00001-0-b.parquet',
    fileFormat: 'PARQUET',
    specId: 2,
    partition: [null, null],
    recordCount: 1,
    fileSizeInBytes: 10,
  },
};

describe('manifest files', () => {
  for (const codec of ['null', 'deflate'] as const) {
    it(`round-trips entries exactly with codec ${codec}`, () => {
      const bytes = writeManifest({
        schema: SCHEMA,
        spec: SPEC,
        partitionType: PARTITION_TYPE,
        entries: [FULL, ADDED],
        codec,
      });
      const read = readManifest(bytes, PARTITION_TYPE);
      expect(read.entries).toStrictEqual([FULL, ADDED]);
      // Without a partition type: derived from the file's own r102 record.
      expect(readManifest(bytes).entries).toStrictEqual([FULL, ADDED]);
      expect(read.metadata['avro.codec']).toBe(codec);
    });
  }

  it('writes the six header keys readers demand', () => {
    const bytes = writeManifest({
      schema: SCHEMA,
      spec: SPEC,
      partitionType: PARTITION_TYPE,
      entries: [],
    });
    const { metadata } = readManifest(bytes);
    expect(JSON.parse(metadata.schema ?? '')).toEqual({
      type: 'struct',
      'schema-id': 3,
      fields: [
        { id: 1, name: 'id', required: true, type: 'long' },
        { id: 2, name: 'ts', required: false, type: 'timestamptz' },
        { id: 3, name: 'amount', required: false, type: 'decimal(9, 2)' },
      ],
    });
    expect(metadata['schema-id']).toBe('3');
    expect(metadata['partition-spec']).toBe(
      '[{"name":"ts_day","transform":"day","source-id":2,"field-id":1000},' +
        '{"name":"amount_trunc","transform":"truncate[50]","source-id":3,"field-id":1001}]',
    );
    expect(metadata['partition-spec-id']).toBe('2');
    expect(metadata['format-version']).toBe('2');
    expect(metadata.content).toBe('data');
  });

  it('puts field IDs, record names and map logical types in the header schema', () => {
    const bytes = writeManifest({
      schema: SCHEMA,
      spec: SPEC,
      partitionType: PARTITION_TYPE,
      entries: [],
      content: 'deletes',
    });
    const file = readAvroFile(bytes);
    expect(file.metadata.content).toBe('deletes');
    type F = { name: string; 'field-id': number; type: unknown };
    const root = file.schema as { name: string; fields: F[] };
    expect(root.name).toBe('manifest_entry');
    expect(root.fields.map((f) => [f.name, f['field-id']])).toEqual([
      ['status', 0],
      ['snapshot_id', 1],
      ['sequence_number', 3],
      ['file_sequence_number', 4],
      ['data_file', 2],
    ]);
    expect(root.fields[1]?.type).toEqual(['null', 'long']);
    const dataFile = root.fields[4]?.type as { name: string; fields: F[] };
    expect(dataFile.name).toBe('r2');
    expect(dataFile.fields.map((f) => [f.name, f['field-id']])).toEqual([
      ['content', 134],
      ['file_path', 100],
      ['file_format', 101],
      ['partition', 102],
      ['record_count', 103],
      ['file_size_in_bytes', 104],
      ['column_sizes', 108],
      ['value_counts', 109],
      ['null_value_counts', 110],
      ['nan_value_counts', 137],
      ['lower_bounds', 125],
      ['upper_bounds', 128],
      ['key_metadata', 131],
      ['split_offsets', 132],
      ['equality_ids', 135],
      ['sort_order_id', 140],
    ]);
    expect(dataFile.fields[3]?.type).toEqual({
      type: 'record',
      name: 'r102',
      fields: [
        {
          name: 'ts_day',
          type: ['null', { type: 'int', logicalType: 'date' }],
          default: null,
          'field-id': 1000,
        },
        {
          name: 'amount_trunc',
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
          'field-id': 1001,
        },
      ],
    });
    expect(dataFile.fields[10]).toEqual({
      name: 'lower_bounds',
      type: [
        'null',
        {
          type: 'array',
          logicalType: 'map',
          items: {
            type: 'record',
            name: 'k126_v127',
            fields: [
              { name: 'key', type: 'int', 'field-id': 126 },
              { name: 'value', type: 'bytes', 'field-id': 127 },
            ],
          },
        },
      ],
      default: null,
      'field-id': 125,
    });
    expect(dataFile.fields[13]?.type).toEqual([
      'null',
      { type: 'array', items: 'long', 'element-id': 133 },
    ]);
  });

  it('writes an unpartitioned manifest with an empty r102 record', () => {
    const entry: ManifestEntry = {
      ...ADDED,
      dataFile: { ...ADDED.dataFile, specId: 0, partition: [] },
    };
    const bytes = writeManifest({
      schema: SCHEMA,
      spec: { specId: 0, fields: [] },
      partitionType: { type: 'struct', fields: [] },
      entries: [entry],
    });
    expect(readManifest(bytes).entries).toStrictEqual([entry]);
    const schema = readAvroFile(bytes).schema as { fields: { type: { fields: unknown[] } }[] };
    expect(schema.fields[4]?.type.fields[3]).toEqual({
      name: 'partition',
      type: { type: 'record', name: 'r102', fields: [] },
      'field-id': 102,
    });
  });

  it('rejects partition tuples that do not match the partition type', () => {
    expect(() =>
      writeManifest({
        schema: SCHEMA,
        spec: SPEC,
        partitionType: PARTITION_TYPE,
        entries: [{ ...ADDED, dataFile: { ...ADDED.dataFile, partition: [1] } }],
      }),
    ).toThrow('entries[0].dataFile.partition has 1 values, expected 2');
  });
});

describe('manifest written by PyIceberg 0.12', () => {
  const dir = new URL('../fixtures/pyiceberg/', import.meta.url);
  const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));
  const bytes = new Uint8Array(readFileSync(new URL('manifest.avro', dir)));

  it('reads its entries, partitions and bounds', () => {
    const { entries, metadata } = readManifest(bytes);
    expect(metadata['format-version']).toBe('2');
    expect(metadata['avro.codec']).toBe('deflate');
    expect(entries).toHaveLength(2);
    const snapshotId = BigInt(expected.snapshot_id);
    expect(snapshotId).toBe(5975534283130985626n);
    expect(entries.map((e) => e.snapshotId)).toEqual([snapshotId, snapshotId]);
    expect(entries.map((e) => [e.status, e.sequenceNumber, e.fileSequenceNumber])).toEqual([
      [1, null, null],
      [1, null, null],
    ]);
    const [a, b] = entries.map((e) => e.dataFile);
    expect(a?.filePath.split('/').pop()).toBe(expected.entries[0].file_name);
    expect(b?.filePath.split('/').pop()).toBe(expected.entries[1].file_name);
    expect(a?.partition).toEqual([19723, 'a']);
    expect(b?.partition).toEqual([19724, 'b']);
    expect([a?.recordCount, b?.recordCount]).toEqual([2, 1]);
    expect(a?.fileSizeInBytes).toBe(expected.entries[0].file_size_in_bytes);
    expect(a?.specId).toBe(0);
    expect(a?.fileFormat).toBe('PARQUET');
    expect(a?.valueCounts).toEqual(
      new Map([
        [1, 2],
        [2, 2],
        [3, 2],
        [4, 2],
      ]),
    );
    expect(a?.nullValueCounts?.get(2)).toBe(0);
    // id (1) is a long bound: 8-byte little-endian; ts (3) micros; d (4) 4-byte days.
    expect(Buffer.from(a?.lowerBounds?.get(1) ?? []).toString('hex')).toBe('0100000000000000');
    expect(Buffer.from(a?.upperBounds?.get(1) ?? []).toString('hex')).toBe('0200000000000000');
    expect(Buffer.from(b?.lowerBounds?.get(2) ?? []).toString('hex')).toBe('62');
    expect(Buffer.from(a?.lowerBounds?.get(3) ?? []).toString('hex')).toBe('0088e571df0d0600');
    expect(Buffer.from(b?.upperBounds?.get(4) ?? []).toString('hex')).toBe('0c4d0000');
  });

  it('reads with an explicit partition type matched by field ID', () => {
    const reversed: StructType = {
      type: 'struct',
      fields: [
        { id: 1001, name: 'category', required: false, type: 'string' },
        { id: 1000, name: 'd', required: false, type: 'date' },
      ],
    };
    const { entries } = readManifest(bytes, reversed);
    expect(entries.map((e) => e.dataFile.partition)).toEqual([
      ['a', 19723],
      ['b', 19724],
    ]);
  });
});
