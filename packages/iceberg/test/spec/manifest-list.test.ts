import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readAvroFile } from '../../src/avro/container.ts';
import type { ManifestFile } from '../../src/spec/manifest.ts';
import { readManifestList, writeManifestList } from '../../src/spec/manifest-list.ts';

const WITH_PARTITIONS: ManifestFile = {
  manifestPath: 's3://bucket/t/metadata/7f1c-m0.avro',
  manifestLength: 6_543,
  partitionSpecId: 1,
  content: 0,
  sequenceNumber: 12,
  minSequenceNumber: 3,
  addedSnapshotId: 3055729675574597004n,
  addedFilesCount: 2,
  existingFilesCount: 1,
  deletedFilesCount: 0,
  addedRowsCount: 2 ** 40,
  existingRowsCount: 5,
  deletedRowsCount: 0,
  partitions: [
    {
      containsNull: true,
      containsNan: false,
      lowerBound: new Uint8Array([0x0b, 0x4d, 0, 0]),
      upperBound: new Uint8Array([0x0c, 0x4d, 0, 0]),
    },
    { containsNull: true },
  ],
};
const BARE: ManifestFile = {
  manifestPath: 'file:///tmp/t/metadata/8a2d-m1.avro',
  manifestLength: 100,
  partitionSpecId: 0,
  content: 1,
  sequenceNumber: 1,
  minSequenceNumber: 1,
  addedSnapshotId: -1n,
  addedFilesCount: 0,
  existingFilesCount: 0,
  deletedFilesCount: 3,
  addedRowsCount: 0,
  existingRowsCount: 0,
  deletedRowsCount: 30,
  keyMetadata: new Uint8Array([1, 2, 3]),
};

describe('manifest lists', () => {
  for (const codec of ['null', 'deflate'] as const) {
    it(`round-trips entries exactly with codec ${codec}`, () => {
      const bytes = writeManifestList({
        snapshotId: 3055729675574597004n,
        parentSnapshotId: 8744736658442914487n,
        sequenceNumber: 12,
        manifests: [WITH_PARTITIONS, BARE],
        codec,
      });
      expect(readManifestList(bytes)).toStrictEqual([WITH_PARTITIONS, BARE]);
      const { metadata } = readAvroFile(bytes);
      expect(metadata).toMatchObject({
        'snapshot-id': '3055729675574597004',
        'parent-snapshot-id': '8744736658442914487',
        'sequence-number': '12',
        'format-version': '2',
        'avro.codec': codec,
      });
    });
  }

  it('writes "null" as the parent of a first snapshot and the v2 schema with field IDs', () => {
    const bytes = writeManifestList({
      snapshotId: 1n,
      parentSnapshotId: null,
      sequenceNumber: 1,
      manifests: [],
    });
    const file = readAvroFile(bytes);
    expect(file.metadata['parent-snapshot-id']).toBe('null');
    type F = { name: string; 'field-id': number; type: unknown };
    const root = file.schema as { name: string; fields: F[] };
    expect(root.name).toBe('manifest_file');
    expect(root.fields.map((f) => [f.name, f['field-id']])).toEqual([
      ['manifest_path', 500],
      ['manifest_length', 501],
      ['partition_spec_id', 502],
      ['content', 517],
      ['sequence_number', 515],
      ['min_sequence_number', 516],
      ['added_snapshot_id', 503],
      ['added_files_count', 504],
      ['existing_files_count', 505],
      ['deleted_files_count', 506],
      ['added_rows_count', 512],
      ['existing_rows_count', 513],
      ['deleted_rows_count', 514],
      ['partitions', 507],
      ['key_metadata', 519],
    ]);
    expect(root.fields[13]).toEqual({
      name: 'partitions',
      type: [
        'null',
        {
          type: 'array',
          items: {
            type: 'record',
            name: 'r508',
            fields: [
              { name: 'contains_null', type: 'boolean', 'field-id': 509 },
              { name: 'contains_nan', type: ['null', 'boolean'], default: null, 'field-id': 518 },
              { name: 'lower_bound', type: ['null', 'bytes'], default: null, 'field-id': 510 },
              { name: 'upper_bound', type: ['null', 'bytes'], default: null, 'field-id': 511 },
            ],
          },
          'element-id': 508,
        },
      ],
      default: null,
      'field-id': 507,
    });
    expect(readManifestList(bytes)).toEqual([]);
  });
});

describe('manifest list written by PyIceberg 0.12', () => {
  const dir = new URL('../fixtures/pyiceberg/', import.meta.url);
  const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));
  const bytes = new Uint8Array(readFileSync(new URL('manifest-list.avro', dir)));

  it('reads its one manifest with counts and partition summaries', () => {
    const list = readManifestList(bytes);
    expect(list).toHaveLength(1);
    const m = list[0];
    expect(m?.manifestPath.split('/').pop()).toBe(expected.manifest.file_name);
    expect(m).toMatchObject({
      manifestLength: 5032,
      partitionSpecId: 0,
      content: 0,
      sequenceNumber: 1,
      minSequenceNumber: 1,
      addedSnapshotId: 5975534283130985626n,
      addedFilesCount: 2,
      existingFilesCount: 0,
      deletedFilesCount: 0,
      addedRowsCount: 3,
      existingRowsCount: 0,
      deletedRowsCount: 0,
    });
    expect(m?.manifestLength).toBe(expected.manifest.manifest_length);
    expect(
      m?.partitions?.map((p) => [
        p.containsNull,
        p.containsNan,
        Buffer.from(p.lowerBound ?? []).toString('hex'),
        Buffer.from(p.upperBound ?? []).toString('hex'),
      ]),
    ).toEqual([
      [false, false, '0b4d0000', '0c4d0000'],
      [false, false, '61', '62'],
    ]);
    const { metadata } = readAvroFile(bytes);
    expect(metadata['snapshot-id']).toBe(expected.snapshot_id);
    expect(metadata['parent-snapshot-id']).toBe('null');
    expect(metadata['format-version']).toBe('2');
  });
});
