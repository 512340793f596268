/**
 * A table's hot buffer: decoded Arrow batches (IPC bytes) waiting for the next flush, each
 * tagged with the Kafka offset range [from, to) it covers.
 *
 * Invariant (enforced, not assumed): per partition, the buffered ranges are contiguous and
 * in order — each batch starts exactly where the previous one of its partition ended — so
 * a drain yields one gap-free range per partition. A push that would break it throws
 * (a bug upstream must stop the pipeline, never commit a hole or an overlap).
 *
 * Drained batches stay readable (`view()`, for queries: ../query/hot-view.ts) in a
 * "flushing" set until the flusher settles them, which it does only once the commit that
 * covers them was acknowledged by the catalog (or the flush gave them up): a row is always
 * either in the view or in a visible snapshot. The flusher keeps their bytes counted in the
 * memory budget until then.
 */
import type { OffsetRange } from '../commit/offsets.ts';
import { tpKey } from '../commit/offsets.ts';
import { KiceError } from '../errors.ts';
import type { DeadLetterRow } from './dead-letter-rows.ts';

export interface BufferedBatch {
  readonly topic: string;
  readonly partition: number;
  /** Offset range [from, to) of the Kafka batch (to = next offset). */
  readonly from: bigint;
  readonly to: bigint;
  /** null when every record of the batch was dead-lettered or skipped. */
  readonly ipc: Uint8Array | null;
  readonly rows: number;
  /** The batch's dead letters for `deadLetter.table` (committed with its range). */
  readonly deadLetters?: readonly DeadLetterRow[];
  /** Bytes those dead letters hold (counted in the buffered bytes). */
  readonly deadLetterBytes?: number;
  /** Kafka offset of each row of `ipc`, in row order (the batch's records less the
   * dead-lettered ones); absent when unknown (rows then share the batch's range). */
  readonly rowOffsets?: BigInt64Array | undefined;
}

/** The Kafka offsets of a decoded batch's rows: the records' offsets without the failed
 * records' (`errors`, by record index); undefined when that does not give `rows` offsets. */
export function rowOffsetsOf(
  recordOffsets: BigInt64Array,
  errors: readonly { index: number }[],
  rows: number,
): BigInt64Array | undefined {
  if (rows === 0 || recordOffsets.length - errors.length !== rows) return undefined;
  const failed = new Uint8Array(recordOffsets.length);
  for (const e of errors) failed[e.index] = 1;
  const out = new BigInt64Array(rows);
  let k = 0;
  for (let i = 0; i < recordOffsets.length; i++)
    if (failed[i] === 0) out[k++] = recordOffsets[i] as bigint;
  return k === rows ? out : undefined;
}

const held = (b: BufferedBatch) => (b.ipc?.byteLength ?? 0) + (b.deadLetterBytes ?? 0);

export class TableBuffer {
  private batches: BufferedBatch[] = [];
  /** Drained groups whose flush has not settled yet (oldest first), each with what of it
   * is still visible (a revoked partition's batches leave the view). */
  private readonly flushing = new Map<readonly BufferedBatch[], readonly BufferedBatch[]>();
  /** Per partition: the `to` of its last buffered batch. */
  private readonly ends = new Map<string, bigint>();
  private bytes = 0;
  private rows = 0;
  /** Parquet bytes per Arrow IPC byte, learned from flushes (starts at a typical 0.25). */
  private ratio = 0.25;

  get bufferedBytes(): number {
    return this.bytes;
  }

  get bufferedRows(): number {
    return this.rows;
  }

  get isEmpty(): boolean {
    return this.batches.length === 0;
  }

  /** Appends a batch; it must start where the partition's last buffered batch ended. */
  push(b: BufferedBatch): void {
    const key = tpKey(b.topic, b.partition);
    const end = this.ends.get(key);
    if (end !== undefined && b.from !== end) {
      throw new KiceError(
        'INTERNAL',
        `table buffer: ${key} batch [${b.from}, ${b.to}) does not start at the buffered end ${end}`,
      );
    }
    if (b.to < b.from) {
      throw new KiceError(
        'INTERNAL',
        `table buffer: ${key} range [${b.from}, ${b.to}) is reversed`,
      );
    }
    this.batches.push(b);
    this.ends.set(key, b.to);
    this.bytes += held(b);
    this.rows += b.rows;
  }

  /** Puts drained batches back in front (a flush that could not commit yet): each
   * partition's requeued batches must end where its first buffered batch starts. */
  requeue(batches: readonly BufferedBatch[]): void {
    const rest = this.batches;
    this.batches = [];
    this.ends.clear();
    this.bytes = 0;
    this.rows = 0;
    for (const b of batches) this.push(b);
    for (const b of rest) this.push(b);
  }

  /** Estimated Parquet size of what is buffered. */
  estimatedFileBytes(): number {
    return this.bytes * this.ratio;
  }

  learnRatio(ipcBytes: number, parquetBytes: number): void {
    if (ipcBytes > 0 && parquetBytes > 0)
      this.ratio = 0.5 * this.ratio + 0.5 * (parquetBytes / ipcBytes);
  }

  /** Every batch a query may read: the flushing ones (oldest first), then the buffered. */
  view(): BufferedBatch[] {
    return [...[...this.flushing.values()].flat(), ...this.batches];
  }

  /** What queries can read of this table from memory (view()): rows and Arrow bytes. */
  viewStats(): { rows: number; bytes: number } {
    let rows = 0;
    let bytes = 0;
    for (const b of this.view()) {
      rows += b.rows;
      bytes += b.ipc?.byteLength ?? 0;
    }
    return { rows, bytes };
  }

  /** Forgets a drained group: its commit is visible, or the flush gave it up (requeued or
   * dropped). */
  settle(drained: readonly BufferedBatch[]): void {
    this.flushing.delete(drained);
  }

  /** Takes everything buffered, with the offset range per partition it covers; the
   * batches stay in view() until settle(batches). */
  drain(): { batches: BufferedBatch[]; ranges: OffsetRange[]; bytes: number } {
    const batches = this.batches;
    const bytes = this.bytes;
    if (batches.length > 0) this.flushing.set(batches, batches);
    this.batches = [];
    this.ends.clear();
    this.bytes = 0;
    this.rows = 0;
    const ranges = new Map<
      string,
      { topic: string; partition: number; from: bigint; to: bigint }
    >();
    for (const b of batches) {
      const key = tpKey(b.topic, b.partition);
      const r = ranges.get(key);
      if (!r) ranges.set(key, { topic: b.topic, partition: b.partition, from: b.from, to: b.to });
      else r.to = b.to; // contiguous by the push invariant
    }
    return { batches, ranges: [...ranges.values()], bytes };
  }

  /** Drops the batches of partitions this process no longer owns; returns the bytes freed
   * (flushing batches leave the view too; their bytes are the flush's to release). */
  dropPartitions(keys: ReadonlySet<string>): number {
    let freed = 0;
    for (const k of keys) this.ends.delete(k);
    for (const [drained, visible] of this.flushing)
      this.flushing.set(
        drained,
        visible.filter((b) => !keys.has(tpKey(b.topic, b.partition))),
      );
    this.batches = this.batches.filter((b) => {
      if (!keys.has(tpKey(b.topic, b.partition))) return true;
      freed += held(b);
      this.rows -= b.rows;
      return false;
    });
    this.bytes -= freed;
    return freed;
  }
}
