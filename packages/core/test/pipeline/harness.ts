/**
 * A test bench for the coordinator and its stages, without services:
 * - `FakeSource`: a FAKE Kafka source (no broker runs in unit tests). The test plays the
 *   client: it assigns partitions, delivers batches (or raw fetches: record-batch bytes)
 *   and observes seeks, pauses and Kafka offset commits, exactly through the Source seam.
 * - `ControlledPool`: the REAL worker tasks (decode JSON → Arrow, flush → Parquet), run in
 *   this thread, whose results the test releases when it chooses (to reorder and delay).
 * - a REAL Committer over a filesystem catalog in a temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FilesystemCatalog,
  LocalFileIO,
  parseIdentifier,
  type Row,
  scanRows,
  toFileUri,
} from '@kice/iceberg';
import { Committer } from '../../src/commit/committer.ts';
import type { CommitterClient } from '../../src/commit/committer-client.ts';
import { validateConfig } from '../../src/config/load.ts';
import type { KiceConfig, KiceConfigInput } from '../../src/config/schema.ts';
import type { Logger } from '../../src/coordinator.ts';
import { DeadLetterSink } from '../../src/pipeline/dead-letters.ts';
import type { DeadLetterProducer, DeadLetterRecord } from '../../src/source/producer.ts';
import type {
  AssignInfo,
  RawFetch,
  Source,
  SourceBatch,
  SourceHandlers,
  TopicPartition,
  TopicPartitionOffset,
} from '../../src/source/types.ts';
import runTask from '../../src/workers/pool-tasks.ts';
import { type FlushTaskResult, unpackDecodeResult } from '../../src/workers/tasks.ts';

const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

/** A FAKE Source: the test drives it; it records what the coordinator asks of Kafka. */
export class FakeSource implements Source {
  handlers: SourceHandlers | undefined;
  readonly seeks: { key: string; offset: bigint }[] = [];
  readonly paused = new Set<string>();
  readonly kafkaCommits: TopicPartitionOffset[] = [];
  /** Per partition: next offset a seek or assignment set; batches are fetched from here. */
  readonly position = new Map<string, bigint>();
  readonly epochs = new Map<string, number>();
  endOffsets = new Map<string, bigint>();
  beginningOffsets = new Map<string, bigint>();
  groupOffsets = new Map<string, bigint>();
  private generation = 0;
  stopped = false;
  /** Makes the next fetchCommittedOffsets wait for this promise (to interleave joins). */
  holdCommittedOffsets: Promise<void> | undefined;

  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers;
  }
  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.add(key(tp));
  }
  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.delete(key(tp));
  }
  seek(tp: TopicPartition, offset: bigint): void {
    this.seeks.push({ key: key(tp), offset });
    this.position.set(key(tp), offset);
    this.epochs.set(key(tp), (this.epochs.get(key(tp)) ?? 0) + 1);
  }
  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    this.kafkaCommits.push(...offsets);
  }
  async fetchEndOffsets(): Promise<Map<string, bigint>> {
    return this.endOffsets;
  }
  async fetchBeginningOffsets(): Promise<Map<string, bigint>> {
    return this.beginningOffsets;
  }
  async fetchCommittedOffsets(): Promise<Map<string, bigint>> {
    const hold = this.holdCommittedOffsets;
    this.holdCommittedOffsets = undefined;
    if (hold) await hold;
    return this.groupOffsets;
  }
  async listTopics(): Promise<string[]> {
    return [];
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }

  /** A group join with the full new assignment (revoked = previous − next, or all). */
  join(next: TopicPartition[], previous: TopicPartition[], lostAll = false): Promise<void> {
    const h = this.handlers as SourceHandlers;
    const nextKeys = new Set(next.map(key));
    const revoked = lostAll ? previous : previous.filter((tp) => !nextKeys.has(key(tp)));
    this.generation++;
    for (const tp of next) this.paused.add(key(tp));
    if (revoked.length > 0) h.onRevoke(revoked);
    const info: AssignInfo = { generation: this.generation, memberId: 'm1', lostAll };
    return Promise.resolve(h.onAssign(next, info));
  }

  /**
   * Delivers a raw fetch of a partition made at `fetchOffset` (the raw path, source option
   * `fetch: raw`): `data` is whole record batches as the broker sent them; nextOffset is
   * read from the batch headers as a Source does.
   */
  deliverRaw(
    tp: TopicPartition,
    fetchOffset: bigint,
    data: Uint8Array,
    opts: Partial<
      Pick<
        RawFetch,
        'abortedTransactions' | 'isolation' | 'keepKeys' | 'keepHeaders' | 'skippedFrom' | 'release'
      >
    > = {},
  ): RawFetch {
    const nextOffset = batchesEnd(data, fetchOffset);
    this.position.set(key(tp), nextOffset);
    const fetch: RawFetch = {
      ...tp,
      fetchOffset,
      nextOffset,
      data: toShared(data),
      abortedTransactions: opts.abortedTransactions ?? [],
      isolation: opts.isolation ?? 'read_committed',
      highWatermark: nextOffset,
      lastStableOffset: nextOffset,
      keepKeys: opts.keepKeys ?? false,
      keepHeaders: opts.keepHeaders ?? false,
      epoch: this.epochs.get(key(tp)) ?? 0,
      ...(opts.skippedFrom === undefined ? {} : { skippedFrom: opts.skippedFrom }),
      ...(opts.release === undefined ? {} : { release: opts.release }),
    };
    (this.handlers as SourceHandlers).onRawFetch?.(fetch);
    return fetch;
  }

  /** Delivers records [from, from + values.length) of a partition as one batch. */
  deliver(tp: TopicPartition, from: bigint, values: (string | null)[]): void {
    this.position.set(key(tp), from + BigInt(values.length));
    const epoch = this.epochs.get(key(tp)) ?? 0;
    (this.handlers as SourceHandlers).onBatch(makeBatch(tp, from, values, epoch));
  }
}

/**
 * After the last whole v2 record batch of `data` (base offset + last offset delta + 1,
 * https://kafka.apache.org/documentation/#recordbatch), or `from` when there is none.
 */
export function batchesEnd(data: Uint8Array, from: bigint): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let next = from;
  for (let at = 0; at + 61 <= data.length; ) {
    const stop = at + 12 + view.getInt32(at + 8);
    if (stop > data.length) break;
    const last = view.getBigInt64(at) + BigInt(view.getInt32(at + 23)) + 1n;
    if (last > next) next = last;
    at = stop;
  }
  return next;
}

/** A copy of `b` in a SharedArrayBuffer, where a raw Source puts fetched bytes. */
export function toShared(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(Math.max(1, b.length)), 0, b.length);
  out.set(b);
  return out;
}

/** Packs values into a SourceBatch the way the kafkajs Source does (values in shared memory). */
export function makeBatch(
  tp: TopicPartition,
  from: bigint,
  values: (string | null)[],
  epoch = 0,
): SourceBatch {
  const enc = values.map((v) => (v === null ? new Uint8Array(0) : new TextEncoder().encode(v)));
  const size = enc.reduce((a, b) => a + b.byteLength, 0);
  const bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, size)), 0, size);
  const offsets = new Int32Array(values.length + 1);
  let pos = 0;
  enc.forEach((b, i) => {
    bytes.set(b, pos);
    pos += b.byteLength;
    offsets[i + 1] = pos;
  });
  const n = values.length;
  return {
    topic: tp.topic,
    partition: tp.partition,
    firstOffset: from,
    lastOffset: from + BigInt(n - 1),
    nextOffset: from + BigInt(n),
    count: n,
    bytes,
    offsets,
    nulls: Uint8Array.from(values.map((v) => (v === null ? 1 : 0))),
    recordOffsets: BigInt64Array.from(values.map((_, i) => from + BigInt(i))),
    timestamps: new Float64Array(n),
    epoch,
  };
}

/** Piscina.move wraps a transferable; the pool unwraps it on the other side. */
const kValue = Symbol.for('Piscina.valueOf');
function unwrapMovable(v: unknown): unknown {
  return v !== null && typeof v === 'object' && kValue in v
    ? (v as Record<symbol, unknown>)[kValue]
    : v;
}

interface Pending {
  readonly kind: string;
  /** The task (a decode's `bytes` tell which batch it is). */
  readonly task: { kind: string; bytes?: Uint8Array };
  readonly result: Promise<unknown>;
  release(): void;
}

/** The real pool tasks, run in this thread; with `hold`, results wait for `release*()`. */
export class ControlledPool {
  hold = false;
  readonly pending: Pending[] = [];
  /** Fails the next decode task with this message (as a worker crash would). */
  failNextDecode: string | undefined;
  runs = 0;

  run(task: { kind: string }): Promise<unknown> {
    this.runs++;
    const fail = task.kind === 'decode' ? this.failNextDecode : undefined;
    if (task.kind === 'decode') this.failNextDecode = undefined;
    const result = fail
      ? Promise.reject(new Error(fail))
      : (runTask(task as never) as Promise<unknown>).then(unwrapMovable);
    if (!this.hold) return result;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    this.pending.push({ kind: task.kind, task, result, release });
    return gate.then(() => result);
  }

  /** Releases held results of this kind, in the given order (indexes into the held list). */
  releaseAll(kind?: string): void {
    for (const p of this.pending.splice(0)) {
      if (kind === undefined || p.kind === kind) p.release();
      else this.pending.push(p);
    }
  }

  /** Releases the held result at `index` among those of `kind`. */
  release(kind: string, index: number): void {
    const of = this.pending.filter((p) => p.kind === kind);
    const p = of[index];
    if (!p) throw new Error(`no held ${kind} result #${index}`);
    this.pending.splice(this.pending.indexOf(p), 1);
    p.release();
  }

  async destroy(): Promise<void> {}
}

/** A dead-letter producer that keeps what it was sent (a stand-in for the Kafka topic). */
export class RecordingDeadLetters implements DeadLetterProducer {
  readonly sent: DeadLetterRecord[] = [];
  async send(records: readonly DeadLetterRecord[]): Promise<void> {
    this.sent.push(...records);
  }
  async close(): Promise<void> {}
}

export const quietLog: Logger & { lines: { level: string; msg?: string; obj: object }[] } = {
  lines: [],
  info(obj, msg) {
    quietLog.lines.push({ level: 'info', obj, msg });
  },
  warn(obj, msg) {
    quietLog.lines.push({ level: 'warn', obj, msg });
  },
  error(obj, msg) {
    quietLog.lines.push({ level: 'error', obj, msg });
  },
  debug(obj, msg) {
    quietLog.lines.push({ level: 'debug', obj, msg });
  },
};

export interface Bench {
  readonly dir: string;
  readonly config: KiceConfig;
  readonly source: FakeSource;
  readonly pool: ControlledPool;
  readonly committer: Committer;
  readonly client: CommitterClient;
  readonly deadLetters: RecordingDeadLetters;
  /** The dead-letter sink the coordinator is given, over `deadLetters`. */
  readonly sink: DeadLetterSink;
  readonly catalog: FilesystemCatalog;
  /** Rows of the table's current snapshot, sorted by `id`. */
  rows(table?: string): Promise<Row[]>;
  /** The table's recorded offsets for the bench's group. */
  offsets(table?: string): Promise<Map<string, bigint>>;
  cleanup(): void;
}

export const TABLE = 'ns.events';

/** A coordinator test bench: one topic `t` → table ns.events, commits only when asked. */
export function bench(overrides: Partial<KiceConfigInput> = {}): Bench {
  const dir = mkdtempSync(join(tmpdir(), 'kice-coord-'));
  const config = validateConfig({
    kafka: { brokers: ['127.0.0.1:1'], groupId: 'g' },
    catalog: { type: 'filesystem', warehouse: dir },
    tables: [{ topic: 't', table: TABLE }],
    deadLetter: { topic: 'dlq' },
    commit: { intervalMs: 3_600_000 },
    ...overrides,
  } as KiceConfigInput);
  const catalog = new FilesystemCatalog({ warehouse: toFileUri(dir), io: new LocalFileIO() });
  const committer = new Committer(catalog, config.kafka.groupId);
  const client: CommitterClient = {
    api: committer as unknown as CommitterClient['api'],
    async close() {},
  };
  const deadLetters = new RecordingDeadLetters();
  const b: Bench = {
    dir,
    config,
    source: new FakeSource(),
    pool: new ControlledPool(),
    committer,
    client,
    deadLetters,
    sink: new DeadLetterSink({ config, producer: deadLetters, log: quietLog }),
    catalog,
    async rows(table = TABLE) {
      const t = await catalog.loadTable(parseIdentifier(table));
      const rows = await scanRows(t);
      return rows.sort((a, b) => Number((a.id as bigint) - (b.id as bigint)));
    },
    async offsets(table = TABLE) {
      const s = await committer.tableState(table);
      return new Map((s?.offsets ?? []).map(([k, v]) => [k, BigInt(v)]));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return b;
}

/** `n` JSON events with ids from `first`. */
export function events(first: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ id: first + i, v: `e${first + i}` }));
}

/** Waits until `cond()` holds (polling the event loop), failing after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets every pending microtask and I/O callback run. */
export function settleTick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 20));
}

/**
 * Commits `ids` as the records [from, from + ids.length) of `tp` through a second committer
 * of the same group, as another process of the group (a previous owner) would.
 */
export async function commitAsOtherWriter(
  b: Bench,
  tp: TopicPartition,
  from: bigint,
  ids: number[],
): Promise<void> {
  const batch = makeBatch(
    tp,
    from,
    ids.map((id) => JSON.stringify({ id, v: `e${id}` })),
  );
  const existing = await b.committer.tableState(TABLE);
  const decoded = unpackDecodeResult(
    unwrapMovable(
      await runTask({
        kind: 'decode',
        bytes: batch.bytes,
        offsets: batch.offsets,
        schema: existing?.schema ?? { type: 'struct', schemaId: 0, fields: [] },
        hints: {},
        relaxedFieldIds: [],
      }),
    ) as Uint8Array,
  );
  if (!decoded.ok) throw new Error(decoded.error.message);
  const other = new Committer(b.catalog, b.config.kafka.groupId);
  const state = await other.ensureTable(
    { table: TABLE, partitionBy: [], properties: {} },
    decoded.schema,
  );
  const flushed = (await runTask({
    kind: 'flush',
    batches: [decoded.ipc],
    schema: state.schema,
    spec: state.spec,
    dataLocation: `${state.location}/data`,
    compression: 'snappy',
    rowGroupSize: 1_000_000,
    rowGroupBytes: 1 << 20,
    dictionaryPageBytes: 65_536,
    storage: b.config.storage,
  })) as FlushTaskResult;
  if (!flushed.ok) throw new Error(flushed.error.message);
  const r = await other.append(TABLE, flushed.files, [
    { topic: tp.topic, partition: tp.partition, from, to: from + BigInt(ids.length) },
  ]);
  if (r.status !== 'committed') throw new Error(`other writer refused: ${r.reason}`);
}
