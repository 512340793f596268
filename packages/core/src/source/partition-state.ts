/**
 * Per-partition position, epoch and pause state, and the verdict on each fetched batch.
 *
 * kafkajs auto-resolves every batch handed to eachBatch, so its fetch position moves past a
 * batch even when we drop it. The tracker keeps our own expected next offset per partition
 * and accepts a batch only when it was fetched exactly there. Whenever a live (not stale)
 * batch is dropped, the verdict carries the offset to seek kafkajs back to, so nothing is
 * skipped: the dropped records are fetched again later.
 */
import { type TopicPartition, tpKey } from './types.ts';

interface PartitionState {
  /** Next offset we expect; undefined until the first seek or accepted batch after assignment. */
  expected: bigint | undefined;
  epoch: number;
  paused: boolean;
  /** A seek was issued and no batch fetched at the expected offset has arrived since. */
  seekPending: boolean;
}

/** What the Source does with a fetched batch. */
export type BatchVerdict =
  | { readonly accept: true; readonly epoch: number }
  | {
      readonly accept: false;
      readonly reason: 'unassigned' | 'stale' | 'paused' | 'unpositioned' | 'gap';
      /** Seek the client here so the dropped records are fetched again. */
      readonly reseek?: bigint;
    };

/** A fetched batch as the tracker sees it. */
export interface FetchedBatch {
  /** Offset the fetch asked for (kafkajs `batch.fetchedOffset`), or the first record's offset. */
  readonly fetchedOffset: bigint;
  /** Next offset after the batch (last offset in the batch + 1, markers included). */
  readonly nextOffset: bigint;
  /** The client has a seek pending for this partition (kafkajs `isStale()`). */
  readonly stale: boolean;
}

/** Tracks every assigned partition's expected offset, epoch and pause flag. */
export class PartitionTracker {
  private readonly states = new Map<string, PartitionState>();
  private readonly epochs = new Map<string, number>();

  /**
   * Replaces the assignment: every partition in `assigned` gets a new epoch, a forgotten
   * position and the paused flag; partitions not in it are dropped.
   */
  assign(assigned: readonly TopicPartition[]): void {
    this.states.clear();
    for (const { topic, partition } of assigned) {
      const key = tpKey(topic, partition);
      const epoch = (this.epochs.get(key) ?? 0) + 1;
      this.epochs.set(key, epoch);
      this.states.set(key, { expected: undefined, epoch, paused: true, seekPending: false });
    }
  }

  /** Forgets every partition (after a crash): nothing is owned until the next assignment. */
  clear(): void {
    this.states.clear();
  }

  /** True when the partition is assigned now. */
  owns(tp: TopicPartition): boolean {
    return this.states.has(tpKey(tp.topic, tp.partition));
  }

  /** The partition's current epoch, or undefined when not assigned. */
  epoch(tp: TopicPartition): number | undefined {
    return this.states.get(tpKey(tp.topic, tp.partition))?.epoch;
  }

  /** The next offset we expect, or undefined when unknown or not assigned. */
  expected(tp: TopicPartition): bigint | undefined {
    return this.states.get(tpKey(tp.topic, tp.partition))?.expected;
  }

  /** Records a seek; returns false when the partition is not assigned. Bumps the epoch. */
  seek(tp: TopicPartition, offset: bigint): boolean {
    const key = tpKey(tp.topic, tp.partition);
    const s = this.states.get(key);
    if (!s) return false;
    s.expected = offset;
    s.seekPending = true;
    s.epoch += 1;
    this.epochs.set(key, s.epoch);
    return true;
  }

  /** Sets the paused flag of the assigned ones among `tps`; returns those. */
  setPaused(tps: readonly TopicPartition[], paused: boolean): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const tp of tps) {
      const s = this.states.get(tpKey(tp.topic, tp.partition));
      if (!s) continue;
      s.paused = paused;
      out.push(tp);
    }
    return out;
  }

  /** True when the partition is assigned and paused. */
  isPaused(tp: TopicPartition): boolean {
    return this.states.get(tpKey(tp.topic, tp.partition))?.paused ?? false;
  }

  /** Decides whether a fetched batch is delivered; on accept, the expected offset moves past it. */
  onBatch(tp: TopicPartition, b: FetchedBatch): BatchVerdict {
    const s = this.states.get(tpKey(tp.topic, tp.partition));
    if (!s) return { accept: false, reason: 'unassigned' };
    if (b.stale) return { accept: false, reason: 'stale' };
    if (s.paused) {
      s.seekPending = true;
      return { accept: false, reason: 'paused', reseek: s.expected ?? b.fetchedOffset };
    }
    // Not seeked since the join: kafkajs fetched from wherever it restarted the partition
    // (the group's committed offset, or its reset policy), which is not ours to accept. The
    // handler's seek is on its way.
    if (s.expected === undefined) return { accept: false, reason: 'unpositioned' };
    if (b.fetchedOffset === s.expected) {
      s.expected = b.nextOffset;
      s.seekPending = false;
      return { accept: true, epoch: s.epoch };
    }
    s.seekPending = true;
    return { accept: false, reason: 'gap', reseek: s.expected };
  }

  /**
   * A batch without deliverable records (transaction markers, aborted or compacted records)
   * that the client consumed by itself, spanning `first` (null when unknown) to `last`.
   * Returns the new expected offset when it advanced, else undefined.
   */
  onSkipped(tp: TopicPartition, first: bigint | null, last: bigint): bigint | undefined {
    const s = this.states.get(tpKey(tp.topic, tp.partition));
    if (!s || s.expected === undefined) return undefined;
    const lo = first ?? last;
    const covers = lo <= s.expected && s.expected <= last;
    // Past the expected offset with no seek in flight: the fetch was at the expected offset and
    // the records in between are gone (compaction), so the span is contiguous.
    const gapAfter = lo > s.expected && !s.seekPending;
    if (!covers && !gapAfter) return undefined;
    s.expected = last + 1n;
    return s.expected;
  }
}
