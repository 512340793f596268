/**
 * Progress reports (Source onProgress: offsets a fetch skipped without records, e.g.
 * transaction markers) are ignored once the coordinator is stopping or has failed, like
 * batches are: the real coordinator with a fake Source (the test is the Kafka client), the
 * real worker tasks and a real committer on a temporary warehouse.
 */
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/coordinator.ts';
import type { SourceHandlers } from '../../src/source/types.ts';
import { type Bench, bench, events, quietLog } from './harness.ts';

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
  c.on('fatal', () => {});
  await c.start();
  await b.source.join([T0], []);
  b.source.deliver(T0, 0n, events(0, 10));
  await c.settle();
  const handlers = b.source.handlers as SourceHandlers;
  const expected = () => c.positions().find((p) => p.key === 't:0')?.expected;
  expect(expected()).toBe(10n);
  return { b, c, handlers, expected };
}

describe('coordinator: progress reports', () => {
  it('move a partition on while running (the control case)', async () => {
    const { b, c, handlers, expected } = await started();
    handlers.onProgress?.(T0, 15n);
    expect(expected()).toBe(15n);
    await c.settle();
    expect(await b.offsets()).toEqual(new Map([['t:0', 15n]]));
  });

  it('are ignored once stopping', async () => {
    const { b, c, handlers, expected } = await started();
    const stopping = c.stop();
    handlers.onProgress?.(T0, 15n);
    await stopping;
    handlers.onProgress?.(T0, 20n);
    expect(expected()).toBe(10n);
    expect(await b.offsets()).toEqual(new Map([['t:0', 10n]]));
  });

  it('are ignored after a fatal error', async () => {
    const { c, handlers, expected } = await started();
    handlers.onError(new Error('fatal for the test'));
    expect(c.error?.message).toBe('fatal for the test');
    handlers.onProgress?.(T0, 15n);
    expect(expected()).toBe(10n);
  });
});
