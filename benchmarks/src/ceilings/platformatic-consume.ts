/**
 * ceiling-platformatic: the same as kafkajs-consume.ts with @platformatic/kafka 1.35
 * (Node 20): fetch every record, do nothing; what a client switch would be worth.
 * Usage: node --import tsx platformatic-consume.ts <broker> <topic> <events> <groupId>
 * Prints one JSON line `{"events": n, "bytes": b}` and exits 0 once n ≥ events.
 */
import { Consumer, MessagesStreamModes } from '@platformatic/kafka';

const [broker, topic, wanted, groupId] = process.argv.slice(2) as [string, string, string, string];
const target = Number(wanted);
const consumer = new Consumer({
  groupId,
  clientId: 'kice-bench-ceiling',
  bootstrapBrokers: [broker],
});
// Same fetch settings as kice's defaults (packages/core/src/config/schema.ts).
const stream = await consumer.consume({
  topics: [topic],
  mode: MessagesStreamModes.EARLIEST,
  autocommit: false,
  minBytes: 64 * 1024,
  maxBytes: 32 * 1024 * 1024,
  maxBytesPerPartition: 8 * 1024 * 1024,
  maxWaitTime: 500,
});
let events = 0;
let bytes = 0;
await new Promise<void>((resolve, reject) => {
  stream.on('error', reject);
  stream.on('data', (m: { value: Buffer | undefined }) => {
    events++;
    bytes += m.value?.length ?? 0;
    if (events >= target) resolve();
  });
});
process.stdout.write(`${JSON.stringify({ events, bytes })}\n`);
await stream.close();
await consumer.close(true);
