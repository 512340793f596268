/**
 * The Piscina task shapes shared by the coordinator and the pool, and the packing of a
 * decode result into one transferable buffer. Kept apart from pool-tasks.ts so that the
 * coordinator's thread does not load the decoder, apache-arrow or parquet-wasm.
 */
import type {
  DataFile,
  ParquetCompression,
  PartitionSpec,
  PrimitiveType,
  Schema,
  StructType,
} from '@kice/iceberg';
import type { StorageConfig } from '../config/schema.ts';
import type { MetaSpec, RecordMeta } from '../decode/record-meta.ts';
import type { PlainError } from '../errors.ts';
import type { RegistryTaskSchemas } from '../registry/formats.ts';
import type { ParsedFetch } from '../source/batches/parse.ts';
import type { RawFetch } from '../source/types.ts';

export interface DecodeTask {
  readonly kind: 'decode';
  /** The batch's values (SharedArrayBuffer-backed, read in place). */
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  readonly schema: StructType;
  readonly hints: Readonly<Record<string, PrimitiveType>>;
  readonly relaxedFieldIds: readonly number[];
  /** typeConflicts and limits (decode/json-decoder.ts DecodeOptions). */
  readonly options?: {
    readonly typeConflicts?: 'asString' | 'deadLetter';
    readonly maxNestingDepth?: number;
    readonly maxColumns?: number;
  };
  /** Kafka metadata and key columns (decode/record-meta.ts), for tables that want them. */
  readonly metadata?: { readonly spec: MetaSpec; readonly records: RecordMeta };
  /** `format: raw` (decode/raw-decoder.ts): the value column, which values are null
   * (tombstones) and which were left out as too large. */
  readonly raw?: {
    readonly column: string;
    readonly nulls: Uint8Array;
    readonly oversized: readonly number[];
  };
  /** Registry formats (avro, …): the format and the batch's schemas by id (registry/resolve.ts). */
  readonly registry?: RegistryTaskSchemas;
}

export type DecodeTaskResult =
  | {
      readonly ok: true;
      readonly ipc: Uint8Array;
      readonly rows: number;
      readonly errors: { index: number; reason: string }[];
      readonly schema: StructType;
      readonly changed: boolean;
      /** Placeholder columns the batch made (decode/json-decoder.ts). */
      readonly placeholders: readonly string[];
    }
  | { readonly ok: false; readonly error: PlainError };

/**
 * The raw fetch path: one partition's fetched record batches (RawFetch.data, shared memory,
 * read in place) parsed in a worker (../source/batches/parse.ts).
 */
export interface ParseTask
  extends Pick<
    RawFetch,
    | 'topic'
    | 'partition'
    | 'data'
    | 'fetchOffset'
    | 'isolation'
    | 'abortedTransactions'
    | 'keepKeys'
    | 'keepHeaders'
  > {
  readonly kind: 'parse';
}

/**
 * A parse's result as it crosses back (structured clone): the values and every per-record
 * array are views of SharedArrayBuffers (shared, not copied); only headers, when asked for,
 * are copied objects. A batch that cannot be read comes back as `ok: false` with the
 * batch's base offset and whether fetching it again may help (a CRC mismatch).
 */
export type ParseTaskResult =
  | {
      readonly ok: true;
      readonly parsed: ParsedFetch;
      /** The smallest record timestamp kept (Infinity: no records). */
      readonly minTimestamp: number;
    }
  | {
      readonly ok: false;
      readonly error: PlainError;
      /** Base offset of the batch that failed, when the failure names one. */
      readonly batchOffset?: bigint;
    };

export interface FlushTask {
  readonly kind: 'flush';
  readonly batches: Uint8Array[];
  readonly schema: Schema;
  readonly spec: PartitionSpec;
  /** `<table location>/data`. */
  readonly dataLocation: string;
  readonly compression: ParquetCompression;
  readonly rowGroupSize: number;
  readonly rowGroupBytes: number;
  /** Where data files may live (s3:// needs storage.s3); see ../storage/file-io.ts. */
  readonly storage: StorageConfig;
}

/** Dead-letter rows → Parquet files in the dead-letter table (../pipeline/dead-letter-rows.ts). */
export interface DeadLetterTask {
  readonly kind: 'deadLetters';
  /** DeadLetterRow values plus `ingested_at` (structured-cloned: bigint, Map, Uint8Array). */
  readonly rows: readonly Record<string, unknown>[];
  readonly schema: Schema;
  /** `<dead-letter table location>/data`. */
  readonly dataLocation: string;
  readonly compression: ParquetCompression;
  /** Where the dead-letter table's files may live (as FlushTask.storage). */
  readonly storage: StorageConfig;
}

export type FlushTaskResult =
  | { readonly ok: true; readonly files: DataFile[]; readonly rows: number }
  | { readonly ok: false; readonly error: PlainError };

/**
 * Piscina moves (transfers) only a top-level buffer, so a decode result travels as ONE
 * buffer: [u32 meta length][meta JSON][Arrow IPC]. `unpackDecodeResult` reads it back.
 */
export function packDecodeResult(r: DecodeTaskResult): Uint8Array {
  const { ipc, ...meta } = r.ok ? r : { ...r, ipc: new Uint8Array(0) };
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const out = new Uint8Array(4 + json.byteLength + ipc.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 4);
  out.set(ipc, 4 + json.byteLength);
  return out;
}

export function unpackDecodeResult(buf: Uint8Array): DecodeTaskResult {
  const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
  const meta = JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + len)));
  if (!meta.ok) return meta as DecodeTaskResult;
  return { ...meta, ipc: buf.subarray(4 + len) } as DecodeTaskResult;
}
