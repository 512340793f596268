import { describe, expect, it } from 'vitest';
import { PartitionLane } from '../../src/pipeline/partition-lane.ts';

const lane = (offset = 10n, committed: bigint | undefined = undefined) =>
  new PartitionLane('t', 0, 'table', offset, committed);

describe('PartitionLane', () => {
  it('claims batches fetched at the expected offset, compaction gaps included', () => {
    const l = lane();
    expect(l.claim(5n, 10n)).toBeUndefined(); // stale: before expected
    expect(l.claim(10n, 15n)).toEqual({ from: 10n, to: 15n });
    expect(l.claim(18n, 20n)).toEqual({ from: 15n, to: 20n }); // 15..17 compacted away
    expect(l.claimProgress(20n)).toBeUndefined();
    expect(l.claimProgress(22n)).toEqual({ from: 20n, to: 22n });
    expect(l.expected).toBe(22n);
  });

  it('applies claimed ranges in claim order, whatever order their work finishes in', async () => {
    const l = lane();
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = new Promise<void>((r) => {
      releaseFirst = r;
    });
    const a = l.claim(10n, 12n) as { from: bigint; to: bigint };
    const b = l.claim(12n, 14n) as { from: bigint; to: bigint };
    void l.enqueue(
      a,
      async () => {
        await first;
        order.push('a');
      },
      () => order.push('a-always'),
      () => {},
    );
    void l.enqueue(
      b,
      () => {
        order.push('b');
      },
      () => order.push('b-always'),
      () => {},
    );
    releaseFirst();
    await l.idle();
    expect(order).toEqual(['a', 'a-always', 'b', 'b-always']);
    expect(l.applied).toBe(14n);
  });

  it('skips work queued before a re-seek, but still runs its clean-up', async () => {
    const l = lane();
    const ran: string[] = [];
    const r = l.claim(10n, 20n) as { from: bigint; to: bigint };
    let stale: boolean | undefined;
    let go!: () => void;
    const gate = new Promise<void>((res) => {
      go = res;
    });
    void l.enqueue(
      r,
      async (current) => {
        await gate;
        stale = !current();
      },
      () => ran.push('always'),
      () => {},
    );
    await new Promise((res) => setTimeout(res, 0)); // the work is now waiting on the gate
    l.reseek(10n);
    go();
    await l.idle();
    expect(stale).toBe(true);
    expect(ran).toEqual(['always']);
    expect(l.applied).toBe(10n);
    expect(l.expected).toBe(10n);
    // Queued after the re-seek: runs.
    const again = l.claim(10n, 12n) as { from: bigint; to: bigint };
    void l.enqueue(
      again,
      () => {
        ran.push('again');
      },
      () => {},
      () => {},
    );
    await l.idle();
    expect(ran).toEqual(['always', 'again']);
  });

  it('is poisoned by the first failure: later work does not apply', async () => {
    const l = lane();
    const failures: string[] = [];
    const applied: string[] = [];
    const a = l.claim(10n, 11n) as { from: bigint; to: bigint };
    const b = l.claim(11n, 12n) as { from: bigint; to: bigint };
    void l.enqueue(
      a,
      () => {
        throw new Error('decode failed');
      },
      () => {},
      (e) => failures.push(e.message),
    );
    void l.enqueue(
      b,
      () => {
        applied.push('b');
      },
      () => {},
      (e) => failures.push(e.message),
    );
    await l.idle();
    expect(failures).toEqual(['decode failed']);
    expect(applied).toEqual([]);
    expect(l.poison?.message).toBe('decode failed');
    expect(l.claim(12n, 13n)).toBeUndefined();
  });

  it('refuses to apply a range that does not continue the applied offset', async () => {
    const l = lane();
    const failures: string[] = [];
    void l.enqueue(
      { from: 11n, to: 12n },
      () => {},
      () => {},
      (e) => failures.push(e.message),
    );
    await l.idle();
    expect(failures).toEqual(['t:0: range [11, 12) does not continue the applied offset 10']);
  });

  it('knows no smallest timestamp while a claimed range still has its timestamps pending', () => {
    const l = lane();
    l.claim(10n, 12n);
    l.noteTimestamps(12n, 500);
    l.claim(12n, 14n);
    l.notePendingTimestamps(14n); // a raw fetch claimed, its parse not back yet
    expect(l.minTimestampFrom(10n)).toBeUndefined();
    expect(l.minTimestampFrom(14n)).toBe(Number.POSITIVE_INFINITY);
    l.noteTimestamps(14n, 300);
    expect(l.minTimestampFrom(10n)).toBe(300);
    expect(l.minTimestampFrom(12n)).toBe(300);
  });

  it('fetches again from a claimed range: later claims dropped, earlier timestamps kept', () => {
    const l = lane();
    l.claim(10n, 12n);
    l.noteTimestamps(12n, 500);
    l.claim(12n, 14n);
    l.notePendingTimestamps(14n);
    l.claim(14n, 16n);
    l.notePendingTimestamps(16n);
    const epoch = l.epoch;
    l.refetchFrom(12n);
    expect(l.epoch).toBe(epoch + 1);
    expect(l.expected).toBe(12n);
    expect(l.minTimestampFrom(10n)).toBe(500);
    expect(l.claim(12n, 13n)).toEqual({ from: 12n, to: 13n });
  });

  it('knows where the next commit must start', () => {
    expect(lane(10n).durable()).toBe(10n);
    expect(lane(10n, 7n).durable()).toBe(7n);
  });
});
