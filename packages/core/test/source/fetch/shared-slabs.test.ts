/**
 * Reused shared memory for fetched batches (src/source/fetch/shared-slabs.ts): a slab
 * given back serves the next fetch of its size class, never two holders at once, and no
 * more than the cap is kept free. wholeBatches takes its copy from the pool and hands back
 * a release that gives the slab back once.
 */
import { describe, expect, it } from 'vitest';
import { wholeBatches } from '../../../src/source/fetch/response.ts';
import { SharedSlabs, slabSize } from '../../../src/source/fetch/shared-slabs.ts';
import { concatBytes, encodeBatch } from '../batches/encode.ts';

const KiB = 1024;

describe('SharedSlabs', () => {
  it('sizes slabs in quarter steps of a power of two from 64 KiB', () => {
    expect(slabSize(1)).toBe(64 * KiB);
    expect(slabSize(64 * KiB)).toBe(64 * KiB);
    expect(slabSize(64 * KiB + 1)).toBe(80 * KiB);
    expect(slabSize(1000 * KiB)).toBe(1024 * KiB);
    expect(slabSize(1024 * KiB + 1)).toBe(1280 * KiB);
    for (const n of [70_000, 123_456, 999_999, 5_000_001]) {
      expect(slabSize(n)).toBeGreaterThanOrEqual(n);
      expect(slabSize(n)).toBeLessThanOrEqual(n * 1.25);
    }
  });

  it('serves a take from a given-back slab of the same size class, views of exactly n bytes', () => {
    const slabs = new SharedSlabs(1 << 20);
    const a = slabs.take(100_000);
    expect(a.byteLength).toBe(100_000);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.buffer.byteLength).toBe(slabSize(100_000));
    const other = slabs.take(100_000);
    expect(other.buffer).not.toBe(a.buffer); // taken twice: two slabs
    slabs.give(a);
    const b = slabs.take(110_000); // same size class (112 KiB)
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteLength).toBe(110_000);
    expect(slabs.take(110_000).buffer).not.toBe(a.buffer); // a is held again by b
    expect({ created: slabs.created, reused: slabs.reused }).toEqual({ created: 3, reused: 1 });
  });

  it('ignores a second give of a free slab, so one slab never serves two takes', () => {
    const slabs = new SharedSlabs(1 << 20);
    const a = slabs.take(70_000);
    slabs.give(a);
    slabs.give(a);
    expect(slabs.freeByteCount).toBe(slabSize(70_000));
    const first = slabs.take(70_000);
    const second = slabs.take(70_000);
    expect(first.buffer).toBe(a.buffer);
    expect(second.buffer).not.toBe(a.buffer);
  });

  it('keeps no more than its cap free and takes in no buffer it did not make', () => {
    const slabs = new SharedSlabs(250 * KiB);
    expect(slabSize(100 * KiB)).toBe(112 * KiB);
    const views = [slabs.take(100 * KiB), slabs.take(100 * KiB), slabs.take(100 * KiB)];
    for (const v of views) slabs.give(v);
    expect(slabs.freeByteCount).toBe(224 * KiB); // the third would pass 250 KiB: left to the GC
    slabs.give(new Uint8Array(new SharedArrayBuffer(16 * KiB)));
    slabs.give(new Uint8Array(64 * KiB));
    expect(slabs.freeByteCount).toBe(224 * KiB);
  });
});

describe('wholeBatches with a slab pool', () => {
  const batch = (base: number) =>
    encodeBatch({
      baseOffset: BigInt(base),
      baseTimestamp: 1_700_000_000_000,
      records: [{ offsetDelta: 0, timestampDelta: 0, value: 'x'.repeat(40_000) }],
    });

  it('copies the whole batches into a slab and releases it once', () => {
    const slabs = new SharedSlabs(1 << 20);
    const whole = concatBytes(batch(0), batch(1));
    const records = concatBytes(whole, batch(2).subarray(0, 100)); // the last cut short
    const got = wholeBatches(records, 't', 0, slabs);
    expect(got.batches).toBe(2);
    expect(got.truncatedBytes).toBe(100);
    expect(got.data).toEqual(whole);
    expect(got.data.buffer.byteLength).toBe(slabSize(whole.byteLength));
    got.release?.();
    got.release?.();
    expect(slabs.freeByteCount).toBe(slabSize(whole.byteLength));
    const next = wholeBatches(whole, 't', 0, slabs);
    expect(next.data.buffer).toBe(got.data.buffer);
    expect(next.data).toEqual(whole);
    // The earlier fetch's second release came after the slab was taken again: nothing freed.
    got.release?.();
    expect(slabs.freeByteCount).toBe(0);
  });

  it('without a pool, or with nothing whole, a fresh buffer and no release', () => {
    expect(wholeBatches(batch(0), 't', 0).release).toBeUndefined();
    const slabs = new SharedSlabs(1 << 20);
    const none = wholeBatches(batch(0).subarray(0, 50), 't', 0, slabs);
    expect(none.data.byteLength).toBe(0);
    expect(none.release).toBeUndefined();
    expect(slabs.created).toBe(0);
  });
});
