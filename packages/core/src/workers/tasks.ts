/**
 * The Piscina task shapes shared by the coordinator and the pool, and the hand-off of a
 * decode result (its Arrow IPC in shared memory). Kept apart from pool-tasks.ts so that the
 * coordinator's thread does not load the decoder, apache-arrow or parquet-wasm.
 */
import type {
  DataFile,
  ParquetCompression,
  PartitionSpec,
  PrimitiveType,
  RowGroupRequest,
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
  readonly dictionaryPageBytes: number;
  /** parquet.pageIndex: page statistics and the page index; default false. */
  readonly pageIndex?: boolean;
  /** Where data files may live (s3:// needs storage.s3); see ../storage/file-io.ts. */
  readonly storage: StorageConfig;
}

/** One row group of a data file decoded for a query (@kice/iceberg decodeRowGroup): the
 * bytes the cold scan read for it in, Arrow IPC stream bytes out. */
export interface ReadRowGroupTask extends RowGroupRequest {
  readonly kind: 'readRowGroup';
}

export type ReadRowGroupResult =
  | { readonly ok: true; readonly ipc: Uint8Array }
  | { readonly ok: false; readonly error: PlainError };

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
 * A decode result as it leaves the worker: the metadata as plain (structured-cloned) data
 * and the Arrow IPC in a SharedArrayBuffer of exactly the IPC's size, written once (the
 * decoders write it there themselves, decode/tree.ts columnsToIpc; anything else is copied).
 * The main thread then holds only a reference to that memory (the table buffer keeps it
 * until a flush, and counts its exact size), and the flush worker reads the same memory in
 * place: nothing is transferred (a SharedArrayBuffer cannot be in a transferList) and
 * nothing is copied again on the way to Parquet. Freed once no thread refers to it.
 */
export function packDecodeResult(r: DecodeTaskResult): DecodeTaskResult {
  if (!r.ok) return r;
  if (r.ipc.buffer instanceof SharedArrayBuffer && r.ipc.byteLength === r.ipc.buffer.byteLength)
    return r; // the decoders write their IPC into shared memory already (decode/tree.ts)
  const ipc = new Uint8Array(new SharedArrayBuffer(r.ipc.byteLength));
  ipc.set(r.ipc);
  return { ...r, ipc };
}

/** The decode result a pool `decode` task returned (packDecodeResult's output). */
export function unpackDecodeResult(message: unknown): DecodeTaskResult {
  return message as DecodeTaskResult;
}
