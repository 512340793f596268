/**
 * The client-agnostic Source seam between the coordinator and a Kafka client.
 *
 * Offsets are bigint everywhere. The coordinator never sees client objects: a batch arrives
 * as plain typed arrays over a fresh buffer, assignment changes arrive as callbacks, and the
 * coordinator drives positions (seek), flow (pause/resume) and Kafka offset commits.
 * kafkajs is the client behind it today (kafkajs-source.ts). The contract is shaped by what
 * kafkajs does: it forgets every position on every rebalance (so the handler seeks every
 * assigned partition on every join) and has no backpressure of its own (so the coordinator
 * pauses and resumes); docs/ARCHITECTURE.md walks through it.
 */

/** One partition of one topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** An explicit next offset to commit to the Kafka group for one partition. */
export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read (last processed + 1), as Kafka commits it. */
  readonly offset: bigint;
}

/** What a group join tells about the new assignment. */
export interface AssignInfo {
  /** A local join counter, strictly increasing per Source (kafkajs does not expose the group generation at join time). */
  readonly generation: number;
  /** This member's id in the group. */
  readonly memberId: string;
  /** True when every previous partition was lost (member id changed, or the consumer crashed and restarted). */
  readonly lostAll: boolean;
}

/**
 * Callbacks the Source calls. None of them may block the client: `onBatch` must enqueue and
 * return; `onAssign` may be async (the Source does not wait for it, the partitions stay paused
 * until the handler seeks and resumes them).
 */
export interface SourceHandlers {
  /**
   * Called on EVERY group join with the FULL new assignment. Before calling it the Source has
   * paused every assigned partition synchronously and forgotten their positions; the handler
   * seeks each one (numeric offsets only) and then resumes it. A rejected promise goes to onError.
   */
  onAssign(assigned: TopicPartition[], info: AssignInfo): void | Promise<void>;
  /** Partitions this member no longer owns (called before onAssign of the same join). */
  onRevoke(revoked: TopicPartition[]): void;
  /** A contiguous batch of records. Must not block; must not throw (a throw goes to onError). */
  onBatch(batch: SourceBatch): void;
  /** A fatal client error (consumer crashed without restart) or a handler failure. */
  onError(e: Error): void;
  /** A partition advanced without records (transaction markers, compaction gaps). */
  onProgress?(tp: TopicPartition, nextOffset: bigint): void;
  /**
   * The raw fetch path (source option `fetch: 'raw'`): one partition's fetched record
   * batches as bytes, not yet parsed. A Source on that path calls this instead of onBatch
   * and onProgress; the handler has the pool parse `data` (batches/parse.ts). Must not
   * block; must not throw.
   */
  onRawFetch?(fetch: RawFetch): void;
}

/**
 * One partition's share of a Fetch response on the raw path: whole record batches (magic
 * v2, https://kafka.apache.org/documentation/#recordbatch) copied into shared memory as the
 * broker sent them, with what parsing them needs. The main thread reads nothing per record:
 * `nextOffset` comes from the batch headers (base offset + last offset delta + 1).
 */
export interface RawFetch {
  readonly topic: string;
  readonly partition: number;
  /** The offset the fetch asked for (the partition's position then); records before it are dropped by the parser. */
  readonly fetchOffset: bigint;
  /** After the last whole batch in `data` (> fetchOffset: a RawFetch always advances). */
  readonly nextOffset: bigint;
  /** Whole batches only (a batch cut short at the end of the response is left out), SharedArrayBuffer-backed. */
  readonly data: Uint8Array;
  /** The response's aborted transactions for this partition (read_committed). */
  readonly abortedTransactions: readonly {
    readonly producerId: bigint;
    readonly firstOffset: bigint;
  }[];
  readonly isolation: 'read_committed' | 'read_uncommitted';
  /** The partition's high watermark and last stable offset in the response. */
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  /** Parse keys / headers too (the source options keepKeys / keepHeaders for this topic). */
  readonly keepKeys: boolean;
  readonly keepHeaders: boolean;
  /** The partition's epoch when the fetch was sent (bumped on every seek and assignment). */
  readonly epoch: number;
  /**
   * Set when the fetcher moved this partition forward past records the log no longer holds
   * (OFFSET_OUT_OF_RANGE below the log start: retention): the position it was asked for.
   * The reader accepts [skippedFrom, fetchOffset) as a gap only with this mark; a fetch
   * ahead of where the reader expects without it is a fetcher out of step, refetched.
   */
  readonly skippedFrom?: bigint;
  /**
   * Gives `data`'s memory back for a later fetch to reuse (once; later calls do nothing).
   * The reader calls it as soon as nothing reads `data` any more: its parse has settled,
   * or the fetch was refused unread. Absent when `data` is not pooled.
   */
  readonly release?: () => void;
}

/**
 * A contiguous run of records of one partition, copied out of the client's buffers.
 * Record i's value is `bytes.subarray(offsets[i], offsets[i + 1])`, or null when `nulls[i] === 1`.
 */
export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record. */
  readonly firstOffset: bigint;
  /** Offset of the last record. */
  readonly lastOffset: bigint;
  /** Next offset to read: lastOffset + 1, or higher when markers or compaction gaps follow. */
  readonly nextOffset: bigint;
  /** Number of records. */
  readonly count: number;
  /** All values packed contiguously into a fresh buffer (never a view of the client's buffers). */
  readonly bytes: Uint8Array;
  /** count + 1 positions into bytes. */
  readonly offsets: Int32Array;
  /** 1 where the value was null (a tombstone). */
  readonly nulls: Uint8Array;
  /** Kafka offset of each record. */
  readonly recordOffsets: BigInt64Array;
  /** Keys, packed like the values, when the Source was asked to keep them. */
  readonly keys?: PackedKeys;
  /** Headers of each record, when the Source was asked to keep them. */
  readonly headers?: ReadonlyArray<readonly RecordHeader[]>;
  /** Record timestamps in epoch milliseconds. */
  readonly timestamps: Float64Array;
  /** 1 where the record's batch has LogAppendTime timestamps, 0 for CreateTime (absent: all CreateTime). */
  readonly timestampTypes?: Uint8Array;
  /** The partition's epoch when the batch was accepted (bumped on every seek and assignment). */
  readonly epoch: number;
}

/**
 * One record header: its name and its raw value bytes (null: a header without a value).
 * A record's headers are kept as a list in the client's order: every name in the order it
 * first appears, each with all its values in order (kafkajs groups a repeated name's
 * values, so only headers that interleave names lose their relative order).
 */
export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** Keys of a batch, packed like its values. */
export interface PackedKeys {
  readonly bytes: Uint8Array;
  /** count + 1 positions into bytes. */
  readonly offsets: Int32Array;
  /** 1 where the key was null. */
  readonly nulls: Uint8Array;
}

/** The Source seam the coordinator talks to. */
export interface Source {
  /** Connects, subscribes and starts fetching; resolves once the consumer runs. */
  start(handlers: SourceHandlers): Promise<void>;
  /** Stops delivery for these partitions (local, takes effect at once for new batches). */
  pause(tps: TopicPartition[]): void;
  /** Restarts delivery for these partitions. */
  resume(tps: TopicPartition[]): void;
  /** Moves the partition's next fetch to `offset` (a non-negative number) and bumps its epoch. */
  seek(tp: TopicPartition, offset: bigint): void;
  /** Commits explicit next offsets to the Kafka group (only for partitions owned now). */
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Next offset at the end of each partition (last stable offset), keyed "topic:partition". */
  fetchEndOffsets(topics: string[]): Promise<Map<string, bigint>>;
  /** First offset still in each partition (log start), keyed "topic:partition". */
  fetchBeginningOffsets(topics: string[]): Promise<Map<string, bigint>>;
  /** The group's committed next offsets, keyed "topic:partition" (partitions without one are absent). */
  fetchCommittedOffsets(groupId: string, topics: string[]): Promise<Map<string, bigint>>;
  /** Names of the cluster's topics, internal ones ("__…") left out. */
  listTopics(): Promise<string[]>;
  /** Leaves the group and disconnects. */
  stop(): Promise<void>;
}

/** A pino-like structured logger. */
export interface SourceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** The map key of a topic-partition: "topic:partition". */
export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
