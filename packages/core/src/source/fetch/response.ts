/**
 * The Fetch response, version 11, decoded by kice (https://kafka.apache.org/protocol#The_Messages_Fetch):
 *
 *   throttle_time_ms INT32 | error_code INT16 | session_id INT32
 *   | responses ARRAY(topic STRING, partitions ARRAY(partition_index INT32, error_code INT16,
 *       high_watermark INT64, last_stable_offset INT64, log_start_offset INT64,
 *       aborted_transactions nullable ARRAY(producer_id INT64, first_offset INT64),
 *       preferred_read_replica INT32, records nullable BYTES))
 *
 * (the body after the response header's correlation id). No record is read: per partition
 * the records bytes are walked batch by batch with only each batch's header — baseOffset
 * INT64, batchLength INT32 (the bytes after these 12), magic INT8 at byte 16 and
 * lastOffsetDelta INT32 at byte 23 (https://kafka.apache.org/documentation/#recordbatch) —
 * and the WHOLE batches are copied into shared memory: a slab of the given SharedSlabs
 * (./shared-slabs.ts; the partition's `release` gives it back), else a fresh
 * SharedArrayBuffer. A batch cut short at
 * the end (the broker stops at a byte limit, not at a batch boundary) is left out and
 * counted in `truncatedBytes`; `nextOffset` is the last whole batch's base offset + last
 * offset delta + 1. A batch of another magic than 2 (the message formats before Kafka
 * 0.11) or framed wrongly fails the decode with a FetchDecodeError naming the partition and
 * offset: kice reads only v2 batches.
 */
import { KiceError } from '../../errors.ts';
import type { SharedSlabs } from './shared-slabs.ts';

/** An aborted transaction of a partition's fetched range. */
export interface FetchedAbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/** One partition of a Fetch response. */
export interface FetchedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  readonly logStartOffset: bigint;
  readonly abortedTransactions: readonly FetchedAbortedTransaction[];
  readonly preferredReadReplica: number;
  /** The whole batches, SharedArrayBuffer-backed (empty when there is none). */
  readonly data: Uint8Array;
  /** Number of whole batches in `data`. */
  readonly batches: number;
  /** After the last whole batch; undefined when there is none. */
  readonly nextOffset: bigint | undefined;
  /** Bytes of the batch cut short at the end of the records (0 when none was). */
  readonly truncatedBytes: number;
  /**
   * When `data` is a slab of a SharedSlabs: gives it back (once; later calls do nothing).
   * Call it only when nothing reads `data` any more.
   */
  readonly release?: () => void;
}

export interface FetchedTopic {
  readonly topic: string;
  readonly partitions: readonly FetchedPartition[];
}

export interface FetchResponse {
  readonly throttleTimeMs: number;
  /** The top-level error (fetch sessions only; 0 otherwise). */
  readonly errorCode: number;
  readonly sessionId: number;
  readonly topics: readonly FetchedTopic[];
}

/** A Fetch response that cannot be read: malformed, or holding a batch kice cannot read. */
export class FetchDecodeError extends KiceError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('KAFKA', message, { context });
    this.name = 'FetchDecodeError';
  }
}

/** baseOffset (8) + batchLength (4). */
const LOG_OVERHEAD = 12;
/** Bytes of a v2 batch header after LOG_OVERHEAD (partitionLeaderEpoch .. recordCount). */
const MIN_BATCH_LENGTH = 49;
const MAGIC_AT = 16;
const LAST_OFFSET_DELTA_AT = 23;

/** A bounds-checked big-endian reader over the response body. */
class Reader {
  private at = 0;
  private readonly view: DataView;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number, what: string): number {
    const at = this.at;
    if (at + n > this.b.length) {
      throw new FetchDecodeError(
        `Fetch response ends inside ${what} (at byte ${at}, ${this.b.length} bytes)`,
      );
    }
    this.at = at + n;
    return at;
  }
  int8(what: string): number {
    return this.view.getInt8(this.need(1, what));
  }
  int16(what: string): number {
    return this.view.getInt16(this.need(2, what));
  }
  int32(what: string): number {
    return this.view.getInt32(this.need(4, what));
  }
  int64(what: string): bigint {
    return this.view.getBigInt64(this.need(8, what));
  }
  string(what: string): string {
    const n = this.int16(what);
    if (n < 0) throw new FetchDecodeError(`Fetch response has a null ${what}`);
    const at = this.need(n, what);
    return Buffer.from(this.b.buffer, this.b.byteOffset + at, n).toString('utf8');
  }
  /** A nullable BYTES field as a view (null → empty). */
  bytes(what: string): Uint8Array {
    const n = this.int32(what);
    if (n < 0) return this.b.subarray(0, 0);
    const at = this.need(n, what);
    return this.b.subarray(at, at + n);
  }
  get done(): boolean {
    return this.at === this.b.length;
  }
}

/** Decodes a Fetch v11 response body; see the module comment. */
export function decodeFetchResponse(body: Uint8Array, slabs?: SharedSlabs): FetchResponse {
  const r = new Reader(body);
  const throttleTimeMs = r.int32('throttle_time_ms');
  const errorCode = r.int16('error_code');
  const sessionId = r.int32('session_id');
  const topicCount = r.int32('responses');
  const topics: FetchedTopic[] = [];
  for (let t = 0; t < Math.max(0, topicCount); t++) {
    const topic = r.string('topic');
    const count = r.int32('partitions');
    const partitions: FetchedPartition[] = [];
    for (let p = 0; p < Math.max(0, count); p++) partitions.push(readPartition(r, topic, slabs));
    topics.push({ topic, partitions });
  }
  if (!r.done) throw new FetchDecodeError('Fetch response has bytes after its last topic');
  return { throttleTimeMs, errorCode, sessionId, topics };
}

function readPartition(r: Reader, topic: string, slabs?: SharedSlabs): FetchedPartition {
  const partition = r.int32('partition_index');
  const errorCode = r.int16('error_code');
  const highWatermark = r.int64('high_watermark');
  const lastStableOffset = r.int64('last_stable_offset');
  const logStartOffset = r.int64('log_start_offset');
  const abortedCount = r.int32('aborted_transactions');
  const abortedTransactions: FetchedAbortedTransaction[] = [];
  for (let i = 0; i < abortedCount; i++) {
    abortedTransactions.push({
      producerId: r.int64('producer_id'),
      firstOffset: r.int64('first_offset'),
    });
  }
  const preferredReadReplica = r.int32('preferred_read_replica');
  const records = r.bytes('records');
  return {
    partition,
    errorCode,
    highWatermark,
    lastStableOffset,
    logStartOffset,
    abortedTransactions,
    preferredReadReplica,
    ...wholeBatches(records, topic, partition, slabs),
  };
}

/** The whole batches of a partition's records, copied into shared memory. */
export function wholeBatches(
  records: Uint8Array,
  topic: string,
  partition: number,
  slabs?: SharedSlabs,
): Pick<FetchedPartition, 'data' | 'batches' | 'nextOffset' | 'truncatedBytes' | 'release'> {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let at = 0;
  let batches = 0;
  let nextOffset: bigint | undefined;
  while (records.length - at >= LOG_OVERHEAD) {
    const baseOffset = view.getBigInt64(at);
    const length = view.getInt32(at + 8);
    const context = { topic, partition, offset: baseOffset.toString() };
    if (records.length - at > MAGIC_AT) {
      const magic = view.getInt8(at + MAGIC_AT);
      if (magic !== 2) {
        throw new FetchDecodeError(
          `record batch at ${topic}/${partition} offset ${baseOffset} has magic ${magic}: ` +
            'kice reads only record batches of magic 2 (Kafka 0.11 and later message format)',
          context,
        );
      }
    }
    if (length < MIN_BATCH_LENGTH) {
      throw new FetchDecodeError(
        `record batch at ${topic}/${partition} offset ${baseOffset} has batchLength ${length} (at least ${MIN_BATCH_LENGTH})`,
        context,
      );
    }
    const end = at + LOG_OVERHEAD + length;
    if (end > records.length) break;
    nextOffset = baseOffset + BigInt(view.getInt32(at + LAST_OFFSET_DELTA_AT)) + 1n;
    batches += 1;
    at = end;
  }
  const truncatedBytes = records.length - at;
  if (slabs === undefined || at === 0) {
    const data = new Uint8Array(new SharedArrayBuffer(at));
    data.set(records.subarray(0, at));
    return { data, batches, nextOffset, truncatedBytes };
  }
  const data = slabs.take(at);
  data.set(records.subarray(0, at));
  let given = false;
  const release = () => {
    if (given) return;
    given = true;
    slabs.give(data);
  };
  return { data, batches, nextOffset, truncatedBytes, release };
}
