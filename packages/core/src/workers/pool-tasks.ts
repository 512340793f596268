/**
 * Piscina tasks (stateless): `decode` turns a partition batch of JSON values into one
 * Arrow RecordBatch (IPC bytes, moved back, not copied); `flush` turns a table's buffered
 * batches into Parquet data files written straight to the warehouse and returns their
 * DataFile descriptors. Errors never cross the boundary as exceptions: results are
 * `{ ok: false, error }` in plain data (../errors.ts toPlainError).
 */
import {
  type DataFile,
  LocalFileIO,
  type ParquetCompression,
  type PartitionSpec,
  type PrimitiveType,
  type Schema,
  type StructType,
  writePartitioned,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { Piscina } from 'piscina';
import { decodeJsonBatch } from '../decode/json-decoder.ts';
import { type PlainError, toPlainError } from '../errors.ts';
import { conformToSchema } from '../schema/conform.ts';

export interface DecodeTask {
  readonly kind: 'decode';
  /** The batch's values (SharedArrayBuffer-backed, read in place). */
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  readonly schema: StructType;
  readonly hints: Readonly<Record<string, PrimitiveType>>;
  readonly relaxedFieldIds: readonly number[];
}

export type DecodeTaskResult =
  | {
      readonly ok: true;
      readonly ipc: Uint8Array;
      readonly rows: number;
      readonly errors: { index: number; reason: string }[];
      readonly schema: StructType;
      readonly changed: boolean;
    }
  | { readonly ok: false; readonly error: PlainError };

export interface FlushTask {
  readonly kind: 'flush';
  readonly batches: Uint8Array[];
  readonly schema: Schema;
  readonly spec: PartitionSpec;
  /** `<table location>/data`. */
  readonly dataLocation: string;
  readonly compression: ParquetCompression;
  readonly rowGroupSize: number;
}

export type FlushTaskResult =
  | { readonly ok: true; readonly files: DataFile[]; readonly rows: number }
  | { readonly ok: false; readonly error: PlainError };

const io = new LocalFileIO();

function decode(task: DecodeTask): DecodeTaskResult {
  try {
    const r = decodeJsonBatch({
      bytes: task.bytes,
      offsets: task.offsets,
      schema: task.schema,
      hints: task.hints,
      relaxedFieldIds: task.relaxedFieldIds,
    });
    return {
      ok: true,
      ipc: r.ipc,
      rows: r.rows,
      errors: r.errors,
      schema: r.schema,
      changed: r.changed,
    };
  } catch (e) {
    return { ok: false, error: toPlainError(e) };
  }
}

async function flush(task: FlushTask): Promise<FlushTaskResult> {
  try {
    const tables = task.batches.map((ipc) => conformToSchema(arrow.tableFromIPC(ipc), task.schema));
    let table = tables[0];
    for (let i = 1; i < tables.length; i++)
      table = (table as arrow.Table).concat(tables[i] as arrow.Table);
    if (!table || table.numRows === 0) return { ok: true, files: [], rows: 0 };
    const files = await writePartitioned(io, {
      schema: task.schema,
      spec: task.spec,
      table,
      dataLocation: task.dataLocation,
      compression: task.compression,
      rowGroupSize: task.rowGroupSize,
    });
    return { ok: true, files, rows: table.numRows };
  } catch (e) {
    return { ok: false, error: toPlainError(e) };
  }
}

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

export default async function run(task: DecodeTask | FlushTask): Promise<unknown> {
  if (task.kind === 'decode') return Piscina.move(packDecodeResult(decode(task)));
  return flush(task);
}
