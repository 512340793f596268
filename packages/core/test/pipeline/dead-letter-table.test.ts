/**
 * `deadLetter.table`: dead letters committed to an Iceberg table exactly once, covered by
 * the same offsets as the good rows. Played through the real coordinator with the bench
 * (fake Source, real worker tasks, real committer on a temporary warehouse); every test
 * asserts the dead-letter table's exact rows.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expireSnapshots, mergeAppend, parseIdentifier, type Row, scanRows } from '@kice/iceberg';
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Committer } from '../../src/commit/committer.ts';
import type { CommitterClient } from '../../src/commit/committer-client.ts';
import { DEAD_LETTERS_PROPERTY } from '../../src/commit/dead-letter-files.ts';
import { Coordinator } from '../../src/coordinator.ts';
import {
  type Bench,
  bench,
  commitAsOtherWriter,
  events,
  makeBatch,
  quietLog,
  TABLE,
  until,
} from './harness.ts';

const T0 = { topic: 't', partition: 0 };
const DLQ = 'ns.dlq';

let current: Bench | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

type Api = CommitterClient['api'];

/** A coordinator over the bench; `api` replaces the committer client (fault injection). */
function coordinator(b: Bench, api: Api = b.client.api) {
  return new Coordinator({
    config: b.config,
    source: b.source,
    pool: b.pool as unknown as Piscina,
    committer: { api, async close() {} },
    deadLetters: b.sink,
    log: quietLog,
    fetchStartOffsets: async () => b.source.beginningOffsets,
  });
}

function setup(
  deadLetter: Record<string, unknown> = { table: DLQ },
  table?: { partitionBy?: string[]; properties?: Record<string, string> },
) {
  const tables = table ? { tables: [{ topic: 't', table: TABLE, ...table }] } : {};
  const b = bench({ deadLetter, ...tables } as Parameters<typeof bench>[0]);
  current = b;
  return b;
}

/** A committer whose dead-letter commits fail, as a process killed right after T's commit. */
function failingAbsorb(b: Bench, c: Committer = b.committer): Api {
  return new Proxy(c, {
    get(target, prop, receiver) {
      if (prop === 'absorbDeadLetters')
        return async () => {
          throw new Error('injected: killed before the dead-letter commit');
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as Api;
}

/** A committer whose first `n` dead-letter commits fail (a transient outage), then work. */
function flakyAbsorb(b: Bench, n: number): Api {
  const c = b.committer;
  let left = n;
  return new Proxy(c, {
    get(target, prop, receiver) {
      if (prop === 'absorbDeadLetters')
        return async (dl: string, source: string) => {
          if (left-- > 0) throw new Error('injected: dead-letter table unreachable');
          return c.absorbDeadLetters(dl, source);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as Api;
}

const ids = (rows: { id?: unknown }[]) => rows.map((r) => Number(r.id));
const text = (v: unknown) => (v == null ? null : new TextDecoder().decode(v as Uint8Array));

async function dlqRows(b: Bench): Promise<Row[]> {
  let t: Awaited<ReturnType<typeof b.catalog.loadTable>>;
  try {
    t = await b.catalog.loadTable(parseIdentifier(DLQ));
  } catch {
    return [];
  }
  const rows = await scanRows(t);
  return rows.sort((x, y) => Number((x.source_offset as bigint) - (y.source_offset as bigint)));
}

/** [offset, value text] of each dead letter. */
async function dead(b: Bench): Promise<[number, string | null][]> {
  return (await dlqRows(b)).map((r) => [Number(r.source_offset), text(r.value)]);
}

/** Ten records from `from`: ids from..from+9, every third one unreadable. */
function mixed(from: number): string[] {
  return Array.from({ length: 10 }, (_, i) =>
    (from + i) % 3 === 0 ? `bad-${from + i}` : JSON.stringify({ id: from + i, v: `e${from + i}` }),
  );
}
const good = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => from + i).filter((n) => n % 3 !== 0);
const bad = (from: number, to: number): [number, string][] =>
  Array.from({ length: to - from }, (_, i) => from + i)
    .filter((n) => n % 3 === 0)
    .map((n) => [n, `bad-${n}`]);

function listParquet(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.parquet'),
    );
  } catch {
    return [];
  }
}

describe('deadLetter.table', () => {
  it('commits each dead letter once, with its key, headers, offsets and reason', async () => {
    const b = setup();
    const c = coordinator(b);
    await c.start();
    await b.source.join([T0], []);
    const batch = makeBatch(T0, 0n, mixed(0));
    const withMeta = {
      ...batch,
      keys: (() => {
        const k = makeBatch(T0, 0n, ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
        return { bytes: k.bytes, offsets: k.offsets, nulls: k.nulls };
      })(),
      headers: Array.from({ length: 10 }, (_, i) => [
        { key: 'h', value: new Uint8Array(Buffer.from(`v${i}`)) },
        { key: 'h', value: new Uint8Array([0xff, i]) },
        { key: 'n', value: null },
      ]),
      timestamps: Float64Array.from({ length: 10 }, (_, i) => 1_700_000_000_000 + i),
    };
    b.source.handlers?.onBatch(withMeta);
    await c.settle();
    b.source.deliver(T0, 10n, mixed(10));
    await c.settle();
    expect(ids(await b.rows())).toEqual(good(0, 20));
    expect(await dead(b)).toEqual(bad(0, 20));
    expect(await b.offsets()).toEqual(new Map([['t:0', 20n]]));
    const first = (await dlqRows(b))[0] as Row;
    expect(first.source_topic).toBe('t');
    expect(first.source_partition).toBe(0);
    expect(text(first.key)).toBe('k0');
    // Exact: repeated names and bytes that are not UTF-8 kept, in order.
    expect(
      (first.headers as { key: string; value: Uint8Array | null }[]).map((h) => [
        h.key,
        h.value === null ? null : [...h.value],
      ]),
    ).toEqual([
      ['h', [...Buffer.from('v0')]],
      ['h', [0xff, 0]],
      ['n', null],
    ]);
    expect(first.timestamp).toBe(1_700_000_000_000_000n);
    expect(first.reason).toMatch(/./);
    expect(first.target_table).toBe(TABLE);
    expect(typeof first.ingested_at).toBe('bigint');
    expect(b.deadLetters.sent).toEqual([]); // no topic configured
    expect(c.metrics.deadLettersCommitted).toBe(7);
    expect(c.metrics.inFlightBytes).toBe(0);
    await c.stop();
  });

  it('a process killed between the table commit and the dead-letter commit loses and doubles nothing', async () => {
    const b = setup();
    const c1 = coordinator(b, failingAbsorb(b));
    await c1.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await c1.settle();
    b.source.deliver(T0, 10n, mixed(10));
    await c1.settle();
    // Both of the table's commits name their dead letters; the dead-letter table has none.
    expect(await b.offsets()).toEqual(new Map([['t:0', 20n]]));
    expect(await dead(b)).toEqual([]);
    const t = await b.catalog.loadTable(parseIdentifier(TABLE));
    expect(t.metadata.snapshots.filter((s) => s.summary[DEAD_LETTERS_PROPERTY]).length).toBe(2);

    // Restart (a new process on the same warehouse): the start catches up.
    const c2 = coordinator(b);
    await c2.start();
    await until(() => c2.metrics.deadLettersCommitted === 7, 'the catch-up commit');
    expect(await dead(b)).toEqual(bad(0, 20));
    await b.source.join([T0], []);
    expect(b.source.position.get('t:0')).toBe(20n);
    b.source.deliver(T0, 20n, mixed(20));
    await c2.settle();
    expect(await dead(b)).toEqual(bad(0, 30));
    await c2.stop();

    // A third start finds nothing left to absorb.
    const c3 = coordinator(b);
    await c3.start();
    await b.source.join([T0], []);
    await c3.settle();
    expect(await dead(b)).toEqual(bad(0, 30));
    expect(ids(await b.rows())).toEqual(good(0, 30));
    await c3.stop();
  });

  it("the table's snapshot expiry keeps the snapshots naming dead letters not yet absorbed", async () => {
    const b = setup({ table: DLQ }, { properties: { 'history.expire.max-snapshot-age-ms': '1' } });
    // Maintenance after every commit; every dead-letter commit fails (its table unreachable).
    const c1 = coordinator(b, failingAbsorb(b, new Committer(b.catalog, 'g', 0)));
    await c1.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await c1.settle();
    for (const from of [10, 12, 14]) {
      b.source.deliver(T0, BigInt(from), events(from, 2));
      await c1.settle();
    }
    const named = (await b.catalog.loadTable(parseIdentifier(TABLE))).metadata.snapshots.filter(
      (s) => s.summary[DEAD_LETTERS_PROPERTY],
    );
    expect(named.length).toBe(1);
    await c1.stop();

    const c2 = coordinator(b);
    await c2.start();
    await until(() => c2.metrics.deadLettersCommitted === 4, 'the catch-up commit');
    expect(await dead(b)).toEqual(bad(0, 10));
    await c2.stop();
  });

  it('a table snapshot rolled back before its absorb never reaches the dead-letter table', async () => {
    const b = setup();
    const c1 = coordinator(b, failingAbsorb(b));
    await c1.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await c1.settle();
    b.source.deliver(T0, 10n, mixed(10));
    await c1.settle();
    await c1.stop();
    // An operator rolls the table back to its first snapshot: [10, 20) is read again.
    const id = parseIdentifier(TABLE);
    const t = await b.catalog.loadTable(id);
    const first = t.metadata.snapshots[0]?.snapshotId as bigint;
    await b.catalog.commitTable(
      id,
      [],
      [{ action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: first, type: 'branch' } }],
    );
    const c2 = coordinator(b);
    await c2.start();
    await until(() => c2.metrics.deadLettersCommitted === 4, 'the catch-up commit');
    expect(await dead(b)).toEqual(bad(0, 10));
    await b.source.join([T0], []);
    expect(b.source.position.get('t:0')).toBe(10n);
    b.source.deliver(T0, 10n, mixed(10));
    await c2.settle();
    expect(ids(await b.rows())).toEqual(good(0, 20));
    expect(await dead(b)).toEqual(bad(0, 20));
    await c2.stop();
  });

  it("markers lost to another engine's commit and expiry of the dead-letter table do not double its files", async () => {
    const b = setup();
    const c = coordinator(b);
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await c.settle();
    await c.stop();
    expect(await dead(b)).toEqual(bad(0, 10));
    // Another engine commits to the dead-letter table (no kice markers), then expires every
    // older snapshot: the markers are gone.
    const id = parseIdentifier(DLQ);
    await mergeAppend(await b.catalog.loadTable(id)).commit();
    await expireSnapshots(await b.catalog.loadTable(id), {
      olderThanMs: Date.now() + 1000,
      retainLast: 1,
    });
    const r = await b.committer.absorbDeadLetters(DLQ, TABLE);
    expect(r.records).toBe(0);
    expect(await dead(b)).toEqual(bad(0, 10));
  });

  it('a failed dead-letter commit is retried with backoff, without waiting for another table commit', async () => {
    const b = setup();
    const c = coordinator(b, flakyAbsorb(b, 2));
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await c.settle();
    expect(await b.offsets()).toEqual(new Map([['t:0', 10n]]));
    // No more records: only the retry can commit them.
    await until(() => c.metrics.deadLettersCommitted === 4, 'the retried dead-letter commit');
    expect(await dead(b)).toEqual(bad(0, 10));
    await c.stop();
  });

  it('two absorbs racing for the same snapshots commit them once', async () => {
    const b = setup();
    const c1 = coordinator(b, failingAbsorb(b));
    await c1.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await c1.settle();
    const other = new Committer(b.catalog, 'g');
    const r = await Promise.all([
      b.committer.absorbDeadLetters(DLQ, TABLE),
      other.absorbDeadLetters(DLQ, TABLE),
    ]);
    expect(r.map((x) => x.records).sort()).toEqual([0, 4]);
    expect(await dead(b)).toEqual(bad(0, 10));
  });

  it('two source tables sharing one dead-letter table: concurrent absorbs keep both markers', async () => {
    const b = bench({
      deadLetter: { table: DLQ },
      tables: [
        { topic: 't', table: TABLE },
        { topic: 'u', table: 'ns.other' },
      ],
    } as Parameters<typeof bench>[0]);
    current = b;
    const U0 = { topic: 'u', partition: 0 };
    const c1 = coordinator(b, failingAbsorb(b));
    await c1.start();
    await b.source.join([T0, U0], []);
    b.source.deliver(T0, 0n, mixed(0));
    b.source.deliver(U0, 0n, mixed(100));
    await c1.settle();
    await c1.stop();
    // Two processes absorb the two tables at once: their commits of the one table conflict.
    const other = new Committer(b.catalog, 'g');
    const r = await Promise.all([
      b.committer.absorbDeadLetters(DLQ, TABLE),
      other.absorbDeadLetters(DLQ, 'ns.other'),
    ]);
    expect(r.map((x) => x.records)).toEqual([4, 3]);
    // Neither marker was lost: nothing is absorbed again.
    const again = await Promise.all([
      b.committer.absorbDeadLetters(DLQ, TABLE),
      other.absorbDeadLetters(DLQ, 'ns.other'),
    ]);
    expect(again.map((x) => x.records)).toEqual([0, 0]);
    const rows = (await dlqRows(b)).map(
      (x) => `${x.target_table}@${x.source_offset}=${text(x.value)}`,
    );
    expect(rows.sort()).toEqual(
      [
        ...bad(0, 10).map(([o, v]) => `${TABLE}@${o}=${v}`),
        ...bad(100, 110).map(([o, v]) => `ns.other@${o - 100}=${v}`),
      ].sort(),
    );
  });

  it('a refused table commit commits none of its dead letters and deletes their file', async () => {
    const b = setup();
    const c = coordinator(b);
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await until(() => c.metrics.rowsBuffered === 6, 'the batch buffered');
    // A previous owner committed [0, 3) meanwhile: this member's [0, 10) is a duplicate.
    await commitAsOtherWriter(b, T0, 0n, [100, 101, 102]);
    await c.settle();
    expect(c.metrics.refusedCommits).toBe(1);
    expect(await dead(b)).toEqual([]);
    expect(listParquet(join(b.dir, 'ns', 'dlq', 'data'))).toEqual([]);
    expect(b.source.position.get('t:0')).toBe(3n);
    b.source.deliver(T0, 3n, mixed(3).slice(0, 7));
    await c.settle();
    expect(ids(await b.rows())).toEqual([...good(3, 10), 100, 101, 102]);
    expect(await dead(b)).toEqual(bad(3, 10));
    // Only the committed dead-letter file is left in the dead-letter table's folder.
    expect(listParquet(join(b.dir, 'ns', 'dlq', 'data')).length).toBe(1);
    await c.stop();
  });

  it('a batch of dead letters only advances the offsets and commits its dead letters', async () => {
    const b = setup();
    const c = coordinator(b);
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, events(0, 3));
    await c.settle();
    b.source.deliver(T0, 3n, ['x', 'y', '{']);
    await c.settle();
    expect(await b.offsets()).toEqual(new Map([['t:0', 6n]]));
    expect(await dead(b)).toEqual([
      [3, 'x'],
      [4, 'y'],
      [5, '{'],
    ]);
    expect(ids(await b.rows())).toEqual([0, 1, 2]);
    await c.stop();
  });

  it('an unpartitioned table is created by its first dead letters: nothing waits in memory', async () => {
    const b = setup();
    const c = coordinator(b);
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, ['x', 'y']);
    await c.settle(); // all bad, no table yet: the table is created empty to hold the offsets
    expect(await dead(b)).toEqual([
      [0, 'x'],
      [1, 'y'],
    ]);
    expect(await b.offsets()).toEqual(new Map([['t:0', 2n]]));
    expect(c.metrics.inFlightBytes).toBe(0);
    b.source.deliver(T0, 2n, [...events(2, 2), 'z']);
    await c.settle();
    expect(ids(await b.rows())).toEqual([2, 3]);
    expect(await dead(b)).toEqual([
      [0, 'x'],
      [1, 'y'],
      [4, 'z'],
    ]);
    expect(await b.offsets()).toEqual(new Map([['t:0', 5n]]));
    expect(c.metrics.inFlightBytes).toBe(0);
    await c.stop();
  });

  it('a partitioned table not yet created holds its waiting dead letters inside the memory budget', async () => {
    const b = setup({ table: DLQ }, { partitionBy: ['id'] });
    const c = coordinator(b);
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, ['x', 'y']);
    await c.settle(); // its partition column is unknown: the table cannot be created yet
    expect(await dead(b)).toEqual([]);
    // Counted: a backlog of bad records pauses consumption instead of growing the heap.
    expect(c.metrics.inFlightBytes).toBeGreaterThan(0);
    b.source.deliver(T0, 2n, [...events(2, 2), 'z']);
    await c.settle();
    expect(ids(await b.rows())).toEqual([2, 3]);
    expect(await dead(b)).toEqual([
      [0, 'x'],
      [1, 'y'],
      [4, 'z'],
    ]);
    expect(await b.offsets()).toEqual(new Map([['t:0', 5n]]));
    expect(c.metrics.inFlightBytes).toBe(0);
    await c.stop();
  });

  it('with a topic too, dead letters go to both', async () => {
    const b = setup({ topic: 'dlq', table: DLQ });
    const c = coordinator(b);
    await c.start();
    await b.source.join([T0], []);
    b.source.deliver(T0, 0n, mixed(0));
    await c.settle();
    expect(await dead(b)).toEqual(bad(0, 10));
    expect(b.deadLetters.sent.map((r) => r.headers['kice.source.offset'])).toEqual([
      '0',
      '3',
      '6',
      '9',
    ]);
    await c.stop();
  });
});
