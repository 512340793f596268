/**
 * A stopped RawFetcher (source/fetch/fetcher.ts) opens nothing again: an assignment that
 * arrives after stop() (kafkajs finishing a rebalance while the consumer leaves the group)
 * must not load metadata, which would connect the transport's cluster again and keep the
 * process from exiting. The transport here is a recording stand-in (no broker).
 */
import { expect, it } from 'vitest';
import { RawFetcher } from '../../../src/source/fetch/fetcher.ts';
import type { FetchTransport } from '../../../src/source/fetch/transport.ts';

function recordingTransport(calls: string[]): FetchTransport {
  return {
    async connect() {
      calls.push('connect');
    },
    async track(topics) {
      calls.push(`track ${topics.join(',')}`);
    },
    async refreshMetadata() {
      calls.push('refreshMetadata');
    },
    leader: () => undefined,
    async offsets() {
      calls.push('offsets');
      return { logStart: 0n, end: 0n };
    },
    async fetch() {
      calls.push('fetch');
      throw new Error('no broker here');
    },
    async disconnect() {
      calls.push('disconnect');
    },
  };
}

it('loads no metadata for an assignment that arrives after stop()', async () => {
  const calls: string[] = [];
  const fetcher = new RawFetcher({
    transport: recordingTransport(calls),
    maxWaitTimeInMs: 10,
    minBytes: 1,
    maxBytes: 1024,
    maxBytesPerPartition: 1024,
    backoff: { initialDelayMs: 10, maxDelayMs: 10 },
    keepKeys: () => false,
    keepHeaders: () => false,
    onFetch: () => {},
    onError: () => {},
  });
  await fetcher.start();
  fetcher.assign([{ topic: 't', partition: 0 }]);
  await fetcher.stop();
  expect(calls).toEqual(['connect', 'track t', 'disconnect']);
  fetcher.assign([{ topic: 'u', partition: 1 }]);
  fetcher.seek({ topic: 'u', partition: 1 }, 5n);
  fetcher.resume([{ topic: 'u', partition: 1 }]);
  await new Promise((r) => setTimeout(r, 50));
  expect(calls).toEqual(['connect', 'track t', 'disconnect']);
});
