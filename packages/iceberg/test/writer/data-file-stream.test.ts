/**
 * writeDataFile streams the encoder's output into FileIO.create: the file never passes
 * through FileIO.write, a failing output is aborted, and a footer longer than the kept
 * 1 MiB tail (many row groups) still gives the metrics of the whole file.
 */
import { describe, expect, it } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { bufferedOutput, type OutputStream, type WriteOptions } from '../../src/io/file-io.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { arrowTableToRows, readParquet } from '../../src/scan/read-parquet.ts';
import { schemaFromJson } from '../../src/spec/types.ts';
import { writeDataFile } from '../../src/writer/data-file-writer.ts';
import { computeMetrics } from '../../src/writer/metrics.ts';

/** The in-memory FileIO, recording which calls the writer made. */
class RecordingMemoryFileIO extends MemoryFileIO {
  readonly calls: string[] = [];
  failWritesAfter = Number.POSITIVE_INFINITY;
  /** Direct writes only (create() commits through MemoryFileIO's own write). */
  override async write(path: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    this.calls.push('write');
    return super.write(path, data, options);
  }
  override async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    this.calls.push(`readRange ${length}`);
    return super.readRange(path, offset, length);
  }
  override async create(path: string): Promise<OutputStream> {
    this.calls.push('create');
    const inner = bufferedOutput((d) => super.write(path, d));
    let n = 0;
    return {
      write: async (c) => {
        if (++n > this.failWritesAfter) throw new Error('disk on fire');
        await inner.write(c);
      },
      close: () => inner.close(),
      abort: async () => {
        this.calls.push('abort');
        await inner.abort();
      },
    };
  }
}

const schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 's', required: false, type: 'string' },
  ],
});

describe('writeDataFile streaming', () => {
  it('writes through create(), never write(); the file reads back', async () => {
    const io = new RecordingMemoryFileIO();
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: BigInt(i), s: `v${i}` }));
    const df = await writeDataFile(io, 'memory://b/f.parquet', icebergRowsToArrow(schema, rows), {
      schema,
      specId: 0,
      partition: [],
    });
    expect(io.calls).toEqual(['create']);
    const bytes = await io.read('memory://b/f.parquet');
    expect(df.fileSizeInBytes).toBe(bytes.length);
    expect(arrowTableToRows(schema, readParquet(bytes))).toEqual(rows);
  });

  it('a footer longer than 1 MiB (6000 row groups) gives the same metrics as the whole file', async () => {
    const io = new RecordingMemoryFileIO();
    const rows = Array.from({ length: 12_000 }, (_, i) => ({ id: BigInt(i), s: `v${i}` }));
    const table = icebergRowsToArrow(schema, rows);
    const opts = { schema, specId: 0, partition: [], rowGroupSize: 2 };
    const df = await writeDataFile(io, 'memory://b/f.parquet', table, opts);
    const bytes = await io.read('memory://b/f.parquet');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getUint32(bytes.length - 8, true)).toBeGreaterThan(1 << 20);
    const whole = computeMetrics(schema, table, bytes);
    expect(df.splitOffsets).toHaveLength(6000);
    expect(df.splitOffsets).toEqual(whole.splitOffsets);
    expect(df.columnSizes).toEqual(whole.columnSizes);
    expect(df.fileSizeInBytes).toBe(bytes.length);
  });

  it('aborts the output when a write fails', async () => {
    const io = new RecordingMemoryFileIO();
    io.failWritesAfter = 0;
    const rows = [{ id: 1n, s: 'x' }];
    await expect(
      writeDataFile(io, 'memory://b/f.parquet', icebergRowsToArrow(schema, rows), {
        schema,
        specId: 0,
        partition: [],
      }),
    ).rejects.toThrow('disk on fire');
    expect(io.calls).toEqual(['create', 'abort']);
    expect(await io.exists('memory://b/f.parquet')).toBe(false);
  });
});
