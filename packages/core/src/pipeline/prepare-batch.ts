/**
 * Batch preparation: puts a fetched batch's values where a worker can read them in place
 * (a SharedArrayBuffer) and leaves out values over `limits.maxRecordBytes` (the decoder
 * sees them as empty values; they are dead-lettered with the real reason). The original
 * bytes stay readable on this thread for dead letters.
 */
import type { TableConfig } from '../config/schema.ts';
import type { MetaSpec, RecordMeta } from '../decode/record-meta.ts';
import type { SourceBatch } from '../source/types.ts';

/** The metadata columns a table asks for (`metadata`, `key`), or undefined for none. */
export function metaSpecOf(t: Pick<TableConfig, 'metadata' | 'key'>): MetaSpec | undefined {
  const format = t.key?.format;
  const key =
    format !== undefined && format !== 'none' ? { column: t.key.column, format } : undefined;
  if (t.metadata === undefined && key === undefined) return undefined;
  return {
    ...(t.metadata ? { kafka: t.metadata.column } : {}),
    ...(key ? { key } : {}),
  };
}

/** The batch's per-record metadata for the decoder: only what `spec` needs. */
function recordMeta(batch: SourceBatch, spec: MetaSpec): RecordMeta {
  const kafka = spec.kafka !== undefined;
  return {
    topic: batch.topic,
    partition: batch.partition,
    recordOffsets: batch.recordOffsets,
    timestamps: batch.timestamps,
    ...(kafka && batch.timestampTypes ? { timestampTypes: batch.timestampTypes } : {}),
    ...(spec.key && batch.keys ? { keys: batch.keys } : {}),
    ...(kafka && batch.headers ? { headers: batch.headers } : {}),
  };
}

export interface PreparedBatch {
  /** Values for the decoder (shared memory). */
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  /** The original values, for dead letters. */
  readonly raw: { readonly bytes: Uint8Array; readonly offsets: Int32Array };
  /** 1 where the record's value is null (a tombstone). */
  readonly nulls: Uint8Array;
  /** Record index → original length, for values left out as too large. */
  readonly oversized: ReadonlyMap<number, number>;
  /** The metadata columns the table wants and the batch's metadata for them. */
  readonly metadata?: { readonly spec: MetaSpec; readonly records: RecordMeta };
}

export function prepareBatch(
  batch: SourceBatch,
  maxRecordBytes: number,
  spec?: MetaSpec,
): PreparedBatch {
  const prepared = prepareValues(batch, maxRecordBytes);
  return spec ? { ...prepared, metadata: { spec, records: recordMeta(batch, spec) } } : prepared;
}

function prepareValues(batch: SourceBatch, maxRecordBytes: number): PreparedBatch {
  const oversized = new Map<number, number>();
  for (let i = 0; i < batch.count; i++) {
    const len = (batch.offsets[i + 1] as number) - (batch.offsets[i] as number);
    if (len > maxRecordBytes) oversized.set(i, len);
  }
  const size = batch.bytes.byteLength;
  if (oversized.size === 0) {
    let bytes = batch.bytes;
    if (!(bytes.buffer instanceof SharedArrayBuffer)) {
      bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, size)), 0, size);
      bytes.set(batch.bytes);
    }
    return {
      bytes,
      offsets: batch.offsets,
      raw: { bytes, offsets: batch.offsets },
      nulls: batch.nulls,
      oversized,
    };
  }
  let kept = 0;
  for (let i = 0; i < batch.count; i++) {
    if (!oversized.has(i)) kept += (batch.offsets[i + 1] as number) - (batch.offsets[i] as number);
  }
  const bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, kept)), 0, kept);
  const offsets = new Int32Array(batch.count + 1);
  let pos = 0;
  for (let i = 0; i < batch.count; i++) {
    if (!oversized.has(i)) {
      const v = batch.bytes.subarray(batch.offsets[i] as number, batch.offsets[i + 1] as number);
      bytes.set(v, pos);
      pos += v.byteLength;
    }
    offsets[i + 1] = pos;
  }
  return {
    bytes,
    offsets,
    raw: { bytes: batch.bytes, offsets: batch.offsets },
    nulls: batch.nulls,
    oversized,
  };
}
