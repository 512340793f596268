/**
 * The coordinator's raw fetch path (Source onRawFetch, source option `fetch: raw`): whole
 * Kafka record batches (https://kafka.apache.org/documentation/#recordbatch) handed over as
 * bytes, parsed by the pool's `parse` task, then decoded and applied like a batch. The real
 * coordinator with a fake Source (the test is the Kafka client), the real worker tasks run
 * in this thread (results released when the test says), a real committer on a temporary
 * warehouse. Batches are written by the parser's test writer; real producers' batches are
 * in raw-fetch.integration.test.ts.
 */
import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/coordinator.ts';
import { parseRecordBatches } from '../../src/source/batches/parse.ts';
import { concatBytes, encodeBatch, marker, type TestRecord } from '../source/batches/encode.ts';
import { type Bench, bench, quietLog, settleTick, until } from './harness.ts';

const T0 = { topic: 't', partition: 0 };

let current: Bench | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

/** JSON events with ids [first, first + n) at offset deltas 0..n-1. */
function records(first: number, n: number): TestRecord[] {
  return Array.from({ length: n }, (_, d) => ({
    offsetDelta: d,
    timestampDelta: d,
    value: JSON.stringify({ id: first + d, v: `e${first + d}` }),
  }));
}

/** One batch of JSON events with ids = offsets [base, base + n). */
function batchAt(base: number, n: number, extra: Partial<Parameters<typeof encodeBatch>[0]> = {}) {
  return encodeBatch({
    baseOffset: BigInt(base),
    baseTimestamp: 1_700_000_000_000 + base,
    records: records(base, n),
    ...extra,
  });
}

/** The same bytes with one byte of the records section flipped (the CRC no longer fits). */
function corrupt(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  out[out.length - 3] = (out[out.length - 3] as number) ^ 0xff;
  return out;
}

async function started(overrides = {}) {
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
  const fatal: Error[] = [];
  c.on('fatal', (e: Error) => fatal.push(e));
  await c.start();
  await b.source.join([T0], []);
  const expected = () => c.positions().find((p) => p.key === 't:0')?.expected;
  return { b, c, fatal, expected };
}

const ids = async (b: Bench) => (await b.rows()).map((r) => Number(r.id));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('coordinator: raw fetches', () => {
  it('parses fetches side by side and applies them in partition order', async () => {
    const { b, c, expected } = await started();
    b.pool.hold = true;
    b.source.deliverRaw(T0, 0n, concatBytes(batchAt(0, 4), batchAt(4, 6)));
    b.source.deliverRaw(T0, 10n, batchAt(10, 5));
    // Both claimed at once; both parses run before either is applied.
    expect(expected()).toBe(15n);
    expect(b.pool.pending.map((p) => p.kind)).toEqual(['parse', 'parse']);
    b.pool.release('parse', 1); // the later fetch's parse returns first
    await until(() => b.pool.pending.some((p) => p.kind === 'decode'), 'the second decode');
    b.pool.hold = false;
    b.pool.releaseAll();
    await until(() => b.pool.pending.length === 0, 'nothing held');
    await c.settle();
    expect(await ids(b)).toEqual(range(0, 15));
    expect((await b.rows())[3]).toEqual({ id: 3n, v: 'e3' });
    expect(await b.offsets()).toEqual(new Map([['t:0', 15n]]));
    expect(c.metrics.recordsConsumed).toBe(15);
    expect(c.metrics.bytesConsumed).toBe(
      range(0, 15).reduce((n, i) => n + JSON.stringify({ id: i, v: `e${i}` }).length, 0),
    );
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('refuses a fetch that starts past the expected offset and fetches again from there', async () => {
    const { b, c, expected } = await started();
    b.source.deliverRaw(T0, 0n, batchAt(0, 5));
    // The fetcher out of step: records 5..7 were never delivered.
    b.source.deliverRaw(T0, 8n, batchAt(8, 4));
    expect(expected()).toBe(5n);
    expect(b.source.seeks.at(-1)).toEqual({ key: 't:0', offset: 5n });
    b.source.deliverRaw(T0, 5n, batchAt(5, 7));
    await c.settle();
    expect(await ids(b)).toEqual(range(0, 12));
    expect(await b.offsets()).toEqual(new Map([['t:0', 12n]]));
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('takes a gap the fetcher marks as gone from the log (retention)', async () => {
    const { b, c, expected } = await started();
    b.source.deliverRaw(T0, 0n, batchAt(0, 5));
    // Offsets 5..9 deleted before they were read: the fetcher moved to the log start 10.
    const seeks = b.source.seeks.length;
    b.source.deliverRaw(T0, 10n, batchAt(10, 3), { skippedFrom: 5n });
    expect(expected()).toBe(13n);
    expect(b.source.seeks.length).toBe(seeks);
    await c.settle();
    expect(await ids(b)).toEqual([...range(0, 5), ...range(10, 13)]);
    expect(await b.offsets()).toEqual(new Map([['t:0', 13n]]));
  });

  it('refuses a marked gap that does not start at the expected offset', async () => {
    const { b, c, expected } = await started();
    b.source.deliverRaw(T0, 0n, batchAt(0, 5));
    b.source.deliverRaw(T0, 10n, batchAt(10, 3), { skippedFrom: 7n });
    expect(expected()).toBe(5n);
    expect(b.source.seeks.at(-1)).toEqual({ key: 't:0', offset: 5n });
    await c.settle();
    expect(await ids(b)).toEqual(range(0, 5));
  });

  it('moves a partition past a fetch of only aborted records and markers', async () => {
    const { b, c } = await started();
    const pid = 7n;
    b.source.deliverRaw(T0, 0n, batchAt(0, 3));
    // A transaction of 4 records (offsets 3..6) aborted at 7, then a committed one (8..9, 10).
    b.source.deliverRaw(
      T0,
      3n,
      concatBytes(batchAt(3, 4, { transactional: true, producerId: pid }), marker(7n, pid, false)),
      { abortedTransactions: [{ producerId: pid, firstOffset: 3n }] },
    );
    b.source.deliverRaw(
      T0,
      8n,
      concatBytes(batchAt(8, 2, { transactional: true, producerId: pid }), marker(10n, pid, true)),
    );
    await c.settle();
    expect(await ids(b)).toEqual([0, 1, 2, 8, 9]);
    expect(await b.offsets()).toEqual(new Map([['t:0', 11n]]));
    expect(c.metrics.recordsConsumed).toBe(5);
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('commits the offsets of an all-aborted fetch at the end of the partition', async () => {
    const { b, c } = await started();
    const pid = 3n;
    b.source.deliverRaw(T0, 0n, batchAt(0, 2));
    b.source.deliverRaw(
      T0,
      2n,
      concatBytes(batchAt(2, 2, { transactional: true, producerId: pid }), marker(4n, pid, false)),
      { abortedTransactions: [{ producerId: pid, firstOffset: 2n }] },
    );
    await c.settle();
    expect(await ids(b)).toEqual([0, 1]);
    expect(await b.offsets()).toEqual(new Map([['t:0', 5n]]));
    expect(c.metrics.recordsConsumed).toBe(2);
  });

  it('keeps records past a compaction gap and records the offset after it', async () => {
    const { b, c } = await started();
    // Offsets 0..2, then 3..5 removed by the cleaner, then 6..7 with a last delta past them.
    b.source.deliverRaw(T0, 0n, concatBytes(batchAt(0, 3), batchAt(6, 2, { lastOffsetDelta: 3 })));
    // The next fetch starts after the last batch's last offset delta (6 + 3 + 1).
    b.source.deliverRaw(T0, 10n, batchAt(10, 1));
    await c.settle();
    expect(await ids(b)).toEqual([0, 1, 2, 6, 7, 10]);
    expect(await b.offsets()).toEqual(new Map([['t:0', 11n]]));
  });

  it('fetches again from the same offset when a batch fails its CRC check', async () => {
    const { b, c, fatal, expected } = await started();
    b.pool.hold = true;
    b.source.deliverRaw(T0, 0n, batchAt(0, 5));
    b.source.deliverRaw(T0, 5n, concatBytes(batchAt(5, 5), corrupt(batchAt(10, 5))));
    b.source.deliverRaw(T0, 15n, batchAt(15, 5)); // fetched before the refetch: dropped
    const seeks = b.source.seeks.length;
    b.pool.hold = false;
    b.pool.releaseAll();
    await until(() => b.source.seeks.length > seeks, 'the refetch');
    expect(b.source.seeks.slice(seeks)).toEqual([{ key: 't:0', offset: 5n }]);
    expect(expected()).toBe(5n);
    const warned = quietLog.lines.filter(
      (l) =>
        l.msg ===
        'fetched record batch unreadable; fetching the partition again from the same offset',
    );
    expect(warned.at(-1)?.obj).toMatchObject({ partition: 't:0', offset: '5', batchOffset: '10' });
    // The Source fetches again from 5 (the broker's bytes are fine this time).
    b.source.deliverRaw(T0, 5n, concatBytes(batchAt(5, 5), batchAt(10, 5)));
    b.source.deliverRaw(T0, 15n, batchAt(15, 5));
    await c.settle();
    expect(fatal).toEqual([]);
    expect(await ids(b)).toEqual(range(0, 20));
    expect(await b.offsets()).toEqual(new Map([['t:0', 20n]]));
    // Counted when parsed: the fetch at 15 the refetch dropped was parsed before it.
    expect(c.metrics.recordsConsumed).toBe(25);
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('stops with an error naming partition and offset when a batch fails its CRC three fetches in a row', async () => {
    const { b, c, fatal } = await started();
    b.source.deliverRaw(T0, 0n, batchAt(0, 5));
    await c.settle();
    const bad = concatBytes(batchAt(5, 2), corrupt(batchAt(7, 3)));
    for (let i = 0; i < 2; i++) {
      const seeks = b.source.seeks.length;
      b.source.deliverRaw(T0, 5n, bad);
      await until(() => b.source.seeks.length > seeks, `refetch ${i + 1}`);
    }
    b.source.deliverRaw(T0, 5n, bad);
    await until(() => fatal.length > 0, 'the fatal error');
    expect(fatal[0]?.message).toMatch(
      /^record batch at t\/0 offset 7: CRC32C mismatch \(stored 0x[0-9a-f]+, computed 0x[0-9a-f]+\): corrupt batch: still unreadable after 3 fetches in a row of t:0 from offset 5$/,
    );
    expect((fatal[0] as { context?: unknown }).context).toEqual({
      topic: 't',
      partition: 0,
      offset: '7',
    });
    expect(await b.offsets()).toEqual(new Map([['t:0', 5n]]));
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('stops at once on a batch no refetch can fix (an unknown codec)', async () => {
    const { b, c, fatal } = await started();
    b.source.deliverRaw(T0, 0n, concatBytes(batchAt(0, 2), batchAt(2, 2, { codec: 6 })));
    await until(() => fatal.length > 0, 'the fatal error');
    expect(fatal[0]?.message).toBe(
      'record batch at t/0 offset 2: codec 6 decompression failed: unknown compression codec 6 (fetched from t:0 offset 0); kice stops rather than skip the records in it',
    );
    expect(b.source.seeks).toEqual([{ key: 't:0', offset: 0n }]); // the assignment's only
    expect(b.deadLetters.sent).toEqual([]);
    await c.settle();
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('drops a stale fetch (made before a seek) and releases its bytes', async () => {
    const { b, c, expected } = await started();
    b.source.deliverRaw(T0, 0n, batchAt(0, 5));
    b.source.deliverRaw(T0, 2n, batchAt(0, 5));
    await c.settle();
    expect(expected()).toBe(5n);
    expect(await ids(b)).toEqual(range(0, 5));
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('gives a fetch its memory back once its parse has settled, and not before', async () => {
    const { b, c, fatal } = await started();
    const released: string[] = [];
    const release = (name: string) => () => released.push(name);
    b.pool.hold = true;
    b.source.deliverRaw(T0, 0n, batchAt(0, 5), { release: release('first') });
    b.source.deliverRaw(T0, 5n, corrupt(batchAt(5, 5)), { release: release('corrupt') });
    // Refused unread (ahead of the expected offset 10 once the first two are claimed).
    b.source.deliverRaw(T0, 12n, batchAt(12, 3), { release: release('ahead') });
    expect(released).toEqual(['ahead']);
    expect(b.pool.pending.map((p) => p.kind)).toEqual(['parse', 'parse']);
    b.pool.release('parse', 0);
    await until(() => released.length === 2, 'the first release');
    expect(released).toEqual(['ahead', 'first']);
    // A parse that fails (the CRC) gives its bytes back too.
    b.pool.release('parse', 0);
    await until(() => released.length === 3, 'the corrupt fetch released');
    const seeks = b.source.seeks.length;
    b.pool.hold = false;
    b.pool.releaseAll();
    await until(() => b.source.seeks.length > seeks, 'the refetch');
    expect(b.source.seeks.at(-1)).toEqual({ key: 't:0', offset: 5n });
    b.source.deliverRaw(T0, 5n, batchAt(5, 5), { release: release('refetch') });
    await c.settle();
    expect(released).toEqual(['ahead', 'first', 'corrupt', 'refetch']);
    expect(fatal).toEqual([]);
    expect(await ids(b)).toEqual(range(0, 10));
    expect(c.metrics.inFlightBytes).toBe(0);
  });

  it('holds the reserved bytes of a fetch until it is applied, then the parsed size', async () => {
    const { b, c } = await started();
    b.pool.hold = true;
    const data = batchAt(0, 50);
    const fetch = b.source.deliverRaw(T0, 0n, data);
    expect(c.metrics.inFlightBytes).toBe(data.byteLength);
    b.pool.release('parse', 0);
    await until(() => b.pool.pending.some((p) => p.kind === 'decode'), 'the decode');
    // The parsed records' shared memory: values (in their records sections) and arrays.
    const parsed = parseRecordBatches(fetch).records;
    expect(c.metrics.inFlightBytes).toBe(
      (parsed?.bytes.buffer.byteLength ?? 0) + (parsed?.offsets.buffer.byteLength ?? 0),
    );
    b.pool.hold = false;
    b.pool.releaseAll();
    await settleTick();
    await c.settle();
    expect(c.metrics.inFlightBytes).toBe(0);
    expect(await ids(b)).toEqual(range(0, 50));
  });

  it('fills the metadata column from the parsed headers, keys and timestamps', async () => {
    const { b, c } = await started({
      tables: [
        {
          topic: 't',
          table: 'ns.events',
          metadata: { column: '_kafka' },
          key: { format: 'string' },
        },
      ],
    });
    b.source.deliverRaw(
      T0,
      0n,
      encodeBatch({
        baseOffset: 0n,
        baseTimestamp: 1_700_000_000_000,
        records: [
          {
            offsetDelta: 0,
            key: 'k0',
            value: JSON.stringify({ id: 0 }),
            headers: [{ key: 'h', value: 'v' }],
          },
        ],
      }),
      { keepHeaders: true, keepKeys: true },
    );
    await c.settle();
    expect(await b.rows()).toEqual([
      {
        id: 0n,
        _key: 'k0',
        _kafka: {
          topic: 't',
          partition: 0,
          offset: 0n,
          timestamp: 1_700_000_000_000_000n,
          timestamp_type: 'CreateTime',
          headers: [{ key: 'h', value: new TextEncoder().encode('v') }],
        },
      },
    ]);
  });
});
