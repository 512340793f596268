/**
 * Snapshots, snapshot references and summaries.
 *
 * Spec: https://iceberg.apache.org/spec/#snapshots and
 * https://iceberg.apache.org/spec/#snapshot-references
 *
 * JSON: {"snapshot-id":3055729675574597004,"parent-snapshot-id":...,"sequence-number":1,
 *        "timestamp-ms":1515100955770,"summary":{"operation":"append",...},
 *        "manifest-list":"s3://.../snap-....avro","schema-id":0}
 * Snapshot IDs are 63-bit: always bigint here, and JSON is read/written BigInt-safe.
 */

export type SnapshotOperation = 'append' | 'replace' | 'overwrite' | 'delete';

export interface Snapshot {
  readonly snapshotId: bigint;
  readonly parentSnapshotId?: bigint;
  readonly sequenceNumber: number;
  readonly timestampMs: number;
  readonly manifestList: string;
  /** Always has `operation`; values are strings. */
  readonly summary: Readonly<Record<string, string>>;
  readonly schemaId?: number;
}

export interface SnapshotRef {
  readonly snapshotId: bigint;
  readonly type: 'branch' | 'tag';
  readonly minSnapshotsToKeep?: number;
  readonly maxSnapshotAgeMs?: number;
  readonly maxRefAgeMs?: number;
}

export interface SnapshotLogEntry {
  readonly timestampMs: number;
  readonly snapshotId: bigint;
}

export interface MetadataLogEntry {
  readonly timestampMs: number;
  readonly metadataFile: string;
}
