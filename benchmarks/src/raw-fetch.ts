/**
 * Fetch-path benchmark (not part of `pnpm bench`): how fast one partition is read to its
 * end on a real broker by
 * - kice's raw fetcher (packages/core/src/source/fetch: Fetch v11, whole record batches
 *   copied into shared memory, no record read on the main thread),
 * - the same plus parseRecordBatches on the main thread (what a pool worker would do),
 * - a kafkajs consumer's eachBatch doing nothing (kafkajs decodes every record into an
 *   object first; that is today's path).
 * Each is timed from its first delivery to the last offset (group join and connection
 * set-up left out). Records: N JSON events of about 100 bytes, uncompressed, produced once
 * into a fresh one-partition topic on the broker at $KICE_BENCH_BROKER (default the test
 * broker, 127.0.0.1:19092), deleted at the end.
 *
 * Run: `N=1000000 npx tsx benchmarks/src/raw-fetch.ts` (prints one JSON line per round).
 */
import { randomBytes } from 'node:crypto';
import { parseRecordBatches } from '../../packages/core/src/source/batches/parse.ts';
import { createKafka } from '../../packages/core/src/source/client.ts';
import { RawFetcher } from '../../packages/core/src/source/fetch/fetcher.ts';
import { KafkajsFetchTransport } from '../../packages/core/src/source/fetch/transport.ts';

const brokers = [process.env.KICE_BENCH_BROKER ?? '127.0.0.1:19092'];
const N = Number(process.env.N ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const topic = `bench-raw-fetch-${randomBytes(3).toString('hex')}`;
const end = BigInt(N);

async function fill(): Promise<void> {
  const kafka = createKafka({ brokers });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let first = 0; first < N; first += 5000) {
    const messages = [];
    for (let id = first; id < Math.min(N, first + 5000); id++)
      messages.push({ value: JSON.stringify({ id, name: `user-${id}`, pad: 'x'.repeat(60) }) });
    await producer.send({ topic, acks: 1, messages });
  }
  await producer.disconnect();
}

async function raw(parse: boolean): Promise<number> {
  let first: number | undefined;
  let done = (): void => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const fetcher = new RawFetcher({
    transport: new KafkajsFetchTransport(createKafka({ brokers }), 'read_committed'),
    maxWaitTimeInMs: 500,
    minBytes: 1,
    maxBytes: 16 << 20,
    maxBytesPerPartition: 4 << 20,
    backoff: { initialDelayMs: 100, maxDelayMs: 1000 },
    keepKeys: () => false,
    keepHeaders: () => false,
    onFetch: (f) => {
      first ??= performance.now();
      if (parse) parseRecordBatches({ ...f });
      if (f.nextOffset >= end) done();
    },
    onError: (e) => console.error(e),
  });
  await fetcher.start();
  const tp = { topic, partition: 0 };
  fetcher.assign([tp]);
  fetcher.seek(tp, 0n);
  fetcher.resume([tp]);
  await finished;
  const ms = performance.now() - (first ?? 0);
  await fetcher.stop();
  return ms;
}

async function viaKafkajs(): Promise<number> {
  const consumer = createKafka({ brokers }).consumer({
    groupId: `bench-raw-fetch-${randomBytes(3).toString('hex')}`,
    maxBytesPerPartition: 4 << 20,
    maxBytes: 16 << 20,
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let first: number | undefined;
  let done = (): void => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      first ??= performance.now();
      if (BigInt(batch.lastOffset()) + 1n >= end) done();
    },
  });
  await finished;
  const ms = performance.now() - (first ?? 0);
  await consumer.disconnect();
  return ms;
}

await fill();
for (let round = 0; round < ROUNDS; round++) {
  const rawMs = await raw(false);
  const parseMs = await raw(true);
  const kafkajsMs = await viaKafkajs();
  console.log(
    JSON.stringify({
      round,
      records: N,
      rawFetchMs: Math.round(rawMs),
      rawFetchAndMainThreadParseMs: Math.round(parseMs),
      kafkajsEachBatchMs: Math.round(kafkajsMs),
    }),
  );
}
const admin = createKafka({ brokers }).admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();
process.exit(0);
