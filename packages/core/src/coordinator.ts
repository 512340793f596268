/**
 * The coordinator (main thread): owns Kafka partitions and their offsets, routes topics
 * to tables, hands batches to the worker pool, keeps each table's hot buffer, applies
 * backpressure, and drives flush → commit through the committer thread.
 *
 * Correctness (see DESIGN.md "Correctness model"):
 * - Start offsets come from the table's snapshot summary, then the group, then the reset
 *   policy; every assigned partition is re-seeked on every group join.
 * - Batches are accepted per partition only at the expected next offset and in order
 *   (decode results are applied through a per-partition promise chain).
 * - Dead letters are acknowledged by Kafka BEFORE the batch joins the table buffer, so no
 *   commit can move past a bad record that has not been dead-lettered.
 * - Commits carry offset ranges; the committer refuses any that does not continue the
 *   table's recorded offsets; Kafka group offsets are committed only afterwards.
 */
import { EventEmitter } from 'node:events';
import {
  type DataFile,
  indexById,
  maxFieldId,
  type PrimitiveType,
  parsePrimitive,
  type Schema,
  type StructType,
} from '@kice/iceberg';
import type { Piscina } from 'piscina';
import type { TableState } from './commit/committer.ts';
import type { CommitterClient } from './commit/committer-client.ts';
import { splitTpKey, tpKey } from './commit/offsets.ts';
import { type PartitionByEntry, parsePartitionBy } from './config/partition-by.ts';
import type { KiceConfig, TableConfig } from './config/schema.ts';
import { fromPlainError, KiceError } from './errors.ts';
import { TableBuffer } from './pipeline/table-buffer.ts';
import { evolveSchema } from './schema/evolve.ts';
import type { DeadLetterProducer, DeadLetterRecord } from './source/producer.ts';
import type { Source, SourceBatch, TopicPartition } from './source/types.ts';
import {
  type DecodeTask,
  type FlushTask,
  type FlushTaskResult,
  unpackDecodeResult,
} from './workers/tasks.ts';

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
}

interface TableRuntime {
  readonly name: string;
  readonly config: TableConfig;
  readonly partitionBy: readonly PartitionByEntry[];
  readonly hints: Readonly<Record<string, PrimitiveType>>;
  /** Everything seen so far, by name; field IDs provisional until the committer returns. */
  observed: Schema;
  state: TableState | undefined;
  readonly buffer: TableBuffer;
  lastCommitAt: number;
  flushing: Promise<void> | undefined;
  /** The table's state, read while the consumer joins its group (see start()); used once. */
  prefetch?: Promise<TableState | undefined> | undefined;
}

interface PartitionRuntime {
  readonly topic: string;
  readonly partition: number;
  readonly table: TableRuntime;
  epoch: number;
  /** Next offset expected from the source. */
  expected: bigint;
  /** Next offset recorded in the table (what is durable). */
  committed: bigint | undefined;
  chain: Promise<void>;
}

export interface CoordinatorDeps {
  readonly config: KiceConfig;
  readonly source: Source;
  readonly pool: Piscina;
  readonly committer: CommitterClient;
  readonly deadLetters: DeadLetterProducer;
  readonly log: Logger;
  /** Next offset of the start of each partition (for autoOffsetReset earliest/latest). */
  readonly fetchStartOffsets: (topics: string[]) => Promise<Map<string, bigint>>;
}

const EMPTY_SCHEMA: Schema = { type: 'struct', schemaId: 0, fields: [] };

/** `parquet.rowGroupBytes`, defaulting to an eighth of the in-flight budget (≤ 128 MiB). */
export function rowGroupBytes(config: KiceConfig): number {
  return (
    config.parquet.rowGroupBytes ??
    Math.min(128 * 2 ** 20, Math.max(2 ** 20, Math.floor(config.memory.maxInFlightBytes / 8)))
  );
}

/** Turns a topic name into a valid table name part. */
export function tableNameFor(template: string, topic: string): string {
  return template.replaceAll('{topic}', topic.replace(/[^A-Za-z0-9_]/g, '_'));
}

export class Coordinator extends EventEmitter {
  readonly metrics: EngineMetrics = {
    recordsConsumed: 0,
    bytesConsumed: 0,
    rowsBuffered: 0,
    rowsCommitted: 0,
    deadLetters: 0,
    tombstones: 0,
    commits: 0,
    refusedCommits: 0,
    snapshotsExpired: 0,
    filesWritten: 0,
    bytesWritten: 0,
    inFlightBytes: 0,
    pausedForBackpressure: 0,
    peakInFlightBytes: 0,
  };
  private readonly tables = new Map<string, TableRuntime>();
  private readonly partitions = new Map<string, PartitionRuntime>();
  private paused = false;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private fatal: Error | undefined;

  constructor(private readonly deps: CoordinatorDeps) {
    super();
  }

  // ------------------------------------------------------------------ routing

  private route(topic: string): TableConfig | undefined {
    for (const t of this.deps.config.tables) {
      if (t.topic === topic) return t;
      if (t.topicPattern !== undefined && new RegExp(t.topicPattern).test(topic)) return t;
    }
    return undefined;
  }

  private tableFor(topic: string): TableRuntime | undefined {
    const cfg = this.route(topic);
    if (!cfg) return undefined;
    const name = cfg.topic !== undefined ? cfg.table : tableNameFor(cfg.table, topic);
    let t = this.tables.get(name);
    if (!t) {
      const partitionBy = cfg.partitionBy.map((p) => parsePartitionBy(p) as PartitionByEntry);
      t = {
        name,
        config: cfg,
        partitionBy,
        hints: Object.fromEntries(
          Object.entries(cfg.columns).map(([k, v]) => [k, parsePrimitive(v)]),
        ),
        observed: EMPTY_SCHEMA,
        state: undefined,
        buffer: new TableBuffer(),
        lastCommitAt: Date.now(),
        flushing: undefined,
      };
      this.tables.set(name, t);
    }
    return t;
  }

  /** Tables known so far (configured topics plus pattern matches seen). */
  tableNames(): string[] {
    return [...this.tables.keys()];
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    // Read the configured tables' state (schema, recorded offsets) while the consumer joins
    // its group: it also starts the committer thread, so assignment does not wait for it.
    for (const cfg of this.deps.config.tables) {
      if (cfg.topic === undefined) continue;
      const t = this.tableFor(cfg.topic);
      if (!t || t.prefetch) continue;
      // A failure here is not final: assignment reads again, and surfaces the error.
      t.prefetch = this.deps.committer.api.tableState(t.name).catch(() => undefined);
    }
    await this.deps.source.start({
      onAssign: (assigned, info) => this.onAssign(assigned, info.lostAll),
      onRevoke: (revoked) => this.onRevoke(revoked),
      onBatch: (batch) => this.onBatch(batch),
      onError: (e) => this.fail(e),
      onProgress: (tp, next) => this.onProgress(tp, next),
    });
    this.timer = setInterval(() => this.tick(), 100);
    this.timer.unref();
  }

  private fail(e: Error): void {
    if (this.fatal) return;
    this.fatal = e;
    this.deps.log.error({ err: e }, 'fatal error');
    this.emit('fatal', e);
  }

  /** Flushes and commits everything buffered, then stops consuming. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    const owned = [...this.partitions.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
    }));
    this.deps.source.pause(owned);
    await Promise.all([...this.partitions.values()].map((p) => p.chain));
    await this.flushAll();
    await this.deps.source.stop();
  }

  /** Waits for every batch handed to the pool, then flushes and commits every table. */
  async settle(): Promise<void> {
    await Promise.all([...this.partitions.values()].map((p) => p.chain));
    await this.flushAll();
  }

  async flushAll(): Promise<void> {
    for (const t of this.tables.values()) {
      if (t.flushing) await t.flushing;
      if (!t.buffer.isEmpty) await this.flush(t);
    }
  }

  // ------------------------------------------------------------------ assignment

  private async onAssign(assigned: TopicPartition[], lostAll: boolean): Promise<void> {
    if (lostAll) this.onRevoke([...this.partitions.values()]);
    const byTable = new Map<TableRuntime, TopicPartition[]>();
    for (const tp of assigned) {
      const t = this.tableFor(tp.topic);
      if (!t) {
        this.deps.log.warn(
          { topic: tp.topic },
          'assigned a partition of a topic no table routes; ignoring it',
        );
        continue;
      }
      byTable.set(t, [...(byTable.get(t) ?? []), tp]);
    }
    const topics = [...new Set(assigned.map((tp) => tp.topic))];
    const [group, starts] = await Promise.all([
      this.deps.source.fetchCommittedOffsets(this.deps.config.kafka.groupId, topics),
      this.deps.fetchStartOffsets(topics),
    ]);
    for (const [t, tps] of byTable) {
      const prefetched = t.prefetch ? await t.prefetch : undefined;
      t.prefetch = undefined;
      t.state ??= prefetched ?? (await this.deps.committer.api.tableState(t.name));
      if (t.state && t.observed.fields.length === 0) t.observed = t.state.schema;
      const recorded = new Map((t.state?.offsets ?? []).map(([k, v]) => [k, BigInt(v)]));
      for (const tp of tps) {
        const key = tpKey(tp.topic, tp.partition);
        const existing = this.partitions.get(key);
        let offset: bigint;
        let source: string;
        if (existing) {
          offset = existing.expected; // kept across the rebalance: continue after our buffers
          source = 'buffer';
        } else if (recorded.has(key)) {
          offset = recorded.get(key) as bigint;
          source = 'table';
        } else if (group.has(key)) {
          offset = group.get(key) as bigint;
          source = 'group';
        } else {
          offset = starts.get(key) ?? 0n;
          source = this.deps.config.kafka.autoOffsetReset;
        }
        const p: PartitionRuntime = existing ?? {
          topic: tp.topic,
          partition: tp.partition,
          table: t,
          epoch: 0,
          expected: offset,
          committed: recorded.get(key),
          chain: Promise.resolve(),
        };
        p.epoch++;
        p.expected = offset;
        this.partitions.set(key, p);
        this.deps.source.seek(tp, offset);
        this.deps.log.info(
          { partition: key, offset: offset.toString(), from: source },
          'partition assigned',
        );
      }
    }
    this.emit('assigned', assigned);
    if (!this.paused && !this.stopping) this.deps.source.resume(assigned);
  }

  private onRevoke(revoked: TopicPartition[]): void {
    const keys = new Set(revoked.map((tp) => tpKey(tp.topic, tp.partition)));
    for (const key of keys) {
      const p = this.partitions.get(key);
      if (!p) continue;
      p.epoch++;
      this.partitions.delete(key);
    }
    for (const t of this.tables.values()) this.release(t.buffer.dropPartitions(keys));
    this.deps.log.info({ partitions: [...keys] }, 'partitions revoked');
  }

  // ------------------------------------------------------------------ batches

  private onProgress(tp: TopicPartition, next: bigint): void {
    const p = this.partitions.get(tpKey(tp.topic, tp.partition));
    if (!p || next <= p.expected) return;
    const from = p.expected;
    p.expected = next;
    const epoch = p.epoch;
    p.chain = p.chain.then(() => {
      if (p.epoch === epoch)
        p.table.buffer.push({
          topic: p.topic,
          partition: p.partition,
          from,
          to: next,
          ipc: null,
          rows: 0,
        });
    });
  }

  private onBatch(batch: SourceBatch): void {
    const key = tpKey(batch.topic, batch.partition);
    const p = this.partitions.get(key);
    if (!p || this.stopping) return;
    if (batch.firstOffset < p.expected) {
      // Stale (fetched before a seek) or overlapping: drop; the source refetches from expected.
      if (batch.nextOffset <= p.expected) return;
      this.deps.log.warn(
        { partition: key, first: String(batch.firstOffset), expected: String(p.expected) },
        'batch overlaps the expected offset; dropped',
      );
      return;
    }
    const from = p.expected;
    p.expected = batch.nextOffset;
    this.metrics.recordsConsumed += batch.count;
    this.metrics.bytesConsumed += batch.bytes.byteLength;
    const size = batch.bytes.byteLength;
    this.reserve(size);

    // The values must be in shared memory: the worker reads them in place, and they stay
    // readable here for dead letters. Records over limits.maxRecordBytes are left out (the
    // decoder sees them as empty values) and dead-lettered with the real reason.
    const t = p.table;
    const maxRecord = this.deps.config.limits.maxRecordBytes;
    const oversized = new Map<number, number>();
    for (let i = 0; i < batch.count; i++) {
      const len = (batch.offsets[i + 1] as number) - (batch.offsets[i] as number);
      if (len > maxRecord) oversized.set(i, len);
    }
    let bytes: Uint8Array;
    let offsets = batch.offsets;
    if (oversized.size === 0 && batch.bytes.buffer instanceof SharedArrayBuffer) {
      bytes = batch.bytes; // the source packed the values into shared memory already
    } else if (oversized.size === 0) {
      bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, size)), 0, size);
      bytes.set(batch.bytes);
    } else {
      let kept = 0;
      for (let i = 0; i < batch.count; i++) {
        if (!oversized.has(i))
          kept += (batch.offsets[i + 1] as number) - (batch.offsets[i] as number);
      }
      bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, kept)), 0, kept);
      offsets = new Int32Array(batch.count + 1);
      let pos = 0;
      for (let i = 0; i < batch.count; i++) {
        if (!oversized.has(i)) {
          const v = batch.bytes.subarray(
            batch.offsets[i] as number,
            batch.offsets[i + 1] as number,
          );
          bytes.set(v, pos);
          pos += v.byteLength;
        }
        offsets[i + 1] = pos;
      }
    }
    // Dead letters carry the original bytes.
    const raw =
      oversized.size === 0 ? { bytes, offsets } : { bytes: batch.bytes, offsets: batch.offsets };
    const task: DecodeTask = {
      kind: 'decode',
      bytes,
      offsets,
      schema: t.observed,
      hints: t.hints,
      relaxedFieldIds: this.relaxedIds(t),
      options: { typeConflicts: t.config.typeConflicts, ...this.deps.config.limits },
    };
    const decoding = this.deps.pool.run(task) as Promise<Uint8Array>;
    const epoch = p.epoch;
    p.chain = p.chain
      .then(async () => {
        let result = unpackDecodeResult(await decoding);
        if (p.epoch !== epoch) return; // revoked or re-seeked meanwhile
        for (let attempt = 0; ; attempt++) {
          if (!result.ok) throw fromPlainError(result.error);
          if (!result.changed) break;
          try {
            // Before anything is committed, long and double observations make a double
            // column; afterwards only Iceberg's promotions (int→long, float→double) apply.
            const relaxed = !t.state && !t.flushing;
            t.observed = evolveSchema(t.observed, result.schema, maxFieldId(t.observed), {
              allowLongToDouble: relaxed,
              conflictsAsString: relaxed && t.config.typeConflicts === 'asString',
            }).schema;
            break;
          } catch (e) {
            if (!(e instanceof KiceError) || e.code !== 'SCHEMA_INCOMPATIBLE' || attempt >= 3)
              throw e;
            // Decoded under an older schema in a way the table cannot take: decode again
            // with the current schema, so records that do not fit become dead letters.
            this.deps.log.debug(
              { table: t.name, reason: e.message },
              're-decoding a batch under the current schema',
            );
            result = unpackDecodeResult(
              (await this.deps.pool.run({
                ...task,
                schema: t.observed,
                relaxedFieldIds: this.relaxedIds(t),
              })) as Uint8Array,
            );
          }
        }
        if (!result.ok) throw new KiceError('INTERNAL', 'unreachable');
        const errors = result.errors.map((e) => {
          const len = oversized.get(e.index);
          return len === undefined
            ? e
            : {
                index: e.index,
                reason: `value of ${len} bytes exceeds limits.maxRecordBytes (${maxRecord})`,
              };
        });
        await this.deadLetter(batch, raw, errors);
        t.buffer.push({
          topic: p.topic,
          partition: p.partition,
          from,
          to: batch.nextOffset,
          ipc: result.rows > 0 ? result.ipc : null,
          rows: result.rows,
        });
        this.metrics.rowsBuffered += result.rows;
        this.reserve((result.rows > 0 ? result.ipc.byteLength : 0) - size);
        if (t.buffer.estimatedFileBytes() >= this.deps.config.commit.targetFileSizeBytes)
          this.scheduleFlush(t);
      })
      .catch((e) => this.fail(e instanceof Error ? e : new Error(String(e))));
  }

  /** Columns a fraction may still turn from long into double: all, until the table's
   * first commit starts; none after (Iceberg has no long → double promotion). */
  private relaxedIds(t: TableRuntime): number[] {
    return !t.state && !t.flushing ? [...indexById(t.observed).keys()] : [];
  }

  /** Sends the batch's failed records and (if configured) tombstones to the dead-letter topic. */
  private async deadLetter(
    batch: SourceBatch,
    raw: { bytes: Uint8Array; offsets: Int32Array },
    errors: readonly { index: number; reason: string }[],
  ): Promise<void> {
    const dl = this.deps.config.deadLetter;
    const records: DeadLetterRecord[] = [];
    for (const { index, reason } of errors) {
      const tombstone = batch.nulls[index] === 1;
      if (tombstone) {
        this.metrics.tombstones++;
        if (dl.tombstones === 'skip') continue;
      }
      const start = raw.offsets[index] as number;
      const end = raw.offsets[index + 1] as number;
      records.push({
        topic: dl.topic,
        value: tombstone ? null : raw.bytes.slice(start, end),
        headers: {
          'kice.source.topic': batch.topic,
          'kice.source.partition': String(batch.partition),
          'kice.source.offset': String(batch.recordOffsets[index]),
          'kice.error': tombstone ? 'tombstone (null value)' : reason,
        },
      });
    }
    if (records.length === 0) return;
    await this.deps.deadLetters.send(records);
    this.metrics.deadLetters += records.length;
    this.emit('deadLetter', records.length);
    this.deps.log.warn(
      {
        topic: batch.topic,
        partition: batch.partition,
        count: records.length,
        first: records[0]?.headers['kice.error'],
      },
      'records dead-lettered',
    );
  }

  // ------------------------------------------------------------------ backpressure

  private reserve(delta: number): void {
    const m = this.metrics;
    m.inFlightBytes += delta;
    if (m.inFlightBytes > m.peakInFlightBytes) m.peakInFlightBytes = m.inFlightBytes;
    const max = this.deps.config.memory.maxInFlightBytes;
    if (!this.paused && m.inFlightBytes > max) {
      this.paused = true;
      m.pausedForBackpressure++;
      this.deps.source.pause(this.owned());
      this.deps.log.debug({ inFlightBytes: m.inFlightBytes }, 'paused: in-flight budget reached');
      // Free memory: flush the largest tables now.
      for (const t of [...this.tables.values()].sort(
        (a, b) => b.buffer.bufferedBytes - a.buffer.bufferedBytes,
      )) {
        if (!t.buffer.isEmpty) this.scheduleFlush(t);
      }
    } else if (this.paused && m.inFlightBytes <= max / 2 && !this.stopping) {
      this.paused = false;
      this.deps.source.resume(this.owned());
      this.deps.log.debug({ inFlightBytes: m.inFlightBytes }, 'resumed');
    }
  }

  private release(bytes: number): void {
    if (bytes !== 0) this.reserve(-bytes);
  }

  private owned(): TopicPartition[] {
    return [...this.partitions.values()].map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  // ------------------------------------------------------------------ flush + commit

  private tick(): void {
    const now = Date.now();
    for (const t of this.tables.values()) {
      if (t.flushing || t.buffer.isEmpty) continue;
      // Paused for backpressure: flush whatever is buffered, whatever the interval says.
      if (this.paused || now - t.lastCommitAt >= this.deps.config.commit.intervalMs)
        this.scheduleFlush(t);
    }
  }

  private scheduleFlush(t: TableRuntime): void {
    if (t.flushing) return;
    t.flushing = this.flush(t)
      .catch((e) => this.fail(e instanceof Error ? e : new Error(String(e))))
      .finally(() => {
        t.flushing = undefined;
      });
  }

  /** Writes the table's buffer as data files and commits them with their offset ranges. */
  private async flush(t: TableRuntime): Promise<void> {
    const { batches, ranges, bytes } = t.buffer.drain();
    if (batches.length === 0) return;
    t.lastCommitAt = Date.now();
    try {
      const ipcs = batches.flatMap((b) => (b.ipc ? [b.ipc] : []));
      let files: DataFile[] = [];
      if (ipcs.length > 0) {
        t.state = await this.deps.committer.api.ensureTable(
          { table: t.name, partitionBy: t.partitionBy, properties: t.config.properties },
          t.observed as StructType,
        );
        // Keep columns observed while the committer worked (merged by name, strict).
        t.observed = evolveSchema(t.state.schema, t.observed, maxFieldId(t.state.schema)).schema;
        const task: FlushTask = {
          kind: 'flush',
          batches: ipcs,
          schema: t.state.schema,
          spec: t.state.spec,
          dataLocation: `${t.state.location}/data`,
          compression: this.deps.config.parquet.compression,
          rowGroupSize: this.deps.config.parquet.rowGroupSize,
          rowGroupBytes: rowGroupBytes(this.deps.config),
        };
        // The IPC buffers are transferred to the worker, not cloned.
        const transferList = [...new Set(ipcs.map((b) => b.buffer as ArrayBuffer))];
        const r = (await this.deps.pool.run(task, { transferList })) as FlushTaskResult;
        if (!r.ok) throw fromPlainError(r.error);
        files = r.files;
      } else if (!t.state) {
        t.state = await this.deps.committer.api.tableState(t.name);
        if (!t.state) {
          // Nothing decodable yet and no table: nothing to record offsets in. Keep the
          // ranges: they will be committed with the first data.
          for (const b of batches) t.buffer.push(b);
          return;
        }
      }
      const written = files.reduce((a, f) => a + f.fileSizeInBytes, 0);
      t.buffer.learnRatio(bytes, written);
      const result = await this.deps.committer.api.append(t.name, files, ranges);
      if (result.status === 'refused') {
        this.metrics.refusedCommits++;
        this.deps.log.warn(
          { table: t.name, reason: result.reason },
          'commit refused by offset continuity; re-seeking',
        );
        await this.resync(t);
        return;
      }
      const rows = files.reduce((a, f) => a + f.recordCount, 0);
      this.metrics.commits++;
      this.metrics.rowsCommitted += rows;
      this.metrics.filesWritten += files.length;
      this.metrics.bytesWritten += written;
      const committed = new Map(result.offsets.map(([k, v]) => [k, BigInt(v)]));
      t.state = { ...t.state, offsets: result.offsets } as TableState;
      const toKafka = [];
      for (const r of ranges) {
        const key = tpKey(r.topic, r.partition);
        const p = this.partitions.get(key);
        const off = committed.get(key);
        if (p && off !== undefined) {
          p.committed = off;
          toKafka.push({ topic: r.topic, partition: r.partition, offset: off });
        }
      }
      this.emit('commit', {
        table: t.name,
        snapshotId: result.snapshotId,
        files: files.length,
        rows,
        offsets: result.offsets,
      });
      this.deps.log.info(
        { table: t.name, snapshotId: result.snapshotId, files: files.length, rows },
        'committed',
      );
      if (result.expired) {
        this.metrics.snapshotsExpired += result.expired;
        this.deps.log.info({ table: t.name, expired: result.expired }, 'expired old snapshots');
      }
      if (result.maintenanceError) {
        this.deps.log.warn(
          { table: t.name, reason: result.maintenanceError },
          'snapshot expiry failed (the commit stands; retried later)',
        );
      }
      if (toKafka.length > 0) {
        // Awaited so that a shutdown's last commit reaches the group before it leaves;
        // a failure is not fatal (the table's offsets are the truth).
        await this.deps.source
          .commitOffsets(toKafka)
          .catch((e) => this.deps.log.warn({ err: e }, 'kafka offset commit failed (not fatal)'));
      }
    } finally {
      this.release(bytes);
    }
  }

  /** After a refused commit: drop buffered data and re-seek the table's partitions to the
   * offsets the table records. */
  private async resync(t: TableRuntime): Promise<void> {
    t.state = await this.deps.committer.api.tableState(t.name);
    const recorded = new Map((t.state?.offsets ?? []).map(([k, v]) => [k, BigInt(v)]));
    const keys = new Set<string>();
    for (const [key, p] of this.partitions) if (p.table === t) keys.add(key);
    this.release(t.buffer.dropPartitions(keys));
    for (const key of keys) {
      const p = this.partitions.get(key) as PartitionRuntime;
      const off = recorded.get(key) ?? p.committed ?? p.expected;
      p.epoch++;
      p.expected = off;
      this.deps.source.seek(splitTpKey(key), off);
    }
  }

  // ------------------------------------------------------------------ queries

  /** Per-partition positions: expected (fetched up to) and committed (durable in the table). */
  positions(): { key: string; expected: bigint; committed: bigint | undefined }[] {
    return [...this.partitions.entries()].map(([key, p]) => ({
      key,
      expected: p.expected,
      committed: p.committed,
    }));
  }

  get error(): Error | undefined {
    return this.fatal;
  }
}
