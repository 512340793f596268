/**
 * Commit latency as table history grows: one fast append (one small data file) after
 * another on one table in a local filesystem warehouse, timing each `commit()`. A
 * milestone's figure is the median of the five commits ending at it. @kice/iceberg's fast
 * append keeps every manifest (no manifest merging yet) and every metadata version lists
 * all snapshots, so each commit rewrites a manifest list and a metadata file that grow
 * with the history: latency is expected to rise with the commit number.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FilesystemCatalog,
  fastAppend,
  icebergRowsToArrow,
  LocalFileIO,
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
}

export interface CommitLatencyResult {
  readonly measured: CommitLatencyPoint[];
  /** Least-squares line through the measured points (ms = a + b × commit). */
  readonly fit: { readonly interceptMs: number; readonly msPerCommit: number };
  /** Milestones beyond the measured range, from the fit: labelled, not measured. */
  readonly extrapolated: CommitLatencyPoint[];
  /** medianMs(last milestone, measured or extrapolated) / medianMs(commit 10). */
  readonly ratioLastToTenth: number;
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

/** Runs commits 1..max(milestones) and reports the milestones' latency. */
export async function benchCommitLatency(
  dir: string,
  milestones: readonly number[],
  extrapolateTo: readonly number[],
): Promise<CommitLatencyResult> {
  const t0 = performance.now();
  const warehouse = join(dir, 'commit-latency-warehouse');
  await mkdir(warehouse, { recursive: true });
  const io = new LocalFileIO();
  const catalog = new FilesystemCatalog({ warehouse, io });
  await catalog.createNamespace(['bench']);
  let table: Table = await catalog.createTable(
    { namespace: ['bench'], name: 'commits' },
    { schema: SCHEMA },
  );
  const withIds = icebergRowsToArrow(SCHEMA, [
    { id: 1n, name: 'a' },
    { id: 2n, name: 'b' },
  ]);
  const last = Math.max(...milestones);
  const ms: number[] = [];
  for (let k = 1; k <= last; k++) {
    const path = join(table.metadata.location, 'data', `f-${k}.parquet`);
    const file = await writeDataFile(io, path, withIds, {
      schema: SCHEMA,
      specId: 0,
      partition: [],
    });
    const c0 = performance.now();
    table = await fastAppend(table).appendFile(file).commit();
    ms.push(performance.now() - c0);
  }
  const measured = milestones.map((k) => {
    const window = ms.slice(Math.max(0, k - 5), k).sort((a, b) => a - b);
    return { commit: k, medianMs: round(window[Math.floor(window.length / 2)] ?? 0, 2) };
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
  return {
    measured,
    fit: { interceptMs: round(intercept, 3), msPerCommit: round(slope, 5) },
    extrapolated,
    ratioLastToTenth: round((final?.medianMs ?? 0) / tenth, 2),
    totalSeconds: round((performance.now() - t0) / 1000, 1),
  };
}
