/**
 * Table metadata (format version 2).
 *
 * Spec: https://iceberg.apache.org/spec/#table-metadata-fields
 */
import type { PartitionSpec, SortOrder } from './partition-spec.ts';
import type { MetadataLogEntry, Snapshot, SnapshotLogEntry, SnapshotRef } from './snapshot.ts';
import type { Schema } from './types.ts';

export interface TableMetadata {
  readonly formatVersion: 2;
  readonly tableUuid: string;
  readonly location: string;
  readonly lastSequenceNumber: number;
  readonly lastUpdatedMs: number;
  readonly lastColumnId: number;
  readonly schemas: readonly Schema[];
  readonly currentSchemaId: number;
  readonly partitionSpecs: readonly PartitionSpec[];
  readonly defaultSpecId: number;
  readonly lastPartitionId: number;
  readonly properties: Readonly<Record<string, string>>;
  /** null when the table has no snapshot (-1 in JSON). */
  readonly currentSnapshotId: bigint | null;
  readonly snapshots: readonly Snapshot[];
  readonly snapshotLog: readonly SnapshotLogEntry[];
  readonly metadataLog: readonly MetadataLogEntry[];
  readonly sortOrders: readonly SortOrder[];
  readonly defaultSortOrderId: number;
  readonly refs: Readonly<Record<string, SnapshotRef>>;
  /** Kept verbatim when read (statistics files are not written by this library). */
  readonly statistics: readonly unknown[];
  readonly partitionStatistics: readonly unknown[];
}
