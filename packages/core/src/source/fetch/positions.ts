/**
 * The raw fetcher's per-partition state (https://kafka.apache.org/protocol#The_Messages_Fetch
 * is what it drives): the next offset to fetch, the epoch, pause, back-off and whether a
 * fetch of it is in flight.
 *
 * - assign(tps) replaces the assignment: every partition is paused and unpositioned, its
 *   epoch bumped (epochs survive re-assignment, so a response sent before is always stale);
 * - seek(tp, offset) positions it and bumps its epoch;
 * - advance(tp, next) moves the position after a delivered fetch (or to the log start after
 *   OFFSET_OUT_OF_RANGE) without a new epoch: what follows is contiguous for the reader, or
 *   a gap the reader accepts;
 * - a partition is fetchable when assigned, positioned, resumed, not failed, not backing
 *   off and not already in flight.
 */
import { type TopicPartition, tpKey } from '../types.ts';

export interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to fetch; undefined until the first seek after assignment. */
  offset: bigint | undefined;
  epoch: number;
  paused: boolean;
  inFlight: boolean;
  /** No fetch before this time (ms since the epoch); 0 = none. */
  retryAt: number;
  /** Consecutive failed fetches (back-off exponent). */
  failures: number;
  /** Not fetched again until the next seek or assignment (reported as an error). */
  failed: boolean;
  /** Put first in the next request (its only batch came back cut short while not first). */
  first: boolean;
  /** The position before a move to the log start, until the next delivery reports it
   * (RawFetch.skippedFrom); cleared by a seek or assignment. */
  skippedFrom?: bigint | undefined;
}

export class Positions {
  private readonly states = new Map<string, PartitionPosition>();
  private readonly epochs = new Map<string, number>();

  assign(tps: readonly TopicPartition[]): void {
    this.states.clear();
    for (const { topic, partition } of tps) {
      const key = tpKey(topic, partition);
      const epoch = (this.epochs.get(key) ?? 0) + 1;
      this.epochs.set(key, epoch);
      this.states.set(key, {
        topic,
        partition,
        offset: undefined,
        epoch,
        paused: true,
        inFlight: false,
        retryAt: 0,
        failures: 0,
        failed: false,
        first: false,
      });
    }
  }

  get(tp: TopicPartition): PartitionPosition | undefined {
    return this.states.get(tpKey(tp.topic, tp.partition));
  }

  /** Positions an assigned partition and bumps its epoch; false when not assigned. */
  seek(tp: TopicPartition, offset: bigint): boolean {
    const s = this.get(tp);
    if (!s) return false;
    s.offset = offset;
    s.skippedFrom = undefined;
    s.epoch += 1;
    this.epochs.set(tpKey(tp.topic, tp.partition), s.epoch);
    s.retryAt = 0;
    s.failures = 0;
    s.failed = false;
    s.first = false;
    return true;
  }

  /** Sets the paused flag of the assigned ones; returns those. */
  setPaused(tps: readonly TopicPartition[], paused: boolean): PartitionPosition[] {
    const out: PartitionPosition[] = [];
    for (const tp of tps) {
      const s = this.get(tp);
      if (!s) continue;
      s.paused = paused;
      out.push(s);
    }
    return out;
  }

  /** Every assigned partition. */
  all(): IterableIterator<PartitionPosition> {
    return this.states.values();
  }

  /** Wants fetching, back-off aside. */
  static wanted(s: PartitionPosition): boolean {
    return s.offset !== undefined && !s.paused && !s.failed && !s.inFlight;
  }
}
