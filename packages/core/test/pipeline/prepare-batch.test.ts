import { describe, expect, it } from 'vitest';
import { prepareBatch } from '../../src/pipeline/prepare-batch.ts';
import { makeBatch } from './harness.ts';

const text = (b: Uint8Array, o: Int32Array, i: number) =>
  new TextDecoder().decode(b.subarray(o[i] as number, o[i + 1] as number));

describe('prepareBatch', () => {
  it('keeps a batch already in shared memory as it is', () => {
    const batch = makeBatch({ topic: 't', partition: 0 }, 0n, ['{"a":1}', '{"a":2}']);
    const p = prepareBatch(batch, 100);
    expect(p.bytes).toBe(batch.bytes);
    expect(p.oversized.size).toBe(0);
  });

  it('copies a batch outside shared memory into it', () => {
    const batch = { ...makeBatch({ topic: 't', partition: 0 }, 0n, ['{"a":1}']) };
    const plain = new Uint8Array(batch.bytes);
    const p = prepareBatch({ ...batch, bytes: plain }, 100);
    expect(p.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(text(p.bytes, p.offsets, 0)).toBe('{"a":1}');
  });

  it('leaves oversized values out for the decoder, keeps them for dead letters', () => {
    const big = JSON.stringify({ s: 'x'.repeat(50) });
    const batch = makeBatch({ topic: 't', partition: 0 }, 0n, ['{"a":1}', big, '{"a":3}']);
    const p = prepareBatch(batch, 20);
    expect([...p.oversized]).toEqual([[1, big.length]]);
    expect([0, 1, 2].map((i) => text(p.bytes, p.offsets, i))).toEqual(['{"a":1}', '', '{"a":3}']);
    expect(text(p.raw.bytes, p.raw.offsets, 1)).toBe(big);
    expect(p.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
