/**
 * Driving the raw fetcher (packages/core/src/source/fetch) from tests: a RawFetcher over a
 * real broker whose deliveries are collected, parsed (batches/parse.ts) and checked for
 * contiguity per partition.
 */
import { parseRecordBatches } from '../../packages/core/src/source/batches/parse.ts';
import { createKafka, type KafkaClientOptions } from '../../packages/core/src/source/client.ts';
import {
  RawFetcher,
  type RawFetcherOptions,
} from '../../packages/core/src/source/fetch/fetcher.ts';
import {
  type FetchTransport,
  KafkajsFetchTransport,
} from '../../packages/core/src/source/fetch/transport.ts';
import type { RawFetch } from '../../packages/core/src/source/types.ts';

/** One partition's parsed deliveries. */
export interface Delivered {
  readonly fetches: RawFetch[];
  readonly offsets: bigint[];
  readonly values: (string | null)[];
}

export interface Harness {
  readonly fetcher: RawFetcher;
  readonly transport: FetchTransport;
  readonly errors: Error[];
  readonly warnings: string[];
  readonly delivered: Map<string, Delivered>;
  /** Resolves once `tp`'s position reaches `offset` (rejects after `ms` or on an error). */
  until(topic: string, partition: number, offset: bigint, ms?: number): Promise<void>;
}

export function rawFetcher(
  kafka: KafkaClientOptions,
  options: Partial<RawFetcherOptions> & { wrap?: (t: FetchTransport) => FetchTransport } = {},
): Harness {
  const real = new KafkajsFetchTransport(createKafka(kafka), options.isolation ?? 'read_committed');
  const transport = options.wrap ? options.wrap(real) : real;
  const errors: Error[] = [];
  const warnings: string[] = [];
  const delivered = new Map<string, Delivered>();
  const waiters = new Set<() => void>();
  const fetcher = new RawFetcher({
    transport,
    maxWaitTimeInMs: 200,
    minBytes: 1,
    maxBytes: 16 << 20,
    maxBytesPerPartition: 4 << 20,
    backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
    keepKeys: () => false,
    keepHeaders: () => false,
    log: {
      info() {},
      debug() {},
      error() {},
      warn(_o, msg) {
        warnings.push(msg ?? '');
      },
    },
    onFetch(f) {
      const key = `${f.topic}:${f.partition}`;
      let d = delivered.get(key);
      if (!d) {
        d = { fetches: [], offsets: [], values: [] };
        delivered.set(key, d);
      }
      d.fetches.push(f);
      const parsed = parseRecordBatches({
        topic: f.topic,
        partition: f.partition,
        data: f.data,
        fetchOffset: f.fetchOffset,
        isolation: f.isolation,
        abortedTransactions: f.abortedTransactions,
      });
      if (parsed.truncatedBytes !== 0)
        errors.push(
          new Error(`a RawFetch holds a batch cut short (${parsed.truncatedBytes} bytes)`),
        );
      if (parsed.nextOffset !== f.nextOffset)
        errors.push(new Error(`nextOffset ${f.nextOffset} != parsed ${parsed.nextOffset}`));
      const r = parsed.records;
      if (r) {
        const dec = new TextDecoder();
        for (let i = 0; i < r.count; i++) {
          d.offsets.push(r.recordOffsets[i] as bigint);
          d.values.push(
            r.nulls[i] === 1
              ? null
              : dec.decode(r.bytes.subarray(r.offsets[i] as number, r.offsets[i + 1] as number)),
          );
        }
      }
      for (const w of waiters) w();
    },
    onError(e) {
      errors.push(e);
      for (const w of waiters) w();
    },
    ...options,
  });
  const until = (topic: string, partition: number, offset: bigint, ms = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const p = fetcher.position({ topic, partition });
        if (errors.length > 0) done(errors[0]);
        else if (p !== undefined && p >= offset) done();
      };
      const timer = setTimeout(
        () =>
          done(
            new Error(
              `${topic}/${partition} at ${fetcher.position({ topic, partition })}, not ${offset}, after ${ms} ms`,
            ),
          ),
        ms,
      );
      const done = (e?: Error): void => {
        clearTimeout(timer);
        waiters.delete(check);
        if (e) reject(e);
        else resolve();
      };
      waiters.add(check);
      check();
    });
  return { fetcher, transport, errors, warnings, delivered, until };
}

/** The fetches of one partition chain: each starts where the one before ended. */
export function chained(fetches: readonly RawFetch[]): boolean {
  return fetches.every((f, i) => i === 0 || f.fetchOffset === fetches[i - 1]?.nextOffset);
}
