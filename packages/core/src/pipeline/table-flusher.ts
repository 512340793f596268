/**
 * The table flusher: turns a table's hot buffer into one Iceberg commit.
 *
 *   drain buffer → ensure table/schema (committer) → Parquet files (pool) → append with the
 *   offset ranges (committer, continuity-checked) → Kafka group offsets → metrics/events
 *
 * Rules it enforces:
 * - Flushes of one table are serialized: a flush waits for the previous one to finish, so
 *   commits of a table go out in buffer order.
 * - Nothing commits after a fatal error (checked before writing and before committing).
 * - Each range of a partition this process owns starts at that partition's durable offset.
 * - A commit refused by offset continuity deletes its data files and re-seeks every
 *   partition of the table to the table's recorded offset (or, never committed, to where
 *   this owner started), dropping what is buffered.
 * - Buffered bytes are released from the memory budget whatever happens, when the flush
 *   ends: drained batches stay readable by queries (TableBuffer.view) until then, after
 *   the commit that covers them is visible.
 * - With `deadLetter.table`: the drained ranges' dead letters are written as a Parquet file
 *   of the dead-letter table BEFORE the table's commit, and that commit names the file in
 *   its snapshot (`kice.dead-letters`), atomically with the offsets; a refused commit
 *   deletes it with the data files. After the commit the dead-letter table absorbs every
 *   file the table's history names and it does not hold yet (committer.absorbDeadLetters);
 *   a failure there is a warning, retried with backoff (and by any later absorb: a flush,
 *   a start, an assignment).
 * - The commit records the completeness watermark of the partitions this process owns
 *   (../commit/watermark.ts): the end offsets are read from the broker while the files are
 *   written, waiting at most END_OFFSETS_TIMEOUT_MS more; if they cannot be read, the commit goes ahead
 *   with the watermarks it carries. The watermark never changes what is committed.
 */

import type { DataFile, StructType } from '@kice/iceberg';
import { maxFieldId } from '@kice/iceberg';
import type { TableState } from '../commit/committer.ts';
import type { CommitterClient } from '../commit/committer-client.ts';
import { splitTpKey, tpKey } from '../commit/offsets.ts';
import { rowGroupBytesFor } from '../config/memory-plan.ts';
import type { KiceConfig } from '../config/schema.ts';
import { fromPlainError, KiceError } from '../errors.ts';
import type { PipelineObserver } from '../metrics/observer.ts';
import { evolveSchema } from '../schema/evolve.ts';
import type { Source } from '../source/types.ts';
import type { DeadLetterTask, FlushTask, FlushTaskResult } from '../workers/tasks.ts';
import type { DeadLetterRow } from './dead-letter-rows.ts';
import type { TaskPool } from './decode-stage.ts';
import type { InFlightBudget } from './memory-budget.ts';
import type { PartitionLane } from './partition-lane.ts';
import type { TableRuntime } from './routing.ts';

export interface FlushMetrics {
  commits: number;
  /** Dead letters committed to `deadLetter.table` (by this process's absorbs). */
  deadLettersCommitted: number;
  refusedCommits: number;
  rowsCommitted: number;
  filesWritten: number;
  bytesWritten: number;
  snapshotsExpired: number;
  /** Per table: the watermark its last commit by this process recorded (epoch ms). */
  watermarkMs: Record<string, number>;
}

export interface FlushLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface CommitEvent {
  readonly table: string;
  readonly snapshotId: string;
  readonly files: number;
  readonly rows: number;
  readonly offsets: [string, string][];
  /** The table-wide completeness watermark the snapshot records (epoch ms), if known. */
  readonly watermarkMs?: number;
}

export interface TableFlusherDeps {
  readonly config: KiceConfig;
  readonly pool: TaskPool;
  readonly committer: CommitterClient;
  readonly source: Pick<Source, 'commitOffsets' | 'seek'> &
    Partial<Pick<Source, 'fetchEndOffsets'>>;
  readonly budget: InFlightBudget;
  readonly metrics: FlushMetrics;
  readonly log: FlushLog;
  /** The lanes this process owns, by "topic:partition". */
  readonly lanes: ReadonlyMap<string, PartitionLane<TableRuntime>>;
  /** True once the engine failed: nothing may be committed any more. */
  readonly failed: () => boolean;
  readonly onCommit: (e: CommitEvent) => void;
  /** Told of commits, refusals, schema changes and non-fatal errors (metrics). */
  readonly observer?: PipelineObserver;
}

/** `parquet.rowGroupBytes`; default: what memory.limit implies (config/memory-plan.ts), or
 * else an eighth of the in-flight budget (≤ 128 MiB). */
export function rowGroupBytes(config: KiceConfig): number {
  if (config.parquet.rowGroupBytes !== undefined) return config.parquet.rowGroupBytes;
  if (config.memory.limit !== undefined) return rowGroupBytesFor(config.memory.limit);
  return Math.min(128 * 2 ** 20, Math.max(2 ** 20, Math.floor(config.memory.maxInFlightBytes / 8)));
}

/** Backoff of a failed dead-letter commit's retries. */
const ABSORB_RETRY_MIN_MS = 500;
const ABSORB_RETRY_MAX_MS = 60_000;

/** How long a commit waits for the end offsets its watermark needs (beyond the file writes). */
export const END_OFFSETS_TIMEOUT_MS = 2_000;

/** End offsets with the time just before they were asked for. */
type EndsAt = { at: number; ends: ReadonlyMap<string, bigint> };

export class TableFlusher {
  private readonly queues = new Map<string, { tail: Promise<void>; queued: number }>();
  /** The dead-letter table's state, once ensured. */
  private deadLetterState: TableState | undefined;
  /** Absorbs running (a shutdown waits for them). */
  private readonly absorbing = new Set<Promise<void>>();
  /** Partitioned tables not created yet whose dead letters wait: since when (ms). */
  private readonly waitingForTable = new Map<string, number>();
  /** Tables whose last absorb failed: when to try again, and the delay after that. */
  private readonly absorbRetries = new Map<string, { at: number; delayMs: number }>();

  /** End-offset requests that outlived their wait and are still running (retrying). */
  private endsStuck = 0;

  constructor(private readonly deps: TableFlusherDeps) {}

  /**
   * The end offsets of `topics` and when they were asked for, or undefined: no answer in
   * END_OFFSETS_TIMEOUT_MS, an error, or an earlier request that timed out still retrying
   * (with the broker away, requests are not piled up). Never rejects.
   */
  private async endOffsetsAt(topics: string[]): Promise<EndsAt | undefined> {
    const source = this.deps.source;
    if (!source.fetchEndOffsets || topics.length === 0 || this.endsStuck > 0) return undefined;
    const at = Date.now();
    let settled = false;
    let timedOut = false;
    const request = source.fetchEndOffsets(topics).finally(() => {
      settled = true;
      if (timedOut) this.endsStuck--;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((r) => {
      timer = setTimeout(() => {
        if (!settled) {
          timedOut = true;
          this.endsStuck++;
        }
        r(undefined);
      }, END_OFFSETS_TIMEOUT_MS);
    });
    try {
      const ends = await Promise.race([request, timeout]);
      return ends ? { at, ends } : undefined;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Flushes the table after any flush of it already queued; rejects on failure. */
  flush(t: TableRuntime): Promise<void> {
    const q = this.queues.get(t.name) ?? { tail: Promise.resolve(), queued: 0 };
    this.queues.set(t.name, q);
    q.queued++;
    t.flushing = true;
    const run = q.tail.then(() => this.flushOnce(t));
    q.tail = run
      .catch(() => {})
      .finally(() => {
        if (--q.queued === 0) t.flushing = false;
      });
    return run;
  }

  /** Resolves when no flush of the table is running or queued. */
  idle(t: TableRuntime): Promise<void> {
    return this.queues.get(t.name)?.tail ?? Promise.resolve();
  }

  private async flushOnce(t: TableRuntime): Promise<void> {
    if (this.deps.failed()) return;
    // Dead letters only, waiting for a partitioned table's first good row: while paused for
    // memory the tick asks every 100 ms; look the table up again only once a second.
    const waiting = this.waitingForTable.get(t.name);
    if (waiting !== undefined && t.buffer.bufferedRows === 0 && Date.now() - waiting < 1000) return;
    const { batches, ranges, bytes } = t.buffer.drain();
    if (batches.length === 0) return;
    const d = this.deps;
    // The lanes that owned the drained ranges, as they are NOW: a partition revoked (and
    // perhaps assigned again, as a new lane) while this flush runs is not theirs to update.
    const owners = new Map<string, PartitionLane<TableRuntime>>();
    for (const r of ranges) {
      const key = tpKey(r.topic, r.partition);
      const lane = d.lanes.get(key);
      if (lane && lane.table === t) owners.set(key, lane);
    }
    const owned = (key: string) => {
      const lane = owners.get(key);
      return lane && !lane.revoked ? lane : undefined;
    };
    t.lastCommitAt = Date.now();
    const drainedAt = performance.now();
    // Asked now, answered while the files are written (never rejects).
    const ends = this.endOffsetsAt([
      ...new Set([...d.lanes.values()].filter((l) => l.table === t).map((l) => l.topic)),
    ]);
    let release = bytes;
    let files: DataFile[] = [];
    let deadFiles: DataFile[] = [];
    const dlTable = d.config.deadLetter.table;
    try {
      const ipcs = batches.flatMap((b) => (b.ipc ? [b.ipc] : []));
      const hasDead = batches.some((b) => (b.deadLetters?.length ?? 0) > 0);
      if (ipcs.length > 0) {
        files = await this.writeFiles(t, ipcs);
      } else if (!t.state) {
        t.state = await d.committer.api.tableState(t.name);
        // Dead letters must not wait in memory for a first good row that may never come
        // (a backlog of bad records): an unpartitioned table is created now, with the
        // columns observed so far (perhaps none; later rows add theirs), to hold the offsets.
        if (!t.state && hasDead && t.partitionBy.length === 0)
          t.state = await d.committer.api.ensureTable(
            { table: t.name, partitionBy: t.partitionBy, properties: t.config.properties },
            t.observed as StructType,
          );
        if (!t.state) {
          // Nothing decodable yet and no table to record offsets in (a partitioned table
          // needs its partition columns): keep the ranges of partitions still owned, and
          // their dead letters, for the first commit with data. Their bytes stay reserved
          // in the memory budget, so a backlog of bad records pauses consumption instead
          // of growing without bound.
          const kept = batches.filter((b) => owned(tpKey(b.topic, b.partition)));
          t.buffer.settle(batches);
          t.buffer.requeue(kept);
          release = bytes - kept.reduce((a, b) => a + (b.deadLetterBytes ?? 0), 0);
          const first = !this.waitingForTable.has(t.name);
          if (hasDead) this.waitingForTable.set(t.name, Date.now());
          if (hasDead && first)
            d.log.warn(
              { table: t.name, partitionBy: t.config.partitionBy },
              'dead letters wait in memory for the first good row: a partitioned table is created with its partition columns',
            );
          return;
        }
      }
      this.waitingForTable.delete(t.name);
      const deadRows = batches.flatMap((b) => b.deadLetters ?? []);
      if (dlTable !== undefined && deadRows.length > 0) {
        deadFiles = await this.writeDeadLetters(dlTable, deadRows);
      }
      for (const r of ranges) {
        const lane = owned(tpKey(r.topic, r.partition));
        if (lane && r.from !== lane.durable()) {
          throw new KiceError(
            'INTERNAL',
            `${lane.key}: flush range [${r.from}, ${r.to}) does not start at the partition's durable offset ${lane.durable()}`,
          );
        }
      }
      if (d.failed()) {
        await this.discard(t.name, files);
        if (dlTable !== undefined) await this.discard(dlTable, deadFiles);
        return;
      }
      const written = files.reduce((a, f) => a + f.fileSizeInBytes, 0);
      t.buffer.learnRatio(bytes, written);
      const watermarks = watermarkCandidates(
        [...d.lanes.values()].filter((l) => l.table === t && !l.revoked),
        new Map(ranges.map((r) => [tpKey(r.topic, r.partition), r.to])),
        await ends,
      );
      if (d.failed()) {
        await this.discard(t.name, files);
        if (dlTable !== undefined) await this.discard(dlTable, deadFiles);
        return;
      }
      const appendAt = performance.now();
      const result = await d.committer.api.append(
        t.name,
        files,
        ranges,
        // Named even without files of its own: the table's snapshot expiry keeps the
        // snapshots whose dead letters the dead-letter table does not hold yet.
        dlTable !== undefined ? { table: dlTable, files: deadFiles } : undefined,
        watermarks,
      );
      if (result.status === 'refused') {
        d.metrics.refusedCommits++;
        d.observer?.refused(t.name);
        d.log.warn(
          { table: t.name, reason: result.reason },
          'commit refused by offset continuity; re-seeking',
        );
        await this.discard(t.name, files);
        if (dlTable !== undefined) await this.discard(dlTable, deadFiles);
        await this.resync(t);
        return;
      }
      const rows = files.reduce((a, f) => a + f.recordCount, 0);
      d.metrics.commits++;
      d.metrics.rowsCommitted += rows;
      d.metrics.filesWritten += files.length;
      d.metrics.bytesWritten += written;
      t.state = { ...(t.state as TableState), offsets: result.offsets };
      if (result.watermarkMs !== undefined) d.metrics.watermarkMs[t.name] = result.watermarkMs;
      const committed = new Map(result.offsets.map(([k, v]) => [k, BigInt(v)]));
      const toKafka = [];
      for (const r of ranges) {
        const key = tpKey(r.topic, r.partition);
        const lane = owned(key);
        const off = committed.get(key);
        if (lane && off !== undefined) {
          lane.committed = off;
          lane.forgetTimestampsBelow(off);
          toKafka.push({ topic: r.topic, partition: r.partition, offset: off });
        }
      }
      const committedAt = performance.now();
      d.observer?.committed({
        table: t.name,
        ranges,
        rows,
        fileSizes: files.map((f) => f.fileSizeInBytes),
        flushBytes: bytes,
        commitSeconds: (committedAt - appendAt) / 1000,
        flushSeconds: (committedAt - drainedAt) / 1000,
      });
      if (dlTable !== undefined) await this.absorb(t.name);
      d.onCommit({
        table: t.name,
        snapshotId: result.snapshotId,
        files: files.length,
        rows,
        offsets: result.offsets,
        ...(result.watermarkMs !== undefined ? { watermarkMs: result.watermarkMs } : {}),
      });
      d.log.info(
        {
          table: t.name,
          snapshotId: result.snapshotId,
          files: files.length,
          rows,
          ...(result.watermarkMs !== undefined ? { watermarkMs: result.watermarkMs } : {}),
        },
        'committed',
      );
      if (result.expired) {
        d.metrics.snapshotsExpired += result.expired;
        d.log.info({ table: t.name, expired: result.expired }, 'expired old snapshots');
      }
      if (result.maintenanceError) {
        d.log.warn(
          { table: t.name, reason: result.maintenanceError },
          'snapshot expiry failed (the commit stands; retried later)',
        );
      }
      if (toKafka.length > 0) {
        // Awaited so that a shutdown's last commit reaches the group before it leaves; a
        // failure is not fatal (the table's offsets are the truth).
        await d.source.commitOffsets(toKafka).catch((e) => {
          d.observer?.error('KAFKA', false);
          d.log.warn({ err: e }, 'kafka offset commit failed (not fatal)');
        });
      }
    } finally {
      // Out of the query view only now: the commit (if any) is visible in the catalog.
      t.buffer.settle(batches);
      d.budget.release(release);
    }
  }

  /** Ensures the table holds the observed columns, then writes the batches as Parquet. */
  private async writeFiles(t: TableRuntime, ipcs: Uint8Array[]): Promise<DataFile[]> {
    const d = this.deps;
    // The placeholders go into the table as they are now: no later type replaces them.
    t.placeholders.clear();
    const before = t.state?.schema.schemaId;
    t.state = await d.committer.api.ensureTable(
      { table: t.name, partitionBy: t.partitionBy, properties: t.config.properties },
      t.observed as StructType,
    );
    if (before !== undefined && t.state.schema.schemaId !== before)
      d.observer?.schemaChanged(t.name);
    // Keep columns observed while the committer worked (merged by name, strict).
    t.observed = evolveSchema(t.state.schema, t.observed, maxFieldId(t.state.schema)).schema;
    const task: FlushTask = {
      kind: 'flush',
      batches: ipcs,
      schema: t.state.schema,
      spec: t.state.spec,
      dataLocation: `${t.state.location}/data`,
      compression: d.config.parquet.compression,
      rowGroupSize: d.config.parquet.rowGroupSize,
      rowGroupBytes: rowGroupBytes(d.config),
      dictionaryPageBytes: d.config.parquet.dictionaryPageBytes,
      pageIndex: d.config.parquet.pageIndex,
      // The table's own storage settings (vended credentials) when its catalog gave some.
      storage: t.state.storage ?? d.config.storage,
    };
    // The IPC bytes are in SharedArrayBuffers (workers/tasks.ts packDecodeResult): the
    // worker reads them in place, nothing is transferred or copied.
    const r = (await d.pool.run(task)) as FlushTaskResult;
    if (!r.ok) throw fromPlainError(r.error);
    return r.files;
  }

  /** Writes dead letters as Parquet in the dead-letter table's location (not committed). */
  private async writeDeadLetters(
    table: string,
    rows: readonly DeadLetterRow[],
  ): Promise<DataFile[]> {
    const d = this.deps;
    this.deadLetterState ??= await d.committer.api.ensureDeadLetterTable(table);
    const ingestedAt = BigInt(Date.now()) * 1000n;
    const task: DeadLetterTask = {
      kind: 'deadLetters',
      rows: rows.map((r) => ({ ...r, ingested_at: ingestedAt })),
      schema: this.deadLetterState.schema,
      dataLocation: `${this.deadLetterState.location}/data`,
      compression: d.config.parquet.compression,
      storage: this.deadLetterState.storage ?? d.config.storage,
    };
    const r = (await d.pool.run(task)) as FlushTaskResult;
    if (!r.ok) throw fromPlainError(r.error);
    return r.files;
  }

  /**
   * Appends to `deadLetter.table` the dead-letter files `table`'s history names and it does
   * not hold yet. Never throws: what fails now is absorbed by a later call.
   */
  absorb(table: string): Promise<void> {
    const run = this.absorbOnce(table);
    this.absorbing.add(run);
    return run.finally(() => this.absorbing.delete(run));
  }

  /**
   * Runs again the absorbs that failed, once their backoff has passed (called on the
   * coordinator's tick): a dead-letter table that was unreachable catches up even when its
   * source table commits nothing more.
   */
  retryAbsorbs(now = Date.now()): void {
    for (const [table, r] of this.absorbRetries)
      if (r.at <= now) {
        r.at = Number.POSITIVE_INFINITY; // not again while this one runs
        void this.absorb(table);
      }
  }

  /** Resolves when no absorb is running. */
  async absorbsIdle(): Promise<void> {
    while (this.absorbing.size > 0) await Promise.all(this.absorbing);
  }

  private async absorbOnce(table: string): Promise<void> {
    const d = this.deps;
    const dlTable = d.config.deadLetter.table;
    if (dlTable === undefined || d.failed()) return;
    try {
      const r = await d.committer.api.absorbDeadLetters(dlTable, table);
      this.absorbRetries.delete(table);
      if (r.unreadable)
        d.log.warn(
          { table: dlTable, source: table, snapshots: r.unreadable },
          'dead-letter records in these source-table snapshots cannot be read (damaged summary); their dead letters are skipped',
        );
      if (r.files === 0) return;
      d.metrics.deadLettersCommitted += r.records;
      d.log.info(
        {
          table: dlTable,
          source: table,
          files: r.files,
          records: r.records,
          snapshotId: r.snapshotId,
        },
        'dead letters committed',
      );
    } catch (e) {
      const prev = this.absorbRetries.get(table)?.delayMs;
      const delayMs =
        prev === undefined ? ABSORB_RETRY_MIN_MS : Math.min(prev * 2, ABSORB_RETRY_MAX_MS);
      this.absorbRetries.set(table, { at: Date.now() + delayMs, delayMs });
      d.log.warn(
        { table: dlTable, source: table, err: e, retryInMs: delayMs },
        'dead-letter table commit failed (the dead letters are recorded in the source table; retried with backoff)',
      );
    }
  }

  /** Deletes data files that no snapshot references (a refused or abandoned commit). */
  private async discard(table: string, files: readonly DataFile[]): Promise<void> {
    if (files.length === 0) return;
    try {
      await this.deps.committer.api.deleteFiles(
        table,
        files.map((f) => f.filePath),
      );
    } catch (e) {
      this.deps.log.warn(
        { table, files: files.length, err: e },
        'could not delete data files of an uncommitted flush (orphans, harmless to readers)',
      );
    }
  }

  /**
   * After a refused commit: drops the table's buffered data and re-seeks each of its
   * partitions to the offset the table records, or, for a partition the table has no
   * offset for, to where this owner started reading it.
   */
  async resync(t: TableRuntime): Promise<void> {
    const d = this.deps;
    t.state = await d.committer.api.tableState(t.name);
    const recorded = new Map((t.state?.offsets ?? []).map(([k, v]) => [k, BigInt(v)]));
    const lanes = [...d.lanes.values()].filter((l) => l.table === t && !l.revoked);
    d.budget.release(t.buffer.dropPartitions(new Set(lanes.map((l) => l.key))));
    for (const lane of lanes) {
      const table = recorded.get(lane.key);
      if (table !== undefined) lane.committed = table;
      const off = table ?? lane.committed ?? lane.start;
      lane.reseek(off);
      d.source.seek(splitTpKey(lane.key), off);
    }
  }
}

/**
 * Per owned partition of a table, the time through which it is complete once the commit
 * lands (../commit/watermark.ts): for a partition fetched up to the end offset read at `at`,
 * min(at, smallest timestamp fetched beyond the commit − 1). Partitions with a backlog, or
 * not in the table yet, or with a fetch beyond the commit still being parsed, get none.
 */
export function watermarkCandidates(
  lanes: readonly PartitionLane<TableRuntime>[],
  commitEnds: ReadonlyMap<string, bigint>,
  ends: EndsAt | undefined,
): [string, number][] {
  if (!ends) return [];
  const out: [string, number][] = [];
  for (const lane of lanes) {
    const next = commitEnds.get(lane.key) ?? lane.committed;
    const end = ends.ends.get(lane.key);
    if (next === undefined || end === undefined || lane.expected < end) continue;
    // Records claimed but not parsed yet (raw fetch path): unknown timestamps, no new value.
    const min = lane.minTimestampFrom(next);
    if (min === undefined) continue;
    out.push([lane.key, Math.min(ends.at, min - 1)]);
  }
  return out;
}
