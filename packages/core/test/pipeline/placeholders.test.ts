/**
 * A field a batch saw only as [] / {} gets a placeholder column (list<string>,
 * map<string, string>; decode/infer.ts). When a later batch of the same commit gives the
 * field its real type, the placeholder gives way: the committed column has the real type,
 * the earlier rows read empty. Once committed, a placeholder stays (later elements are
 * JSON text). The real coordinator with a fake Source (the test is the Kafka client), the
 * real worker tasks and a real committer on a temporary warehouse.
 */
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/coordinator.ts';
import { type Bench, bench, quietLog, until } from './harness.ts';

const T0 = { topic: 't', partition: 0 };

let current: Bench | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

async function started() {
  const b = bench();
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
  await b.source.join([T0], []);
  return { b, c };
}

const json = (xs: object[]) => xs.map((x) => JSON.stringify(x));

describe('placeholder columns', () => {
  it('give way to the type a later batch of the same commit finds', async () => {
    const { b, c } = await started();
    b.source.deliver(
      T0,
      0n,
      json([
        { id: 0, items: [], meta: {} },
        { id: 1, items: null },
      ]),
    );
    await until(() => c.metrics.rowsBuffered === 2, 'the first batch buffered');
    b.source.deliver(T0, 2n, json([{ id: 2, items: [5, 6], meta: { k: 'v' } }]));
    await until(() => c.metrics.rowsBuffered === 3, 'the second batch buffered');
    await c.settle();
    const rows = await b.rows();
    expect(rows).toEqual([
      { id: 0n, items: [], meta: { k: null } },
      { id: 1n, items: null, meta: null },
      { id: 2n, items: [5n, 6n], meta: { k: 'v' } },
    ]);
  });

  it('stay once committed; later elements are JSON text', async () => {
    const { b, c } = await started();
    b.source.deliver(T0, 0n, json([{ id: 0, items: [] }]));
    await c.settle();
    b.source.deliver(T0, 1n, json([{ id: 1, items: [5, 'x'] }]));
    await c.settle();
    expect(await b.rows()).toEqual([
      { id: 0n, items: [] },
      { id: 1n, items: ['5', 'x'] },
    ]);
  });
});
