import { describe, expect, it } from 'vitest';
import { PartitionTracker } from '../../src/source/partition-state.ts';

const p0 = { topic: 't', partition: 0 };
const p1 = { topic: 't', partition: 1 };
const live = (fetchedOffset: bigint, nextOffset: bigint) => ({
  fetchedOffset,
  nextOffset,
  stale: false,
});

function seekedAndResumed(offset: bigint): PartitionTracker {
  const t = new PartitionTracker();
  t.assign([p0, p1]);
  t.seek(p0, offset);
  t.setPaused([p0], false);
  return t;
}

describe('PartitionTracker', () => {
  it('refuses a batch of a resumed partition that was not seeked since the join', () => {
    const t = new PartitionTracker();
    t.assign([p0]);
    t.setPaused([p0], false); // resumed before the handler's seek (a bug upstream)
    expect(t.onBatch(p0, live(50n, 60n))).toEqual({ accept: false, reason: 'unpositioned' });
    t.seek(p0, 11n);
    expect(t.onBatch(p0, live(50n, 60n))).toMatchObject({ accept: false, reason: 'gap' });
    expect(t.onBatch(p0, live(11n, 20n))).toEqual({ accept: true, epoch: 2 });
  });

  it('assigns paused partitions with a new epoch and no position', () => {
    const t = new PartitionTracker();
    t.assign([p0]);
    expect(t.owns(p0)).toBe(true);
    expect(t.owns(p1)).toBe(false);
    expect(t.isPaused(p0)).toBe(true);
    expect(t.epoch(p0)).toBe(1);
    expect(t.expected(p0)).toBeUndefined();
    t.assign([p0, p1]);
    expect(t.epoch(p0)).toBe(2);
    expect(t.epoch(p1)).toBe(1);
  });

  it('bumps the epoch on seek and remembers epochs across re-assignment', () => {
    const t = new PartitionTracker();
    t.assign([p0]);
    expect(t.seek(p0, 5n)).toBe(true);
    expect(t.epoch(p0)).toBe(2);
    expect(t.expected(p0)).toBe(5n);
    expect(t.seek(p1, 5n)).toBe(false);
    t.clear();
    expect(t.owns(p0)).toBe(false);
    t.assign([p0]);
    expect(t.epoch(p0)).toBe(3);
  });

  it('accepts a batch fetched at the expected offset and moves past it', () => {
    const t = seekedAndResumed(37n);
    expect(t.onBatch(p0, live(37n, 50n))).toEqual({ accept: true, epoch: 2 });
    expect(t.expected(p0)).toBe(50n);
    expect(t.onBatch(p0, live(50n, 51n))).toEqual({ accept: true, epoch: 2 });
    expect(t.expected(p0)).toBe(51n);
  });

  it('drops a batch fetched elsewhere and re-seeks to the expected offset', () => {
    const t = seekedAndResumed(37n);
    expect(t.onBatch(p0, live(0n, 12n))).toEqual({ accept: false, reason: 'gap', reseek: 37n });
    expect(t.expected(p0)).toBe(37n);
  });

  it('drops stale batches (seek pending in the client) without re-seeking', () => {
    const t = seekedAndResumed(37n);
    expect(t.onBatch(p0, { fetchedOffset: 0n, nextOffset: 12n, stale: true })).toEqual({
      accept: false,
      reason: 'stale',
    });
  });

  it('drops batches of paused partitions and re-seeks so they are fetched again', () => {
    const t = seekedAndResumed(37n);
    t.setPaused([p0], true);
    expect(t.onBatch(p0, live(37n, 40n))).toEqual({ accept: false, reason: 'paused', reseek: 37n });
    // assigned, never sought: re-seek to where the dropped batch was fetched
    expect(t.onBatch(p1, live(4n, 9n))).toEqual({ accept: false, reason: 'paused', reseek: 4n });
  });

  it('drops batches of partitions not assigned', () => {
    const t = new PartitionTracker();
    expect(t.onBatch(p0, live(0n, 1n))).toEqual({ accept: false, reason: 'unassigned' });
    expect(t.setPaused([p0], false)).toEqual([]);
  });

  it('advances over marker-only spans that cover the expected offset', () => {
    const t = seekedAndResumed(10n);
    expect(t.onSkipped(p0, 10n, 10n)).toBe(11n);
    expect(t.onSkipped(p0, 8n, 12n)).toBe(13n);
    expect(t.onSkipped(p0, null, 13n)).toBe(14n);
    expect(t.onSkipped(p0, 2n, 5n)).toBeUndefined();
    expect(t.expected(p0)).toBe(14n);
  });

  it('advances over a span past the expected offset only when no seek is in flight', () => {
    const t = seekedAndResumed(10n);
    expect(t.onSkipped(p0, 15n, 16n)).toBeUndefined();
    expect(t.onBatch(p0, live(10n, 12n)).accept).toBe(true);
    expect(t.onSkipped(p0, 15n, 16n)).toBe(17n);
    expect(t.onSkipped(p1, 0n, 3n)).toBeUndefined();
  });
});
