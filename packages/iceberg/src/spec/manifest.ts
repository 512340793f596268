/**
 * Data files, manifest entries and manifest-list entries (the in-memory model; the Avro
 * codecs live in ./manifest-file.ts and ./manifest-list.ts).
 *
 * Spec: https://iceberg.apache.org/spec/#manifests and
 * https://iceberg.apache.org/spec/#manifest-lists
 */

/** A partition tuple: one value per partition field of the spec, in spec order (null allowed).
 * Values use the in-memory representation documented in ./types.ts for the transform's
 * result type. */
export type PartitionTuple = readonly unknown[];

/** 0 data, 1 position deletes, 2 equality deletes. */
export type DataFileContent = 0 | 1 | 2;

export interface DataFile {
  readonly content: DataFileContent;
  readonly filePath: string;
  readonly fileFormat: 'PARQUET' | 'AVRO' | 'ORC';
  /** The spec the partition tuple belongs to (not stored in the entry; from the manifest). */
  readonly specId: number;
  readonly partition: PartitionTuple;
  readonly recordCount: number;
  readonly fileSizeInBytes: number;
  readonly columnSizes?: ReadonlyMap<number, number>;
  readonly valueCounts?: ReadonlyMap<number, number>;
  readonly nullValueCounts?: ReadonlyMap<number, number>;
  readonly nanValueCounts?: ReadonlyMap<number, number>;
  /** Single-value binary serialization (spec Appendix D). */
  readonly lowerBounds?: ReadonlyMap<number, Uint8Array>;
  readonly upperBounds?: ReadonlyMap<number, Uint8Array>;
  readonly keyMetadata?: Uint8Array;
  readonly splitOffsets?: readonly number[];
  readonly equalityIds?: readonly number[];
  readonly sortOrderId?: number;
}

/** 0 EXISTING, 1 ADDED, 2 DELETED. */
export type EntryStatus = 0 | 1 | 2;

export interface ManifestEntry {
  readonly status: EntryStatus;
  /** null → inherited from the manifest list entry's added_snapshot_id. */
  readonly snapshotId: bigint | null;
  /** null → inherited from the manifest's sequence number (only for ADDED entries). */
  readonly sequenceNumber: number | null;
  readonly fileSequenceNumber: number | null;
  readonly dataFile: DataFile;
}

/** Summary of one partition field across a manifest's files (manifest list field 507). */
export interface FieldSummary {
  readonly containsNull: boolean;
  readonly containsNan?: boolean;
  readonly lowerBound?: Uint8Array;
  readonly upperBound?: Uint8Array;
}

/** 0 data, 1 deletes. */
export type ManifestContent = 0 | 1;

export interface ManifestFile {
  readonly manifestPath: string;
  readonly manifestLength: number;
  readonly partitionSpecId: number;
  readonly content: ManifestContent;
  readonly sequenceNumber: number;
  readonly minSequenceNumber: number;
  readonly addedSnapshotId: bigint;
  readonly addedFilesCount: number;
  readonly existingFilesCount: number;
  readonly deletedFilesCount: number;
  readonly addedRowsCount: number;
  readonly existingRowsCount: number;
  readonly deletedRowsCount: number;
  readonly partitions?: readonly FieldSummary[];
  readonly keyMetadata?: Uint8Array;
}
