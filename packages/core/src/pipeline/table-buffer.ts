/**
 * A table's hot buffer: decoded Arrow batches (IPC bytes) waiting for the next flush, each
 * tagged with the Kafka offset range it covers, plus the flush policy (target file size or
 * commit interval, whichever comes first).
 */
import type { OffsetRange } from '../commit/offsets.ts';
import { tpKey } from '../commit/offsets.ts';

export interface BufferedBatch {
  readonly topic: string;
  readonly partition: number;
  /** Offset range [from, to) of the Kafka batch (to = next offset). */
  readonly from: bigint;
  readonly to: bigint;
  /** null when every record of the batch was dead-lettered or skipped. */
  readonly ipc: Uint8Array | null;
  readonly rows: number;
}

export class TableBuffer {
  private batches: BufferedBatch[] = [];
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

  push(b: BufferedBatch): void {
    this.batches.push(b);
    this.bytes += b.ipc?.byteLength ?? 0;
    this.rows += b.rows;
  }

  /** Estimated Parquet size of what is buffered. */
  estimatedFileBytes(): number {
    return this.bytes * this.ratio;
  }

  learnRatio(ipcBytes: number, parquetBytes: number): void {
    if (ipcBytes > 0 && parquetBytes > 0)
      this.ratio = 0.5 * this.ratio + 0.5 * (parquetBytes / ipcBytes);
  }

  /** Takes everything buffered, with the offset range per partition it covers. */
  drain(): { batches: BufferedBatch[]; ranges: OffsetRange[]; bytes: number } {
    const batches = this.batches;
    const bytes = this.bytes;
    this.batches = [];
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
      else {
        // Batches of a partition are contiguous; min/max keeps re-queued ones harmless.
        if (b.from < r.from) r.from = b.from;
        if (b.to > r.to) r.to = b.to;
      }
    }
    return { batches, ranges: [...ranges.values()], bytes };
  }

  /** Drops the batches of partitions this process no longer owns; returns the bytes freed. */
  dropPartitions(keys: ReadonlySet<string>): number {
    let freed = 0;
    this.batches = this.batches.filter((b) => {
      if (!keys.has(tpKey(b.topic, b.partition))) return true;
      freed += b.ipc?.byteLength ?? 0;
      this.rows -= b.rows;
      return false;
    });
    this.bytes -= freed;
    return freed;
  }
}
