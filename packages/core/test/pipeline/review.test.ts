/**
 * Interleavings an independent review of the split coordinator found wrong (each failed on
 * the first version of the split, and passes since its fix). Each test drives the real
 * coordinator through a fake Source (here backed by the real PartitionTracker of the kafkajs
 * source, so the source's own "fetched at the expected offset" check is in play), the real
 * worker tasks and a real committer.
 */
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommitterClient } from '../../src/commit/committer-client.ts';
import { Coordinator } from '../../src/coordinator.ts';
import { PartitionTracker } from '../../src/source/partition-state.ts';
import type { SourceHandlers, TopicPartition } from '../../src/source/types.ts';
import { type Bench, bench, events, FakeSource, makeBatch, quietLog, until } from './harness.ts';

const T0 = { topic: 't', partition: 0 };
const T1 = { topic: 't', partition: 1 };
const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
const ids = (rows: { id?: unknown }[]) => rows.map((r) => Number(r.id));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** The fake Source, with the kafkajs source's PartitionTracker deciding what is delivered. */
class TrackedSource extends FakeSource {
  readonly tracker = new PartitionTracker();
  readonly log: string[] = [];
  override pause(tps: TopicPartition[]): void {
    super.pause(tps);
    this.tracker.setPaused(tps, true);
    for (const tp of tps) this.log.push(`pause ${key(tp)}`);
  }
  override resume(tps: TopicPartition[]): void {
    super.resume(tps);
    this.tracker.setPaused(tps, false);
    for (const tp of tps) this.log.push(`resume ${key(tp)}`);
  }
  override seek(tp: TopicPartition, offset: bigint): void {
    super.seek(tp, offset);
    this.tracker.seek(tp, offset);
    this.log.push(`seek ${key(tp)} ${offset}`);
  }
  override join(next: TopicPartition[], previous: TopicPartition[], lostAll = false) {
    // As KafkajsSource.onGroupJoin: forget positions and pause everything, then the handlers.
    this.tracker.assign(next);
    this.log.push(`join ${next.map(key).join(',')}`);
    return super.join(next, previous, lostAll);
  }
  /** A batch kafkajs fetched at `fetched`; delivered only if the tracker accepts it. */
  fetch(tp: TopicPartition, fetched: bigint, values: (string | null)[]): boolean {
    const batch = makeBatch(tp, fetched, values);
    const v = this.tracker.onBatch(tp, {
      fetchedOffset: fetched,
      nextOffset: batch.nextOffset,
      stale: false,
    });
    if (!v.accept) return false;
    (this.handlers as SourceHandlers).onBatch({ ...batch, epoch: v.epoch });
    return true;
  }
}

let current: Bench | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

function setup(
  overrides: Parameters<typeof bench>[0] = {},
  client?: (b: Bench) => CommitterClient,
) {
  const b = bench(overrides);
  current = b;
  const source = new TrackedSource();
  const c = new Coordinator({
    config: b.config,
    source,
    pool: b.pool as unknown as Piscina,
    committer: client ? client(b) : b.client,
    deadLetters: b.sink,
    log: quietLog,
    fetchStartOffsets: async () => source.beginningOffsets,
  });
  return { b, c, source };
}

/** A committer client whose tableState calls can be held by the test. */
function holdableClient(b: Bench) {
  const ctl = { hold: undefined as Promise<void> | undefined, calls: 0 };
  const api = new Proxy(b.committer, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop !== 'tableState') return typeof v === 'function' ? v.bind(target) : v;
      return async (name: string) => {
        ctl.calls++;
        const h = ctl.hold;
        ctl.hold = undefined;
        if (h) await h;
        return target.tableState(name);
      };
    },
  });
  return { ctl, client: { api: api as unknown as CommitterClient['api'], async close() {} } };
}

describe('interleavings found in review', () => {
  it('R1. memory freed during an assignment resumes a kept partition before it is seeked: records are skipped', async () => {
    const { b, c, source } = setup({ memory: { maxInFlightBytes: 1000 } });
    await c.start();
    await source.join([T0], []);
    expect(source.fetch(T0, 0n, ['x'.repeat(10)])).toBe(true); // [0, 1)
    await c.settle(); // nothing decodable (dead-lettered), t:0 at 1
    b.pool.hold = true;
    // [1, 11): ten values that do not decode, 2000 bytes > the 1000-byte budget → paused.
    expect(
      source.fetch(
        T0,
        1n,
        Array.from({ length: 10 }, () => 'y'.repeat(200)),
      ),
    ).toBe(true);
    expect(source.paused.has('t:0')).toBe(true);
    // A rebalance keeps t:0 and adds t:1; the assignment waits on the group's offsets.
    let open!: () => void;
    source.holdCommittedOffsets = new Promise<void>((r) => {
      open = r;
    });
    source.log.length = 0;
    const joined = source.join([T0, T1], [T0]);
    // The held decode finishes: its bytes are released, the budget resumes what is owned.
    b.pool.hold = false;
    b.pool.releaseAll();
    await until(() => c.metrics.inFlightBytes === 0, 'the batch applied');
    // kafkajs restarted t:0 from the group's committed offset; none → its default (latest,
    // here 50). The tracker forgot t:0's position at the join, so it accepts that fetch.
    const delivered = source.fetch(T0, 50n, events(50, 10));
    open();
    await joined;
    // Contract (types.ts onAssign): after a join a partition is seeked, THEN resumed.
    const firstSeek = source.log.indexOf('seek t:0 11');
    const firstResume = source.log.indexOf('resume t:0');
    const at = source.position.get('t:0') as bigint;
    source.fetch(T0, at, events(Number(at), 5));
    await c.settle();
    const offsets = await b.offsets();
    const rows = ids(await b.rows());
    // Every offset from 11 to the recorded one must be in the table (ids = offsets).
    expect({ delivered, firstResume, firstSeek, rows }).toEqual({
      delivered: false,
      firstResume: expect.any(Number),
      firstSeek: expect.any(Number),
      rows: range(11, Number((offsets.get('t:0') as bigint) - 11n)),
    });
    expect(firstSeek).toBeGreaterThanOrEqual(0);
    expect(firstSeek).toBeLessThan(firstResume);
  });

  it('R2. a partition revoked and assigned again while a flush of it is in flight: the engine fails', async () => {
    const { b, c, source } = setup();
    await c.start();
    await source.join([T0], []);
    source.fetch(T0, 0n, events(0, 10));
    await until(() => c.metrics.rowsBuffered === 10, '[0, 10) buffered');
    b.pool.hold = true;
    const flushing = c.flushAll();
    await until(() => b.pool.pending.some((p) => p.kind === 'flush'), 'the flush task');
    await source.join([], [T0]); // t:0 goes to another member…
    // …and comes back: a fresh lane, whose start the table decides once the flush landed.
    const back = source.join([T0], []);
    b.pool.hold = false;
    b.pool.releaseAll();
    await flushing; // commits [0, 10)
    await back;
    expect(source.position.get('t:0')).toBe(10n);
    expect(await b.offsets()).toEqual(new Map([['t:0', 10n]]));
    const at = source.position.get('t:0') as bigint;
    source.fetch(T0, at, events(Number(at), 10));
    await c.settle();
    expect(c.error?.message).toBeUndefined();
    expect(ids(await b.rows())).toEqual(range(0, Number((await b.offsets()).get('t:0'))));
  });

  it('R3. a partition revoked while a flush waits to requeue (no table yet): its ranges come back and the engine fails', async () => {
    let ctl!: { hold: Promise<void> | undefined; calls: number };
    const { b, c, source } = setup({}, (bb) => {
      const h = holdableClient(bb);
      ctl = h.ctl;
      return h.client;
    });
    await c.start();
    await source.join([T0, T1], []);
    source.fetch(T0, 0n, ['not json', 'nor this']); // [0, 2): dead-lettered, no rows
    await until(() => b.deadLetters.sent.length === 2, 'the dead letters');
    let open!: () => void;
    ctl.hold = new Promise<void>((r) => {
      open = r;
    });
    const flushing = c.flushAll(); // no data and no table: reads the state, then requeues
    await new Promise((r) => setTimeout(r, 20));
    await source.join([T1], [T0, T1]); // t:0 revoked while the flush awaits the table state
    open();
    await flushing;
    await source.join([T0, T1], [T1]); // t:0 back: starts at 0 (nothing recorded anywhere)
    const at = source.position.get('t:0') as bigint;
    source.fetch(T0, at, events(Number(at), 5));
    await c.settle();
    expect(c.error?.message).toBeUndefined();
  });
});
