/**
 * The coordinator's raw fetch path on record batches a real client framed and a real
 * broker stored: kafkajs produces plain, gzip, lz4 and transactional (one aborted, one
 * committed transaction) batches with keys, headers and timestamps to a topic of the
 * shared broker; the test reads the partition's log segment and transaction index from
 * the broker's data directory (read only: a Fetch response serves these bytes as they are,
 * https://kafka.apache.org/documentation/#recordbatch) and plays the Source: it cuts the
 * log into fetches at batch boundaries and hands them to the real coordinator as RawFetch,
 * with the aborted transactions a broker would list for each fetch. The pool's real tasks
 * parse and decode them, a real committer commits them to a temporary warehouse.
 *
 * Covered: a fetch of only aborted records (and its marker), a fetch whose batch is
 * corrupted in transit (CRC mismatch: the coordinator seeks back, the fetch pipelined
 * behind it is dropped, the refetch succeeds), and a gap (a fetch that starts past a batch,
 * as after the log cleaner removed it). Exact rows (values, keys, metadata with offsets,
 * timestamps and headers) and recorded offsets are asserted.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from '../../packages/core/src/coordinator.ts';
import { registerCodecs } from '../../packages/core/src/source/codecs.ts';
import type { RawFetch } from '../../packages/core/src/source/types.ts';
import {
  type Bench,
  bench,
  quietLog,
  TABLE,
  until,
} from '../../packages/core/test/pipeline/harness.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, kafkaClient } from '../support/produce.ts';
import { REPO_ROOT } from '../support/readers.ts';

const TOPIC = `raw-coord-${randomBytes(4).toString('hex')}`;
const TP = { topic: TOPIC, partition: 0 };
const DATA = join(process.env.KICE_STATE ?? join(REPO_ROOT, '.state'), 'kafka/data');
const TS0 = 1_700_000_000_000;

interface Batch {
  readonly base: bigint;
  readonly next: bigint;
  readonly bytes: Uint8Array;
}
interface Aborted {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
}

/** The partition's log: its batches (read from the headers) and its transaction index. */
async function readLog(): Promise<{ batches: Batch[]; aborted: Aborted[] }> {
  const dir = join(DATA, `${TOPIC}-0`);
  const files = (await readdir(dir)).sort();
  const batches: Batch[] = [];
  for (const f of files.filter((x) => x.endsWith('.log'))) {
    const b = new Uint8Array(await readFile(join(dir, f)));
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let at = 0; at + 61 <= b.length; ) {
      const stop = at + 12 + v.getInt32(at + 8);
      if (stop > b.length) break;
      const base = v.getBigInt64(at);
      batches.push({
        base,
        next: base + BigInt(v.getInt32(at + 23)) + 1n,
        bytes: b.slice(at, stop),
      });
      at = stop;
    }
  }
  const aborted: Aborted[] = [];
  for (const f of files.filter((x) => x.endsWith('.txnindex'))) {
    // 34-byte entries: version int16, producer id, first offset, last offset, last stable offset.
    const b = await readFile(join(dir, f));
    for (let at = 0; at + 34 <= b.length; at += 34)
      aborted.push({
        producerId: b.readBigInt64BE(at + 2),
        firstOffset: b.readBigInt64BE(at + 10),
        lastOffset: b.readBigInt64BE(at + 18),
      });
  }
  return { batches, aborted };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const event = (id: number) => ({
  key: `k${id}`,
  value: JSON.stringify({ id, v: `e${id}` }),
  timestamp: String(TS0 + id),
  headers: { src: `s${id}` },
});

let brokers: string[];
let log: { batches: Batch[]; aborted: Aborted[] };

beforeAll(async () => {
  brokers = [await startKafka()];
  registerCodecs();
  await createTopic(brokers, TOPIC, 1);
  const kafka = kafkaClient(brokers);
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const txp = kafka.producer({
    transactionalId: `${TOPIC}-tx`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await Promise.all([plain.connect(), txp.connect()]);
  try {
    const send = (ids: number[], compression = kafkajs.CompressionTypes.None) =>
      plain.send({ topic: TOPIC, compression, messages: ids.map(event) });
    await send([0, 1, 2, 3]); // offsets 0..3
    await send([4, 5, 6, 7], kafkajs.CompressionTypes.GZIP); // 4..7
    const aborted = await txp.transaction();
    await aborted.send({ topic: TOPIC, messages: [100, 101, 102].map(event) }); // 8..10
    await aborted.abort(); // marker at 11
    await logEndsAt(12n, 'the abort marker at 11');
    const committed = await txp.transaction();
    await committed.send({ topic: TOPIC, messages: [8, 9, 10].map(event) }); // 12..14
    await committed.commit(); // marker at 15
    // The transaction coordinator writes the marker after the commit returns; a plain send
    // before it lands would take offset 15 and the marker a later one.
    await logEndsAt(16n, 'the commit marker at 15');
    await send([11, 12, 13, 14], kafkajs.CompressionTypes.LZ4); // 16..19
    await send([15, 16, 17]); // 20..22
    await send([18, 19]); // 23..24
  } finally {
    await Promise.all([plain.disconnect(), txp.disconnect()]);
  }
  await logEndsAt(25n, 'the last batch');
});

/** Waits until the partition's log on disk ends at `end` (kept in `log`). */
async function logEndsAt(end: bigint, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    log = await readLog();
    if (log.batches.at(-1)?.next === end) return;
    if (Date.now() > deadline)
      throw new Error(
        `log of ${TOPIC} does not end at ${end} (${what}): ${log.batches.map((b) => `${b.base}..${b.next}`).join(' ')}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

let b: Bench | undefined;
afterAll(() => b?.cleanup());

/** The batches of [from, to) as one fetch at `fetchOffset`, with a broker's aborted list. */
function fetchOf(fetchOffset: bigint, from: bigint, to: bigint, corrupt = false): RawFetch {
  const batches = log.batches.filter((x) => x.base >= from && x.base < to);
  const data = concat(batches.map((x) => x.bytes));
  if (corrupt) {
    // One bit of the first batch's records flipped, as a bad network card might.
    const first = batches[0] as Batch;
    data[first.bytes.length - 2] = (data[first.bytes.length - 2] as number) ^ 0x10;
  }
  const shared = new Uint8Array(new SharedArrayBuffer(data.length));
  shared.set(data);
  const nextOffset = batches.at(-1)?.next as bigint;
  return {
    ...TP,
    fetchOffset,
    nextOffset,
    data: shared,
    // What the broker lists: aborted transactions overlapping the fetched range.
    abortedTransactions: log.aborted
      .filter((a) => a.lastOffset >= fetchOffset && a.firstOffset < nextOffset)
      .map(({ producerId, firstOffset }) => ({ producerId, firstOffset })),
    isolation: 'read_committed',
    highWatermark: 25n,
    lastStableOffset: 25n,
    keepKeys: true,
    keepHeaders: true,
    epoch: 1,
  };
}

const expectedRow = (id: number, offset: number) => ({
  id: BigInt(id),
  v: `e${id}`,
  _key: `k${id}`,
  _kafka: {
    topic: TOPIC,
    partition: 0,
    offset: BigInt(offset),
    timestamp: BigInt(TS0 + id) * 1000n,
    timestamp_type: 'CreateTime',
    headers: [{ key: 'src', value: new TextEncoder().encode(`s${id}`) }],
  },
});

describe('coordinator: raw fetches of a real broker log', () => {
  it('applies parsed fetches, skips aborted ones, refetches a corrupt one and keeps past a gap', async () => {
    // The log as produced: 2 plain batches, the aborted transaction and its marker, the
    // committed one and its marker, 3 more plain batches.
    expect(log.batches.map((x) => [x.base, x.next])).toEqual([
      [0n, 4n],
      [4n, 8n],
      [8n, 11n],
      [11n, 12n],
      [12n, 15n],
      [15n, 16n],
      [16n, 20n],
      [20n, 23n],
      [23n, 25n],
    ]);
    expect(log.aborted.map((a) => [a.firstOffset, a.lastOffset])).toEqual([[8n, 11n]]);
    b = bench({
      tables: [
        { topic: TOPIC, table: TABLE, metadata: { column: '_kafka' }, key: { format: 'string' } },
      ],
    });
    const c = new Coordinator({
      config: b.config,
      source: b.source,
      pool: b.pool,
      committer: b.client,
      deadLetters: b.sink,
      log: quietLog,
      fetchStartOffsets: async () => new Map([[`${TOPIC}:0`, 0n]]),
    });
    const fatal: Error[] = [];
    c.on('fatal', (e: Error) => fatal.push(e));
    await c.start();
    await b.source.join([TP], []);
    expect(b.source.seeks).toEqual([{ key: `${TOPIC}:0`, offset: 0n }]);
    const h = b.source.handlers;
    const deliver = (f: RawFetch) => h?.onRawFetch?.(f);
    const expected = () => c.positions()[0]?.expected;

    deliver(fetchOf(0n, 0n, 8n)); // plain + gzip
    deliver(fetchOf(8n, 8n, 12n)); // only the aborted transaction and its marker
    deliver(fetchOf(12n, 12n, 16n, true)); // committed transaction, corrupted in transit
    deliver(fetchOf(16n, 16n, 20n)); // pipelined behind it: dropped by the refetch
    await until(() => b?.source.seeks.length === 2, 'the refetch seek');
    expect(b.source.seeks[1]).toEqual({ key: `${TOPIC}:0`, offset: 12n });
    expect(expected()).toBe(12n);
    deliver(fetchOf(12n, 12n, 16n));
    deliver(fetchOf(16n, 16n, 20n)); // lz4
    deliver(fetchOf(20n, 23n, 25n)); // the batch at 20..22 left out: a gap
    await c.settle();

    expect(fatal).toEqual([]);
    const rows = await b.rows();
    const want = [
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((id) => expectedRow(id, id)),
      ...[8, 9, 10].map((id) => expectedRow(id, id + 4)),
      ...[11, 12, 13, 14].map((id) => expectedRow(id, id + 5)),
      ...[18, 19].map((id) => expectedRow(id, id + 5)),
    ];
    expect(rows).toEqual(want);
    expect(await b.offsets()).toEqual(new Map([[`${TOPIC}:0`, 25n]]));
    expect(c.metrics.inFlightBytes).toBe(0);
    const warned = quietLog.lines.filter(
      (l) =>
        l.msg ===
        'fetched record batch unreadable; fetching the partition again from the same offset',
    );
    expect(warned.map((l) => l.obj)).toMatchObject([
      { partition: `${TOPIC}:0`, offset: '12', batchOffset: '12', failures: 1 },
    ]);
    await c.stop();
  });
});
