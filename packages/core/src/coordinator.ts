/**
 * The coordinator (main thread): wires the pipeline's stages (./pipeline) around the
 * Source seam, the worker pool and the committer thread. It owns Kafka partitions (one
 * PartitionLane each) and decides nothing the stages decide; docs/ARCHITECTURE.md walks
 * through the whole path.
 *
 *   Source batch → lane.claim → prepareBatch → decode (pool) → dead letters → table buffer
 *     → flush timer / size / memory → TableFlusher (Parquet, commit, Kafka offsets)
 *   Source raw fetch → lane.claim → parse (pool) → the same from prepareBatch on
 *
 * Exactly-once rests on: start offsets from the table (./pipeline/start-offsets.ts); batches
 * applied per partition in order and contiguously (lane + table buffer); dead letters
 * acknowledged before their batch joins the buffer; commits checked for offset continuity
 * by the committer; nothing committed after a fatal error.
 */
import { EventEmitter } from 'node:events';
import type { TableState } from './commit/committer.ts';
import type { CommitterClient } from './commit/committer-client.ts';
import { tpKey } from './commit/offsets.ts';
import type { KiceConfig } from './config/schema.ts';
import { KiceError, toPlainError } from './errors.ts';
import type { PipelineObserver } from './metrics/observer.ts';
import { buildDeadLetterRows, type DeadLetterRow, rowBytes } from './pipeline/dead-letter-rows.ts';
import type { DeadLetterSink } from './pipeline/dead-letters.ts';
import { finishDecode, startDecode, type TaskPool } from './pipeline/decode-stage.ts';
import { dueTables, FlushTimer } from './pipeline/flush-timer.ts';
import {
  type BudgetFactory,
  type InFlightBudget,
  MemoryBudget,
  Reservation,
} from './pipeline/memory-budget.ts';
import { PartitionLane } from './pipeline/partition-lane.ts';
import { type PreparedBatch, prepareBatch } from './pipeline/prepare-batch.ts';
import { TableRegistry, type TableRuntime } from './pipeline/routing.ts';
import { resolveStart } from './pipeline/start-offsets.ts';
import { rowOffsetsOf } from './pipeline/table-buffer.ts';
import { TableFlusher } from './pipeline/table-flusher.ts';
import { registryClient, type SchemaRegistryClient } from './registry/client.ts';
import { isRegistryFormat, isRegistryKeyFormat } from './registry/formats.ts';
import type { ParsedRecords } from './source/batches/parse.ts';
import type { RawFetch, Source, SourceBatch, TopicPartition } from './source/types.ts';
import type { ParseTask, ParseTaskResult } from './workers/tasks.ts';

export { tableNameFor } from './pipeline/routing.ts';
export { rowGroupBytes } from './pipeline/table-flusher.ts';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface EngineMetrics {
  recordsConsumed: number;
  bytesConsumed: number;
  rowsBuffered: number;
  rowsCommitted: number;
  deadLetters: number;
  /** Dead letters committed to `deadLetter.table` by this process. */
  deadLettersCommitted: number;
  tombstones: number;
  commits: number;
  refusedCommits: number;
  /** Snapshots removed by table maintenance (snapshot expiry). */
  snapshotsExpired: number;
  filesWritten: number;
  bytesWritten: number;
  inFlightBytes: number;
  pausedForBackpressure: number;
  /** Highest in-flight bytes seen. */
  peakInFlightBytes: number;
  /**
   * Per table: the completeness watermark (epoch ms) its newest snapshot committed by this
   * process records (commit/watermark.ts); tables without one are absent.
   */
  watermarkMs: Record<string, number>;
}

export interface CoordinatorDeps {
  readonly config: KiceConfig;
  readonly source: Source;
  readonly pool: TaskPool;
  readonly committer: CommitterClient;
  readonly deadLetters: DeadLetterSink;
  readonly log: Logger;
  /** Next offset of the start of each partition (for autoOffsetReset earliest/latest). */
  readonly fetchStartOffsets: (topics: string[]) => Promise<Map<string, bigint>>;
  /** Told what the pipeline does (metrics/observer.ts); none: nothing is observed. */
  readonly observer?: PipelineObserver;
  /** The engine's in-flight budget; default: one of its own at memory.maxInFlightBytes. */
  readonly budget?: BudgetFactory;
}

type Lane = PartitionLane<TableRuntime>;

/** A claimed batch on its way: its values prepared and its decode started. */
interface Started {
  readonly batch: SourceBatch;
  readonly prepared: PreparedBatch;
  readonly decoding: Promise<unknown>;
}

/** Fetches in a row a record batch may fail its CRC check in before the engine stops. */
const MAX_REFETCHES = 3;

/** The shared memory a parse's records hold: values (with their batches' framing), the
 * per-record arrays and the keys (source/batches/parse.ts). */
function parsedBytes(r: ParsedRecords): number {
  return r.bytes.buffer.byteLength + r.offsets.buffer.byteLength + (r.keys?.bytes.byteLength ?? 0);
}

function tpOf(lane: Lane): TopicPartition {
  return { topic: lane.topic, partition: lane.partition };
}

export class Coordinator extends EventEmitter {
  readonly metrics: EngineMetrics = {
    recordsConsumed: 0,
    bytesConsumed: 0,
    rowsBuffered: 0,
    rowsCommitted: 0,
    deadLetters: 0,
    deadLettersCommitted: 0,
    tombstones: 0,
    commits: 0,
    refusedCommits: 0,
    snapshotsExpired: 0,
    filesWritten: 0,
    bytesWritten: 0,
    inFlightBytes: 0,
    pausedForBackpressure: 0,
    peakInFlightBytes: 0,
    watermarkMs: {},
  };
  private readonly registry: TableRegistry;
  private readonly lanes = new Map<string, Lane>();
  private readonly budget: InFlightBudget;
  private readonly flusher: TableFlusher;
  private readonly timer: FlushTimer;
  private stopping = false;
  private fatal: Error | undefined;
  /** Group joins seen; an assignment still resolving when a newer join arrives gives up. */
  private joins = 0;
  /** Assignments run one at a time, in join order. */
  private assigning: Promise<void> = Promise.resolve();
  /** True once an assignment completed and none is pending. */
  private assignedOnce = false;
  private pendingJoins = 0;
  /** The budget resumed while a join was being handled (see onMemoryFreed). */
  private resumeHeld = false;
  /** Per partition: the record batch that failed its CRC check last, and how often in a row. */
  private readonly refetches = new Map<string, { offset: bigint; failures: number }>();
  /** The process's Schema Registry client (registry formats), one cache per process. */
  private readonly schemas: SchemaRegistryClient | undefined;

  constructor(private readonly deps: CoordinatorDeps) {
    super();
    const sr = deps.config.schemaRegistry;
    this.schemas = sr
      ? registryClient(sr, {
          onRetry: (r) =>
            deps.log.warn(
              { schemaId: r.id, attempt: r.attempt, delayMs: r.delayMs, reason: r.reason },
              'schema registry request failed; retrying',
            ),
        })
      : undefined;
    this.registry = new TableRegistry(deps.config.tables);
    const budget: BudgetFactory =
      deps.budget ??
      ((metrics, onPause, onResume) =>
        new MemoryBudget(deps.config.memory.maxInFlightBytes, metrics, onPause, onResume));
    this.budget = budget(
      this.metrics,
      () => this.onMemoryFull(),
      () => this.onMemoryFreed(),
    );
    this.flusher = new TableFlusher({
      config: deps.config,
      pool: deps.pool,
      committer: deps.committer,
      source: deps.source,
      budget: this.budget,
      metrics: this.metrics,
      log: deps.log,
      lanes: this.lanes,
      failed: () => this.fatal !== undefined,
      onCommit: (e) => this.emit('commit', e),
      ...(deps.observer ? { observer: deps.observer } : {}),
    });
    this.timer = new FlushTimer(100, () => this.tick());
  }

  /** Tables known so far (configured topics plus pattern matches seen). */
  tableNames(): string[] {
    return this.registry.names();
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    // A registry format (of values or keys) needs the registry: a clear error now rather
    // than stalled partitions.
    const tables = this.deps.config.tables;
    if (
      this.schemas &&
      tables.some((c) => isRegistryFormat(c.format) || isRegistryKeyFormat(c.key.format))
    ) {
      await this.schemas.checkReachable();
    }
    // Read the configured tables' state (schema, recorded offsets) while the consumer joins
    // its group: it also starts the committer thread, so assignment does not wait for it.
    for (const cfg of this.deps.config.tables) {
      if (cfg.topic === undefined) continue;
      const t = this.registry.tableFor(cfg.topic);
      if (!t || t.prefetch) continue;
      // A failure here is not final: assignment reads again, and surfaces the error.
      t.prefetch = this.deps.committer.api.tableState(t.name).catch(() => undefined);
      // Dead letters a previous process committed to the table but not yet to the
      // dead-letter table (it died in between): absorbed now.
      void this.flusher.absorb(t.name);
    }
    await this.deps.source.start({
      onAssign: (assigned, info) => this.onAssign(assigned, info.lostAll),
      onRevoke: (revoked) => this.onRevoke(revoked),
      onBatch: (batch) => this.onBatch(batch),
      onError: (e) => this.fail(e),
      onProgress: (tp, next) => this.onProgress(tp, next),
      onRawFetch: (f) => this.onRawFetch(f),
    });
    this.timer.start();
  }

  private fail(e: Error): void {
    if (this.fatal) return;
    this.fatal = e;
    const code = (e as { code?: unknown }).code;
    this.deps.observer?.error(typeof code === 'string' ? code : 'INTERNAL', true);
    this.deps.log.error({ err: e }, 'fatal error');
    // A failed engine commits nothing more: what it buffered is dropped and its bytes given
    // back (the other engines of a shared budget would wait on them until it is stopped).
    const owned = new Set(this.lanes.keys());
    for (const t of this.registry.all()) this.budget.release(t.buffer.dropPartitions(owned));
    this.emit('fatal', e);
  }

  /** Flushes and commits everything buffered (unless the engine failed), then stops consuming. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.timer.stop();
    this.budget.freeze();
    this.deps.source.pause(this.owned());
    await this.settle();
    await this.flusher.absorbsIdle();
    await this.deps.source.stop();
  }

  /** Waits for every batch handed to the pool, then flushes and commits every table. */
  async settle(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((l) => l.idle()));
    await this.flushAll();
  }

  /** Flushes every table, each after any flush of it already running. No-op after a failure. */
  async flushAll(): Promise<void> {
    for (const t of this.registry.all()) {
      if (this.fatal) return;
      await this.flusher.flush(t).catch((e) => this.fail(asError(e)));
    }
  }

  /**
   * True when an assignment has completed and every partition this member owns has been
   * fetched up to `ends` (partitions other members own do not count).
   */
  caughtUp(ends: ReadonlyMap<string, bigint>): boolean {
    if (!this.assignedOnce || this.pendingJoins > 0) return false;
    for (const lane of this.lanes.values()) {
      const end = ends.get(lane.key);
      if (end !== undefined && lane.expected < end) return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ assignment

  private onAssign(assigned: TopicPartition[], lostAll: boolean): Promise<void> {
    if (lostAll) this.onRevoke([...this.lanes.values()]);
    const join = ++this.joins;
    this.pendingJoins++;
    const run = this.assigning.then(() => this.assign(assigned, join));
    this.assigning = run
      .then(
        () => true,
        () => false,
      )
      .then((ok) => {
        this.pendingJoins--;
        // A resume held back while joins were handled (onMemoryFreed), after the last
        // assignment's own resume check: every lane is seeked now, resume them.
        if (ok && this.pendingJoins === 0 && this.resumeHeld) {
          this.resumeHeld = false;
          if (!this.budget.paused && !this.stopping && !this.fatal)
            this.deps.source.resume(this.owned());
        }
        // Readiness (notReady()) may have changed: the engine's 'status' event.
        this.emit('joined');
      });
    return run;
  }

  private async assign(assigned: TopicPartition[], join: number): Promise<void> {
    const superseded = () => join !== this.joins;
    if (superseded()) return; // a newer join carries the full assignment
    const byTable = new Map<TableRuntime, TopicPartition[]>();
    for (const tp of assigned) {
      const t = this.registry.tableFor(tp.topic);
      if (!t) {
        this.deps.log.warn(
          { topic: tp.topic },
          'assigned a partition of a topic no table routes; ignoring it',
        );
        continue;
      }
      byTable.set(t, [...(byTable.get(t) ?? []), tp]);
    }
    const fresh = assigned.filter((tp) => !this.lanes.has(tpKey(tp.topic, tp.partition)));
    const topics = [...new Set(fresh.map((tp) => tp.topic))];
    const [group, reset] =
      topics.length === 0
        ? [new Map<string, bigint>(), new Map<string, bigint>()]
        : await Promise.all([
            this.deps.source.fetchCommittedOffsets(this.deps.config.kafka.groupId, topics),
            this.deps.fetchStartOffsets(topics),
          ]);
    const states = new Map<TableRuntime, TableState | undefined>();
    for (const [t, tps] of byTable) {
      const prefetched = t.prefetch ? await t.prefetch : undefined;
      t.prefetch = undefined;
      if (tps.some((tp) => fresh.includes(tp))) {
        // New partitions start at the table's recorded offsets: let a flush in flight land
        // first (it may cover a partition revoked and now assigned again), then read them
        // fresh (another member may have committed since this process last looked).
        await this.flusher.idle(t);
        t.state = prefetched ?? (await this.deps.committer.api.tableState(t.name));
      }
      t.state ??= await this.deps.committer.api.tableState(t.name);
      if (t.state && t.observed.fields.length === 0) t.observed = t.state.schema;
      states.set(t, t.state);
      if (t.state?.watermarkMs !== undefined)
        this.metrics.watermarkMs[t.name] ??= t.state.watermarkMs;
      // Another member may have committed the table and died before its dead-letter commit.
      if (t.state) void this.flusher.absorb(t.name);
    }
    if (superseded()) return;
    // From here on synchronous: the lanes, seeks and resumes of one join land together.
    for (const [t, tps] of byTable) {
      const recorded = new Map((states.get(t)?.offsets ?? []).map(([k, v]) => [k, BigInt(v)]));
      for (const tp of tps) {
        const key = tpKey(tp.topic, tp.partition);
        const kept = this.lanes.get(key);
        if (kept) {
          // Kept across the rebalance: its batches in flight stay valid; the Source forgot
          // the position, so continue right after what was already claimed.
          this.deps.source.seek(tp, kept.expected);
          this.deps.log.info(
            { partition: key, offset: kept.expected.toString(), from: 'kept' },
            'partition assigned',
          );
          continue;
        }
        const start = resolveStart(key, {
          recorded,
          group,
          reset,
          policy: this.deps.config.kafka.autoOffsetReset,
        });
        const lane = new PartitionLane(tp.topic, tp.partition, t, start.offset, recorded.get(key));
        this.lanes.set(key, lane);
        this.deps.source.seek(tp, start.offset);
        this.deps.log.info(
          { partition: key, offset: start.offset.toString(), from: start.from },
          'partition assigned',
        );
      }
    }
    this.assignedOnce = true;
    this.emit('assigned', assigned);
    if (!this.budget.paused && !this.stopping) this.deps.source.resume(assigned);
  }

  private onRevoke(revoked: TopicPartition[]): void {
    const keys = new Set(revoked.map((tp) => tpKey(tp.topic, tp.partition)));
    for (const key of keys) {
      const lane = this.lanes.get(key);
      if (!lane) continue;
      lane.revoke();
      this.lanes.delete(key);
      this.refetches.delete(key);
    }
    for (const t of this.registry.all()) this.budget.release(t.buffer.dropPartitions(keys));
    this.deps.log.info({ partitions: [...keys] }, 'partitions revoked');
  }

  // ------------------------------------------------------------------ batches

  /** Offsets a fetch skipped without records; ignored once stopping or failed, as batches are. */
  private onProgress(tp: TopicPartition, next: bigint): void {
    if (this.stopping || this.fatal) return;
    const lane = this.lanes.get(tpKey(tp.topic, tp.partition));
    const range = lane?.claimProgress(next);
    if (!lane || !range) return;
    void lane.enqueue(
      range,
      () => lane.table.buffer.push({ ...tpOf(lane), ...range, ipc: null, rows: 0 }),
      () => {},
      (e) => this.fail(e),
    );
  }

  /** A batch of the kafkajs path (source option `fetch: kafkajs`), packed by the Source. */
  private onBatch(batch: SourceBatch): void {
    const claimed = this.claim(batch.topic, batch.partition, batch.firstOffset, batch.nextOffset);
    if (!claimed) return;
    const { lane, range } = claimed;
    let minTs = Number.POSITIVE_INFINITY;
    for (const ts of batch.timestamps) if (ts < minTs) minTs = ts;
    const size = batch.bytes.byteLength;
    this.budget.reserve(size);
    const started = this.begin(lane, range, batch, minTs);
    void lane.enqueue(
      range,
      (current) => this.apply(lane, started, range, current),
      () => this.budget.release(size),
      (e) => this.fail(e),
    );
  }

  /**
   * A fetch of the raw path (source option `fetch: raw`): whole record batches as bytes.
   * Claimed at once (so later fetches of the partition queue behind it), parsed in the pool
   * at once (parses of one partition run side by side), decoded as soon as parsed, applied
   * in lane order like a batch. Nothing here is per record except headers, which only a
   * table's `_kafka` metadata column or the dead-letter table asks for (keepHeaders): the
   * parse hands them back as objects.
   */
  private onRawFetch(f: RawFetch): void {
    if (this.outOfStep(f)) {
      f.release?.();
      return;
    }
    const claimed = this.claim(f.topic, f.partition, f.fetchOffset, f.nextOffset);
    if (!claimed) {
      f.release?.();
      return;
    }
    const { lane, range } = claimed;
    lane.notePendingTimestamps(range.to);
    const epoch = lane.epoch;
    const live = () => lane.epoch === epoch && !lane.poison && !lane.revoked;
    // The fetched bytes at once; the parsed records' memory once the parse returns.
    const held = new Reservation(this.budget, f.data.byteLength);
    const task: ParseTask = {
      kind: 'parse',
      topic: f.topic,
      partition: f.partition,
      data: f.data,
      fetchOffset: f.fetchOffset,
      isolation: f.isolation,
      abortedTransactions: f.abortedTransactions,
      keepKeys: f.keepKeys,
      keepHeaders: f.keepHeaders,
    };
    const parse = this.deps.pool.run(task);
    // Once the parse has settled nothing reads the fetched bytes (the parsed records are
    // copies): their slab may serve a later fetch.
    void parse.then(
      () => f.release?.(),
      () => f.release?.(),
    );
    const parsing = parse.then((r) => {
      const result = r as ParseTaskResult;
      const records = result.ok ? result.parsed.records : undefined;
      held.resize(records ? parsedBytes(records) : 0);
      if (!result.ok || !live() || result.parsed.nextOffset !== range.to) return { result };
      if (!records) {
        lane.noteTimestamps(range.to, Number.POSITIVE_INFINITY);
        return { result };
      }
      const batch: SourceBatch = { ...records, epoch: f.epoch };
      return { result, started: this.begin(lane, range, batch, result.minTimestamp) };
    });
    parsing.catch(() => {}); // observed in the lane's chain
    void lane.enqueue(
      range,
      async (current) => {
        const { result, started } = await parsing;
        if (!current()) return;
        if (!result.ok) return this.unreadable(lane, range, result);
        if (result.parsed.nextOffset !== range.to) {
          // The Source counted the batches' offsets differently than the parser: fetch
          // again rather than move past records nobody read.
          return this.unreadable(lane, range, {
            ok: false,
            error: toPlainError(
              new KiceError(
                'KAFKA',
                `fetched record batches of ${lane.key} from offset ${range.from} end at offset ${result.parsed.nextOffset}, not at ${range.to} as the fetch said`,
                { retryable: true },
              ),
            ),
            batchOffset: range.from,
          });
        }
        const corrupt = this.refetches.get(lane.key);
        if (corrupt && range.to > corrupt.offset) this.refetches.delete(lane.key);
        if (!started) {
          // Only control batches or aborted records: the partition advances without rows.
          lane.table.buffer.push({ ...tpOf(lane), ...range, ipc: null, rows: 0 });
          return;
        }
        await this.apply(lane, started, range, current);
      },
      () => held.release(),
      (e) => this.fail(e),
    );
  }

  /**
   * In lane order, a fetch whose record batches could not be read: a CRC mismatch fetches
   * the partition again from the fetch's offset (nothing skipped), until the same batch has
   * failed MAX_REFETCHES times in a row; anything else is fatal, naming partition and
   * offset (the records inside cannot be told apart, so they cannot be dead-lettered).
   */
  private unreadable(
    lane: Lane,
    range: { from: bigint; to: bigint },
    result: Extract<ParseTaskResult, { ok: false }>,
  ): void {
    const e = result.error;
    const at = result.batchOffset ?? range.from;
    const context = { topic: lane.topic, partition: lane.partition, offset: String(at) };
    if (!e.retryable) {
      throw new KiceError(
        'KAFKA',
        `${e.message} (fetched from ${lane.key} offset ${range.from}); kice stops rather than skip the records in it`,
        { context },
      );
    }
    const prev = this.refetches.get(lane.key);
    const failures = prev && prev.offset === at ? prev.failures + 1 : 1;
    if (failures >= MAX_REFETCHES) {
      this.refetches.delete(lane.key);
      throw new KiceError(
        'KAFKA',
        `${e.message}: still unreadable after ${failures} fetches in a row of ${lane.key} from offset ${range.from}`,
        { context },
      );
    }
    this.refetches.set(lane.key, { offset: at, failures });
    this.deps.log.warn(
      {
        partition: lane.key,
        offset: String(range.from),
        batchOffset: String(at),
        failures,
        err: e.message,
      },
      'fetched record batch unreadable; fetching the partition again from the same offset',
    );
    lane.refetchFrom(range.from);
    this.deps.source.seek(tpOf(lane), range.from);
  }

  /**
   * A raw fetch that starts past the lane's expected offset claims the records between as a
   * gap: only right when the fetcher says the log no longer holds them (`skippedFrom` at the
   * expected offset). Any other fetch ahead means the fetcher and the lane are out of step;
   * it is dropped and the partition fetched again from the expected offset, so nothing is
   * skipped. Returns true when the fetch is dropped so.
   */
  private outOfStep(f: RawFetch): boolean {
    const lane = this.lanes.get(tpKey(f.topic, f.partition));
    if (!lane || this.stopping || this.fatal || lane.poison || lane.revoked) return false;
    if (f.fetchOffset <= lane.expected) return false;
    const tp = { topic: f.topic, partition: f.partition };
    if (f.skippedFrom === lane.expected) {
      this.deps.log.warn(
        {
          partition: lane.key,
          lost: `${lane.expected}..${f.fetchOffset - 1n}`,
          count: String(f.fetchOffset - lane.expected),
        },
        'records gone from the log (retention) before they were read; continuing after them',
      );
      return false;
    }
    this.deps.log.warn(
      {
        partition: lane.key,
        fetched: String(f.fetchOffset),
        expected: String(lane.expected),
      },
      'raw fetch ahead of the expected offset; fetching the partition again from there',
    );
    this.deps.source.seek(tp, lane.expected);
    return true;
  }

  /** The lane and claimed range of fetched records, or undefined when they are dropped. */
  private claim(
    topic: string,
    partition: number,
    firstOffset: bigint,
    nextOffset: bigint,
  ): { lane: Lane; range: { from: bigint; to: bigint } } | undefined {
    const key = tpKey(topic, partition);
    const lane = this.lanes.get(key);
    if (!lane || this.stopping || this.fatal) return undefined;
    const range = lane.claim(firstOffset, nextOffset);
    if (!range) {
      // Stale (fetched before a seek): the Source refetches from the expected offset.
      if (nextOffset > lane.expected && !lane.poison) {
        this.deps.log.warn(
          { partition: key, first: String(firstOffset), expected: String(lane.expected) },
          'batch overlaps the expected offset; dropped',
        );
      }
      return undefined;
    }
    return { lane, range };
  }

  /**
   * Starts a claimed batch on its way: its timestamps for the watermark, the consumed
   * metrics, its values into shared memory and its decode in the pool (at once: the pool
   * works while earlier batches are applied).
   */
  private begin(
    lane: Lane,
    range: { from: bigint; to: bigint },
    batch: SourceBatch,
    minTs: number,
  ): Started {
    lane.noteTimestamps(range.to, minTs);
    this.metrics.recordsConsumed += batch.count;
    this.deps.observer?.consumed(lane.table.name, batch.topic, batch.partition, batch.count);
    this.metrics.bytesConsumed += batch.bytes.byteLength;
    const t = lane.table;
    const prepared = prepareBatch(batch, this.deps.config.limits.maxRecordBytes, t.meta);
    const decoding = startDecode(
      this.deps.pool,
      t,
      prepared,
      this.deps.config.limits,
      this.schemas,
    );
    decoding.catch(() => {}); // observed in the lane's chain
    return { batch, prepared, decoding };
  }

  /** In lane order: finish decoding, dead-letter the failures, buffer the rows. */
  private async apply(
    lane: Lane,
    { batch, prepared, decoding }: Started,
    range: { from: bigint; to: bigint },
    current: () => boolean,
  ): Promise<void> {
    const t = lane.table;
    const result = await finishDecode(
      this.deps.pool,
      t,
      prepared,
      decoding,
      this.deps.config.limits,
      this.deps.log,
    );
    if (!current()) return; // re-seeked or revoked meanwhile: a stale batch
    const max = this.deps.config.limits.maxRecordBytes;
    const errors = result.errors.map((e) => {
      const len = prepared.oversized.get(e.index);
      return len === undefined
        ? e
        : {
            index: e.index,
            reason: `value of ${len} bytes exceeds limits.maxRecordBytes (${max})`,
          };
    });
    const dead = this.deadLetterRows(t, batch, prepared.raw, errors);
    await this.deadLetter(t.name, batch, prepared.raw, errors, dead);
    if (!current()) return;
    const ipcBytes = result.rows > 0 ? result.ipc.byteLength : 0;
    const deadBytes = dead.reduce((a, r) => a + rowBytes(r), 0);
    t.buffer.push({
      topic: lane.topic,
      partition: lane.partition,
      from: range.from,
      to: range.to,
      ipc: result.rows > 0 ? result.ipc : null,
      rows: result.rows,
      rowOffsets: rowOffsetsOf(batch.recordOffsets, errors, result.rows),
      ...(dead.length > 0 ? { deadLetters: dead, deadLetterBytes: deadBytes } : {}),
    });
    this.budget.reserve(ipcBytes + deadBytes); // held by the buffer until flushed or dropped
    this.metrics.rowsBuffered += result.rows;
    this.deps.log.debug(
      { table: t.name, partition: lane.key, rows: result.rows, to: String(range.to) },
      'batch buffered',
    );
    if (t.buffer.estimatedFileBytes() >= this.deps.config.commit.targetFileSizeBytes)
      this.scheduleFlush(t);
  }

  /** The batch's dead-letter rows for `deadLetter.table` (none when it is not set). */
  private deadLetterRows(
    t: TableRuntime,
    batch: SourceBatch,
    raw: { bytes: Uint8Array; offsets: Int32Array },
    errors: readonly { index: number; reason: string }[],
  ): DeadLetterRow[] {
    const dl = this.deps.config.deadLetter;
    if (dl.table === undefined || errors.length === 0) return [];
    return buildDeadLetterRows(batch, raw, errors, { table: t.name, tombstones: dl.tombstones });
  }

  /**
   * Sends the batch's failed records and (if configured) tombstones to the dead-letter
   * topic, when one is set; counts them (the table's rows are committed with the batch).
   */
  private async deadLetter(
    table: string,
    batch: SourceBatch,
    raw: { bytes: Uint8Array; offsets: Int32Array },
    errors: readonly { index: number; reason: string }[],
    rows: readonly DeadLetterRow[],
  ): Promise<void> {
    let counts = {
      deadLetters: rows.length,
      tombstones: errors.filter((e) => batch.nulls[e.index] === 1).length,
    };
    if (this.deps.config.deadLetter.topic !== undefined)
      counts = await this.deps.deadLetters.send(batch, raw, errors);
    this.metrics.tombstones += counts.tombstones;
    this.metrics.deadLetters += counts.deadLetters;
    if (counts.deadLetters > 0) {
      const keepTombstones = this.deps.config.deadLetter.tombstones === 'deadLetter';
      this.deps.observer?.deadLettered(
        table,
        errors.flatMap((e) =>
          batch.nulls[e.index] !== 1 ? [e.reason] : keepTombstones ? ['tombstone'] : [],
        ),
      );
      this.emit('deadLetter', counts.deadLetters);
    }
  }

  // ------------------------------------------------------------------ backpressure + flush

  // A shared budget may pause a member in the call that makes it (the constructor, before
  // this.budget is set): these handlers read the bytes from the metrics, not the budget.
  private onMemoryFull(): void {
    this.deps.observer?.backpressure(true);
    this.deps.source.pause(this.owned());
    this.deps.log.debug(
      { inFlightBytes: this.metrics.inFlightBytes },
      'paused: in-flight budget reached',
    );
    // Free memory: flush the largest tables now.
    const tables = [...this.registry.all()].sort(
      (a, b) => b.buffer.bufferedBytes - a.buffer.bufferedBytes,
    );
    for (const t of tables) if (!t.buffer.isEmpty) this.scheduleFlush(t);
  }

  private onMemoryFreed(): void {
    // While a join is being handled, kept partitions are not re-seeked yet (the Source
    // forgot their positions): the assignment resumes them once it has seeked them.
    this.deps.observer?.backpressure(false);
    if (this.stopping) return;
    if (this.pendingJoins > 0) {
      this.resumeHeld = true;
      return;
    }
    this.deps.source.resume(this.owned());
    this.deps.log.debug({ inFlightBytes: this.metrics.inFlightBytes }, 'resumed');
  }

  private owned(): TopicPartition[] {
    return [...this.lanes.values()].map((l) => ({ topic: l.topic, partition: l.partition }));
  }

  private tick(): void {
    const due = dueTables(
      this.registry.all(),
      Date.now(),
      this.deps.config.commit.intervalMs,
      this.budget.paused,
    );
    for (const t of due) this.scheduleFlush(t);
    if (!this.fatal) this.flusher.retryAbsorbs();
  }

  private scheduleFlush(t: TableRuntime): void {
    if (t.flushing || this.fatal) return;
    this.flusher.flush(t).catch((e) => this.fail(asError(e)));
  }

  // ------------------------------------------------------------------ queries

  /**
   * What engine.query and engine.get read (./query): a table's runtime (its hot buffer),
   * the partitions of it this process owns, and the in-flight budget a key index counts
   * against. Synchronous, like every commit acknowledgement on this thread.
   */
  hotAccess(
    table: string,
  ):
    | { runtime: TableRuntime; owned: { topic: string; partition: number; start: bigint }[] }
    | undefined {
    const runtime = [...this.registry.all()].find((t) => t.name === table);
    if (!runtime) return undefined;
    const owned = [...this.lanes.values()]
      .filter((l) => l.table === runtime && !l.revoked)
      .map((l) => ({ topic: l.topic, partition: l.partition, start: l.start }));
    return { runtime, owned };
  }

  /** The in-flight budget (a key index reserves its memory in it). */
  get memory(): InFlightBudget {
    return this.budget;
  }

  /**
   * Per-partition positions: start (where this owner began), expected (fetched up to) and
   * committed (durable in the table).
   */
  positions(): { key: string; start: bigint; expected: bigint; committed: bigint | undefined }[] {
    return [...this.lanes.values()].map((l) => ({
      key: l.key,
      start: l.start,
      expected: l.expected,
      committed: l.committed,
    }));
  }

  /** Owned partitions and the offset the table's next commit for each starts at. */
  durablePositions(): { table: string; topic: string; partition: number; committed: bigint }[] {
    return [...this.lanes.values()].map((l) => ({
      table: l.table.name,
      topic: l.topic,
      partition: l.partition,
      committed: l.durable(),
    }));
  }

  /**
   * Why the engine is not ready, or nothing when it is: it joined its group and handled
   * the assignment (an empty one too), and has neither failed nor begun to stop.
   */
  notReady(): string[] {
    const why: string[] = [];
    if (this.fatal) why.push(`failed: ${this.fatal.message}`);
    if (this.stopping) why.push('stopping');
    if (!this.assignedOnce) why.push('not joined the consumer group yet');
    else if (this.pendingJoins > 0) why.push('rebalancing: an assignment is being handled');
    return why;
  }

  get error(): Error | undefined {
    return this.fatal;
  }
}

function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new KiceError('INTERNAL', String(e));
}
