/**
 * The pool's `parse` task (workers/pool-tasks.ts) in a real Piscina worker, from the
 * engine's own worker bundle: a raw fetch's record batches parsed in the worker, and the
 * result posted back without copying the values or the per-record arrays (they are views of
 * SharedArrayBuffers, which structured clone shares). An unreadable batch comes back as a
 * plain error with its base offset and whether fetching it again may help.
 */
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseRecordBatches } from '../../src/source/batches/parse.ts';
import { workerBundle } from '../../src/workers/bundle.ts';
import type { ParseTask, ParseTaskResult } from '../../src/workers/tasks.ts';
import { concatBytes, encodeBatch, gzip, marker, shared } from '../source/batches/encode.ts';

let pool: Piscina;
beforeAll(async () => {
  const bundle = await workerBundle();
  pool = new Piscina({
    filename: pathToFileURL(bundle.poolTasks).href,
    minThreads: 1,
    maxThreads: 1,
  });
});
afterAll(() => pool.destroy());

const records = (n: number) =>
  Array.from({ length: n }, (_, d) => ({
    offsetDelta: d,
    timestampDelta: 10 * d,
    key: d % 3 === 0 ? null : `k${d}`,
    value: d % 4 === 0 ? null : `{"i":${d}}`,
    headers: [{ key: 'h', value: `${d}` }],
  }));

function task(data: Uint8Array, extra: Partial<ParseTask> = {}): ParseTask {
  return {
    kind: 'parse',
    topic: 'orders',
    partition: 2,
    data: shared(data),
    fetchOffset: 100n,
    isolation: 'read_committed',
    abortedTransactions: [],
    keepKeys: true,
    keepHeaders: true,
    ...extra,
  };
}

it('parses in the worker and shares the values and per-record arrays back', async () => {
  const t = task(
    concatBytes(
      encodeBatch({ baseOffset: 100n, baseTimestamp: 5_000, records: records(6) }),
      marker(106n, 4n, true),
      encodeBatch({
        baseOffset: 107n,
        baseTimestamp: 4_000,
        records: records(5),
        codec: 1,
        compress: gzip,
      }),
    ),
  );
  const r = (await pool.run(t)) as ParseTaskResult;
  if (!r.ok) throw new Error(r.error.message);
  expect(r.parsed).toEqual(parseRecordBatches(t));
  expect(r.minTimestamp).toBe(4_000);
  const rec = r.parsed.records;
  expect(rec?.count).toBe(11);
  expect([...(rec?.recordOffsets ?? [])]).toEqual([
    100n,
    101n,
    102n,
    103n,
    104n,
    105n,
    107n,
    108n,
    109n,
    110n,
    111n,
  ]);
  expect(r.parsed.nextOffset).toBe(112n);
  for (const view of [
    rec?.bytes,
    rec?.offsets,
    rec?.nulls,
    rec?.recordOffsets,
    rec?.timestamps,
    rec?.keys?.bytes,
    rec?.keys?.offsets,
    rec?.keys?.nulls,
  ])
    expect(view?.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(rec?.headers?.[1]).toEqual([{ key: 'h', value: new TextEncoder().encode('1') }]);
});

it('returns a CRC mismatch as retryable, with the failing batch offset', async () => {
  const bad = encodeBatch({ baseOffset: 103n, records: records(2) });
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
  const r = (await pool.run(
    task(concatBytes(encodeBatch({ baseOffset: 100n, records: records(3) }), bad)),
  )) as ParseTaskResult;
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.batchOffset).toBe(103n);
  expect(r.error).toMatchObject({ name: 'RecordBatchError', code: 'KAFKA', retryable: true });
  expect(r.error.message).toMatch(/^record batch at orders\/2 offset 103: CRC32C mismatch/);
});

it('returns an unknown codec as not retryable', async () => {
  const r = (await pool.run(
    task(encodeBatch({ baseOffset: 100n, records: records(2), codec: 6 })),
  )) as ParseTaskResult;
  expect(r).toMatchObject({
    ok: false,
    batchOffset: 100n,
    error: {
      code: 'KAFKA',
      retryable: false,
      message:
        'record batch at orders/2 offset 100: codec 6 decompression failed: unknown compression codec 6',
    },
  });
});
