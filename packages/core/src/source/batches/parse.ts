/**
 * Parsing one partition's fetched bytes: a run of Kafka record batches (magic v2,
 * https://kafka.apache.org/documentation/#recordbatch), as a Fetch response carries them
 * and as a broker's log segment files hold them, into the packed layout the decode path
 * reads (values packed into one SharedArrayBuffer with an Int32Array of positions, plus
 * each record's Kafka offset, timestamp and timestamp type; keys and headers when asked):
 * the fields of a SourceBatch (source/types.ts) without its epoch.
 *
 * - Every batch's CRC-32C (attributes to the end of the batch) is checked; a mismatch is a
 *   RecordBatchError (retryable: the fetcher fetches the batch again), naming topic,
 *   partition and the batch's base offset. So is a batch whose records do not fit their
 *   framing, and one the codec cannot decompress (not retryable: its CRC was right, so the
 *   producer wrote it so).
 * - Compressed batches (gzip, snappy, lz4, zstd) are decompressed here (compression.ts).
 * - Control batches (transaction markers) are skipped under either isolation level.
 * - read_committed: a transactional batch is dropped when its producer has an aborted
 *   transaction open at that point. The fetch response's aborted-transactions list gives,
 *   per producer id, the first offset of each aborted transaction in the fetched range;
 *   a producer becomes "aborted" once a batch at or past that offset is reached and stops
 *   being so at its ABORT marker. Non-transactional batches are never dropped.
 * - Offsets need not be contiguous (compacted topics): each record's offset is its batch's
 *   base offset plus its offset delta; `nextOffset` follows the last batch's last offset
 *   delta, which covers records the cleaner removed.
 * - A batch cut short at the end of the bytes (a fetch stops at a byte limit, not at a
 *   batch boundary) is ignored: `truncatedBytes` says how much, and `nextOffset` stays at
 *   that batch so that it is fetched again.
 * - Records before `fetchOffset` (a batch fetched whole that starts before the position
 *   asked for) are dropped.
 *
 * Memory: the values' SharedArrayBuffer is sized to the batches' (decompressed) records
 * sections, so it is larger than the values by their framing, keys and headers; `bytes` is
 * a view of the values only. The per-record arrays (positions, offsets, timestamps, flags)
 * share one more SharedArrayBuffer, and kept keys are copied into a third one at the end:
 * a result posted between threads copies none of them. Headers (only when asked for) are
 * plain objects and are copied.
 */
import { KiceError } from '../../errors.ts';
import type { PackedKeys, RecordHeader, SourceBatch } from '../types.ts';
import { CODEC_NAMES, decompress } from './compression.ts';
import { crc32c } from './crc32c.ts';

/** An aborted transaction from a Fetch response. */
export interface AbortedTransaction {
  readonly producerId: bigint;
  /** Offset of the transaction's first record. */
  readonly firstOffset: bigint;
}

export type IsolationLevel = 'read_committed' | 'read_uncommitted';

export interface ParseInput {
  readonly topic: string;
  readonly partition: number;
  /** The partition's fetched record batches, concatenated as the broker sent them. */
  readonly data: Uint8Array;
  /** The offset the fetch asked for; records before it are dropped. */
  readonly fetchOffset: bigint;
  readonly isolation: IsolationLevel;
  /** The fetch response's aborted transactions for this partition (read_committed). */
  readonly abortedTransactions?: readonly AbortedTransaction[];
  /** Copy keys too (default false). */
  readonly keepKeys?: boolean;
  /** Copy headers too (default false). */
  readonly keepHeaders?: boolean;
}

/** A SourceBatch without its epoch (the coordinator stamps that). */
export type ParsedRecords = Omit<SourceBatch, 'epoch'>;

export interface ParsedFetch {
  /** The records kept, or undefined when none was. */
  readonly records?: ParsedRecords;
  /** Next offset to fetch: after the last whole batch, or fetchOffset when there was none. */
  readonly nextOffset: bigint;
  /** Whole batches read (control batches included). */
  readonly batches: number;
  readonly controlBatches: number;
  /** Records dropped as part of aborted transactions (read_committed). */
  readonly abortedRecords: number;
  /** Bytes of a batch cut short at the end of `data` (0 when data ends on a batch boundary). */
  readonly truncatedBytes: number;
}

/** A record batch that cannot be read: corrupt, unsupported, or framed wrongly. */
export class RecordBatchError extends KiceError {
  constructor(
    topic: string,
    partition: number,
    offset: bigint,
    problem: string,
    retryable: boolean,
    cause?: unknown,
  ) {
    super('KAFKA', `record batch at ${topic}/${partition} offset ${offset}: ${problem}`, {
      retryable,
      context: { topic, partition, offset: offset.toString() },
      ...(cause === undefined ? {} : { cause }),
    });
    this.name = 'RecordBatchError';
  }
}

/** Size of the v2 batch header up to (not including) the records. */
const HEADER = 61;
/** baseOffset (8) + batchLength (4): batchLength counts the bytes after these. */
const LOG_OVERHEAD = 12;
const TWO_32 = 4294967296;

/** One whole batch found in the first pass, its records section (decompressed) to parse. */
interface Found {
  readonly records: Uint8Array;
  readonly count: number;
  readonly baseHi: number;
  readonly baseLo: number;
  readonly base: bigint;
  readonly baseTimestamp: number;
  readonly logAppendTime: boolean;
  readonly maxTimestamp: number;
  /** Offset deltas below this are before fetchOffset. */
  readonly minDelta: number;
}

/** Reads batches off `input.data`; see the module comment. */
export function parseRecordBatches(input: ParseInput): ParsedFetch {
  const { data, topic, partition, fetchOffset } = input;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const committed = input.isolation === 'read_committed';
  const aborted = committed
    ? [...(input.abortedTransactions ?? [])].sort((a, b) =>
        a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
      )
    : [];
  let nextAborted = 0;
  const abortedProducers = new Set<bigint>();
  const found: Found[] = [];
  let capacity = 0;
  let maxRecords = 0;
  let batches = 0;
  let controlBatches = 0;
  let abortedRecords = 0;
  let nextOffset = fetchOffset;
  let at = 0;
  const end = data.length;
  while (end - at >= LOG_OVERHEAD) {
    const start = at;
    const base = view.getBigInt64(at);
    const length = view.getInt32(at + 8);
    const fail = (problem: string, retryable: boolean, cause?: unknown) =>
      new RecordBatchError(topic, partition, base, problem, retryable, cause);
    if (length < HEADER - LOG_OVERHEAD) throw fail(`batch length ${length} is too small`, true);
    const stop = at + LOG_OVERHEAD + length;
    if (stop > end) break;
    const magic = data[at + 16];
    if (magic !== 2) throw fail(`magic ${magic} is not supported (only v2 record batches)`, false);
    const stored = view.getUint32(at + 17);
    const computed = crc32c(data, at + 21, stop);
    if (stored !== computed)
      throw fail(
        `CRC32C mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)}): corrupt batch`,
        true,
      );
    const attributes = view.getInt16(at + 21);
    const lastDelta = view.getInt32(at + 23);
    const last = base + BigInt(lastDelta);
    const producerId = view.getBigInt64(at + 43);
    const count = view.getInt32(at + 57);
    batches++;
    at = stop;
    if (last + 1n > nextOffset) nextOffset = last + 1n;
    const control = (attributes & 0x20) !== 0;
    if (committed && producerId >= 0n) {
      while (
        nextAborted < aborted.length &&
        (aborted[nextAborted] as AbortedTransaction).firstOffset <= last
      )
        abortedProducers.add((aborted[nextAborted++] as AbortedTransaction).producerId);
      if (control) {
        if (isAbortMarker(data, start, stop, attributes)) abortedProducers.delete(producerId);
      } else if ((attributes & 0x10) !== 0 && abortedProducers.has(producerId)) {
        abortedRecords += count;
        continue;
      }
    }
    if (control) {
      controlBatches++;
      continue;
    }
    if (last < fetchOffset || count <= 0) continue;
    const codec = attributes & 0x07;
    let records = data.subarray(start + HEADER, stop);
    if (codec !== 0) {
      try {
        records = decompress(codec, records);
      } catch (e) {
        throw fail(
          `${CODEC_NAMES[codec] ?? `codec ${codec}`} decompression failed: ${(e as Error).message}`,
          false,
          e,
        );
      }
    }
    found.push({
      records,
      count,
      base,
      baseHi: view.getInt32(start),
      baseLo: view.getUint32(start + 4),
      baseTimestamp: int64(view, start + 27),
      logAppendTime: (attributes & 0x08) !== 0,
      maxTimestamp: int64(view, start + 35),
      minDelta: base < fetchOffset ? Number(fetchOffset - base) : 0,
    });
    capacity += records.length;
    maxRecords += count;
  }
  const stats = { nextOffset, batches, controlBatches, abortedRecords, truncatedBytes: end - at };
  if (found.length === 0) return stats;
  const records = unpack(input, found, capacity, maxRecords, nextOffset);
  return records ? { ...stats, records } : stats;
}

/** A signed big-endian int64 as a number (exact below 2^53). */
function int64(view: DataView, at: number): number {
  return view.getInt32(at) * TWO_32 + view.getUint32(at + 4);
}

/** True for a control batch whose (single) record's key says ABORT (type 0). */
function isAbortMarker(data: Uint8Array, start: number, stop: number, attributes: number): boolean {
  // Control batches are never compressed; the record's key is version int16, type int16.
  if ((attributes & 0x07) !== 0) return false;
  cursor = start + HEADER;
  varint(data); // record length
  cursor++; // attributes
  varlong(data); // timestamp delta
  varint(data); // offset delta
  const keyLength = varint(data);
  if (keyLength < 4 || cursor + 4 > stop) return false;
  return data[cursor + 2] === 0 && data[cursor + 3] === 0;
}

/** The read position of varint/varlong. */
let cursor = 0;

/** A zigzag varint (int32) at `cursor`. */
function varint(b: Uint8Array): number {
  let x = b[cursor++] as number;
  if (x < 0x80) return (x >>> 1) ^ -(x & 1);
  let r = x & 0x7f;
  let shift = 7;
  do {
    x = b[cursor++] as number;
    r |= (x & 0x7f) << shift;
    shift += 7;
  } while (x & 0x80 && shift < 35);
  return (r >>> 1) ^ -(r & 1);
}

/** A zigzag varlong at `cursor`, as a number (exact for magnitudes below 2^53). */
function varlong(b: Uint8Array): number {
  let x = b[cursor++] as number;
  if (x < 0x80) return (x >>> 1) ^ -(x & 1);
  let r = x & 0x7f;
  let scale = 128;
  do {
    x = b[cursor++] as number;
    r += (x & 0x7f) * scale;
    scale *= 128;
  } while (x & 0x80 && scale < 2 ** 70);
  return r % 2 === 1 ? -(r + 1) / 2 : r / 2;
}

const utf8 = new TextDecoder();

/** A growable byte buffer for keys. */
class Bytes {
  buf = new Uint8Array(1024);
  n = 0;
  add(src: Uint8Array, from: number, len: number): void {
    if (this.n + len > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.n + len));
      grown.set(this.buf.subarray(0, this.n));
      this.buf = grown;
    }
    this.buf.set(src.subarray(from, from + len), this.n);
    this.n += len;
  }
}

/**
 * The per-record arrays of one parse, all views of ONE SharedArrayBuffer (8-byte fields
 * first, then 4-byte, then 1-byte ones, so each view is aligned): a result posted from the
 * worker to the coordinator shares them instead of copying them (structured clone copies
 * a typed array over an ordinary ArrayBuffer, but shares one over a SharedArrayBuffer).
 */
class RecordArrays {
  readonly recordOffsets: BigInt64Array;
  readonly timestamps: Float64Array;
  readonly offsets: Int32Array;
  readonly keyOffsets: Int32Array | undefined;
  readonly nulls: Uint8Array;
  readonly timestampTypes: Uint8Array;
  readonly keyNulls: Uint8Array | undefined;

  constructor(max: number, keys: boolean) {
    const wide = 16 * max;
    const ints = 4 * (max + 1) * (keys ? 2 : 1);
    const flags = max * (keys ? 3 : 2);
    const buf = new SharedArrayBuffer(Math.max(8, wide + ints + flags));
    this.recordOffsets = new BigInt64Array(buf, 0, max);
    this.timestamps = new Float64Array(buf, 8 * max, max);
    this.offsets = new Int32Array(buf, wide, max + 1);
    this.keyOffsets = keys ? new Int32Array(buf, wide + 4 * (max + 1), max + 1) : undefined;
    const at = wide + ints;
    this.nulls = new Uint8Array(buf, at, max);
    this.timestampTypes = new Uint8Array(buf, at + max, max);
    this.keyNulls = keys ? new Uint8Array(buf, at + 2 * max, max) : undefined;
  }
}

/** `b` copied into shared memory (see RecordArrays). */
function sharedCopy(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(Math.max(1, b.length)), 0, b.length);
  out.set(b);
  return out;
}

/** The second pass: every kept record's fields into the packed arrays. */
function unpack(
  input: ParseInput,
  found: readonly Found[],
  capacity: number,
  maxRecords: number,
  nextOffset: bigint,
): ParsedRecords | undefined {
  const bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, capacity)));
  const keepKeys = input.keepKeys === true;
  const keepHeaders = input.keepHeaders === true;
  const arrays = new RecordArrays(maxRecords, keepKeys);
  const { offsets, nulls, recordOffsets, timestamps, timestampTypes } = arrays;
  const offsetWords = new Uint32Array(
    recordOffsets.buffer,
    recordOffsets.byteOffset,
    recordOffsets.length * 2,
  );
  let logAppendTimes = false;
  const keys = keepKeys ? new Bytes() : undefined;
  const { keyOffsets, keyNulls } = arrays;
  const headers: RecordHeader[][] | undefined = keepHeaders ? [] : undefined;
  let n = 0;
  let pos = 0;
  for (const f of found) {
    const b = f.records;
    const stopAll = b.length;
    cursor = 0;
    for (let r = 0; r < f.count; r++) {
      const length = varint(b);
      const recordEnd = cursor + length;
      if (length < 0 || recordEnd > stopAll)
        throw framing(input, f, `record ${r} of ${f.count} overruns the batch`);
      cursor++; // attributes (unused)
      const tsDelta = varlong(b);
      const offsetDelta = varint(b);
      const keyLength = varint(b);
      const keyStart = cursor;
      if (keyLength > 0) cursor += keyLength;
      const valueLength = varint(b);
      const valueStart = cursor;
      if (valueLength > 0) cursor += valueLength;
      if (cursor > recordEnd) throw framing(input, f, `record ${r}'s key or value overruns it`);
      if (offsetDelta < f.minDelta) {
        cursor = recordEnd;
        continue;
      }
      offsets[n] = pos;
      if (valueLength < 0) nulls[n] = 1;
      else if (valueLength > 0) {
        bytes.set(b.subarray(valueStart, valueStart + valueLength), pos);
        pos += valueLength;
      }
      const sum = f.baseLo + offsetDelta;
      offsetWords[2 * n] = sum >>> 0;
      offsetWords[2 * n + 1] = f.baseHi + (sum >= TWO_32 ? 1 : 0);
      if (f.logAppendTime) {
        timestamps[n] = f.maxTimestamp;
        timestampTypes[n] = 1;
        logAppendTimes = true;
      } else timestamps[n] = f.baseTimestamp + tsDelta;
      if (keys && keyOffsets && keyNulls) {
        keyOffsets[n] = keys.n;
        if (keyLength < 0) keyNulls[n] = 1;
        else keys.add(b, keyStart, keyLength);
      }
      if (headers) headers.push(readHeaders(input, f, b, recordEnd));
      cursor = recordEnd;
      n++;
    }
    if (cursor !== stopAll)
      throw framing(input, f, `${stopAll - cursor} bytes after its ${f.count} records`);
  }
  if (n === 0) return undefined;
  offsets[n] = pos;
  if (keyOffsets && keys) keyOffsets[n] = keys.n;
  const packedKeys: PackedKeys | undefined =
    keys && keyOffsets && keyNulls
      ? {
          bytes: sharedCopy(keys.buf.subarray(0, keys.n)),
          offsets: keyOffsets.subarray(0, n + 1),
          nulls: keyNulls.subarray(0, n),
        }
      : undefined;
  const firstOffset = recordOffsets[0] as bigint;
  const lastOffset = recordOffsets[n - 1] as bigint;
  return {
    topic: input.topic,
    partition: input.partition,
    firstOffset,
    lastOffset,
    nextOffset,
    count: n,
    bytes: bytes.subarray(0, pos),
    offsets: offsets.subarray(0, n + 1),
    nulls: nulls.subarray(0, n),
    recordOffsets: recordOffsets.subarray(0, n),
    timestamps: timestamps.subarray(0, n),
    ...(logAppendTimes ? { timestampTypes: timestampTypes.subarray(0, n) } : {}),
    ...(packedKeys ? { keys: packedKeys } : {}),
    ...(headers ? { headers } : {}),
  };
}

/** A record's headers at `cursor` (after its value), each value copied. */
function readHeaders(
  input: ParseInput,
  f: Found,
  b: Uint8Array,
  recordEnd: number,
): RecordHeader[] {
  const count = varint(b);
  const out: RecordHeader[] = [];
  for (let h = 0; h < count; h++) {
    const keyLength = varint(b);
    if (keyLength < 0 || cursor + keyLength > recordEnd)
      throw framing(input, f, 'a header name overruns its record');
    const key = utf8.decode(b.subarray(cursor, cursor + keyLength));
    cursor += keyLength;
    const valueLength = varint(b);
    if (cursor + Math.max(0, valueLength) > recordEnd)
      throw framing(input, f, 'a header value overruns its record');
    out.push({ key, value: valueLength < 0 ? null : b.slice(cursor, cursor + valueLength) });
    if (valueLength > 0) cursor += valueLength;
  }
  return out;
}

function framing(input: ParseInput, f: Found, problem: string): RecordBatchError {
  return new RecordBatchError(
    input.topic,
    input.partition,
    f.base,
    `bad framing: ${problem}`,
    false,
  );
}
