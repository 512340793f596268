/**
 * The dead-letter table's rows: what `deadLetter.table` holds for every record that could
 * not be written to its table (and every tombstone with `deadLetter.tombstones: deadLetter`).
 *
 * Schema (fixed; field IDs are part of the contract, docs/config.md "deadLetter.table"):
 *
 *   1 source_topic      string       required
 *   2 source_partition  int          required
 *   3 source_offset     long         required
 *   4 timestamp         timestamptz  optional  the Kafka record timestamp
 *   5 key               binary       optional  raw key bytes (null key → null)
 *   6 value             binary       optional  raw value bytes (tombstone → null)
 *   7 headers           list<struct<12 key string, 13 value binary>> optional (element 11)
 *                       the record's headers, exact bytes, repeated names kept (RecordHeader)
 *   8 reason            string       required
 *   9 target_table      string       required  the table the record was routed to
 *  10 ingested_at       timestamptz  required  when kice wrote the dead-letter file
 *
 * The table is unpartitioned: dead letters are few and analysts filter on the columns.
 * Rows are built on the coordinator thread from the batch's raw bytes (copies, so the
 * batch's shared buffer can be released) and encoded to Parquet by a pool worker.
 */
import type { Schema } from '@kice/iceberg';
import type { RecordHeader, SourceBatch } from '../source/types.ts';

export const DEAD_LETTER_SCHEMA: Schema = Object.freeze({
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'source_topic', required: true, type: 'string' },
    { id: 2, name: 'source_partition', required: true, type: 'int' },
    { id: 3, name: 'source_offset', required: true, type: 'long' },
    { id: 4, name: 'timestamp', required: false, type: 'timestamptz' },
    { id: 5, name: 'key', required: false, type: 'binary' },
    { id: 6, name: 'value', required: false, type: 'binary' },
    {
      id: 7,
      name: 'headers',
      required: false,
      type: {
        type: 'list',
        elementId: 11,
        elementRequired: true,
        element: {
          type: 'struct',
          fields: [
            { id: 12, name: 'key', required: true, type: 'string' },
            { id: 13, name: 'value', required: false, type: 'binary' },
          ],
        },
      },
    },
    { id: 8, name: 'reason', required: true, type: 'string' },
    { id: 9, name: 'target_table', required: true, type: 'string' },
    { id: 10, name: 'ingested_at', required: true, type: 'timestamptz' },
  ],
} as Schema);

/** One dead letter before it is written (ingested_at is set when its file is written). */
export interface DeadLetterRow {
  readonly source_topic: string;
  readonly source_partition: number;
  readonly source_offset: bigint;
  /** µs since the epoch. */
  readonly timestamp: bigint | null;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[] | null;
  readonly reason: string;
  readonly target_table: string;
}

/** Bytes a row holds (for the memory budget). */
export function rowBytes(r: DeadLetterRow): number {
  let n = 64 + r.reason.length + (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  for (const h of r.headers ?? []) n += 16 + h.key.length + (h.value?.byteLength ?? 0);
  return n;
}

/** The dead-letter rows of a batch's failed records (tombstones per `tombstones`). */
export function buildDeadLetterRows(
  batch: SourceBatch,
  raw: { bytes: Uint8Array; offsets: Int32Array },
  errors: readonly { index: number; reason: string }[],
  options: { readonly table: string; readonly tombstones: 'skip' | 'deadLetter' },
): DeadLetterRow[] {
  const rows: DeadLetterRow[] = [];
  for (const { index, reason } of errors) {
    const tombstone = batch.nulls[index] === 1;
    if (tombstone && options.tombstones === 'skip') continue;
    const keys = batch.keys;
    const key =
      keys && keys.nulls[index] !== 1
        ? keys.bytes.slice(keys.offsets[index] as number, keys.offsets[index + 1] as number)
        : null;
    const h = batch.headers?.[index];
    const ms = batch.timestamps[index];
    rows.push({
      source_topic: batch.topic,
      source_partition: batch.partition,
      source_offset: batch.recordOffsets[index] as bigint,
      timestamp: ms === undefined || !Number.isFinite(ms) ? null : BigInt(Math.trunc(ms)) * 1000n,
      key,
      value: tombstone
        ? null
        : raw.bytes.slice(raw.offsets[index] as number, raw.offsets[index + 1] as number),
      headers: h ?? null,
      reason: tombstone ? 'tombstone (null value)' : reason,
      target_table: options.table,
    });
  }
  return rows;
}
