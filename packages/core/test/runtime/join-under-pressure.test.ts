/**
 * An engine that joins a shared budget (../../src/runtime/shared-budget.ts) while the other
 * engines of the runtime hold more than the cap is paused in the very call that joins it,
 * from inside its coordinator's constructor: the coordinator must take that pause (stay
 * paused, resume when the others give bytes back, then consume and commit exactly) instead
 * of failing its start. The real coordinator and SharedMemoryBudget, with the bench's FAKE
 * Source (../pipeline/harness.ts), the real worker tasks and a real committer.
 *
 * The same resume may come while a group join is handled: it must not be lost when it
 * comes after the assignment looked at the budget (and so did not resume the partitions).
 * And an engine that failed (not yet stopped by its embedder) gives back what it had
 * buffered, which it will never commit: the others are not held paused by it.
 */
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/coordinator.ts';
import { SharedMemoryBudget } from '../../src/runtime/shared-budget.ts';
import type { SourceHandlers } from '../../src/source/types.ts';
import { type Bench, bench, events, quietLog, settleTick, until } from '../pipeline/harness.ts';

const T0 = { topic: 't', partition: 0 };
const metrics = () => ({ inFlightBytes: 0, peakInFlightBytes: 0, pausedForBackpressure: 0 });

let current: Bench | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

async function pausedAtJoin(b: Bench) {
  const shared = new SharedMemoryBudget(1000);
  // Another engine of the runtime holds more than the whole cap (a fetch on its way when
  // its pause took effect).
  const other = shared.join(
    metrics(),
    () => {},
    () => {},
  );
  other.reserve(1200);
  const c = new Coordinator({
    config: b.config,
    source: b.source,
    pool: b.pool as unknown as Piscina,
    committer: b.client,
    deadLetters: b.sink,
    log: quietLog,
    fetchStartOffsets: async () => b.source.beginningOffsets,
    budget: (m, onPause, onResume) => shared.join(m, onPause, onResume),
  });
  c.on('fatal', () => {});
  expect(c.metrics.pausedForBackpressure).toBe(1);
  expect(shared.stats().paused).toBe(2);
  await c.start();
  return { c, other };
}

async function consumesExactly(b: Bench, c: Coordinator) {
  b.source.deliver(T0, 0n, events(0, 5));
  await c.settle();
  expect(c.error).toBeUndefined();
  expect((await b.rows()).map((r) => r.id)).toEqual([0n, 1n, 2n, 3n, 4n]);
  expect(await b.offsets()).toEqual(new Map([['t:0', 5n]]));
}

describe('shared budget: an engine joining while the runtime is over its cap', () => {
  it('starts paused, resumes when the others give bytes back, and commits exactly', async () => {
    const b = bench();
    current = b;
    const { c, other } = await pausedAtJoin(b);
    await b.source.join([T0], []);
    await settleTick(); // the join is handled to its end
    // Paused for memory: the assignment did not resume the partition.
    expect(b.source.paused.has('t:0')).toBe(true);
    other.release(1200);
    expect(b.source.paused.has('t:0')).toBe(false);
    await consumesExactly(b, c);
    await c.stop();
    other.leave();
  });

  it('a resume that comes after the assignment checked the budget, before the join ended, is not lost', async () => {
    const b = bench();
    current = b;
    const { c, other } = await pausedAtJoin(b);
    // The assignment has run (still paused: it did not resume); the join's bookkeeping
    // has not ended yet when the other engine gives its bytes back.
    await b.source.join([T0], []);
    expect(b.source.paused.has('t:0')).toBe(true);
    other.release(1200);
    await settleTick();
    expect(b.source.paused.has('t:0')).toBe(false);
    await consumesExactly(b, c);
    await c.stop();
    other.leave();
  });
});

describe('shared budget: an engine that failed', () => {
  /** A coordinator with 50 events of t:0 buffered (nothing committed). */
  async function buffered(b: Bench, budget?: SharedMemoryBudget) {
    const c = new Coordinator({
      config: b.config,
      source: b.source,
      pool: b.pool as unknown as Piscina,
      committer: b.client,
      deadLetters: b.sink,
      log: quietLog,
      fetchStartOffsets: async () => b.source.beginningOffsets,
      ...(budget ? { budget: (m, p, r) => budget.join(m, p, r) } : {}),
    });
    c.on('fatal', () => {});
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, events(0, 50));
    await until(() => c.metrics.rowsBuffered === 50, 'the batch buffered');
    return c;
  }

  it('gives its buffered bytes back: the other engines are not held paused by them', async () => {
    // The bytes 50 buffered events hold, with a budget of the engine's own.
    const dry = bench();
    const { inFlightBytes: held, peakInFlightBytes: peak } = (await buffered(dry)).metrics;
    dry.cleanup();
    // Buffered, the batch holds more than its fetched bytes: more than half its peak.
    expect(held).toBeGreaterThan(peak / 2);
    const b = bench();
    current = b;
    // The failed engine alone holds more than half the cap (within it: it never paused).
    const shared = new SharedMemoryBudget(peak);
    const c = await buffered(b, shared);
    expect(c.metrics.inFlightBytes).toBe(held);
    expect(c.metrics.pausedForBackpressure).toBe(0);
    (b.source.handlers as SourceHandlers).onError(new Error('fatal for the test'));
    expect(c.error?.message).toBe('fatal for the test');
    // Another engine goes past the cap (pauses), then flushes everything it held.
    const calls: string[] = [];
    const other = shared.join(
      metrics(),
      () => calls.push('pause'),
      () => calls.push('resume'),
    );
    other.reserve(held * 2);
    other.release(held * 2);
    expect(calls).toEqual(['pause', 'resume']);
    // Nothing of the failed engine's buffer is committed.
    await c.stop();
    expect(await b.offsets()).toEqual(new Map());
    other.leave();
  });
});
