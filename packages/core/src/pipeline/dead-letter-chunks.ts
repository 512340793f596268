/**
 * Sizing dead-letter records against a topic's `max.message.bytes`: what one record costs
 * on the wire, the byte budget of one produce request, splitting records into requests
 * under that budget, and truncating a record that alone is over it.
 *
 * The broker checks each record batch (one per partition in a produce request) against
 * the topic's `max.message.bytes`. A request's records are at most one batch per
 * partition, so a request whose records add up to less than the limit cannot be refused,
 * whatever partitions they go to. Sizes are upper bounds of Kafka's record format v2:
 * - batch framing: 61 bytes (base offset, length, epoch, magic, CRC, attributes, deltas,
 *   timestamps, producer id/epoch, base sequence, record count);
 * - per record: at most 40 bytes of varints and attributes (length, attributes, timestamp
 *   delta, offset delta, key length, value length, header count) plus key and value;
 * - per header: at most 10 bytes of varints plus the UTF-8 bytes of its key and value.
 * On top, a safety margin of 1/32 of the limit (at least 1 KiB) is kept free, for any
 * framing the client adds that this count misses.
 */
import { createHash } from 'node:crypto';
import type { DeadLetterRecord } from '../source/producer.ts';

/** Bytes of a record batch's header (format v2), including the 12 bytes of log overhead. */
export const BATCH_OVERHEAD = 61;
/** Upper bound of a record's varints and attributes, without key, value and headers. */
export const RECORD_OVERHEAD = 40;
/** Upper bound of one header's varints, without its key and value. */
export const HEADER_OVERHEAD = 10;
/** The smallest request budget: below it a record's headers alone may not fit. */
export const MIN_BUDGET = 1024;
/** The smallest `max.message.bytes` kice sends dead letters under (its budget is then 3,011 bytes). */
export const MIN_MAX_MESSAGE_BYTES = 4096;

/** Header: the length in bytes of a value that was truncated. */
export const ORIGINAL_SIZE_HEADER = 'kice.original.size';
/** Header: lowercase hex sha256 of a value that was truncated. */
export const ORIGINAL_SHA256_HEADER = 'kice.original.sha256';

/** The safety margin kept free below `max.message.bytes`. */
export function safetyMargin(maxMessageBytes: number): number {
  return Math.max(1024, Math.ceil(maxMessageBytes / 32));
}

/** The byte budget of one produce request's records for a topic with this `max.message.bytes`. */
export function requestBudget(maxMessageBytes: number): number {
  return Math.max(MIN_BUDGET, maxMessageBytes - BATCH_OVERHEAD - safetyMargin(maxMessageBytes));
}

function headersSize(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers))
    n += HEADER_OVERHEAD + Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/** Upper bound of the bytes `r` takes in a record batch. */
export function recordSize(r: DeadLetterRecord): number {
  return (
    RECORD_OVERHEAD + (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0) + headersSize(r.headers)
  );
}

/** The first bytes of `s` (UTF-8) that take at most `max` bytes, never splitting a character. */
function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s);
  if (b.byteLength <= max) return s;
  let end = max;
  // Back up to the start of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

/**
 * `r` made to fit in `budget` bytes: unchanged if it does; otherwise its value cut to the
 * bytes that fit, with `kice.original.size` and `kice.original.sha256` headers describing
 * the original value (and, if the headers alone are too large, `kice.error` cut as well).
 * A record that already carries those headers is cut further and keeps them.
 */
export function fitRecord(r: DeadLetterRecord, budget: number): DeadLetterRecord {
  if (recordSize(r) <= budget) return r;
  const value = r.value ?? new Uint8Array(0);
  // A record cut before keeps the headers of its original value.
  let headers: Record<string, string> =
    r.headers[ORIGINAL_SIZE_HEADER] !== undefined
      ? { ...r.headers }
      : {
          ...r.headers,
          [ORIGINAL_SIZE_HEADER]: String(value.byteLength),
          [ORIGINAL_SHA256_HEADER]: createHash('sha256').update(value).digest('hex'),
        };
  const fixed = RECORD_OVERHEAD + (r.key?.byteLength ?? 0);
  let room = budget - fixed - headersSize(headers);
  const error = headers['kice.error'];
  if (room < 0 && error !== undefined) {
    const cut = truncateUtf8(error, Math.max(0, Buffer.byteLength(error) + room));
    headers = { ...headers, 'kice.error': cut };
    room = budget - fixed - headersSize(headers);
  }
  const keep = Math.max(0, Math.min(value.byteLength, room));
  return {
    ...r,
    value: r.value === null ? null : value.subarray(0, keep),
    headers,
  };
}

/**
 * Splits `records` (each already fitted to `budget`) into consecutive requests whose sizes
 * add up to at most `budget`, keeping their order; a record alone over the budget gets a
 * request of its own.
 */
export function chunkRecords(
  records: readonly DeadLetterRecord[],
  budget: number,
): DeadLetterRecord[][] {
  const out: DeadLetterRecord[][] = [];
  let current: DeadLetterRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordSize(r);
    if (current.length > 0 && bytes + size > budget) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
