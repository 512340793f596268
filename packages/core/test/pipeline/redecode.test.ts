/**
 * Values of another kind arriving for a column added after the table's first commit (not
 * committed yet, made by an earlier batch of the same commit cycle or by a batch of another
 * partition decoded at the same time): each record is kept or dead-lettered naming the
 * field, the engine never fails and no record is lost. The real coordinator with a fake
 * Source (the test is the Kafka client), the real worker tasks (held and released by the
 * test to order the decodes) and a real committer on a temporary warehouse.
 */
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/coordinator.ts';
import { type Bench, bench, quietLog, settleTick, TABLE, until } from './harness.ts';

const T0 = { topic: 't', partition: 0 };
const T1 = { topic: 't', partition: 1 };

let current: Bench | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

type Policy = 'asString' | 'deadLetter';

async function started(typeConflicts: Policy) {
  const b = bench({ tables: [{ topic: 't', table: TABLE, typeConflicts }] });
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
  await c.start();
  await b.source.join([T0, T1], []);
  // The first commit: a table with columns id and a.
  b.source.deliver(T0, 0n, json([{ id: 0, a: 'x' }]));
  await c.settle();
  expect(c.error).toBeUndefined();
  return { b, c };
}

const json = (xs: object[]) => xs.map((x) => JSON.stringify(x));

/** Dead letters as `offset: reason`, by source partition then offset. */
function deadLettered(b: Bench): string[] {
  return b.deadLetters.sent
    .map((r) => r.headers)
    .sort(
      (x, y) =>
        Number(x['kice.source.partition']) - Number(y['kice.source.partition']) ||
        Number(x['kice.source.offset']) - Number(y['kice.source.offset']),
    )
    .map((h) => `${h['kice.source.partition']}:${h['kice.source.offset']}: ${h['kice.error']}`);
}

/** Waits for `rows` buffered rows and `dead` dead letters, or a fatal error. */
async function handled(c: Coordinator, rows: number, dead: number): Promise<void> {
  await until(
    () =>
      c.error !== undefined || (c.metrics.rowsBuffered >= rows && c.metrics.deadLetters >= dead),
    `${rows} rows buffered and ${dead} dead letters`,
  );
  expect(c.error).toBeUndefined();
}

const LIST = [{ id: 1, tags: [1] }];
const MIXED = [
  { id: 2, tags: 5 },
  { id: 3, tags: 'x' },
  { id: 4, tags: { k: 1 } },
];
const REFUSED = (p: number) => [
  `${p}:2: field "tags": expected list, got number`,
  `${p}:3: field "tags": expected list, got string`,
  `${p}:4: field "tags": expected list, got object`,
];
const EXPECTED_ROWS = [
  { id: 0n, a: 'x', tags: null },
  { id: 1n, a: null, tags: [1n] },
  { id: 5n, a: 'y', tags: null },
];

describe.each(['asString', 'deadLetter'] as const)(
  'typeConflicts %s: scalars where an uncommitted list column is',
  (policy) => {
    it('after the list batch is buffered: dead-lettered naming the field', async () => {
      const { b, c } = await started(policy);
      b.source.deliver(T0, 1n, json(LIST));
      await handled(c, 2, 0);
      b.source.deliver(T0, 2n, json(MIXED));
      b.source.deliver(T0, 5n, json([{ id: 5, a: 'y' }]));
      await handled(c, 3, 3);
      await c.settle();
      expect(c.error).toBeUndefined();
      expect(deadLettered(b)).toEqual(REFUSED(0));
      expect(await b.rows()).toEqual(EXPECTED_ROWS);
      expect((await b.offsets()).get('t:0')).toBe(6n);
    });

    it('decoded before the list batch is merged (same partition)', async () => {
      const { b, c } = await started(policy);
      b.pool.hold = true;
      b.source.deliver(T0, 1n, json(LIST));
      b.source.deliver(T0, 2n, json(MIXED));
      b.source.deliver(T0, 5n, json([{ id: 5, a: 'y' }]));
      await until(() => b.pool.pending.length === 3, 'three decodes started');
      b.pool.hold = false;
      b.pool.releaseAll();
      await handled(c, 3, 3);
      await c.settle();
      expect(c.error).toBeUndefined();
      expect(deadLettered(b)).toEqual(REFUSED(0));
      expect(await b.rows()).toEqual(EXPECTED_ROWS);
      expect((await b.offsets()).get('t:0')).toBe(6n);
    });

    it('two partitions decoded at once, the scalars merged first', async () => {
      const { b, c } = await started(policy);
      b.pool.hold = true;
      b.source.deliver(T0, 1n, json(LIST));
      b.source.deliver(T1, 0n, json([{ id: 5, a: 'y' }, ...MIXED]));
      await until(() => b.pool.pending.length === 2, 'both decodes started');
      b.pool.hold = false;
      b.pool.release('decode', 1); // partition 1's mixed batch first: tags becomes a string
      await until(() => c.error !== undefined || c.metrics.rowsBuffered >= 1, 'partition 1');
      b.pool.releaseAll();
      await until(
        () => c.error !== undefined || c.metrics.rowsBuffered + c.metrics.deadLetters >= 6,
        'both batches handled',
      );
      await c.settle();
      expect(c.error).toBeUndefined();
      // Partition 1's batch is new to tags: within it, the policy decides (asString: a
      // string column of each value's JSON text, which then takes the list as text).
      if (policy === 'asString') {
        expect(deadLettered(b)).toEqual([]);
        expect(await b.rows()).toEqual([
          { id: 0n, a: 'x', tags: null },
          { id: 1n, a: null, tags: '[1]' },
          { id: 2n, a: null, tags: '5' },
          { id: 3n, a: null, tags: 'x' },
          { id: 4n, a: null, tags: '{"k":1}' },
          { id: 5n, a: 'y', tags: null },
        ]);
      } else {
        expect(deadLettered(b)).toEqual([
          '0:1: field "tags": expected long, got array',
          '1:2: field "tags": expected long, got string',
          '1:3: field "tags": expected long, got object',
        ]);
        expect(await b.rows()).toEqual([
          { id: 0n, a: 'x', tags: null },
          { id: 2n, a: null, tags: 5n },
          { id: 5n, a: 'y', tags: null },
        ]);
      }
      expect((await b.offsets()).get('t:0')).toBe(2n);
      expect((await b.offsets()).get('t:1')).toBe(4n);
    });

    it('two partitions decoded at once, the list merged first', async () => {
      const { b, c } = await started(policy);
      b.pool.hold = true;
      b.source.deliver(T0, 1n, json(LIST));
      b.source.deliver(T1, 0n, json([{ id: 5, a: 'y' }, ...MIXED]));
      await until(() => b.pool.pending.length === 2, 'both decodes started');
      b.pool.hold = false;
      b.pool.release('decode', 0);
      await until(() => c.error !== undefined || c.metrics.rowsBuffered >= 2, 'partition 0');
      b.pool.releaseAll();
      await handled(c, 3, 3);
      await c.settle();
      expect(c.error).toBeUndefined();
      expect(deadLettered(b)).toEqual([
        '1:1: field "tags": expected list, got number',
        '1:2: field "tags": expected list, got string',
        '1:3: field "tags": expected list, got object',
      ]);
      expect(await b.rows()).toEqual(EXPECTED_ROWS);
      expect((await b.offsets()).get('t:1')).toBe(4n);
    });
  },
);

describe('a batch whose columns other partitions keep changing while it is re-decoded', () => {
  it.each(['asString', 'deadLetter'] as const)(
    'typeConflicts %s: dead-letters naming the field; the engine keeps running',
    async (policy) => {
      const { b, c } = await started(policy);
      const lanes = [1, 2, 3, 4].map((p) => ({ topic: 't', partition: p }));
      await b.source.join([T0, ...lanes], [T0, T1]);
      b.pool.hold = true;
      // Partitions 1-4 each add f<p> as a list; partition 0 has every f<p> as a number.
      for (const tp of lanes) {
        b.source.deliver(tp, 0n, json([{ id: tp.partition, [`f${tp.partition}`]: [1] }]));
      }
      b.source.deliver(T0, 1n, json([1, 2, 3, 4].map((p) => ({ id: 10 + p, [`f${p}`]: 1 }))));
      await until(() => b.pool.pending.length === 5, 'five decodes started');
      const ofT0 = (x: { task: { bytes?: Uint8Array } }) =>
        new TextDecoder().decode(x.task.bytes).includes('"id":11');
      // Each decode of partition 0's batch completes just after another f<p> became a list
      // (before the fix: four refusals, then a fatal SCHEMA_INCOMPATIBLE naming f4).
      for (let p = 1; p <= 4; p++) {
        b.pool.release(
          'decode',
          b.pool.pending.findIndex((x) => !ofT0(x)),
        ); // f<p>: a list
        await settleTick();
        const runs = b.pool.runs;
        const at = b.pool.pending.findIndex(ofT0);
        if (at < 0) break;
        b.pool.release('decode', at); // partition 0's (re-)decode: f<p> no longer fits
        await until(
          () => c.error !== undefined || c.metrics.deadLetters > 0 || b.pool.runs > runs,
          `partition 0 decoded again (${p})`,
        );
      }
      b.pool.hold = false;
      b.pool.releaseAll();
      await until(() => c.error !== undefined || c.metrics.deadLetters === 4, 'the dead letters');
      await c.settle();
      expect(c.error).toBeUndefined();
      // The re-decode under the current schema merges before partitions 2-4 (they wait for
      // it): their lists no longer fit, and they are refused naming the field.
      expect(deadLettered(b)).toEqual([
        '0:1: field "f1": expected list, got number',
        '2:0: field "f2": expected long, got array',
        '3:0: field "f3": expected long, got array',
        '4:0: field "f4": expected long, got array',
      ]);
      expect((await b.rows()).map((r) => r.id)).toEqual([0n, 1n, 12n, 13n, 14n]);
      const offsets = await b.offsets();
      expect([0, 1, 2, 3, 4].map((p) => offsets.get(`t:${p}`))).toEqual([5n, 1n, 1n, 1n, 1n]);
    },
  );
});
