import { describe, expect, it } from 'vitest';
import { rowOffsetsOf, TableBuffer } from '../../src/pipeline/table-buffer.ts';

const ipc = (n: number) => new Uint8Array(n);

describe('TableBuffer', () => {
  it('drains batches with one contiguous range per partition', () => {
    const b = new TableBuffer();
    b.push({ topic: 't', partition: 0, from: 0n, to: 5n, ipc: ipc(100), rows: 5 });
    b.push({ topic: 't', partition: 1, from: 7n, to: 9n, ipc: null, rows: 0 });
    b.push({ topic: 't', partition: 0, from: 5n, to: 12n, ipc: ipc(50), rows: 6 });
    expect(b.bufferedBytes).toBe(150);
    expect(b.bufferedRows).toBe(11);
    const d = b.drain();
    expect(d.ranges).toEqual([
      { topic: 't', partition: 0, from: 0n, to: 12n },
      { topic: 't', partition: 1, from: 7n, to: 9n },
    ]);
    expect(d.bytes).toBe(150);
    expect(b.isEmpty).toBe(true);
    expect(b.bufferedBytes).toBe(0);
  });

  it('drops revoked partitions and frees their bytes', () => {
    const b = new TableBuffer();
    b.push({ topic: 't', partition: 0, from: 0n, to: 5n, ipc: ipc(100), rows: 5 });
    b.push({ topic: 't', partition: 1, from: 0n, to: 2n, ipc: ipc(30), rows: 2 });
    expect(b.dropPartitions(new Set(['t:0']))).toBe(100);
    expect(b.bufferedRows).toBe(2);
    expect(b.drain().ranges).toEqual([{ topic: 't', partition: 1, from: 0n, to: 2n }]);
  });

  it('estimates file size from the learned Parquet/Arrow ratio', () => {
    const b = new TableBuffer();
    b.push({ topic: 't', partition: 0, from: 0n, to: 1n, ipc: ipc(1000), rows: 1 });
    expect(b.estimatedFileBytes()).toBe(250);
    b.learnRatio(1000, 750);
    expect(b.estimatedFileBytes()).toBe(500);
  });
});

describe('TableBuffer contiguity', () => {
  it('refuses a batch that leaves a gap or overlaps its partition', () => {
    const b = new TableBuffer();
    b.push({ topic: 't', partition: 0, from: 0n, to: 5n, ipc: ipc(10), rows: 5 });
    expect(() =>
      b.push({ topic: 't', partition: 0, from: 7n, to: 9n, ipc: null, rows: 0 }),
    ).toThrow('t:0 batch [7, 9) does not start at the buffered end 5');
    expect(() =>
      b.push({ topic: 't', partition: 0, from: 3n, to: 9n, ipc: null, rows: 0 }),
    ).toThrow('t:0 batch [3, 9) does not start at the buffered end 5');
    // Other partitions are independent; after a drain a partition may start anywhere.
    b.push({ topic: 't', partition: 1, from: 40n, to: 41n, ipc: null, rows: 0 });
    expect(b.drain().ranges).toEqual([
      { topic: 't', partition: 0, from: 0n, to: 5n },
      { topic: 't', partition: 1, from: 40n, to: 41n },
    ]);
    b.push({ topic: 't', partition: 0, from: 9n, to: 10n, ipc: null, rows: 0 });
  });

  it('requeues drained batches in front of newer ones', () => {
    const b = new TableBuffer();
    b.push({ topic: 't', partition: 0, from: 0n, to: 5n, ipc: ipc(10), rows: 5 });
    const d = b.drain();
    b.push({ topic: 't', partition: 0, from: 5n, to: 8n, ipc: ipc(4), rows: 3 });
    b.requeue(d.batches);
    expect(b.bufferedBytes).toBe(14);
    expect(b.bufferedRows).toBe(8);
    expect(b.drain().ranges).toEqual([{ topic: 't', partition: 0, from: 0n, to: 8n }]);
    b.push({ topic: 't', partition: 0, from: 8n, to: 9n, ipc: null, rows: 0 });
    expect(() => b.requeue(d.batches)).toThrow('does not start at the buffered end');
  });

  it('keeps drained batches in view until the flush settles them', () => {
    const b = new TableBuffer();
    const a0 = { topic: 't', partition: 0, from: 0n, to: 5n, ipc: ipc(100), rows: 5 };
    const a1 = { topic: 't', partition: 1, from: 0n, to: 2n, ipc: ipc(30), rows: 2 };
    b.push(a0);
    b.push(a1);
    const d = b.drain();
    const c0 = { topic: 't', partition: 0, from: 5n, to: 8n, ipc: ipc(10), rows: 3 };
    b.push(c0);
    expect(b.view()).toEqual([a0, a1, c0]);
    expect(b.bufferedBytes).toBe(10);
    // A revoked partition leaves the view, flushing or buffered.
    b.dropPartitions(new Set(['t:1']));
    expect(b.view()).toEqual([a0, c0]);
    b.settle(d.batches);
    expect(b.view()).toEqual([c0]);
  });
});

describe('rowOffsetsOf', () => {
  it("gives the rows' offsets: the records' less the failed ones", () => {
    const offsets = BigInt64Array.of(10n, 11n, 13n, 14n);
    expect([...(rowOffsetsOf(offsets, [{ index: 1 }], 3) ?? [])]).toEqual([10n, 13n, 14n]);
    expect(rowOffsetsOf(offsets, [{ index: 1 }], 2)).toBeUndefined();
    expect(rowOffsetsOf(offsets, [], 0)).toBeUndefined();
  });
});
