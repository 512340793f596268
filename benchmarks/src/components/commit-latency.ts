/**
 * Commit latency as table history grows: one append (one small data file) after another
 * on one table in a local filesystem warehouse, timing each `commit()`. A milestone's
 * figure is the median of the five commits ending at it.
 *
 * By default the append is @kice/iceberg's merge append (Java's MergeAppend defaults:
 * manifests merged once 100 have piled up, 8 MiB bins), and after every commit the
 * snapshots are expired down to the last `retainLast` (100) — Java's
 * `expireSnapshots().expireOlderThan(now).retainLast(N)` — with their files cleaned up.
 * That bounds both the manifest list and the metadata file, so latency should stay flat.
 * The expiry is timed separately (`medianWithExpiryMs` = commit + expiry). The table has
 * write.metadata.delete-after-commit.enabled = true and previous-versions-max = 100 (as
 * kice's tables), so old `vN.metadata.json` files are deleted after each commit and a
 * 10,000-commit run keeps ~101 of them instead of 10,000 (`deleteOldMetadata: false`
 * keeps them all). With `{ append: 'fast', retainLast: null }` it measures the unbounded
 * fast append instead.
 * Milestones beyond the last measured commit (`extrapolateTo`) come from a linear fit and
 * are labelled as such; every milestone that was run is measured.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FilesystemCatalog,
  fastAppend,
  icebergRowsToArrow,
  LocalFileIO,
  maintainAfterCommit,
  mergeAppend,
  readManifestList,
  type Schema,
  type Table,
  writeDataFile,
} from '@kice/iceberg';
import { round } from '../systems/common.ts';

export interface CommitLatencyPoint {
  /** Commit number (1-based) on the table. */
  readonly commit: number;
  /** Median milliseconds of commits commit-4..commit. */
  readonly medianMs: number;
  /** Median milliseconds of commit + snapshot expiry, same commits (when expiring). */
  readonly medianWithExpiryMs?: number;
}

export interface CommitLatencyOptions {
  /** 'merge' (default): mergeAppend; 'fast': fastAppend (no manifest merging). */
  readonly append?: 'merge' | 'fast';
  /** After each commit, expire all snapshots but the last N; null: never. Default 100. */
  readonly retainLast?: number | null;
  /**
   * Table property write.metadata.delete-after-commit.enabled (with
   * write.metadata.previous-versions-max = 100). Default true.
   */
  readonly deleteOldMetadata?: boolean;
}

/** Metadata files kept beside the current one when `deleteOldMetadata`. */
const PREVIOUS_VERSIONS_MAX = 100;

export interface CommitLatencyResult {
  /** What was measured, e.g. "merge append (min-count 100, 8 MiB), expire: retain last 100". */
  readonly policy: string;
  readonly measured: CommitLatencyPoint[];
  /** Least-squares line through the measured points (ms = a + b × commit). */
  readonly fit: { readonly interceptMs: number; readonly msPerCommit: number };
  /** Milestones beyond the measured range, from the fit: labelled, not measured. */
  readonly extrapolated: CommitLatencyPoint[];
  /** medianMs(last milestone, measured or extrapolated) / medianMs(commit 10). */
  readonly ratioLastToTenth: number;
  /** The table after the last commit: snapshots, manifests listed, metadata files on disk. */
  readonly final: {
    readonly snapshots: number;
    readonly manifests: number;
    readonly metadataFiles: number;
  };
  readonly totalSeconds: number;
}

const SCHEMA: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: false, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
  ],
};

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Runs commits 1..max(milestones) and reports the milestones' latency. */
export async function benchCommitLatency(
  dir: string,
  milestones: readonly number[],
  extrapolateTo: readonly number[] = [],
  options: CommitLatencyOptions = {},
): Promise<CommitLatencyResult> {
  const t0 = performance.now();
  const append = options.append ?? 'merge';
  const retainLast = options.retainLast === undefined ? 100 : options.retainLast;
  const deleteOldMetadata = options.deleteOldMetadata ?? true;
  const policy = [
    append === 'merge' ? 'merge append (Java defaults: min-count 100, 8 MiB)' : 'fast append',
    `expire: ${retainLast === null ? 'never' : `retain last ${retainLast}`}`,
    `old metadata files: ${deleteOldMetadata ? `deleted after commit (keep ${PREVIOUS_VERSIONS_MAX})` : 'kept'}`,
  ].join(', ');
  const warehouse = join(dir, 'commit-latency-warehouse');
  await mkdir(warehouse, { recursive: true });
  const io = new LocalFileIO();
  const catalog = new FilesystemCatalog({ warehouse, io });
  await catalog.createNamespace(['bench']);
  let table: Table = await catalog.createTable(
    { namespace: ['bench'], name: 'commits' },
    {
      schema: SCHEMA,
      properties: {
        'write.metadata.delete-after-commit.enabled': String(deleteOldMetadata),
        'write.metadata.previous-versions-max': String(PREVIOUS_VERSIONS_MAX),
      },
    },
  );
  const withIds = icebergRowsToArrow(SCHEMA, [
    { id: 1n, name: 'a' },
    { id: 2n, name: 'b' },
  ]);
  const start = append === 'merge' ? mergeAppend : fastAppend;
  const last = Math.max(...milestones);
  const commitMs: number[] = [];
  const totalMs: number[] = [];
  for (let k = 1; k <= last; k++) {
    const path = join(table.metadata.location, 'data', `f-${k}.parquet`);
    const file = await writeDataFile(io, path, withIds, {
      schema: SCHEMA,
      specId: 0,
      partition: [],
    });
    const c0 = performance.now();
    table = await start(table).appendFile(file).commit();
    const c1 = performance.now();
    if (retainLast !== null) {
      table = (await maintainAfterCommit(table, { olderThanMs: Date.now() + 1, retainLast })).table;
    }
    commitMs.push(c1 - c0);
    totalMs.push(performance.now() - c0);
  }
  const measured = milestones.map((k): CommitLatencyPoint => {
    const from = Math.max(0, k - 5);
    return {
      commit: k,
      medianMs: round(median(commitMs.slice(from, k)), 2),
      ...(retainLast !== null
        ? { medianWithExpiryMs: round(median(totalMs.slice(from, k)), 2) }
        : {}),
    };
  });
  const n = measured.length;
  const mx = measured.reduce((a, p) => a + p.commit, 0) / n;
  const my = measured.reduce((a, p) => a + p.medianMs, 0) / n;
  const sxy = measured.reduce((a, p) => a + (p.commit - mx) * (p.medianMs - my), 0);
  const sxx = measured.reduce((a, p) => a + (p.commit - mx) ** 2, 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  const extrapolated = extrapolateTo
    .filter((k) => k > last)
    .map((k) => ({ commit: k, medianMs: round(intercept + slope * k, 2) }));
  const tenth = measured.find((p) => p.commit === 10)?.medianMs ?? measured[0]?.medianMs ?? 1;
  const final = extrapolated.at(-1) ?? measured.at(-1);
  const snapshot = table.metadata.snapshots.find(
    (s) => s.snapshotId === table.metadata.currentSnapshotId,
  );
  const manifests = snapshot ? readManifestList(await io.read(snapshot.manifestList)).length : 0;
  const metadataFiles = (await io.list(join(table.metadata.location, 'metadata/'))).filter((p) =>
    p.endsWith('.metadata.json'),
  ).length;
  return {
    policy,
    measured,
    fit: { interceptMs: round(intercept, 3), msPerCommit: round(slope, 5) },
    extrapolated,
    ratioLastToTenth: round((final?.medianMs ?? 0) / tenth, 2),
    final: { snapshots: table.metadata.snapshots.length, manifests, metadataFiles },
    totalSeconds: round((performance.now() - t0) / 1000, 1),
  };
}
