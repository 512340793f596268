/**
 * Snapshot summaries as Java's SnapshotSummary.Builder writes them.
 *
 * Spec: https://iceberg.apache.org/spec/#snapshots (summary, operation) and
 * https://iceberg.apache.org/docs/latest/spark-procedures (summary key names are Java's).
 * Values are strings; `added-*` / `deleted-*` only when > 0; totals = parent's total +
 * added − deleted (a total missing in the parent stays missing, as in Java).
 */
import type { DataFile } from '../spec/manifest.ts';
import type { SnapshotOperation } from '../spec/snapshot.ts';

export interface SummaryInput {
  readonly operation: SnapshotOperation;
  readonly parent?: Readonly<Record<string, string>>;
  readonly added?: readonly DataFile[];
  readonly removed?: readonly DataFile[];
  readonly manifestsCreated?: number;
  readonly manifestsKept?: number;
  readonly manifestsReplaced?: number;
  /** Caller properties (e.g. Kafka offsets); they cannot override the computed keys. */
  readonly properties?: Readonly<Record<string, string>>;
}

function sum(files: readonly DataFile[], f: (d: DataFile) => number): number {
  let n = 0;
  for (const d of files) n += f(d);
  return n;
}

export function buildSummary(input: SummaryInput): Record<string, string> {
  const added = input.added ?? [];
  const removed = input.removed ?? [];
  const addedData = added.filter((d) => d.content === 0);
  const removedData = removed.filter((d) => d.content === 0);
  const out: Record<string, string> = { ...(input.properties ?? {}), operation: input.operation };
  const put = (k: string, v: number): void => {
    if (v > 0) out[k] = String(v);
  };
  put('added-data-files', addedData.length);
  put('deleted-data-files', removedData.length);
  put(
    'added-records',
    sum(addedData, (d) => d.recordCount),
  );
  put(
    'deleted-records',
    sum(removedData, (d) => d.recordCount),
  );
  put(
    'added-files-size',
    sum(added, (d) => d.fileSizeInBytes),
  );
  put(
    'removed-files-size',
    sum(removed, (d) => d.fileSizeInBytes),
  );
  const partitions = new Set<string>();
  for (const d of [...added, ...removed])
    partitions.add(`${d.specId}:${partitionKey(d.partition)}`);
  out['changed-partition-count'] = String(partitions.size);

  const totals: [string, number][] = [
    [
      'total-records',
      sum(addedData, (d) => d.recordCount) - sum(removedData, (d) => d.recordCount),
    ],
    [
      'total-files-size',
      sum(added, (d) => d.fileSizeInBytes) - sum(removed, (d) => d.fileSizeInBytes),
    ],
    ['total-data-files', addedData.length - removedData.length],
    ['total-delete-files', 0],
    ['total-position-deletes', 0],
    ['total-equality-deletes', 0],
  ];
  for (const [k, delta] of totals) {
    const prev = input.parent ? input.parent[k] : '0';
    if (prev === undefined) continue;
    out[k] = String(Number(prev) + delta);
  }
  if (input.manifestsCreated !== undefined)
    out['manifests-created'] = String(input.manifestsCreated);
  if (input.manifestsKept !== undefined) out['manifests-kept'] = String(input.manifestsKept);
  if (input.manifestsReplaced !== undefined)
    out['manifests-replaced'] = String(input.manifestsReplaced);
  return out;
}

/** A stable string key for a partition tuple (for counting distinct partitions). */
export function partitionKey(tuple: readonly unknown[]): string {
  return tuple
    .map((v) => {
      if (v === null || v === undefined) return 'null';
      if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`;
      return `${typeof v}:${String(v)}`;
    })
    .join('|');
}
