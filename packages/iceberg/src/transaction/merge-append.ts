/**
 * Merge append: a fast append that also merges small data manifests, so that the manifest
 * list of a table appended to over and over stays short (Java's MergeAppend, which
 * `Table.newAppend()` returns there).
 *
 * Spec: https://iceberg.apache.org/spec/#manifests and
 * https://iceberg.apache.org/spec/#sequence-numbers .
 *
 * Table properties (https://iceberg.apache.org/docs/latest/configuration/#write-properties):
 *   commit.manifest-merge.enabled        true     false → behaves exactly as a fast append
 *   commit.manifest.target-size-bytes    8 MiB    bin size for merged manifests
 *   commit.manifest.min-count-to-merge   100      see the bin rule below
 *
 * Per commit attempt, on the parent's manifest list of that attempt (./append.ts):
 *
 * 1. Candidates: this snapshot's new data manifests first, then the parent's data
 *    manifests, in list order. Delete manifests (content 1) are listed after them as they
 *    are (never merged here). `first` is the first candidate — the new manifest when
 *    files were appended.
 * 2. Group the candidates by partition spec (highest spec id first, order kept within a
 *    group).
 * 3. Bin-pack each group by manifest length with a look-back of one, packing from the END
 *    of the group (the oldest manifests): walking backwards, a manifest joins the current
 *    bin while the bin's total length stays ≤ the target size, otherwise it starts a new
 *    bin; bins and their contents are then put back in list order. So every bin but the
 *    one holding the newest manifests is full, and the under-filled bin is the newest one.
 * 4. Per bin: one manifest → listed as is. A bin holding `first` with fewer than
 *    min-count-to-merge manifests → listed as is (so a commit does not rewrite the newest
 *    manifests every time: they are merged once there are enough of them). Any other bin
 *    with two or more manifests → merged into one new manifest. This is the rule of
 *    Java's ManifestMergeManager#mergeGroup
 *    (https://github.com/apache/iceberg/blob/main/core/src/main/java/org/apache/iceberg/ManifestMergeManager.java):
 *    min-count-to-merge applies only to the bin with the new manifest, so full bins of
 *    older manifests are always merged.
 *
 * A merged manifest is added by this snapshot (manifest sequence number = this snapshot's)
 * and holds, in bin order: entries ADDED by this snapshot, still ADDED with their null
 * (inherited) sequence numbers; every other live entry as EXISTING (status 0) with its
 * original snapshot id, data sequence number and file sequence number written explicitly
 * (inheritance applies only to ADDED entries of the manifest's own snapshot). DELETED
 * entries of earlier snapshots are dropped. Its list entry counts added/existing/deleted
 * files and rows, min-sequence-number = the least data sequence number of its entries,
 * and partition summaries over its entries.
 *
 * Merged manifests written by a failed attempt are deleted (./append.ts); a new manifest
 * that was merged is deleted after the commit (it is not part of the table).
 */
import { randomUUID } from 'node:crypto';
import type { Table } from '../catalog/catalog.ts';
import { joinPath } from '../io/file-io.ts';
import type { ManifestEntry, ManifestFile } from '../spec/manifest.ts';
import { readManifest, writeManifest } from '../spec/manifest-file.ts';
import { partitionType } from '../spec/partition-spec.ts';
import { currentSchema, specById } from '../spec/table-metadata.ts';
import { type AppendAttempt, AppendOperation } from './append.ts';
import { partitionSummaries } from './partition-summary.ts';
import { boolProperty, intProperty } from './properties.ts';

export const MANIFEST_MERGE_ENABLED = 'commit.manifest-merge.enabled';
export const MANIFEST_TARGET_SIZE_BYTES = 'commit.manifest.target-size-bytes';
export const MANIFEST_MIN_MERGE_COUNT = 'commit.manifest.min-count-to-merge';

export interface ManifestMergePolicy {
  readonly enabled: boolean;
  readonly targetSizeBytes: number;
  readonly minCountToMerge: number;
}

/** The merge policy of a table's properties (Java's defaults: true, 8 MiB, 100). */
export function mergePolicyFrom(properties: Readonly<Record<string, string>>): ManifestMergePolicy {
  return {
    enabled: boolProperty(properties, MANIFEST_MERGE_ENABLED, true),
    targetSizeBytes: intProperty(properties, MANIFEST_TARGET_SIZE_BYTES, 8 * 1024 * 1024),
    minCountToMerge: intProperty(properties, MANIFEST_MIN_MERGE_COUNT, 100),
  };
}

/**
 * Packs `items` into bins of total weight ≤ `target` (an item heavier than the target gets
 * a bin of its own), with a look-back of one bin, starting from the end; bins and items
 * come back in input order (see step 3 above).
 */
export function packEnd<T>(
  items: readonly T[],
  weight: (item: T) => number,
  target: number,
): T[][] {
  const bins: T[][] = [];
  let bin: T[] = [];
  let binWeight = 0;
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as T;
    const w = weight(item);
    if (bin.length > 0 && binWeight + w > target) {
      bins.push(bin);
      bin = [];
      binWeight = 0;
    }
    bin.push(item);
    binWeight += w;
  }
  if (bin.length > 0) bins.push(bin);
  return bins.reverse().map((b) => b.reverse());
}

/** A manifest entry with its snapshot id and sequence numbers resolved as readers do. */
export interface ResolvedEntry {
  readonly status: ManifestEntry['status'];
  readonly snapshotId: bigint;
  /** null only for a (malformed) non-ADDED v2 entry that carries none. */
  readonly sequenceNumber: number | null;
  readonly fileSequenceNumber: number | null;
}

/**
 * Applies inheritance (https://iceberg.apache.org/spec/#sequence-number-inheritance):
 * a null snapshot id comes from the manifest's added_snapshot_id; null sequence numbers
 * come from the manifest's sequence number for ADDED entries, and for every entry of a
 * manifest with sequence number 0 (v1 manifests).
 */
export function resolveEntry(entry: ManifestEntry, manifest: ManifestFile): ResolvedEntry {
  const inherits = entry.status === 1 || manifest.sequenceNumber === 0;
  return {
    status: entry.status,
    snapshotId: entry.snapshotId ?? manifest.addedSnapshotId,
    sequenceNumber: entry.sequenceNumber ?? (inherits ? manifest.sequenceNumber : null),
    fileSequenceNumber: entry.fileSequenceNumber ?? (inherits ? manifest.sequenceNumber : null),
  };
}

export class MergeAppend extends AppendOperation {
  protected override readonly kind = 'merge append';

  protected override async arrange(attempt: AppendAttempt): Promise<ManifestFile[]> {
    const policy = mergePolicyFrom(attempt.base.properties);
    const candidates = [...attempt.added, ...attempt.parent];
    if (!policy.enabled) return candidates;
    const data = candidates.filter((m) => m.content === 0);
    const deletes = candidates.filter((m) => m.content !== 0);
    const first = data[0];
    if (first === undefined) return candidates;

    const groups = new Map<number, ManifestFile[]>();
    for (const m of data) {
      const g = groups.get(m.partitionSpecId);
      if (g) g.push(m);
      else groups.set(m.partitionSpecId, [m]);
    }
    const out: ManifestFile[] = [];
    for (const specId of [...groups.keys()].sort((a, b) => b - a)) {
      const bins = packEnd(
        groups.get(specId) ?? [],
        (m) => m.manifestLength,
        policy.targetSizeBytes,
      );
      for (const bin of bins) {
        if (bin.length === 1 || (bin.includes(first) && bin.length < policy.minCountToMerge)) {
          out.push(...bin);
          continue;
        }
        const merged = await this.merge(attempt, specId, bin);
        if (merged) out.push(merged);
      }
    }
    return [...out, ...deletes];
  }

  /** Rewrites `bin` (data manifests of one spec) into one manifest; undefined if empty. */
  private async merge(
    attempt: AppendAttempt,
    specId: number,
    bin: readonly ManifestFile[],
  ): Promise<ManifestFile | undefined> {
    const { base, snapshotId, sequenceNumber } = attempt;
    const io = this.table.io;
    const schema = currentSchema(base);
    const spec = specById(base, specId);
    const ptype = partitionType(spec, schema);
    const entries: ManifestEntry[] = [];
    for (const m of bin) {
      const source =
        attempt.addedEntries.get(m.manifestPath) ??
        readManifest(await io.read(m.manifestPath), ptype).entries;
      for (const e of source) {
        const r = resolveEntry(e, m);
        if (r.status === 2) {
          // Only files deleted by this very snapshot stay DELETED; older deletes go.
          if (r.snapshotId === snapshotId)
            entries.push({
              ...e,
              snapshotId,
              sequenceNumber: r.sequenceNumber,
              fileSequenceNumber: r.fileSequenceNumber,
            });
        } else if (r.status === 1 && r.snapshotId === snapshotId) {
          // This snapshot's adds stay ADDED and keep inheriting (same snapshot, same sequence).
          entries.push({ ...e, snapshotId });
        } else {
          entries.push({
            status: 0,
            snapshotId: r.snapshotId,
            sequenceNumber: r.sequenceNumber,
            fileSequenceNumber: r.fileSequenceNumber,
            dataFile: e.dataFile,
          });
        }
      }
    }
    if (entries.length === 0) return undefined;

    const bytes = writeManifest({ schema, spec, partitionType: ptype, entries, codec: 'deflate' });
    const path = joinPath(attempt.metadataDir, `${randomUUID()}-m${specId}-merged.avro`);
    attempt.track(path);
    await io.write(path, bytes);
    let added = 0;
    let existing = 0;
    let deleted = 0;
    let addedRows = 0;
    let existingRows = 0;
    let deletedRows = 0;
    let minSequenceNumber = sequenceNumber;
    for (const e of entries) {
      const rows = e.dataFile.recordCount;
      if (e.status === 1) {
        added++;
        addedRows += rows;
      } else if (e.status === 0) {
        existing++;
        existingRows += rows;
      } else {
        deleted++;
        deletedRows += rows;
      }
      // Live entries only; a null (inherited) one is this snapshot's sequence number.
      if (e.status !== 2 && e.sequenceNumber !== null)
        minSequenceNumber = Math.min(minSequenceNumber, e.sequenceNumber);
    }
    return {
      manifestPath: path,
      manifestLength: bytes.byteLength,
      partitionSpecId: specId,
      content: 0,
      sequenceNumber,
      minSequenceNumber,
      addedSnapshotId: snapshotId,
      addedFilesCount: added,
      existingFilesCount: existing,
      deletedFilesCount: deleted,
      addedRowsCount: addedRows,
      existingRowsCount: existingRows,
      deletedRowsCount: deletedRows,
      partitions: partitionSummaries(
        ptype,
        entries.map((e) => e.dataFile),
      ),
    };
  }
}

/**
 * Starts a merge append on `table`: a fast append that merges small data manifests as
 * Java's MergeAppend does (see the top of this file), per the table's
 * commit.manifest-merge.* properties.
 */
export function mergeAppend(table: Table): MergeAppend {
  return new MergeAppend(table);
}
