/**
 * The decode result's hand-off (workers/tasks.ts packDecodeResult): the pool's decode task
 * returns its Arrow IPC in a SharedArrayBuffer of exactly the IPC's size (what the memory
 * budget and the table buffer count), a thread that receives the result sees the same
 * memory (no copy), and the flush task writes Parquet from it in place, leaving the
 * sender's bytes intact (nothing transferred or detached).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LocalFileIO, readFooter, UNPARTITIONED_SPEC } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import runTask from '../../src/workers/pool-tasks.ts';
import {
  type DecodeTask,
  type FlushTaskResult,
  packDecodeResult,
  unpackDecodeResult,
} from '../../src/workers/tasks.ts';
import { pack } from '../decode/helpers.ts';

const values = Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: i, name: `n${i}` }));

function decodeTask(): DecodeTask {
  const { bytes, offsets } = pack(values, true);
  return {
    kind: 'decode',
    bytes,
    offsets,
    schema: { type: 'struct', fields: [] },
    hints: {},
    relaxedFieldIds: [],
  };
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('decode result hand-off', () => {
  it('puts the IPC, and only the IPC, in a SharedArrayBuffer', async () => {
    const r = unpackDecodeResult(await runTask(decodeTask()));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.ipc.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(r.ipc.byteOffset).toBe(0);
    expect(r.ipc.buffer.byteLength).toBe(r.ipc.byteLength);
    const { bytes, offsets } = pack(values);
    const direct = decodeJsonBatch({ bytes, offsets, schema: { type: 'struct', fields: [] } });
    expect(Buffer.from(r.ipc).equals(Buffer.from(direct.ipc))).toBe(true);
    expect(r.rows).toBe(500);
    expect(r.errors).toEqual([]);
  });

  it('passes on IPC the decoder already wrote to shared memory, and copies any other', () => {
    const { bytes, offsets } = pack(values);
    const direct = decodeJsonBatch({ bytes, offsets, schema: { type: 'struct', fields: [] } });
    // The decoder writes its IPC straight into a SharedArrayBuffer of its size.
    expect(direct.ipc.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(direct.ipc.buffer.byteLength).toBe(direct.ipc.byteLength);
    const base = {
      ok: true as const,
      rows: 500,
      errors: [],
      changed: false,
      schema: direct.schema,
      placeholders: [],
    };
    const same = packDecodeResult({ ...base, ipc: direct.ipc });
    expect(same.ok && same.ipc).toBe(direct.ipc);
    // Plain memory, or a view of part of a shared buffer, is copied into its own.
    const plain = Uint8Array.from(direct.ipc);
    const part = new Uint8Array(new SharedArrayBuffer(plain.length + 8), 8);
    part.set(plain);
    for (const ipc of [plain, part]) {
      const r = packDecodeResult({ ...base, ipc });
      if (!r.ok) throw new Error('not ok');
      expect(r.ipc).not.toBe(ipc);
      expect(r.ipc.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(r.ipc.buffer.byteLength).toBe(plain.length);
      expect(Buffer.from(r.ipc).equals(Buffer.from(plain))).toBe(true);
    }
  });

  it('keeps a failed result as it is', () => {
    const failed = {
      ok: false as const,
      error: { name: 'KiceError', message: 'boom', code: 'INTERNAL', retryable: false },
    };
    expect(packDecodeResult(failed)).toBe(failed);
  });

  it('shares the memory with the thread that receives the result (no copy)', async () => {
    const r = unpackDecodeResult(await runTask(decodeTask()));
    if (!r.ok) throw new Error(r.error.message);
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.once('message', (m) => {
         const shared = m.ipc.buffer instanceof SharedArrayBuffer;
         const first = m.ipc[0];
         m.ipc[0] = first ^ 0xff; // seen by the sender only if the memory is the same
         parentPort.postMessage({ shared, first, length: m.ipc.byteLength });
       });`,
      { eval: true },
    );
    try {
      const before = r.ipc[0] as number;
      const reply = await new Promise<{ shared: boolean; first: number; length: number }>(
        (resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.postMessage(r); // structured clone, as Piscina sends a result
        },
      );
      expect(reply).toEqual({ shared: true, first: before, length: r.ipc.byteLength });
      expect(r.ipc[0]).toBe(before ^ 0xff);
      r.ipc[0] = before;
    } finally {
      await worker.terminate();
    }
  });

  it('flushes from the shared bytes in place and leaves them intact', async () => {
    const r = unpackDecodeResult(await runTask(decodeTask()));
    if (!r.ok) throw new Error(r.error.message);
    dir = await mkdtemp(join(tmpdir(), 'kice-decode-result-'));
    const flushed = (await runTask({
      kind: 'flush',
      batches: [r.ipc, r.ipc],
      schema: { ...r.schema, schemaId: 0 },
      spec: UNPARTITIONED_SPEC,
      dataLocation: dir,
      compression: 'snappy',
      rowGroupSize: 1_000_000,
      rowGroupBytes: 1 << 20,
      dictionaryPageBytes: 65_536,
      storage: undefined as never,
    })) as FlushTaskResult;
    if (!flushed.ok) throw new Error(flushed.error.message);
    expect(flushed.rows).toBe(1000);
    expect(flushed.files.map((f) => f.recordCount)).toEqual([1000]);
    // The sender's batch is still whole: it could be flushed again after a failed commit.
    const table = arrow.tableFromIPC(r.ipc);
    expect(table.numRows).toBe(500);
    expect(table.getChild('name')?.get(499)).toBe('n499');
  });

  it('writes the page index when the flush task asks for it (parquet.pageIndex)', async () => {
    const r = unpackDecodeResult(await runTask(decodeTask()));
    if (!r.ok) throw new Error(r.error.message);
    dir = await mkdtemp(join(tmpdir(), 'kice-decode-result-'));
    const io = new LocalFileIO();
    const indexed = async (pageIndex: boolean | undefined) => {
      const flushed = (await runTask({
        kind: 'flush',
        batches: [r.ipc],
        schema: { ...r.schema, schemaId: 0 },
        spec: UNPARTITIONED_SPEC,
        dataLocation: dir as string,
        compression: 'snappy',
        rowGroupSize: 1_000_000,
        rowGroupBytes: 1 << 20,
        dictionaryPageBytes: 65_536,
        ...(pageIndex === undefined ? {} : { pageIndex }),
        storage: undefined as never,
      })) as FlushTaskResult;
      if (!flushed.ok) throw new Error(flushed.error.message);
      const f = flushed.files[0];
      if (!f) throw new Error('no file');
      const { meta } = await readFooter(io, f.filePath, f.fileSizeInBytes);
      const chunks = meta.rowGroups.flatMap((g) => g.columns);
      expect(chunks.length).toBeGreaterThan(0);
      return chunks.map((c) => c.offsetIndex !== undefined && c.columnIndex !== undefined);
    };
    expect(new Set(await indexed(true))).toEqual(new Set([true]));
    expect(new Set(await indexed(false))).toEqual(new Set([false]));
    expect(new Set(await indexed(undefined))).toEqual(new Set([false]));
  });
});
