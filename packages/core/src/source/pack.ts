/**
 * Packing a fetched batch into fresh memory.
 *
 * kafkajs message values are Buffer slices of the whole fetch response: keeping or posting a
 * 10-byte slice keeps (or copies) the whole multi-megabyte backing buffer. packBatch copies
 * every value (and optionally every key) into one new contiguous buffer with an offsets table,
 * so the caller can drop every reference to the client's messages at once. Values land in
 * a SharedArrayBuffer, which the decode workers read in place.
 */
import type { PackedKeys, RecordHeader, SourceBatch } from './types.ts';

/** The fields of a client message that packBatch reads. */
export interface RawMessage {
  /** Kafka offset, decimal string. */
  readonly offset: string;
  readonly value: Uint8Array | null;
  readonly key?: Uint8Array | null;
  /** Epoch milliseconds, decimal string. */
  readonly timestamp: string;
  readonly headers?: Readonly<Record<string, HeaderValue | HeaderValue[] | undefined>>;
  /** kafkajs: the record batch's fields; timestampType 1 is LogAppendTime (attribute bit 3). */
  readonly batchContext?: { readonly timestampType?: number };
}

/** kafkajs decodes header values as Buffers (null for a header without a value). */
type HeaderValue = Uint8Array | string | null;

/** Where the batch sits in its partition. */
export interface PackPosition {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to read after this batch (≥ last record offset + 1). */
  readonly nextOffset: bigint;
  readonly epoch: number;
  /** Copy keys too (default false). */
  readonly keepKeys?: boolean;
  /** Copy headers too, as (name, raw bytes) lists (default false). */
  readonly keepHeaders?: boolean;
}

const utf8 = new TextEncoder();

/**
 * A record's headers as a list, every value of a repeated name kept in order, values as
 * exact bytes copied out of the fetch buffer (a string value, which kafkajs only yields
 * when it was given one, as its UTF-8 bytes).
 */
function copyHeaders(h: RawMessage['headers']): RecordHeader[] {
  const out: RecordHeader[] = [];
  if (!h) return out;
  for (const [key, raw] of Object.entries(h)) {
    if (raw === undefined) continue;
    for (const v of Array.isArray(raw) ? raw : [raw])
      out.push({
        key,
        value: v === null ? null : typeof v === 'string' ? utf8.encode(v) : new Uint8Array(v),
      });
  }
  return out;
}

function packValues(
  values: readonly (Uint8Array | null | undefined)[],
  shared = false,
): PackedKeys {
  const n = values.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i]?.byteLength ?? 0;
  const bytes = shared
    ? new Uint8Array(new SharedArrayBuffer(Math.max(1, total)), 0, total)
    : new Uint8Array(total);
  const offsets = new Int32Array(n + 1);
  const nulls = new Uint8Array(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = pos;
    const v = values[i];
    if (v == null) {
      nulls[i] = 1;
      continue;
    }
    bytes.set(v, pos);
    pos += v.byteLength;
  }
  offsets[n] = pos;
  return { bytes, offsets, nulls };
}

/**
 * Copies a non-empty list of messages into a SourceBatch over fresh buffers.
 * Throws a RangeError when the list is empty or the values exceed 2 GiB.
 */
export function packBatch(messages: readonly RawMessage[], at: PackPosition): SourceBatch {
  const n = messages.length;
  const first = messages[0];
  const last = messages[n - 1];
  if (first === undefined || last === undefined) throw new RangeError('packBatch: empty batch');
  // Values go to SharedArrayBuffer: the worker pool decodes them in place, no further copy.
  const values = packValues(
    messages.map((m) => m.value),
    true,
  );
  if (values.bytes.byteLength > 0x7fffffff)
    throw new RangeError('packBatch: batch values exceed 2 GiB');
  const recordOffsets = new BigInt64Array(n);
  const timestamps = new Float64Array(n);
  let timestampTypes: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const m = messages[i] as RawMessage;
    recordOffsets[i] = BigInt(m.offset);
    timestamps[i] = Number(m.timestamp);
    if (m.batchContext?.timestampType === 1) {
      timestampTypes ??= new Uint8Array(n);
      timestampTypes[i] = 1;
    }
  }
  const lastOffset = BigInt(last.offset);
  const batch: SourceBatch = {
    topic: at.topic,
    partition: at.partition,
    firstOffset: BigInt(first.offset),
    lastOffset,
    nextOffset: at.nextOffset > lastOffset ? at.nextOffset : lastOffset + 1n,
    count: n,
    bytes: values.bytes,
    offsets: values.offsets,
    nulls: values.nulls,
    recordOffsets,
    timestamps,
    ...(timestampTypes ? { timestampTypes } : {}),
    epoch: at.epoch,
  };
  if (!at.keepKeys && !at.keepHeaders) return batch;
  return {
    ...batch,
    ...(at.keepKeys ? { keys: packValues(messages.map((m) => m.key)) } : {}),
    ...(at.keepHeaders ? { headers: messages.map((m) => copyHeaders(m.headers)) } : {}),
  };
}

/** Record i's value as a view of the batch's buffer, or null for a tombstone. */
export function batchValue(batch: SourceBatch, i: number): Uint8Array | null {
  if (batch.nulls[i] === 1) return null;
  return batch.bytes.subarray(batch.offsets[i] ?? 0, batch.offsets[i + 1] ?? 0);
}
