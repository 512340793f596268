/**
 * Commit contention: K simulated members of one kice consumer group (K = 1, 2, 4, …),
 * each in its own worker thread (./contention-writer.ts), committing small appends to ONE
 * table as fast as they can, through kice's real commit path (`Committer.append`: merge
 * append, offset-continuity check, `kice.offsets.<group>` in every snapshot summary,
 * @kice/iceberg's optimistic retries with kice's table defaults, commit.retry.num-retries
 * 20 and min-wait 50 ms). A fresh table per K and per catalog (the filesystem catalog;
 * the REST catalog when a URI is given).
 *
 * Per K: commits/s of the whole group (successful appends ÷ seconds from the start signal
 * to the last writer's last commit), conflicts per commit (catalog commit calls refused
 * because the base metadata moved), retries per commit (catalog calls beyond the first),
 * appends that ran out of retries, p50/p99/max latency of an append (retries and backoff
 * included). Then the table is checked: its snapshot summary records offset
 * commits × rowsPerCommit for every partition and total-records = K × commits ×
 * rowsPerCommit — every commit landed exactly once, whatever the contention.
 *
 * By default the writers commit back to back (closed loop): what one table's commit path
 * can take. With `intervalMs` each commits once per interval from a random phase (open
 * loop, offered load K ÷ interval commits/s), as members flushing on a timer do.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Committer, FilesystemCatalog, LocalFileIO } from '@kice/core';
import { type Catalog, parseIdentifier, RestCatalog } from '@kice/iceberg';
import { recordedProperties } from '../../../packages/core/src/commit/offsets.ts';
import { round } from '../systems/common.ts';
import {
  CONTENTION_SCHEMA,
  type ContentionCatalog,
  type WriterInput,
  type WriterOutput,
} from './contention-writer.ts';

export interface ContentionPoint {
  readonly catalog: 'filesystem' | 'rest';
  readonly writers: number;
  readonly commits: number;
  readonly seconds: number;
  readonly commitsPerSecond: number;
  /** Catalog commit calls refused because another commit moved the table first, per commit. */
  readonly conflictsPerCommit: number;
  /** Catalog commit calls beyond the first, per successful append. */
  readonly retriesPerCommit: number;
  /** The most catalog calls one append needed. */
  readonly maxAttempts: number;
  /** Appends that ran out of retries (commit.retry.num-retries) and were tried again. */
  readonly exhausted: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The table afterwards recorded every partition's last offset and every row once. */
  readonly verified: boolean;
  readonly error: string | null;
}

export interface ContentionResult {
  /** 0: back to back (closed loop); else each writer's commit interval (open loop). */
  readonly intervalMs: number;
  /** Namespace of the tables, one per K: `<namespace>.k<K>` in each catalog. */
  readonly namespace: string;
  readonly commitsPerWriter: number;
  readonly rowsPerCommit: number;
  readonly points: ContentionPoint[];
  readonly totalSeconds: number;
}

export interface ContentionOptions {
  /** Folder for the filesystem warehouse. */
  readonly dir: string;
  readonly writers: readonly number[];
  readonly commitsPerWriter: number;
  readonly rowsPerCommit?: number;
  /** 0 (default): back to back; else each writer commits once per interval (offered load K ÷ interval). */
  readonly intervalMs?: number;
  /** REST catalog URI; when given, every K is run against it too. */
  readonly restUri?: string;
  readonly log?: (line: string) => void;
}

const WRITER = new URL('./contention-writer.ts', import.meta.url);
const TOPIC = 'contention';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Starts the K writers, releases them at once, and collects what each measured. */
async function race(inputs: readonly WriterInput[]): Promise<WriterOutput[]> {
  // The writer is TypeScript: register tsx's loader in the worker before importing it.
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(WRITER.href)}); })`;
  const workers = inputs.map((workerData) => new Worker(boot, { eval: true, workerData }));
  const settled = workers.map(
    (w) =>
      new Promise<{ ready: Promise<void>; done: Promise<WriterOutput> }>((resolveOuter) => {
        let ready!: () => void;
        const readyP = new Promise<void>((r) => {
          ready = r;
        });
        const done = new Promise<WriterOutput>((resolve, reject) => {
          w.on('message', (m: { ready?: true; done?: WriterOutput; error?: string }) => {
            if (m.ready) ready();
            else if (m.done) resolve(m.done);
            else if (m.error) reject(new Error(m.error));
          });
          w.on('error', reject);
          w.on('exit', (code) => {
            if (code !== 0) reject(new Error(`writer exited ${code}`));
          });
        });
        resolveOuter({ ready: readyP, done });
      }),
  );
  const handles = await Promise.all(settled);
  try {
    await Promise.race([
      Promise.all(handles.map((h) => h.ready)),
      Promise.all(handles.map((h) => h.done)),
    ]);
    for (const w of workers) w.postMessage('go');
    return await Promise.all(handles.map((h) => h.done));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function runPoint(
  kind: 'filesystem' | 'rest',
  catalog: Catalog,
  spec: ContentionCatalog,
  namespace: string,
  k: number,
  opts: Required<Pick<ContentionOptions, 'commitsPerWriter' | 'rowsPerCommit' | 'intervalMs'>>,
): Promise<ContentionPoint> {
  const table = `${namespace}.k${k}`;
  const group = `kice-bench-contention-k${k}`;
  // The table as kice creates it (its default properties: retries, metadata cleanup).
  await new Committer(catalog, group).ensureTable(
    { table, partitionBy: [], properties: {} },
    CONTENTION_SCHEMA,
  );
  const failed = (error: string): ContentionPoint => ({
    catalog: kind,
    writers: k,
    commits: 0,
    seconds: 0,
    commitsPerSecond: 0,
    conflictsPerCommit: 0,
    retriesPerCommit: 0,
    maxAttempts: 0,
    exhausted: 0,
    p50Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    verified: false,
    error,
  });
  let outs: WriterOutput[];
  try {
    outs = await race(
      Array.from({ length: k }, (_, partition) => ({
        catalog: spec,
        table,
        group,
        topic: TOPIC,
        partition,
        commits: opts.commitsPerWriter,
        rowsPerCommit: opts.rowsPerCommit,
        intervalMs: opts.intervalMs,
      })),
    );
  } catch (e) {
    return failed((e as Error).message.split('\n')[0] ?? 'failed');
  }
  const latencies = outs.flatMap((o) => o.latenciesMs).sort((a, b) => a - b);
  const attempts = outs.flatMap((o) => o.attempts);
  const commits = latencies.length;
  const seconds =
    (Math.max(...outs.map((o) => o.endMs)) - Math.min(...outs.map((o) => o.startMs))) / 1000;
  const conflicts = outs.reduce((a, o) => a + o.conflicts, 0);
  const calls = attempts.reduce((a, n) => a + n, 0);
  const refused = outs.reduce((a, o) => a + o.refused, 0);
  // Every partition's offset and every row, exactly once.
  const t = await catalog.loadTable(parseIdentifier(table));
  const recorded = recordedProperties(t.metadata).properties.get(`kice.offsets.${group}`);
  const offsets = recorded
    ? (JSON.parse(recorded) as Record<string, Record<string, string>>)[TOPIC]
    : undefined;
  const want = String(opts.commitsPerWriter * opts.rowsPerCommit);
  const current = t.metadata.snapshots.find((s) => s.snapshotId === t.metadata.currentSnapshotId);
  const verified =
    refused === 0 &&
    commits === k * opts.commitsPerWriter &&
    offsets !== undefined &&
    Object.keys(offsets).length === k &&
    Object.values(offsets).every((v) => v === want) &&
    current?.summary['total-records'] === String(k * opts.commitsPerWriter * opts.rowsPerCommit);
  return {
    catalog: kind,
    writers: k,
    commits,
    seconds: round(seconds, 3),
    commitsPerSecond: round(commits / seconds, 1),
    conflictsPerCommit: round(conflicts / commits, 3),
    retriesPerCommit: round((calls - commits) / commits, 3),
    maxAttempts: Math.max(...attempts),
    exhausted: outs.reduce((a, o) => a + o.exhausted, 0),
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    maxMs: round(latencies.at(-1) ?? 0, 1),
    verified,
    error: verified
      ? null
      : `table check failed: ${commits} commits, ${refused} refused, offsets ${recorded ?? 'none'}, total-records ${current?.summary['total-records']}`,
  };
}

/** Runs every K against the filesystem catalog (and the REST catalog when given). */
export async function benchCommitContention(opts: ContentionOptions): Promise<ContentionResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const rowsPerCommit = opts.rowsPerCommit ?? 10;
  const intervalMs = opts.intervalMs ?? 0;
  const run = `c${Date.now().toString(36)}`;
  const warehouse = join(opts.dir, 'warehouse');
  await mkdir(warehouse, { recursive: true });
  const targets: { kind: 'filesystem' | 'rest'; catalog: Catalog; spec: ContentionCatalog }[] = [
    {
      kind: 'filesystem',
      catalog: new FilesystemCatalog({ warehouse, io: new LocalFileIO() }),
      spec: { type: 'filesystem', warehouse },
    },
  ];
  if (opts.restUri) {
    targets.push({
      kind: 'rest',
      catalog: new RestCatalog({ uri: opts.restUri, io: new LocalFileIO() }),
      spec: { type: 'rest', uri: opts.restUri },
    });
  }
  const points: ContentionPoint[] = [];
  for (const target of targets) {
    for (const k of opts.writers) {
      log(
        `contention: ${target.kind} catalog, ${k} writer(s) × ${opts.commitsPerWriter} commits${intervalMs > 0 ? `, one per ${intervalMs} ms each` : ''}…`,
      );
      const p = await runPoint(target.kind, target.catalog, target.spec, run, k, {
        commitsPerWriter: opts.commitsPerWriter,
        rowsPerCommit,
        intervalMs,
      });
      log(`  ${describeContention(p)}`);
      points.push(p);
    }
  }
  return {
    intervalMs,
    namespace: run,
    commitsPerWriter: opts.commitsPerWriter,
    rowsPerCommit,
    points,
    totalSeconds: round((performance.now() - t0) / 1000, 1),
  };
}

/** One point as a line. */
export function describeContention(p: ContentionPoint): string {
  if (p.error !== null && !p.verified) return `${p.catalog} K=${p.writers}: FAILED: ${p.error}`;
  return `${p.catalog} K=${p.writers}: ${p.commitsPerSecond} commits/s, ${p.conflictsPerCommit} conflicts and ${p.retriesPerCommit} retries per commit (max ${p.maxAttempts} attempts, ${p.exhausted} out of retries), p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, max ${p.maxMs} ms`;
}
