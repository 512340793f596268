/**
 * Manifest files (v2): the Avro files listing data files with their partition and stats.
 *
 * Spec: https://iceberg.apache.org/spec/#manifests
 *
 * manifest_entry (Avro record "manifest_entry"):
 *   0 status int (0 EXISTING, 1 ADDED, 2 DELETED) · 1 snapshot_id ["null","long"]
 *   3 sequence_number ["null","long"] · 4 file_sequence_number ["null","long"]
 *   2 data_file record r2 (required):
 *     134 content int · 100 file_path string · 101 file_format string
 *     102 partition record r102 (one optional field per partition field, id 1000+)
 *     103 record_count long · 104 file_size_in_bytes long
 *     108 column_sizes map<117 int, 118 long> · 109 value_counts <119, 120>
 *     110 null_value_counts <121, 122> · 137 nan_value_counts <138, 139>
 *     125 lower_bounds <126 int, 127 bytes> · 128 upper_bounds <129, 130>
 *     131 key_metadata bytes · 132 split_offsets list<133 long>
 *     135 equality_ids list<136 int> · 140 sort_order_id int
 *   (every data_file field from 108 on is optional: ["null", T] with "default": null;
 *    maps are arrays of records "k117_v118" {key, value} with "logicalType":"map")
 *
 * File metadata: schema (table schema JSON), schema-id, partition-spec (JSON array of
 * {name, transform, source-id, field-id}), partition-spec-id, format-version "2",
 * content "data" | "deletes".
 */
import { readAvroFile, writeAvroFile } from '../avro/container.ts';
import { IcebergError } from '../errors.ts';
import {
  avroFieldName,
  avroSchemaFor,
  fromAvroValue,
  structFromAvroSchema,
  toAvroValue,
} from './avro-schema.ts';
import type { DataFile, DataFileContent, EntryStatus, ManifestEntry } from './manifest.ts';
import type { PartitionSpec } from './partition-spec.ts';
import {
  type IcebergType,
  type NestedField,
  type Schema,
  type StructType,
  schemaToJson,
} from './types.ts';

const opt = (id: number, name: string, type: IcebergType): NestedField => ({
  id,
  name,
  required: false,
  type,
});
const req = (id: number, name: string, type: IcebergType): NestedField => ({
  id,
  name,
  required: true,
  type,
});
const intMap = (keyId: number, valueId: number, value: IcebergType): IcebergType => ({
  type: 'map',
  keyId,
  key: 'int',
  valueId,
  value,
  valueRequired: true,
});

/** The Iceberg struct of a v2 manifest entry for a given partition type (Java's order). */
export function manifestEntryType(partitionType: StructType): StructType {
  const dataFile: StructType = {
    type: 'struct',
    fields: [
      req(134, 'content', 'int'),
      req(100, 'file_path', 'string'),
      req(101, 'file_format', 'string'),
      req(102, 'partition', partitionType),
      req(103, 'record_count', 'long'),
      req(104, 'file_size_in_bytes', 'long'),
      opt(108, 'column_sizes', intMap(117, 118, 'long')),
      opt(109, 'value_counts', intMap(119, 120, 'long')),
      opt(110, 'null_value_counts', intMap(121, 122, 'long')),
      opt(137, 'nan_value_counts', intMap(138, 139, 'long')),
      opt(125, 'lower_bounds', intMap(126, 127, 'binary')),
      opt(128, 'upper_bounds', intMap(129, 130, 'binary')),
      opt(131, 'key_metadata', 'binary'),
      opt(132, 'split_offsets', {
        type: 'list',
        elementId: 133,
        element: 'long',
        elementRequired: true,
      }),
      opt(135, 'equality_ids', {
        type: 'list',
        elementId: 136,
        element: 'int',
        elementRequired: true,
      }),
      opt(140, 'sort_order_id', 'int'),
    ],
  };
  return {
    type: 'struct',
    fields: [
      req(0, 'status', 'int'),
      opt(1, 'snapshot_id', 'long'),
      opt(3, 'sequence_number', 'long'),
      opt(4, 'file_sequence_number', 'long'),
      req(2, 'data_file', dataFile),
    ],
  };
}

/** The Avro schema JSON of a v2 manifest (root record "manifest_entry"). */
export function manifestAvroSchema(partitionType: StructType): Record<string, unknown> {
  return avroSchemaFor(manifestEntryType(partitionType), 'manifest_entry');
}

export interface WriteManifestOptions {
  /** The table schema the entries were written with. */
  readonly schema: Schema;
  readonly spec: PartitionSpec;
  /** The spec's partition type: one optional field per partition field (id = field ID). */
  readonly partitionType: StructType;
  readonly entries: readonly ManifestEntry[];
  readonly content?: 'data' | 'deletes';
  readonly codec?: 'null' | 'deflate';
}

/** Serializes manifest entries into a v2 manifest Avro file. */
export function writeManifest(opts: WriteManifestOptions): Uint8Array {
  const { partitionType, spec } = opts;
  if (partitionType.fields.length !== spec.fields.length) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `partitionType has ${partitionType.fields.length} fields but spec ${spec.specId} has ${spec.fields.length}`,
    );
  }
  const type = manifestEntryType(partitionType);
  const records = opts.entries.map((e, i) => {
    const f = e.dataFile;
    if (f.partition.length !== partitionType.fields.length) {
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `entries[${i}].dataFile.partition has ${f.partition.length} values, expected ${partitionType.fields.length}`,
        { context: { filePath: f.filePath } },
      );
    }
    const value = {
      status: e.status,
      snapshot_id: e.snapshotId,
      sequence_number: e.sequenceNumber,
      file_sequence_number: e.fileSequenceNumber,
      data_file: {
        content: f.content,
        file_path: f.filePath,
        file_format: f.fileFormat,
        partition: f.partition,
        record_count: f.recordCount,
        file_size_in_bytes: f.fileSizeInBytes,
        column_sizes: f.columnSizes,
        value_counts: f.valueCounts,
        null_value_counts: f.nullValueCounts,
        nan_value_counts: f.nanValueCounts,
        lower_bounds: f.lowerBounds,
        upper_bounds: f.upperBounds,
        key_metadata: f.keyMetadata,
        split_offsets: f.splitOffsets,
        equality_ids: f.equalityIds,
        sort_order_id: f.sortOrderId,
      },
    };
    return toAvroValue(type, value) as Record<string, unknown>;
  });
  const partitionSpecJson = spec.fields.map((f) => ({
    name: f.name,
    transform: f.transform,
    'source-id': f.sourceId,
    'field-id': f.fieldId,
  }));
  return writeAvroFile(manifestAvroSchema(partitionType), records, {
    codec: opts.codec ?? 'null',
    metadata: {
      schema: JSON.stringify(schemaToJson(opts.schema)),
      'schema-id': String(opts.schema.schemaId),
      'partition-spec': JSON.stringify(partitionSpecJson),
      'partition-spec-id': String(spec.specId),
      'format-version': '2',
      content: opts.content ?? 'data',
    },
  });
}

export interface ManifestContents {
  readonly entries: ManifestEntry[];
  /** The file's header metadata (schema, partition-spec, format-version, avro.* …). */
  readonly metadata: Record<string, string>;
}

function toNumber(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

function numberMap<V>(v: unknown, conv: (x: unknown) => V): ReadonlyMap<number, V> | undefined {
  if (!(v instanceof Map)) return undefined;
  const out = new Map<number, V>();
  for (const [k, x] of v) out.set(toNumber(k), conv(x));
  return out;
}

/**
 * Reads a manifest file (v2; v1 files read with content 0 and null sequence numbers).
 * The partition tuple follows `partitionType` (matched to the file by field ID), or the
 * partition record r102 of the file's own Avro schema when omitted.
 */
export function readManifest(bytes: Uint8Array, partitionType?: StructType): ManifestContents {
  const file = readAvroFile(bytes);
  const fileType = structFromAvroSchema(file.schema);
  const dataFileField = fileType.fields.find((f) => f.id === 2);
  const filePartition =
    dataFileField && typeof dataFileField.type !== 'string' && dataFileField.type.type === 'struct'
      ? dataFileField.type.fields.find((f) => f.id === 102)
      : undefined;
  if (
    !filePartition ||
    typeof filePartition.type === 'string' ||
    filePartition.type.type !== 'struct'
  ) {
    throw new IcebergError(
      'INVALID_AVRO',
      'manifest schema has no data_file.partition record (ids 2, 102)',
    );
  }
  const filePartType = filePartition.type;
  const partType = partitionType ?? filePartType;
  const partNames = partType.fields.map((f) => {
    const inFile = filePartType.fields.find((x) => x.id === f.id);
    return avroFieldName((inFile ?? f).name);
  });
  const specId = Number(file.metadata['partition-spec-id'] ?? '0');

  const entries = file.records.map((raw): ManifestEntry => {
    const e = fromAvroValue(fileType, raw) as Record<string, unknown>;
    const d = e.data_file as Record<string, unknown>;
    const rawPartition = (raw.data_file as Record<string, unknown>).partition as Record<
      string,
      unknown
    >;
    const partition = partType.fields.map((f, i) =>
      fromAvroValue(f.type, rawPartition[partNames[i] ?? '']),
    );
    const columnSizes = numberMap(d.column_sizes, toNumber);
    const valueCounts = numberMap(d.value_counts, toNumber);
    const nullValueCounts = numberMap(d.null_value_counts, toNumber);
    const nanValueCounts = numberMap(d.nan_value_counts, toNumber);
    const lowerBounds = numberMap(d.lower_bounds, (x) => x as Uint8Array);
    const upperBounds = numberMap(d.upper_bounds, (x) => x as Uint8Array);
    const dataFile: DataFile = {
      content: toNumber(d.content ?? 0) as DataFileContent,
      filePath: d.file_path as string,
      fileFormat: String(d.file_format).toUpperCase() as DataFile['fileFormat'],
      specId,
      partition,
      recordCount: toNumber(d.record_count),
      fileSizeInBytes: toNumber(d.file_size_in_bytes),
      ...(columnSizes ? { columnSizes } : {}),
      ...(valueCounts ? { valueCounts } : {}),
      ...(nullValueCounts ? { nullValueCounts } : {}),
      ...(nanValueCounts ? { nanValueCounts } : {}),
      ...(lowerBounds ? { lowerBounds } : {}),
      ...(upperBounds ? { upperBounds } : {}),
      ...(d.key_metadata != null ? { keyMetadata: d.key_metadata as Uint8Array } : {}),
      ...(Array.isArray(d.split_offsets) ? { splitOffsets: d.split_offsets.map(toNumber) } : {}),
      ...(Array.isArray(d.equality_ids) ? { equalityIds: d.equality_ids.map(toNumber) } : {}),
      ...(d.sort_order_id != null ? { sortOrderId: toNumber(d.sort_order_id) } : {}),
    };
    const seq = (v: unknown): number | null => (v == null ? null : toNumber(v));
    return {
      status: toNumber(e.status) as EntryStatus,
      snapshotId: e.snapshot_id == null ? null : BigInt(e.snapshot_id as bigint),
      sequenceNumber: seq(e.sequence_number),
      fileSequenceNumber: seq(e.file_sequence_number),
      dataFile,
    };
  });
  return { entries, metadata: file.metadata };
}
