/**
 * Snapshot expiry: drop old snapshots from the table metadata, then delete the files only
 * they reached (Java's ExpireSnapshots / RemoveSnapshots with ReachableFileCleanup).
 *
 * Spec: https://iceberg.apache.org/spec/#snapshot-retention-policy and
 * https://iceberg.apache.org/docs/latest/maintenance/#expire-snapshots .
 *
 * Which snapshots are retained (Java's RemoveSnapshots#internalApply), with
 *   olderThanMs = options.olderThanMs ?? now − history.expire.max-snapshot-age-ms (5 days)
 *   retainLast  = options.retainLast  ?? history.expire.min-snapshots-to-keep (1):
 * - every snapshot a ref (branch or tag) points to, and the current snapshot;
 * - per branch, walking its ancestry from the head: an ancestor is retained while fewer
 *   than the branch's min-snapshots-to-keep (else retainLast) ancestors are, or while it
 *   is not older than the branch's max-snapshot-age-ms (else olderThanMs); the walk stops
 *   at the first ancestor that fails both. So `retainLast` keeps at LEAST that many, and
 *   snapshots newer than `olderThanMs` are kept anyway: to keep exactly the last N, pass
 *   `{ olderThanMs: Date.now(), retainLast: N }` (Java: expireOlderThan(now).retainLast(N));
 * - snapshots on no branch's ancestry and not tagged: retained unless older than
 *   olderThanMs.
 * Everything else is expired. Refs are never removed here (Java also ages out refs past
 * history.expire.max-ref-age-ms; not supported). gc.enabled=false refuses, as in Java.
 *
 * Commit: one `remove-snapshots` update (../catalog/updates.ts trims the snapshot log as
 * Java does) with requirements "same table" and "main has not moved", retried on
 * conflicts against refreshed metadata like any commit.
 *
 * Cleanup (`cleanFiles`, default true), comparing the metadata before and after:
 * 1. manifest lists of the expired snapshots;
 * 2. manifests listed by an expired snapshot and by no retained snapshot (the retained
 *    snapshots' lists are read oldest first and reading stops once no candidate is left,
 *    which after an ordinary expiry is after one or two lists);
 * 3. data (and delete) files named in those manifests — by entries of any status — that
 *    no manifest of a retained snapshot names, with any status. Only when there are such
 *    candidates are the retained manifests read (largest first, stopping once every
 *    candidate is accounted for). For an append-only table this deletes nothing.
 * Planning the cleanup reads only; if a retained manifest list or manifest cannot be read,
 * no manifest or data file is deleted (the manifest lists still are) and the reason is
 * returned in `cleanupError`. Metadata files are left alone here: the catalog deletes
 * those that fall out of the metadata log (write.metadata.previous-versions-max) after
 * any commit when write.metadata.delete-after-commit.enabled is true
 * (../catalog/metadata-files.ts).
 */
import type { Table } from '../catalog/catalog.ts';
import { IcebergError, NotFoundError } from '../errors.ts';
import type { ManifestFile } from '../spec/manifest.ts';
import { readManifest } from '../spec/manifest-file.ts';
import { readManifestList } from '../spec/manifest-list.ts';
import type { Snapshot } from '../spec/snapshot.ts';
import type { TableMetadata } from '../spec/table-metadata.ts';
import { boolProperty, intProperty } from './properties.ts';
import { retryPolicyFrom, withRetry } from './retry.ts';

export const MAX_SNAPSHOT_AGE_MS = 'history.expire.max-snapshot-age-ms';
export const MIN_SNAPSHOTS_TO_KEEP = 'history.expire.min-snapshots-to-keep';
export const GC_ENABLED = 'gc.enabled';
const DEFAULT_MAX_SNAPSHOT_AGE_MS = 5 * 24 * 60 * 60 * 1000;

export interface ExpireSnapshotsOptions {
  /** Expire snapshots older than this (epoch ms). Default: now − history.expire.max-snapshot-age-ms. */
  readonly olderThanMs?: number;
  /** Keep at least this many most recent ancestors per branch (≥ 1). Default:
   * history.expire.min-snapshots-to-keep. */
  readonly retainLast?: number;
  /** Delete the files only expired snapshots reached (default true). */
  readonly cleanFiles?: boolean;
  /** The clock (epoch ms) ages are measured against; default Date.now(). */
  readonly nowMs?: number;
}

export interface ExpireSnapshotsResult {
  /** The table after the commit (the input table when nothing was expired). */
  readonly table: Table;
  readonly expiredSnapshotIds: bigint[];
  readonly deletedManifestLists: number;
  readonly deletedManifests: number;
  readonly deletedDataFiles: number;
  /** Why manifests and data files were not cleaned up, if planning the cleanup failed. */
  readonly cleanupError?: string;
}

/**
 * The ids of the snapshots an expiry with `options` would remove from `metadata`, oldest
 * first. Pure: reads no files.
 */
export function snapshotsToExpire(
  metadata: TableMetadata,
  options: Omit<ExpireSnapshotsOptions, 'cleanFiles'> = {},
): bigint[] {
  const now = options.nowMs ?? Date.now();
  const props = metadata.properties;
  const olderThan =
    options.olderThanMs ??
    now - intProperty(props, MAX_SNAPSHOT_AGE_MS, DEFAULT_MAX_SNAPSHOT_AGE_MS);
  const retainLast = options.retainLast ?? intProperty(props, MIN_SNAPSHOTS_TO_KEEP, 1);
  if (!Number.isInteger(retainLast) || retainLast < 1) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `the number of snapshots to retain must be at least 1, got ${retainLast}`,
    );
  }
  const byId = new Map(metadata.snapshots.map((s) => [s.snapshotId, s]));
  const retain = new Set<bigint>();
  const referenced = new Set<bigint>();
  if (metadata.currentSnapshotId !== null) retain.add(metadata.currentSnapshotId);
  for (const ref of Object.values(metadata.refs)) {
    retain.add(ref.snapshotId);
    referenced.add(ref.snapshotId);
    if (ref.type !== 'branch') continue;
    const cutoff = ref.maxSnapshotAgeMs !== undefined ? now - ref.maxSnapshotAgeMs : olderThan;
    const keep = ref.minSnapshotsToKeep ?? retainLast;
    let kept = 0;
    let retaining = true;
    const seen = new Set<bigint>(); // guards against a (malformed) parent cycle
    for (
      let s = byId.get(ref.snapshotId);
      s !== undefined && !seen.has(s.snapshotId);
      s = s.parentSnapshotId === undefined ? undefined : byId.get(s.parentSnapshotId)
    ) {
      seen.add(s.snapshotId);
      referenced.add(s.snapshotId);
      if (retaining && (kept < keep || s.timestampMs >= cutoff)) {
        retain.add(s.snapshotId);
        kept++;
      } else {
        retaining = false;
      }
    }
  }
  const expired: Snapshot[] = [];
  for (const s of metadata.snapshots) {
    if (retain.has(s.snapshotId)) continue;
    if (!referenced.has(s.snapshotId) && s.timestampMs >= olderThan) continue;
    expired.push(s);
  }
  return expired
    .sort((a, b) => a.sequenceNumber - b.sequenceNumber || a.timestampMs - b.timestampMs)
    .map((s) => s.snapshotId);
}

/** Expires snapshots of `table` (see the top of this file) and cleans up their files. */
export async function expireSnapshots(
  table: Table,
  options: ExpireSnapshotsOptions = {},
): Promise<ExpireSnapshotsResult> {
  if (!boolProperty(table.metadata.properties, GC_ENABLED, true)) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      'cannot expire snapshots: gc.enabled is false (deleting files may corrupt other tables)',
    );
  }
  const nowMs = options.nowMs ?? Date.now();
  const plan = { ...options, nowMs };
  let current = table;
  let before = table.metadata;
  const policy = retryPolicyFrom(table.metadata.properties);
  const after = await withRetry(policy, async (attempt) => {
    if (attempt > 0) current = await table.catalog.loadTable(table.identifier);
    before = current.metadata;
    const ids = snapshotsToExpire(before, plan);
    if (ids.length === 0) return current;
    return table.catalog.commitTable(
      table.identifier,
      [
        { type: 'assert-table-uuid', uuid: before.tableUuid },
        { type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: before.currentSnapshotId },
      ],
      [{ action: 'remove-snapshots', snapshotIds: ids }],
    );
  });
  const remaining = new Set(after.metadata.snapshots.map((s) => s.snapshotId));
  const expired = before.snapshots.filter((s) => !remaining.has(s.snapshotId));
  const result = {
    table: after,
    expiredSnapshotIds: expired.map((s) => s.snapshotId),
    deletedManifestLists: 0,
    deletedManifests: 0,
    deletedDataFiles: 0,
  };
  if (expired.length === 0 || options.cleanFiles === false) return result;
  return { ...result, ...(await cleanUp(after, expired)) };
}

/**
 * Expires snapshots per the table's history.expire.* properties (or `options`), meant to
 * run after every commit: when no snapshot is due it returns at once, without reading or
 * writing any file. gc.enabled=false makes it a no-op.
 */
export async function maintainAfterCommit(
  table: Table,
  options: ExpireSnapshotsOptions = {},
): Promise<ExpireSnapshotsResult> {
  const nothing: ExpireSnapshotsResult = {
    table,
    expiredSnapshotIds: [],
    deletedManifestLists: 0,
    deletedManifests: 0,
    deletedDataFiles: 0,
  };
  if (!boolProperty(table.metadata.properties, GC_ENABLED, true)) return nothing;
  const nowMs = options.nowMs ?? Date.now();
  if (snapshotsToExpire(table.metadata, { ...options, nowMs }).length === 0) return nothing;
  return expireSnapshots(table, { ...options, nowMs });
}

async function readListOrNull(table: Table, s: Snapshot): Promise<ManifestFile[] | null> {
  try {
    return readManifestList(await table.io.read(s.manifestList));
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

/** Steps 1–3 of the cleanup (see the top of this file). */
async function cleanUp(
  after: Table,
  expired: readonly Snapshot[],
): Promise<Omit<ExpireSnapshotsResult, 'table' | 'expiredSnapshotIds'>> {
  const io = after.io;
  let manifestsToDelete: ManifestFile[] = [];
  let dataToDelete: string[] = [];
  let cleanupError: string | undefined;
  try {
    // Manifests of the expired snapshots (a list already gone names nothing to delete).
    const candidates = new Map<string, ManifestFile>();
    for (const s of expired) {
      for (const m of (await readListOrNull(after, s)) ?? []) candidates.set(m.manifestPath, m);
    }
    // Minus those a retained snapshot lists; oldest first (most likely to share them).
    const retained = [...after.metadata.snapshots].sort(
      (a, b) => a.sequenceNumber - b.sequenceNumber,
    );
    const retainedManifests = new Map<string, ManifestFile>();
    let read = 0;
    const readRetained = async (untilNoCandidates: boolean): Promise<void> => {
      for (; read < retained.length; read++) {
        if (untilNoCandidates && candidates.size === 0) return;
        const s = retained[read] as Snapshot;
        const list = await readListOrNull(after, s);
        if (list === null)
          throw new NotFoundError(`manifest list of retained snapshot ${s.snapshotId} is missing`);
        for (const m of list) {
          candidates.delete(m.manifestPath);
          retainedManifests.set(m.manifestPath, m);
        }
      }
    };
    await readRetained(true);
    manifestsToDelete = [...candidates.values()];

    // Files those manifests name, minus those any retained manifest names.
    const files = new Set<string>();
    for (const m of manifestsToDelete) {
      let bytes: Uint8Array;
      try {
        bytes = await io.read(m.manifestPath);
      } catch (e) {
        if (e instanceof NotFoundError) continue;
        throw e;
      }
      for (const e of readManifest(bytes).entries) files.add(e.dataFile.filePath);
    }
    if (files.size > 0) {
      await readRetained(false);
      const bySize = [...retainedManifests.values()].sort((a, b) => entryCount(b) - entryCount(a));
      for (const m of bySize) {
        if (files.size === 0) break;
        for (const e of readManifest(await io.read(m.manifestPath)).entries)
          files.delete(e.dataFile.filePath);
      }
    }
    dataToDelete = [...files];
  } catch (e) {
    manifestsToDelete = [];
    dataToDelete = [];
    cleanupError = e instanceof Error ? e.message : String(e);
  }
  for (const p of dataToDelete) await io.delete(p);
  for (const m of manifestsToDelete) await io.delete(m.manifestPath);
  for (const s of expired) await io.delete(s.manifestList);
  return {
    deletedManifestLists: expired.length,
    deletedManifests: manifestsToDelete.length,
    deletedDataFiles: dataToDelete.length,
    ...(cleanupError !== undefined ? { cleanupError } : {}),
  };
}

function entryCount(m: ManifestFile): number {
  return m.addedFilesCount + m.existingFilesCount + m.deletedFilesCount;
}
