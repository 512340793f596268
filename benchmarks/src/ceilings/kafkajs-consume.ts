/**
 * ceiling-kafkajs: a kafkajs 2.2.4 consumer that fetches every record of a topic and does
 * nothing else, with kice's default fetch sizes; the client's throughput ceiling.
 * Usage: node --import tsx kafkajs-consume.ts <broker> <topic> <events> <groupId>
 * Prints one JSON line `{"events": n, "bytes": b}` and exits 0 once n ≥ events.
 */
import kafkajs from 'kafkajs';

const [broker, topic, wanted, groupId] = process.argv.slice(2) as [string, string, string, string];
const target = Number(wanted);
const kafka = new kafkajs.Kafka({
  clientId: 'kice-bench-ceiling',
  brokers: [broker],
  logLevel: kafkajs.logLevel.NOTHING,
});
// Same fetch settings as kice's defaults (packages/core/src/config/schema.ts).
const consumer = kafka.consumer({
  groupId,
  minBytes: 64 * 1024,
  maxBytes: 32 * 1024 * 1024,
  maxBytesPerPartition: 8 * 1024 * 1024,
  maxWaitTimeInMs: 500,
});
let events = 0;
let bytes = 0;
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await new Promise<void>((resolve, reject) => {
  consumer
    .run({
      autoCommit: false,
      partitionsConsumedConcurrently: 12,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        events += batch.messages.length;
        if (events >= target) resolve();
      },
    })
    .catch(reject);
});
process.stdout.write(`${JSON.stringify({ events, bytes })}\n`);
await consumer.disconnect();
