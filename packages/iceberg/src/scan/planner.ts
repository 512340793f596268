/**
 * Scan planning: which data files of a snapshot might hold rows matching a filter.
 *
 * Spec: https://iceberg.apache.org/spec/#scan-planning
 * 1. Pick the snapshot (current, by id, or as of a timestamp via the snapshot log).
 * 2. Manifest list → skip manifests whose partition summaries cannot match
 *    (the filter projected onto the manifest's spec).
 * 3. Manifest entries (not DELETED) → skip files whose partition tuple or column
 *    bounds/null counts cannot match.
 * 4. Delete manifests (every one is read) → position delete files, attached to each data
 *    file they apply to (./deletes.ts; equality deletes are not supported).
 */
import type { Table } from '../catalog/catalog.ts';
import { IcebergError } from '../errors.ts';
import type { DataFile, FieldSummary, ManifestFile } from '../spec/manifest.ts';
import { readManifest } from '../spec/manifest-file.ts';
import { readManifestList } from '../spec/manifest-list.ts';
import { partitionType } from '../spec/partition-spec.ts';
import type { Snapshot } from '../spec/snapshot.ts';
import {
  currentSchema,
  currentSnapshot,
  schemaById,
  snapshotAsOf,
  snapshotById,
  specById,
} from '../spec/table-metadata.ts';
import { indexById, type PrimitiveType, type Schema, type StructType } from '../spec/types.ts';
import { fromBytes } from '../spec/values.ts';
import { dataSequenceNumber, PositionDeleteIndex } from './deletes.ts';
import {
  alwaysTrue,
  type Bound,
  bind,
  type ColumnStats,
  type Expr,
  mightMatch,
} from './expressions.ts';
import { projectInclusive } from './projection.ts';

export interface ScanOptions {
  readonly snapshotId?: bigint;
  readonly asOfTimestampMs?: number;
  readonly filter?: Expr;
  /** Column names to return (default all; dotted for a field inside a struct). Only their
   * column chunks (and those of columns the filter needs) are read from the data files. */
  readonly select?: readonly string[];
}

/** A data file to read and the position delete files that apply to it. */
export interface FileScanTask {
  readonly file: DataFile;
  /** Its data sequence number. */
  readonly sequenceNumber: number;
  /** Position delete files whose sequence number is ≥ the data file's. */
  readonly deletes: readonly DataFile[];
}

export interface ScanPlan {
  /** undefined for a table without snapshots (nothing to read). */
  readonly snapshot: Snapshot | undefined;
  /** The schema rows are read with: the snapshot's for time travel, else the current one. */
  readonly schema: Schema;
  readonly filter: Bound;
  readonly files: DataFile[];
  /** One task per file of `files`, in the same order. */
  readonly tasks: FileScanTask[];
  /** Live position delete files in the snapshot. */
  readonly deleteFiles: number;
  /** Live data files in the snapshot before pruning. */
  readonly totalFiles: number;
  readonly manifestsScanned: number;
  readonly manifestsSkipped: number;
}

export function selectSnapshot(table: Table, options: ScanOptions): Snapshot | undefined {
  const m = table.metadata;
  if (options.snapshotId !== undefined) {
    const s = snapshotById(m, options.snapshotId);
    if (!s) throw new IcebergError('NOT_FOUND', `snapshot ${options.snapshotId} not found`);
    return s;
  }
  if (options.asOfTimestampMs !== undefined) {
    const s = snapshotAsOf(m, options.asOfTimestampMs);
    if (!s)
      throw new IcebergError(
        'NOT_FOUND',
        `no snapshot as of ${new Date(options.asOfTimestampMs).toISOString()}`,
      );
    return s;
  }
  return currentSnapshot(m) ?? undefined;
}

/**
 * A bound as stored in a manifest. Bounds written before a type promotion keep the older
 * type's binary form (spec: "Schema evolution", single-value serialization): a 4-byte int
 * bound of a column now long, a 4-byte float bound of a column now double.
 */
function boundFromBytes(type: PrimitiveType, bytes: Uint8Array): unknown {
  if (type === 'long' && bytes.length === 4) return BigInt(fromBytes('int', bytes) as number);
  if (type === 'double' && bytes.length === 4) return fromBytes('float', bytes);
  return fromBytes(type, bytes);
}

function summaryStats(type: PrimitiveType, s: FieldSummary): ColumnStats {
  return {
    ...(s.lowerBound ? { lower: boundFromBytes(type, s.lowerBound) } : {}),
    ...(s.upperBound ? { upper: boundFromBytes(type, s.upperBound) } : {}),
    mayHaveNull: s.containsNull,
    allNull: s.containsNull && !s.lowerBound && !s.containsNan,
  };
}

function fileStats(
  types: Map<number, PrimitiveType>,
  f: DataFile,
): (id: number) => ColumnStats | undefined {
  return (id) => {
    const type = types.get(id);
    if (!type) return undefined;
    const nulls = f.nullValueCounts?.get(id);
    const values = f.valueCounts?.get(id);
    const lo = f.lowerBounds?.get(id);
    const hi = f.upperBounds?.get(id);
    return {
      ...(lo ? { lower: boundFromBytes(type, lo) } : {}),
      ...(hi ? { upper: boundFromBytes(type, hi) } : {}),
      ...(nulls !== undefined ? { mayHaveNull: nulls > 0 } : {}),
      ...(nulls !== undefined && values !== undefined
        ? { allNull: values > 0 && nulls === values }
        : {}),
    };
  };
}

function tupleStats(
  ptype: StructType,
  tuple: readonly unknown[],
): (id: number) => ColumnStats | undefined {
  return (id) => {
    const i = ptype.fields.findIndex((f) => f.id === id);
    if (i < 0) return undefined;
    const v = tuple[i];
    if (v === null || v === undefined) return { mayHaveNull: true, allNull: true };
    return { lower: v, upper: v, mayHaveNull: false, allNull: false };
  };
}

export async function planFiles(table: Table, options: ScanOptions = {}): Promise<ScanPlan> {
  const m = table.metadata;
  const snapshot = selectSnapshot(table, options);
  const timeTravel = options.snapshotId !== undefined || options.asOfTimestampMs !== undefined;
  const schema =
    timeTravel && snapshot?.schemaId !== undefined
      ? schemaById(m, snapshot.schemaId)
      : currentSchema(m);
  const filter = bind(schema, options.filter ?? alwaysTrue);
  const empty = {
    snapshot,
    schema,
    filter,
    files: [],
    tasks: [],
    deleteFiles: 0,
    totalFiles: 0,
    manifestsScanned: 0,
    manifestsSkipped: 0,
  };
  if (!snapshot) return empty;

  const types = new Map<number, PrimitiveType>();
  for (const [id, f] of indexById(schema)) if (typeof f.type === 'string') types.set(id, f.type);

  const manifests: ManifestFile[] = readManifestList(await table.io.read(snapshot.manifestList));
  const deletes = new PositionDeleteIndex();
  for (const mf of manifests) {
    if (mf.content !== 1) continue;
    const ptype = partitionType(specById(m, mf.partitionSpecId), schema);
    const { entries } = readManifest(await table.io.read(mf.manifestPath), ptype);
    for (const e of entries) {
      if (e.status !== 2) deletes.add(e.dataFile, dataSequenceNumber(e, mf));
    }
  }
  const files: DataFile[] = [];
  const tasks: FileScanTask[] = [];
  let totalFiles = 0;
  let scanned = 0;
  let skipped = 0;
  for (const mf of manifests) {
    if (mf.content === 1) continue;
    if (mf.content !== 0) {
      throw new IcebergError(
        'INVALID_METADATA',
        `manifest content ${mf.content}: ${mf.manifestPath}`,
      );
    }
    const spec = specById(m, mf.partitionSpecId);
    const ptype = partitionType(spec, schema);
    const projected = projectInclusive(filter, spec, (id) => types.get(id));
    const ptypes = new Map(ptype.fields.map((f) => [f.id, f.type as PrimitiveType]));
    const summaries = mf.partitions;
    const manifestMayMatch =
      !summaries ||
      mightMatch(projected, (id) => {
        const i = ptype.fields.findIndex((f) => f.id === id);
        const s = summaries[i];
        const t = ptypes.get(id);
        return s && t ? summaryStats(t, s) : undefined;
      });
    const live = mf.addedFilesCount + mf.existingFilesCount;
    if (!manifestMayMatch) {
      skipped++;
      totalFiles += live;
      continue;
    }
    scanned++;
    const { entries } = readManifest(await table.io.read(mf.manifestPath), ptype);
    for (const e of entries) {
      if (e.status === 2) continue;
      totalFiles++;
      const f = e.dataFile;
      if (!mightMatch(projected, tupleStats(ptype, f.partition))) continue;
      if (!mightMatch(filter, fileStats(types, f))) continue;
      files.push(f);
      const seq = dataSequenceNumber(e, mf);
      tasks.push({ file: f, sequenceNumber: seq, deletes: deletes.forDataFile(f.filePath, seq) });
    }
  }
  return {
    ...empty,
    files,
    tasks,
    deleteFiles: deletes.size,
    totalFiles,
    manifestsScanned: scanned,
    manifestsSkipped: skipped,
  };
}
