import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../src/pipeline/memory-budget.ts';

const metrics = () => ({ inFlightBytes: 0, peakInFlightBytes: 0, pausedForBackpressure: 0 });

describe('MemoryBudget', () => {
  it('pauses past the cap and resumes at half of it', () => {
    const m = metrics();
    const calls: string[] = [];
    const b = new MemoryBudget(
      100,
      m,
      () => calls.push('pause'),
      () => calls.push('resume'),
    );
    b.reserve(60);
    b.reserve(40);
    expect(calls).toEqual([]); // at the cap, not past it
    b.reserve(1);
    expect(calls).toEqual(['pause']);
    expect(b.paused).toBe(true);
    b.release(50); // 51 > 50
    expect(calls).toEqual(['pause']);
    b.release(1);
    expect(calls).toEqual(['pause', 'resume']);
    expect(m).toEqual({ inFlightBytes: 50, peakInFlightBytes: 101, pausedForBackpressure: 1 });
  });

  it('never resumes once frozen for shutdown', () => {
    const calls: string[] = [];
    const b = new MemoryBudget(
      10,
      metrics(),
      () => calls.push('pause'),
      () => calls.push('resume'),
    );
    b.reserve(11);
    b.freeze();
    b.release(11);
    expect(calls).toEqual(['pause']);
  });
});
