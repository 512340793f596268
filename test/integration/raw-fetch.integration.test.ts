/**
 * The raw fetch path (packages/core/src/source/fetch) on the shared broker: positions,
 * seek while a fetch is in flight (the stale response is dropped), pause/resume, a small
 * maxBytesPerPartition (many small fetches, batches never split), and a read_committed
 * topic whose committed and aborted transactions interleave (librdkafka's transactional
 * producers, test/support/produce_batches.py): the aborted list of each RawFetch lets the
 * parser drop exactly the aborted records. Every delivered RawFetch is parsed with
 * parseRecordBatches and the records are checked offset by offset and byte by byte.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawFetcher } from '../../packages/core/src/source/fetch/fetcher.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, endOffsets, kafkaClient, produce } from '../support/produce.ts';
import { chained, type Harness, rawFetcher } from '../support/raw-fetch.ts';
import { REPO_ROOT, runPython } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const topic = (name: string) => `raw-${RUN}-${name}`;
let brokers: string[];
const running: RawFetcher[] = [];

function start(h: Harness): Harness {
  running.push(h.fetcher);
  return h;
}

const value = (id: number) => `v-${id}-${'x'.repeat(id % 40)}`;
/** Records id first..first+count-1 to partition `id % partitions`, `batchSize` per send. */
async function fill(t: string, partitions: number, count: number, batchSize = 50): Promise<void> {
  await produce({
    brokers,
    topic: t,
    partitions,
    first: 0,
    count,
    batchSize,
    inFlight: 1,
    record: (id) => ({ value: value(id) }),
  });
}
/** Values of partition p of a topic filled with `count` ids over `partitions`, from offset `from`. */
function expectedValues(p: number, partitions: number, count: number, from = 0): string[] {
  const ids: number[] = [];
  for (let id = p; id < count; id += partitions) ids.push(id);
  return ids.slice(from).map(value);
}
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => BigInt(from + i));

beforeAll(async () => {
  brokers = [await startKafka()];
}, 180_000);

afterAll(async () => {
  await Promise.all(running.map((f) => f.stop()));
});

describe('the raw fetcher on the shared broker', () => {
  it('fetches from the seeked positions, every offset once, the bytes as produced', async () => {
    const t = topic('basic');
    await createTopic(brokers, t, 2);
    await fill(t, 2, 1000);
    const h = start(rawFetcher({ brokers }));
    await h.fetcher.start();
    const p0 = { topic: t, partition: 0 };
    const p1 = { topic: t, partition: 1 };
    h.fetcher.assign([p0, p1]);
    expect(h.fetcher.position(p0)).toBeUndefined();
    expect(h.fetcher.seek(p0, 0n)).toBe(true);
    expect(h.fetcher.seek(p1, 123n)).toBe(true);
    expect(h.fetcher.seek({ topic: t, partition: 7 }, 0n)).toBe(false);
    h.fetcher.resume([p0, p1]);
    await h.until(t, 0, 500n);
    await h.until(t, 1, 500n);
    const d0 = h.delivered.get(`${t}:0`);
    const d1 = h.delivered.get(`${t}:1`);
    expect(d0?.offsets).toEqual(range(0, 500));
    expect(d0?.values).toEqual(expectedValues(0, 2, 1000));
    expect(d1?.offsets).toEqual(range(123, 500));
    expect(d1?.values).toEqual(expectedValues(1, 2, 1000, 123));
    expect(d0?.fetches[0]?.fetchOffset).toBe(0n);
    expect(d1?.fetches[0]?.fetchOffset).toBe(123n);
    expect(chained(d0?.fetches ?? [])).toBe(true);
    expect(chained(d1?.fetches ?? [])).toBe(true);
    for (const f of [...(d0?.fetches ?? []), ...(d1?.fetches ?? [])]) {
      expect(f.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(f.highWatermark).toBe(500n);
      expect(f.lastStableOffset).toBe(500n);
      expect(f.isolation).toBe('read_committed');
      expect(f.epoch).toBe(2); // assign 1, seek 2
    }
    expect(h.errors).toEqual([]);
  });

  it('drops the response of a fetch in flight when the partition is seeked, then fetches from the seek', async () => {
    const t = topic('seek');
    await createTopic(brokers, t, 1);
    await fill(t, 1, 300);
    const tp = { topic: t, partition: 0 };
    let calls = 0;
    let h: Harness | undefined;
    h = start(
      rawFetcher(
        { brokers },
        {
          // The broker holds the response for maxWait (minBytes is never reached).
          minBytes: 1 << 30,
          maxWaitTimeInMs: 500,
          wrap: (real) =>
            Object.assign(Object.create(real) as typeof real, {
              fetch: (...args: Parameters<typeof real.fetch>) => {
                const sent = real.fetch(...args);
                calls += 1;
                // The request for offset 0 is on the wire: move the partition.
                if (calls === 1) h?.fetcher.seek(tp, 200n);
                return sent;
              },
            }),
        },
      ),
    );
    await h.fetcher.start();
    h.fetcher.assign([tp]);
    h.fetcher.seek(tp, 0n);
    h.fetcher.resume([tp]);
    await h.until(t, 0, 300n);
    const d = h.delivered.get(`${t}:0`);
    expect(calls).toBeGreaterThan(1);
    expect(d?.fetches[0]?.fetchOffset).toBe(200n);
    expect(d?.fetches.every((f) => f.epoch === 3)).toBe(true);
    expect(d?.offsets).toEqual(range(200, 300));
    expect(d?.values).toEqual(expectedValues(0, 1, 300, 200));
  });

  it('delivers nothing of a paused partition and goes on from its position on resume', async () => {
    const t = topic('pause');
    await createTopic(brokers, t, 2);
    await fill(t, 2, 400);
    const p0 = { topic: t, partition: 0 };
    const p1 = { topic: t, partition: 1 };
    const h = start(rawFetcher({ brokers }, { maxBytesPerPartition: 2048, maxBytes: 4096 }));
    await h.fetcher.start();
    h.fetcher.assign([p0, p1]);
    h.fetcher.seek(p0, 0n);
    h.fetcher.seek(p1, 0n);
    h.fetcher.resume([p0]);
    await h.until(t, 0, 1n);
    h.fetcher.pause([p0]);
    const at = h.fetcher.position(p0) as bigint;
    const fetchesWhenPaused = h.delivered.get(`${t}:0`)?.fetches.length;
    // p1 is read to its end while p0 stays paused.
    h.fetcher.resume([p1]);
    await h.until(t, 1, 200n);
    expect(h.delivered.get(`${t}:0`)?.fetches.length).toBe(fetchesWhenPaused);
    expect(h.fetcher.position(p0)).toBe(at);
    expect(at).toBeLessThan(200n);
    h.fetcher.resume([p0]);
    await h.until(t, 0, 200n);
    const d0 = h.delivered.get(`${t}:0`);
    expect(d0?.offsets).toEqual(range(0, 200));
    expect(d0?.values).toEqual(expectedValues(0, 2, 400));
    expect(chained(d0?.fetches ?? [])).toBe(true);
  });

  it('honours maxBytesPerPartition: many small fetches of whole batches', async () => {
    const t = topic('small');
    await createTopic(brokers, t, 1);
    await fill(t, 1, 600, 20);
    const h = start(rawFetcher({ brokers }, { maxBytesPerPartition: 3000, maxBytes: 3000 }));
    await h.fetcher.start();
    const tp = { topic: t, partition: 0 };
    h.fetcher.assign([tp]);
    h.fetcher.seek(tp, 0n);
    h.fetcher.resume([tp]);
    await h.until(t, 0, 600n);
    const d = h.delivered.get(`${t}:0`);
    expect(d?.offsets).toEqual(range(0, 600));
    expect(d?.values).toEqual(expectedValues(0, 1, 600));
    // 30 batches of 20 records, well under 3000 bytes each: several whole batches per
    // fetch, never more than the cap.
    const total = (d?.fetches ?? []).reduce((n, f) => n + f.data.length, 0);
    expect(total).toBeGreaterThan(6000);
    expect(d?.fetches.length).toBeGreaterThanOrEqual(Math.ceil(total / 3000));
    expect(d?.fetches.every((f) => f.data.length <= 3000)).toBe(true);
    expect(chained(d?.fetches ?? [])).toBe(true);
  });

  it('delivers a batch larger than maxBytesPerPartition whole (the broker returns a first batch whole)', async () => {
    const t = topic('big');
    await createTopic(brokers, t, 1);
    await fill(t, 1, 100, 100);
    // One batch of 100 records, several KB: larger than both caps.
    const h = start(rawFetcher({ brokers }, { maxBytesPerPartition: 500, maxBytes: 500 }));
    await h.fetcher.start();
    const tp = { topic: t, partition: 0 };
    h.fetcher.assign([tp]);
    h.fetcher.seek(tp, 0n);
    h.fetcher.resume([tp]);
    await h.until(t, 0, 100n);
    // The broker returns the first batch whole however large (KIP-74).
    expect(h.delivered.get(`${t}:0`)?.offsets).toEqual(range(0, 100));
    expect(h.delivered.get(`${t}:0`)?.fetches[0]?.data.length).toBeGreaterThan(500);
    expect(h.errors).toEqual([]);
  });

  it('read_committed: the aborted list of each fetch lets the parser drop exactly the aborted records', async () => {
    const t = topic('txn');
    await createTopic(brokers, t, 1);
    const dir = await mkdtemp(join(tmpdir(), 'raw-fetch-'));
    const jobs = join(dir, 'jobs.json');
    await writeFile(
      jobs,
      JSON.stringify([{ topic: t, compression: 'lz4', count: 25, mode: 'txn' }]),
    );
    const out = await runPython([
      join(REPO_ROOT, 'test/support/produce_batches.py'),
      brokers[0] as string,
      jobs,
    ]);
    const written = JSON.parse(out.trim()) as {
      committed: (string | null)[];
      aborted: (string | null)[];
    };
    expect(written.aborted.length).toBeGreaterThan(0);
    const end = BigInt((await endOffsets(brokers, t))['0'] as string);
    const sorted = (v: (string | null)[]) => v.map((x) => (x === null ? '\u0000null' : x)).sort();
    for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
      const h = start(
        rawFetcher({ brokers }, { isolation, maxBytesPerPartition: 4096, maxBytes: 8192 }),
      );
      await h.fetcher.start();
      const tp = { topic: t, partition: 0 };
      h.fetcher.assign([tp]);
      h.fetcher.seek(tp, 0n);
      h.fetcher.resume([tp]);
      await h.until(t, 0, end);
      const d = h.delivered.get(`${t}:0`);
      expect(h.fetcher.position(tp)).toBe(end);
      expect(chained(d?.fetches ?? [])).toBe(true);
      expect(d?.fetches.every((f) => f.isolation === isolation)).toBe(true);
      const want =
        isolation === 'read_committed'
          ? written.committed
          : [...written.committed, ...written.aborted];
      expect(sorted(d?.values ?? [])).toEqual(sorted(want));
      if (isolation === 'read_committed')
        expect(d?.fetches.some((f) => f.abortedTransactions.length > 0)).toBe(true);
      else expect(d?.fetches.every((f) => f.abortedTransactions.length === 0)).toBe(true);
      expect(h.errors).toEqual([]);
    }
  }, 120_000);

  it('OFFSET_OUT_OF_RANGE: before the log start it moves there warning of the lost range; past the end it waits', async () => {
    const t = topic('range');
    await createTopic(brokers, t, 1);
    await fill(t, 1, 300);
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [t] }); // kafkajs needs it loaded first
      await admin.deleteTopicRecords({ topic: t, partitions: [{ partition: 0, offset: '120' }] });
    } finally {
      await admin.disconnect();
    }
    const h = start(rawFetcher({ brokers }));
    await h.fetcher.start();
    const tp = { topic: t, partition: 0 };
    h.fetcher.assign([tp]);
    h.fetcher.seek(tp, 5n);
    h.fetcher.resume([tp]);
    await h.until(t, 0, 300n);
    const d = h.delivered.get(`${t}:0`);
    expect(d?.fetches[0]?.fetchOffset).toBe(120n);
    // The first fetch after the move says where the reader was (the gap's start); later
    // ones do not.
    expect(d?.fetches.map((f) => f.skippedFrom)).toEqual(
      d?.fetches.map((_, i) => (i === 0 ? 5n : undefined)),
    );
    expect(d?.offsets).toEqual(range(120, 300));
    expect(d?.values).toEqual(expectedValues(0, 1, 300, 120));
    expect(h.warnings).toContain(
      `raw fetch: offsets 5 to 119 of ${t}/0 are gone from the log (retention): continuing at the log start 120`,
    );
    // Past the end: a warning, the position kept, nothing delivered; then records arrive.
    h.fetcher.seek(tp, 310n);
    const past = `raw fetch: position 310 of ${t}/0 is past the log end 300; retrying later`;
    const end = Date.now() + 30_000;
    while (!h.warnings.includes(past) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    expect(h.warnings).toContain(past);
    expect(h.fetcher.position(tp)).toBe(310n);
    expect(d?.fetches.length).toBe(d?.fetches.filter((f) => f.fetchOffset < 300n).length);
    await produce({
      brokers,
      topic: t,
      partitions: 1,
      first: 300,
      count: 20,
      batchSize: 1,
      inFlight: 1,
      record: (id) => ({ value: value(id) }),
    });
    await h.until(t, 0, 320n);
    const after = d?.fetches.filter((f) => f.fetchOffset >= 300n) ?? [];
    expect(after[0]?.fetchOffset).toBe(310n);
    expect(d?.offsets.slice(-10)).toEqual(range(310, 320));
    expect(h.errors).toEqual([]);
  }, 120_000);
});
