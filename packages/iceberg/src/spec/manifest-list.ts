/**
 * Manifest lists (v2): one Avro file per snapshot naming its manifests.
 *
 * Spec: https://iceberg.apache.org/spec/#manifest-lists
 *
 * manifest_file (Avro record "manifest_file"):
 *   500 manifest_path string · 501 manifest_length long · 502 partition_spec_id int
 *   517 content int (0 data, 1 deletes) · 515 sequence_number long
 *   516 min_sequence_number long · 503 added_snapshot_id long
 *   504 added_files_count int · 505 existing_files_count int · 506 deleted_files_count int
 *   512 added_rows_count long · 513 existing_rows_count long · 514 deleted_rows_count long
 *   507 partitions ["null", array<508 record r508>]:
 *     509 contains_null boolean · 518 contains_nan ["null","boolean"]
 *     510 lower_bound ["null","bytes"] · 511 upper_bound ["null","bytes"]
 *   519 key_metadata ["null","bytes"]
 *
 * File metadata: snapshot-id, parent-snapshot-id ("null" when none), sequence-number,
 * format-version "2".
 */
import { readAvroFile, writeAvroFile } from '../avro/container.ts';
import { IcebergError } from '../errors.ts';
import { avroSchemaFor } from './avro-schema.ts';
import type { FieldSummary, ManifestContent, ManifestFile } from './manifest.ts';
import type { IcebergType, NestedField, StructType } from './types.ts';

const field = (id: number, name: string, type: IcebergType, required = true): NestedField => ({
  id,
  name,
  required,
  type,
});

/** The Iceberg struct of a v2 manifest list entry (Java's field order). */
export const MANIFEST_FILE_TYPE: StructType = {
  type: 'struct',
  fields: [
    field(500, 'manifest_path', 'string'),
    field(501, 'manifest_length', 'long'),
    field(502, 'partition_spec_id', 'int'),
    field(517, 'content', 'int'),
    field(515, 'sequence_number', 'long'),
    field(516, 'min_sequence_number', 'long'),
    field(503, 'added_snapshot_id', 'long'),
    field(504, 'added_files_count', 'int'),
    field(505, 'existing_files_count', 'int'),
    field(506, 'deleted_files_count', 'int'),
    field(512, 'added_rows_count', 'long'),
    field(513, 'existing_rows_count', 'long'),
    field(514, 'deleted_rows_count', 'long'),
    field(
      507,
      'partitions',
      {
        type: 'list',
        elementId: 508,
        elementRequired: true,
        element: {
          type: 'struct',
          fields: [
            field(509, 'contains_null', 'boolean'),
            field(518, 'contains_nan', 'boolean', false),
            field(510, 'lower_bound', 'binary', false),
            field(511, 'upper_bound', 'binary', false),
          ],
        },
      },
      false,
    ),
    field(519, 'key_metadata', 'binary', false),
  ],
};

/** The Avro schema JSON of a v2 manifest list (root record "manifest_file"). */
export function manifestListAvroSchema(): Record<string, unknown> {
  return avroSchemaFor(MANIFEST_FILE_TYPE, 'manifest_file');
}

export interface WriteManifestListOptions {
  readonly snapshotId: bigint;
  readonly parentSnapshotId: bigint | null;
  readonly sequenceNumber: number;
  readonly manifests: readonly ManifestFile[];
  readonly codec?: 'null' | 'deflate';
}

/** Serializes a snapshot's manifest list. */
export function writeManifestList(opts: WriteManifestListOptions): Uint8Array {
  const records = opts.manifests.map((m) => ({
    manifest_path: m.manifestPath,
    manifest_length: m.manifestLength,
    partition_spec_id: m.partitionSpecId,
    content: m.content,
    sequence_number: m.sequenceNumber,
    min_sequence_number: m.minSequenceNumber,
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: m.addedFilesCount,
    existing_files_count: m.existingFilesCount,
    deleted_files_count: m.deletedFilesCount,
    added_rows_count: m.addedRowsCount,
    existing_rows_count: m.existingRowsCount,
    deleted_rows_count: m.deletedRowsCount,
    partitions:
      m.partitions?.map((p) => ({
        contains_null: p.containsNull,
        contains_nan: p.containsNan ?? null,
        lower_bound: p.lowerBound ?? null,
        upper_bound: p.upperBound ?? null,
      })) ?? null,
    key_metadata: m.keyMetadata ?? null,
  }));
  return writeAvroFile(manifestListAvroSchema(), records, {
    codec: opts.codec ?? 'null',
    metadata: {
      'snapshot-id': String(opts.snapshotId),
      'parent-snapshot-id': opts.parentSnapshotId === null ? 'null' : String(opts.parentSnapshotId),
      'sequence-number': String(opts.sequenceNumber),
      'format-version': '2',
    },
  });
}

function num(v: unknown, fallback?: number): number {
  if (v === null || v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new IcebergError('INVALID_AVRO', 'manifest list entry is missing a required field');
  }
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

/**
 * Reads a manifest list. v1 lists (no content or sequence numbers; counts named
 * added_data_files_count …) read with content 0 and sequence numbers 0.
 */
export function readManifestList(bytes: Uint8Array): ManifestFile[] {
  return readAvroFile(bytes).records.map((r): ManifestFile => {
    const partitions = Array.isArray(r.partitions)
      ? (r.partitions as Record<string, unknown>[]).map(
          (p): FieldSummary => ({
            containsNull: p.contains_null as boolean,
            ...(p.contains_nan != null ? { containsNan: p.contains_nan as boolean } : {}),
            ...(p.lower_bound != null ? { lowerBound: p.lower_bound as Uint8Array } : {}),
            ...(p.upper_bound != null ? { upperBound: p.upper_bound as Uint8Array } : {}),
          }),
        )
      : undefined;
    return {
      manifestPath: r.manifest_path as string,
      manifestLength: num(r.manifest_length),
      partitionSpecId: num(r.partition_spec_id),
      content: num(r.content, 0) as ManifestContent,
      sequenceNumber: num(r.sequence_number, 0),
      minSequenceNumber: num(r.min_sequence_number, 0),
      addedSnapshotId: BigInt(r.added_snapshot_id as bigint),
      addedFilesCount: num(r.added_files_count ?? r.added_data_files_count, 0),
      existingFilesCount: num(r.existing_files_count ?? r.existing_data_files_count, 0),
      deletedFilesCount: num(r.deleted_files_count ?? r.deleted_data_files_count, 0),
      addedRowsCount: num(r.added_rows_count, 0),
      existingRowsCount: num(r.existing_rows_count, 0),
      deletedRowsCount: num(r.deleted_rows_count, 0),
      ...(partitions ? { partitions } : {}),
      ...(r.key_metadata != null ? { keyMetadata: r.key_metadata as Uint8Array } : {}),
    };
  });
}
