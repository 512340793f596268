/**
 * One owned Kafka partition, as the coordinator tracks it between fetch and commit.
 *
 * - `expected`: the next offset the Source must deliver; a batch is accepted only when it
 *   was fetched there (it may start later: compaction gaps), and moves `expected` to its end.
 * - `applied`: the end of what reached the table buffer (or the table); batches are applied
 *   strictly in order, through one promise chain per lane, each starting at `applied`.
 * - `committed`: the next offset recorded in the table (durable), once known.
 * - `start`: where this owner began reading, before anything was committed: the offset a
 *   refused commit returns a never-committed partition to.
 * - `epoch`: bumped when the lane is re-seeked (refused commit), fetches again (a corrupt
 *   record batch) or is dropped (revoked); work queued under an older epoch is skipped when
 *   it runs.
 * - `poison`: the first failure of the lane's work; after it nothing of the lane is applied.
 * - the smallest record timestamp of each claimed batch not yet committed (`noteTimestamps`),
 *   which the completeness watermark needs (../commit/watermark.ts); a raw fetch is claimed
 *   before its records are parsed, so its entry is pending until the parse returns.
 */
import { KiceError } from '../errors.ts';

export class PartitionLane<T = unknown> {
  readonly key: string;
  epoch = 0;
  expected: bigint;
  applied: bigint;
  committed: bigint | undefined;
  start: bigint;
  poison: Error | undefined;
  revoked = false;
  private chain: Promise<void> = Promise.resolve();
  /** Claimed batches not known committed, in claim order: their end and smallest timestamp
   * (undefined while not known yet: a raw fetch claimed before its parse returns). */
  private claimedTimestamps: { to: bigint; minTs: number | undefined }[] = [];

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly table: T,
    offset: bigint,
    committed: bigint | undefined,
  ) {
    this.key = `${topic}:${partition}`;
    this.expected = offset;
    this.applied = offset;
    this.start = offset;
    this.committed = committed;
  }

  /** Claims the range of a batch fetched at `expected`: returns its [from, to), or undefined
   * when the batch is stale (before `expected`) or the lane is poisoned or revoked. */
  claim(firstOffset: bigint, nextOffset: bigint): { from: bigint; to: bigint } | undefined {
    if (this.poison || this.revoked) return undefined;
    if (firstOffset < this.expected || nextOffset <= this.expected) return undefined;
    const from = this.expected;
    this.expected = nextOffset;
    return { from, to: nextOffset };
  }

  /**
   * Records the smallest record timestamp of the batch claimed last, ending at `to`, or
   * fills in the one of a claimed range noted pending (`notePendingTimestamps`).
   */
  noteTimestamps(to: bigint, minTs: number): void {
    for (let i = this.claimedTimestamps.length - 1; i >= 0; i--) {
      const c = this.claimedTimestamps[i] as { to: bigint; minTs: number | undefined };
      if (c.to === to) {
        c.minTs = minTs;
        return;
      }
      if (c.to < to) break;
    }
    this.claimedTimestamps.push({ to, minTs });
  }

  /** Notes a range just claimed, ending at `to`, whose timestamps are not known yet. */
  notePendingTimestamps(to: bigint): void {
    this.claimedTimestamps.push({ to, minTs: undefined });
  }

  /**
   * The smallest timestamp of the claimed records at offsets >= `offset` (Infinity: none;
   * undefined: a claimed range there has timestamps not known yet).
   */
  minTimestampFrom(offset: bigint): number | undefined {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.claimedTimestamps) {
      if (c.to <= offset) continue;
      if (c.minTs === undefined) return undefined;
      if (c.minTs < min) min = c.minTs;
    }
    return min;
  }

  /** Forgets the timestamps of batches below `offset` (committed). */
  forgetTimestampsBelow(offset: bigint): void {
    let i = 0;
    while (i < this.claimedTimestamps.length && (this.claimedTimestamps[i]?.to as bigint) <= offset)
      i++;
    if (i > 0) this.claimedTimestamps = this.claimedTimestamps.slice(i);
  }

  /** Claims [expected, next) for a partition that advanced without records (markers). */
  claimProgress(next: bigint): { from: bigint; to: bigint } | undefined {
    if (this.poison || this.revoked || next <= this.expected) return undefined;
    const from = this.expected;
    this.expected = next;
    return { from, to: next };
  }

  /**
   * Queues work for a claimed range, in claim order. `apply` runs only if the lane's epoch
   * is unchanged and it is not poisoned, and is given `current()` to check again after each
   * of its awaits (a re-seek or revoke meanwhile makes its result stale); `always` runs in
   * every case (release resources). A failure poisons the lane and goes to `onFailure`.
   */
  enqueue(
    range: { from: bigint; to: bigint },
    apply: (current: () => boolean) => Promise<void> | void,
    always: () => void,
    onFailure: (e: Error) => void,
  ): Promise<void> {
    const epoch = this.epoch;
    const current = () => this.epoch === epoch && !this.poison && !this.revoked;
    const run = async (): Promise<void> => {
      try {
        if (!current()) return;
        if (range.from !== this.applied) {
          throw new KiceError(
            'INTERNAL',
            `${this.key}: range [${range.from}, ${range.to}) does not continue the applied offset ${this.applied}`,
          );
        }
        await apply(current);
        if (current()) this.applied = range.to;
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        this.poison ??= err;
        onFailure(err);
      } finally {
        always();
      }
    };
    this.chain = this.chain.then(run);
    return this.chain;
  }

  /** Resolves when every queued piece of work has run. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Moves the lane to `offset` (after a refused commit): queued work is skipped. */
  reseek(offset: bigint): void {
    this.epoch++;
    this.expected = offset;
    this.applied = offset;
    this.claimedTimestamps = [];
  }

  /**
   * Fetches again from `offset`, the start of the claimed range whose work is running now
   * (a fetched record batch failed its CRC check): what was claimed from there on is
   * skipped, what was applied before it stays (and so do its timestamps).
   */
  refetchFrom(offset: bigint): void {
    this.epoch++;
    this.expected = offset;
    this.claimedTimestamps = this.claimedTimestamps.filter((c) => c.to <= offset);
  }

  /** The lane is no longer owned: queued work is skipped. */
  revoke(): void {
    this.epoch++;
    this.revoked = true;
    this.claimedTimestamps = [];
  }

  /** Where the table's next commit for this partition must start. */
  durable(): bigint {
    return this.committed ?? this.start;
  }
}
