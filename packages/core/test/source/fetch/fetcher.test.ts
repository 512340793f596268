/**
 * The fetcher's reactions to partition errors and cut-short batches, over a transport that
 * serves hand-built Fetch responses (the broker tests in test/integration/raw-fetch*.ts
 * cover the real broker; these states are hard to make a real broker produce on demand).
 */
import { describe, expect, it } from 'vitest';
import { RawFetcher } from '../../../src/source/fetch/fetcher.ts';
import type { FetchRequest } from '../../../src/source/fetch/request.ts';
import {
  type FetchedPartition,
  type FetchResponse,
  wholeBatches,
} from '../../../src/source/fetch/response.ts';
import type { FetchTransport, LeaderInfo } from '../../../src/source/fetch/transport.ts';
import type { RawFetch } from '../../../src/source/types.ts';
import { encodeBatch } from '../batches/encode.ts';

const T = 't';

function partition(p: number, records: Uint8Array, errorCode = 0): FetchedPartition {
  return {
    partition: p,
    errorCode,
    highWatermark: 100n,
    lastStableOffset: 100n,
    logStartOffset: 0n,
    abortedTransactions: [],
    preferredReadReplica: -1,
    ...wholeBatches(records, T, p),
  };
}

/** Serves `answer(nodeId, request)`; leaders from a mutable map; records every call. */
class Scripted implements FetchTransport {
  readonly calls: { nodeId: number; request: FetchRequest }[] = [];
  refreshes = 0;
  leaders = new Map<number, number>([[0, 1]]);
  constructor(
    private readonly answer: (nodeId: number, r: FetchRequest, call: number) => FetchResponse,
  ) {}
  async connect(): Promise<void> {}
  async track(): Promise<void> {}
  async refreshMetadata(): Promise<void> {
    this.refreshes += 1;
    this.onRefresh?.();
  }
  onRefresh: (() => void) | undefined;
  leader(_t: string, p: number): LeaderInfo | undefined {
    const nodeId = this.leaders.get(p);
    return nodeId === undefined ? undefined : { nodeId, leaderEpoch: 5 };
  }
  async offsets(): Promise<{ logStart: bigint; end: bigint }> {
    return { logStart: 0n, end: 100n };
  }
  async fetch(nodeId: number, request: FetchRequest): Promise<FetchResponse> {
    this.calls.push({ nodeId, request });
    await new Promise((r) => setTimeout(r, 5));
    return this.answer(nodeId, request, this.calls.length);
  }
  async disconnect(): Promise<void> {}
}

const response = (...partitions: FetchedPartition[]): FetchResponse => ({
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 0,
  topics: [{ topic: T, partitions }],
});
const empty = response();

function fetcher(transport: FetchTransport, maxBytesPerPartition = 1000) {
  const fetched: RawFetch[] = [];
  const errors: Error[] = [];
  const f = new RawFetcher({
    transport,
    maxWaitTimeInMs: 10,
    minBytes: 1,
    maxBytes: 2000,
    maxBytesPerPartition,
    backoff: { initialDelayMs: 1, maxDelayMs: 5 },
    keepKeys: () => true,
    keepHeaders: () => false,
    onFetch: (x) => fetched.push(x),
    onError: (e) => errors.push(e),
  });
  return { f, fetched, errors };
}

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const batch = encodeBatch({
  baseOffset: 10n,
  records: [
    { offsetDelta: 0, value: 'a' },
    { offsetDelta: 1, value: 'b' },
  ],
});

describe('RawFetcher', () => {
  it('sends the metadata leader epoch and the options, and delivers one RawFetch per partition', async () => {
    const t = new Scripted((_n, _r, call) => (call === 1 ? response(partition(0, batch)) : empty));
    const { f, fetched } = fetcher(t);
    await f.start();
    f.assign([{ topic: T, partition: 0 }]);
    f.seek({ topic: T, partition: 0 }, 10n);
    f.resume([{ topic: T, partition: 0 }]);
    await until(() => fetched.length === 1);
    expect(t.calls[0]?.request).toEqual({
      maxWaitTimeMs: 10,
      minBytes: 1,
      maxBytes: 2000,
      isolation: 'read_committed',
      topics: [
        {
          topic: T,
          partitions: [
            { partition: 0, currentLeaderEpoch: 5, fetchOffset: 10n, partitionMaxBytes: 1000 },
          ],
        },
      ],
    });
    expect(fetched[0]).toMatchObject({
      topic: T,
      partition: 0,
      fetchOffset: 10n,
      nextOffset: 12n,
      keepKeys: true,
      keepHeaders: false,
      epoch: 2,
    });
    await until(() => t.calls.some((c) => c.request.topics[0]?.partitions[0]?.fetchOffset === 12n));
    await f.stop();
  });

  it('NOT_LEADER_OR_FOLLOWER: refreshes metadata and fetches from the new leader, never fatal', async () => {
    const t = new Scripted((nodeId) =>
      nodeId === 1 ? response(partition(0, new Uint8Array(), 6)) : response(partition(0, batch)),
    );
    t.onRefresh = () => t.leaders.set(0, 2);
    const { f, fetched, errors } = fetcher(t);
    await f.start();
    f.assign([{ topic: T, partition: 0 }]);
    f.seek({ topic: T, partition: 0 }, 10n);
    f.resume([{ topic: T, partition: 0 }]);
    await until(() => fetched.length >= 1);
    await f.stop();
    expect(t.refreshes).toBeGreaterThanOrEqual(1);
    expect(t.calls[0]?.nodeId).toBe(1);
    expect(t.calls.at(-1)?.nodeId).toBe(2);
    expect(fetched[0]).toMatchObject({ fetchOffset: 10n, nextOffset: 12n });
    expect(errors).toEqual([]);
  });

  it('a connection error backs off and retries, never fatal', async () => {
    let failing = 3;
    const t = new Scripted(() => {
      if (failing-- > 0)
        throw Object.assign(new Error('Connection error: ECONNREFUSED'), {
          name: 'KafkaJSConnectionError',
        });
      return response(partition(0, batch));
    });
    const { f, fetched, errors } = fetcher(t);
    await f.start();
    f.assign([{ topic: T, partition: 0 }]);
    f.seek({ topic: T, partition: 0 }, 10n);
    f.resume([{ topic: T, partition: 0 }]);
    await until(() => fetched.length >= 1);
    await f.stop();
    expect(t.calls.length).toBeGreaterThanOrEqual(4);
    expect(errors).toEqual([]);
  });

  it('a batch cut short while its partition was not first: put first, fetched whole next time', async () => {
    const t0 = { topic: T, partition: 0 };
    const t1 = { topic: T, partition: 1 };
    const t = new Scripted((_n, r) => {
      const order = r.topics[0]?.partitions.map((p) => p.partition) ?? [];
      // The broker serves the first partition's batch whole and cuts the second one's.
      return response(
        ...order.map((p, i) => partition(p, i === 0 ? batch : batch.subarray(0, 30))),
      );
    });
    t.leaders.set(1, 1);
    const { f, fetched, errors } = fetcher(t);
    await f.start();
    f.assign([t0, t1]);
    f.seek(t0, 10n);
    f.seek(t1, 10n);
    f.resume([t0, t1]);
    await until(
      () => fetched.some((x) => x.partition === 0) && fetched.some((x) => x.partition === 1),
    );
    await f.stop();
    expect(errors).toEqual([]);
  });

  it('a batch cut short while first: a clear error naming maxBytesPerPartition', async () => {
    const t = new Scripted(() => response(partition(0, batch.subarray(0, 40))));
    const { f, fetched, errors } = fetcher(t, 40);
    await f.start();
    f.assign([{ topic: T, partition: 0 }]);
    f.seek({ topic: T, partition: 0 }, 10n);
    f.resume([{ topic: T, partition: 0 }]);
    await until(() => errors.length === 1);
    await f.stop();
    expect(fetched).toEqual([]);
    expect(errors[0]?.message).toBe(
      'fetching t/0 at offset 10 returned only a record batch cut short (40 bytes): a batch larger than the fetch allows; raise options.maxBytesPerPartition (now 40) and options.maxBytes (now 2000)',
    );
  });

  it('an error code it cannot retry (TOPIC_AUTHORIZATION_FAILED) is reported, naming it', async () => {
    const t = new Scripted(() => response(partition(0, new Uint8Array(), 29)));
    const { f, errors } = fetcher(t);
    await f.start();
    f.assign([{ topic: T, partition: 0 }]);
    f.seek({ topic: T, partition: 0 }, 10n);
    f.resume([{ topic: T, partition: 0 }]);
    await until(() => errors.length === 1);
    const calls = t.calls.length;
    await new Promise((r) => setTimeout(r, 50));
    await f.stop();
    expect(errors[0]?.message).toBe('fetching t/0 failed: TOPIC_AUTHORIZATION_FAILED (29)');
    // The partition is not fetched again until it is seeked.
    expect(t.calls.length).toBe(calls);
  });

  it('gives back the memory of a partition it drops (paused while in flight), not of one it delivers', async () => {
    const t0 = { topic: T, partition: 0 };
    const t1 = { topic: T, partition: 1 };
    const released: number[] = [];
    let f: RawFetcher | undefined;
    const t = new Scripted((_n, _r, call) => {
      if (call !== 1) return empty;
      // Partition 1 is paused after the request went out, before its answer is handled.
      f?.pause([t1]);
      const withRelease = (p: number) => ({
        ...partition(p, batch),
        release: () => released.push(p),
      });
      return response(withRelease(0), withRelease(1));
    });
    t.leaders.set(1, 1);
    const made = fetcher(t);
    f = made.f;
    await f.start();
    f.assign([t0, t1]);
    f.seek(t0, 10n);
    f.seek(t1, 10n);
    f.resume([t0, t1]);
    await until(() => made.fetched.length === 1 && t.calls.length >= 2);
    await f.stop();
    expect(made.errors).toEqual([]);
    expect(made.fetched.map((x) => x.partition)).toEqual([0]);
    // The dropped partition's slab came back once; the delivered one's is the consumer's.
    expect(released).toEqual([1]);
    made.fetched[0]?.release?.();
    expect(released).toEqual([1, 0]);
  });
});
