/**
 * An Arrow table as IPC stream bytes written into memory the caller chooses, in one copy.
 *
 * `arrow.tableToIPC` collects the writer's messages and then joins them into a fresh
 * buffer; a caller that wants the bytes elsewhere (a SharedArrayBuffer other threads read,
 * a scratch buffer reused from call to call) copies them a second time. Here the writer's
 * messages go to a sink that only keeps them, and they are copied once, straight into the
 * buffer `alloc` returns for their total size.
 *
 * Contract: the bytes are exactly `arrow.tableToIPC(table, 'stream')` (schema message,
 * record batches, end-of-stream marker); `alloc(n)` must return a Uint8Array of exactly n
 * bytes, which is returned filled.
 *
 * IPC streaming format: https://arrow.apache.org/docs/format/Columnar.html#ipc-streaming-format
 */
import * as arrow from 'apache-arrow';

/** Keeps what the writer writes, in order (the writer hands it each message piece). */
class ChunkSink extends arrow.AsyncByteQueue {
  readonly chunks: Uint8Array[] = [];
  bytes = 0;
  override write(value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.chunks.push(value);
    this.bytes += value.byteLength;
  }
}

/** `table` as IPC stream bytes in the buffer `alloc(total)` returns. */
export function tableToIpcInto(
  table: arrow.Table,
  alloc: (bytes: number) => Uint8Array,
): Uint8Array {
  const sink = new ChunkSink();
  const writer = new arrow.RecordBatchStreamWriter();
  writer.reset(sink, table.schema);
  writer.write(table);
  writer.finish();
  const out = alloc(sink.bytes);
  if (out.byteLength !== sink.bytes) {
    throw new RangeError(`alloc returned ${out.byteLength} bytes for ${sink.bytes}`);
  }
  let at = 0;
  for (const c of sink.chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A SharedArrayBuffer-backed view of n bytes (an `alloc` for `tableToIpcInto`). */
export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

/**
 * A growing buffer lent out again and again (an `alloc` for bytes that are consumed before
 * the next call, like a copy into WebAssembly memory). Requests above `maxKept` bytes get
 * fresh memory, so one huge request does not stay resident.
 */
export class ScratchBytes {
  private buf = new Uint8Array(0);
  constructor(private readonly maxKept: number) {}
  readonly alloc = (n: number): Uint8Array => {
    if (n > this.maxKept) return new Uint8Array(n);
    if (this.buf.byteLength < n) {
      this.buf = new Uint8Array(Math.min(this.maxKept, Math.max(n, 2 * this.buf.byteLength)));
    }
    return this.buf.subarray(0, n);
  };
}
