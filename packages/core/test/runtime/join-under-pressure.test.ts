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
 */
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/coordinator.ts';
import { SharedMemoryBudget } from '../../src/runtime/shared-budget.ts';
import { type Bench, bench, events, quietLog, settleTick } from '../pipeline/harness.ts';

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
