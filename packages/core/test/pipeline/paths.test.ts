/**
 * Seven ways the coordinator could lose or double rows, each played through the real
 * coordinator with a fake Source (the test is the Kafka client), the real worker tasks
 * (results released when the test says) and a real committer on a temporary warehouse.
 * Every test asserts the table's exact rows and recorded offsets.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseIdentifier, planFiles } from '@kice/iceberg';
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/coordinator.ts';
import {
  type Bench,
  bench,
  commitAsOtherWriter,
  events,
  quietLog,
  TABLE,
  until,
} from './harness.ts';

const T0 = { topic: 't', partition: 0 };
const T1 = { topic: 't', partition: 1 };

let current: Bench | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

function setup(overrides: Parameters<typeof bench>[0] = {}) {
  const b = bench(overrides);
  current = b;
  const c = new Coordinator({
    config: b.config,
    source: b.source,
    pool: b.pool as unknown as Piscina,
    committer: b.client,
    deadLetters: b.sink,
    log: quietLog,
    fetchStartOffsets: async () => b.source.beginningOffsets,
  });
  return { b, c };
}

const ids = (rows: { id?: unknown }[]) => rows.map((r) => Number(r.id));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Delivers `n` events of a partition from wherever the coordinator last seeked it. */
function fetchNext(b: Bench, tp: { topic: string; partition: number }, n: number, idBase = 0) {
  const at = b.source.position.get(`${tp.topic}:${tp.partition}`) as bigint;
  b.source.deliver(tp, at, events(idBase + Number(at), n));
  return at;
}

describe('coordinator: loss and duplication paths', () => {
  it('1. a partition kept across a rebalance keeps the batches in flight at the join', async () => {
    const { b, c } = setup();
    await c.start();
    await b.source.join([T0], []);
    b.pool.hold = true;
    fetchNext(b, T0, 10); // [0, 10) is decoding when the group rebalances
    await until(() => b.pool.pending.length === 1, 'the decode task');
    await b.source.join([T0], [T0]); // t:0 is kept
    b.pool.hold = false;
    b.pool.releaseAll();
    fetchNext(b, T0, 10); // the source fetches from where the coordinator seeked it
    await c.settle();
    expect(ids(await b.rows())).toEqual(range(0, 20));
    expect(await b.offsets()).toEqual(new Map([['t:0', 20n]]));
    expect(c.metrics.refusedCommits).toBe(0);
  });

  it('2. a new partition commits only from where it started', async () => {
    const { b, c } = setup();
    b.source.beginningOffsets = new Map([['t:0', 5n]]);
    await c.start();
    await b.source.join([T0], []);
    expect(b.source.position.get('t:0')).toBe(5n);
    // A rebalance drops t:0's batch in flight; whatever the coordinator does next, the
    // table may only ever record t:0 from offset 5 with every record in between.
    b.pool.hold = true;
    fetchNext(b, T0, 10);
    await until(() => b.pool.pending.length === 1, 'the decode task');
    await b.source.join([T0], [T0]);
    b.pool.hold = false;
    b.pool.releaseAll();
    fetchNext(b, T0, 5);
    await c.settle();
    const rows = ids(await b.rows());
    const offsets = await b.offsets();
    expect(rows).toEqual(range(5, Number((offsets.get('t:0') as bigint) - 5n)));
    expect(rows).toEqual(range(5, 15));
  });

  it('3. a failed batch stops its partition: nothing after it commits', async () => {
    const { b, c } = setup();
    const fatal: Error[] = [];
    c.on('fatal', (e: Error) => fatal.push(e));
    await c.start();
    await b.source.join([T0], []);
    b.pool.failNextDecode = 'worker exited unexpectedly';
    fetchNext(b, T0, 10); // [0, 10) fails
    b.source.deliver(T0, 10n, events(10, 10)); // [10, 20) was already fetched
    await until(() => fatal.length > 0, 'the fatal error');
    await c.stop();
    expect(fatal[0]?.message).toContain('worker exited unexpectedly');
    // Nothing may be recorded past the failed batch: no table, or no offset beyond 0.
    const offsets = await b.offsets().catch(() => new Map<string, bigint>());
    expect(offsets.get('t:0') ?? 0n).toBe(0n);
  });

  it('5. a refused commit re-seeks a never-committed partition to its start and deletes its files', async () => {
    const { b, c } = setup();
    await c.start();
    await b.source.join([T0, T1], []);
    // Before this member's first commit, another writer of the group committed t:1 [0, 3)
    // (a previous owner of t:1): this member's t:1 range [0, 5) is now a duplicate.
    fetchNext(b, T1, 5, 1000);
    fetchNext(b, T0, 10);
    await until(() => c.metrics.rowsBuffered === 15, 'both batches buffered');
    await commitAsOtherWriter(b, T1, 0n, [1000, 1001, 1002]);
    await c.settle(); // refused: t:1 is a duplicate; both partitions re-seek
    expect(c.metrics.refusedCommits).toBe(1);
    expect(b.source.position.get('t:1')).toBe(3n);
    expect(b.source.position.get('t:0')).toBe(0n);
    fetchNext(b, T1, 2, 1000);
    fetchNext(b, T0, 10);
    await c.settle();
    expect(ids(await b.rows())).toEqual([...range(0, 10), ...range(1000, 5)]);
    expect(await b.offsets()).toEqual(
      new Map([
        ['t:0', 10n],
        ['t:1', 5n],
      ]),
    );
    // Only the files of committed snapshots remain in the table's data folder.
    const t = await b.catalog.loadTable(parseIdentifier(TABLE));
    const live = (await planFiles(t)).files.map((f) => f.filePath.replace(/^file:\/\//, ''));
    const onDisk = listParquet(join(b.dir, 'ns', 'events', 'data'));
    expect(onDisk.sort()).toEqual(live.sort());
  });

  it('6. bytes reserved for batches dropped at a rebalance are released', async () => {
    const { b, c } = setup();
    await c.start();
    await b.source.join([T0, T1], []);
    b.pool.hold = true;
    fetchNext(b, T0, 50);
    fetchNext(b, T1, 50);
    await until(() => b.pool.pending.length === 2, 'two decode tasks');
    await b.source.join([T1], [T0, T1]); // t:0 revoked while decoding
    b.pool.hold = false;
    b.pool.releaseAll();
    await c.settle();
    expect(ids(await b.rows())).toEqual(range(0, 50));
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('7a. an assignment overtaken by a newer join does not take partitions', async () => {
    const { b, c } = setup();
    await c.start();
    let open!: () => void;
    b.source.holdCommittedOffsets = new Promise<void>((r) => {
      open = r;
    });
    const first = b.source.join([T0], []); // waits on the group's offsets
    await new Promise((r) => setTimeout(r, 10));
    const second = b.source.join([T1], [T0]); // t:0 moved to another member meanwhile
    open();
    await Promise.all([first, second]);
    expect(c.positions().map((p) => p.key)).toEqual(['t:1']);
  });

  it('7b. a shutdown flush never runs beside the timer flush of the same table', async () => {
    const { b, c } = setup({ commit: { intervalMs: 1 } });
    await c.start();
    await b.source.join([T0], []);
    fetchNext(b, T0, 10);
    await until(() => c.metrics.commits === 1, 'the first timed commit');
    b.pool.hold = true;
    const flushes = () => b.pool.pending.filter((p) => p.kind === 'flush').length;
    const decoded = async (what: string) => {
      await until(() => b.pool.pending.some((p) => p.kind === 'decode'), what);
      b.pool.releaseAll('decode');
    };
    fetchNext(b, T0, 10); // [10, 20)
    await decoded('decode [10, 20)');
    await until(() => flushes() === 1, 'the timed flush of [10, 20)');
    const settled = c.settle(); // waits for the timed flush, then flushes what is left
    fetchNext(b, T0, 10); // [20, 30), left for settle's own flush
    await decoded('decode [20, 30)');
    await until(() => c.metrics.rowsBuffered === 30, '[20, 30) buffered');
    b.pool.release('flush', 0); // the timed flush commits; settle flushes [20, 30)
    await until(() => c.metrics.commits === 2 && flushes() === 1, "settle's flush");
    fetchNext(b, T0, 10); // [30, 40) arrives while settle's flush is in flight
    await decoded('decode [30, 40)');
    let maxFlushes = 0;
    let done = false;
    void settled.then(() => {
      done = true;
    });
    const deadline = Date.now() + 10_000;
    while (!done && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 150)); // timer ticks run meanwhile
      maxFlushes = Math.max(maxFlushes, flushes());
      // Release the newest flush first: a second flush in flight would commit out of order.
      if (flushes() > 0) b.pool.release('flush', flushes() - 1);
    }
    b.pool.hold = false;
    b.pool.releaseAll();
    await settled;
    await c.stop();
    expect(maxFlushes).toBe(1);
    expect(c.metrics.refusedCommits).toBe(0);
    expect(ids(await b.rows())).toEqual(range(0, 40));
    expect(await b.offsets()).toEqual(new Map([['t:0', 40n]]));
  });
});

function listParquet(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.parquet')) out.push(p);
    }
  };
  walk(dir);
  return out;
}
