/**
 * Component benchmarks of one thread's work per batch: JSON → Arrow decode
 * (decodeJsonBatch, as the worker pool runs it) and Arrow → Parquet encode (writeParquet,
 * snappy, as a flush runs it), on the benchmark's own events.
 */
import { type StructType, writeParquet } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { decodeJsonBatch } from '../../../packages/core/src/decode/json-decoder.ts';
import { eventBytes } from '../data.ts';
import { round } from '../systems/common.ts';

export interface CodecResult {
  readonly batchRows: number;
  readonly decodeRowsPerSecond: number;
  /** JSON input megabytes (10^6) decoded per second. */
  readonly decodeMbPerSecond: number;
  readonly parquetRowsPerSecond: number;
  /** Arrow (IPC) megabytes encoded to Parquet per second. */
  readonly parquetArrowMbPerSecond: number;
  /** Parquet bytes / JSON bytes. */
  readonly parquetToJsonRatio: number;
}

/** Batch of events 0..rows-1 packed as the coordinator packs them: bytes + offsets. */
export function packBatch(rows: number): { bytes: Uint8Array; offsets: Int32Array } {
  const parts = Array.from({ length: rows }, (_, i) => eventBytes(i));
  const offsets = new Int32Array(rows + 1);
  let total = 0;
  parts.forEach((p, i) => {
    offsets[i] = total;
    total += p.length;
  });
  offsets[rows] = total;
  return { bytes: Buffer.concat(parts), offsets };
}

/** Repeats `fn` for at least `minSeconds` (after one warm-up call); seconds per call. */
function timeIt(fn: () => void, minSeconds: number): number {
  fn();
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = (performance.now() - t0) / 1000;
  } while (elapsed < minSeconds);
  return elapsed / calls;
}

/** Measures decode and encode on batches of `batchRows` events for ≥ `minSeconds` each. */
export function benchCodec(batchRows: number, minSeconds: number): CodecResult {
  const { bytes, offsets } = packBatch(batchRows);
  const empty: StructType = { type: 'struct', fields: [] };
  // First call infers the schema; steady state decodes against it, as workers do.
  const schema = decodeJsonBatch({ bytes, offsets, schema: empty }).schema;
  let ipc: Uint8Array = new Uint8Array();
  const decodeSec = timeIt(() => {
    const r = decodeJsonBatch({ bytes, offsets, schema });
    if (r.rows !== batchRows) throw new Error(`decoded ${r.rows} of ${batchRows} rows`);
    ipc = r.ipc;
  }, minSeconds);
  const table = arrow.tableFromIPC(ipc);
  let parquetBytes = 0;
  const encodeSec = timeIt(() => {
    parquetBytes = writeParquet(table, { compression: 'snappy' }).byteLength;
  }, minSeconds);
  return {
    batchRows,
    decodeRowsPerSecond: Math.round(batchRows / decodeSec),
    decodeMbPerSecond: round(bytes.byteLength / 1e6 / decodeSec, 1),
    parquetRowsPerSecond: Math.round(batchRows / encodeSec),
    parquetArrowMbPerSecond: round(ipc.byteLength / 1e6 / encodeSec, 1),
    parquetToJsonRatio: round(parquetBytes / bytes.byteLength, 3),
  };
}
