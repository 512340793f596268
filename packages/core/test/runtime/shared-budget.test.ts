import { describe, expect, it } from 'vitest';
import { SharedMemoryBudget } from '../../src/runtime/shared-budget.ts';

const metrics = () => ({ inFlightBytes: 0, peakInFlightBytes: 0, pausedForBackpressure: 0 });

function engine(budget: SharedMemoryBudget, name: string, calls: string[]) {
  const m = metrics();
  const b = budget.join(
    m,
    () => calls.push(`${name} pause`),
    () => calls.push(`${name} resume`),
  );
  return { m, b };
}

describe('SharedMemoryBudget', () => {
  it('alone, an engine pauses past the cap and resumes at half of it (as its own budget)', () => {
    const calls: string[] = [];
    const shared = new SharedMemoryBudget(100);
    const a = engine(shared, 'a', calls);
    a.b.reserve(100);
    expect(calls).toEqual([]);
    a.b.reserve(1);
    expect(calls).toEqual(['a pause']);
    a.b.release(50);
    expect(calls).toEqual(['a pause']);
    a.b.release(1);
    expect(calls).toEqual(['a pause', 'a resume']);
    expect(shared.stats()).toEqual({
      capBytes: 100,
      inFlightBytes: 50,
      peakInFlightBytes: 101,
      engines: 1,
      paused: 0,
    });
  });

  it('holds back an engine over its share at half the cap while the others keep flowing', () => {
    const calls: string[] = [];
    const shared = new SharedMemoryBudget(400); // 4 engines: share 100
    const a = engine(shared, 'a', calls);
    const others = ['b', 'c', 'd'].map((n) => engine(shared, n, calls));
    a.b.reserve(200);
    expect(calls).toEqual([]); // total 200 = half the cap, not past it
    a.b.reserve(1);
    expect(calls).toEqual(['a pause']);
    // The others use their shares and more of the upper half: nobody else pauses.
    for (const o of others) o.b.reserve(60);
    expect(calls).toEqual(['a pause']);
    expect(shared.stats().inFlightBytes).toBe(381);
    // Past the cap everyone pauses, the borrower included (already paused).
    others[0]?.b.reserve(20);
    expect(calls).toEqual(['a pause', 'b pause', 'c pause', 'd pause']);
    // The borrower flushes: the others resume at half the cap, the borrower at a quarter.
    a.b.release(101); // total 300
    expect(calls).toHaveLength(4);
    a.b.release(100); // total 200: b, c, d resume (a holds 0 now: within its share, limit 400)
    expect(calls.slice(4)).toEqual(['a resume', 'b resume', 'c resume', 'd resume']);
    expect(a.m.pausedForBackpressure).toBe(1);
    expect(others.map((o) => o.m.pausedForBackpressure)).toEqual([1, 1, 1]);
  });

  it('a paused borrower resumes at a quarter of the cap while still over its share', () => {
    const calls: string[] = [];
    const shared = new SharedMemoryBudget(400);
    const a = engine(shared, 'a', calls);
    engine(shared, 'b', calls);
    a.b.reserve(250); // share 200: a borrows; total past 200
    expect(calls).toEqual(['a pause']);
    a.b.release(49); // 201: still over its share, over a quarter
    expect(calls).toEqual(['a pause']);
    a.b.release(1); // 200: within its share now, at half the cap
    expect(calls).toEqual(['a pause', 'a resume']);
  });

  it('an engine leaving gives its bytes back and widens the shares', () => {
    const calls: string[] = [];
    const shared = new SharedMemoryBudget(400);
    const a = engine(shared, 'a', calls);
    const b = engine(shared, 'b', calls);
    b.b.reserve(150);
    a.b.reserve(150); // total 300: past half the cap, but neither is over its share (200)
    expect(calls).toEqual([]);
    a.b.reserve(60); // a at 210 > share, total 360 > 200: a pauses
    expect(calls).toEqual(['a pause']);
    b.b.freeze();
    b.b.leave();
    // b's 150 left with it; a alone has the whole cap as its share (resumes at 200).
    expect(shared.stats()).toMatchObject({ inFlightBytes: 210, engines: 1 });
    b.b.release(150); // a stopped engine's late release does not count again
    expect(shared.stats().inFlightBytes).toBe(210);
    expect(calls).toEqual(['a pause']);
    a.b.release(10);
    expect(calls).toEqual(['a pause', 'a resume']);
  });

  it('never resumes a frozen engine', () => {
    const calls: string[] = [];
    const shared = new SharedMemoryBudget(100);
    const a = engine(shared, 'a', calls);
    a.b.reserve(101);
    a.b.freeze();
    a.b.release(101);
    expect(calls).toEqual(['a pause']);
    expect(a.b.paused).toBe(true);
  });
});
