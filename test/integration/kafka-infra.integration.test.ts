/**
 * The test broker of test/infra/kafka.sh: it starts (idempotently), answers kafkajs,
 * keeps its data across a stop/start, and its stop is idempotent.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kafkaScript, startKafka, stopKafka } from '../support/kafka.ts';

interface Received {
  readonly key: string | undefined;
  readonly value: string | undefined;
  readonly offset: string;
  readonly partition: number;
  readonly headers: Record<string, string>;
}

/** Reads `count` messages of `topic` from the beginning with a fresh consumer group. */
async function consume(bootstrap: string, topic: string, count: number): Promise<Received[]> {
  const kafka = new Kafka({
    clientId: 'kice-infra-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `kice-infra-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: Received[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${got.length} of ${count} messages in 60 s`)),
        60_000,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
            got.push({
              key: message.key?.toString('utf8'),
              value: message.value?.toString('utf8'),
              offset: message.offset,
              partition,
              headers,
            });
            if (got.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return got;
  } finally {
    await consumer.disconnect();
  }
}

describe('test/infra/kafka.sh', () => {
  let bootstrap: string;
  const topic = `kice-infra-${randomUUID()}`;
  const expected: Received[] = [
    { key: 'k1', value: '{"n":1}', offset: '0', partition: 0, headers: { h: 'x' } },
    { key: 'k2', value: 'två ✓', offset: '1', partition: 0, headers: {} },
  ];

  beforeAll(async () => {
    bootstrap = await startKafka();
  });

  it('prints the loopback bootstrap address and is idempotent', async () => {
    const port = process.env.KICE_KAFKA_PORT ?? '19092';
    expect(bootstrap).toBe(`127.0.0.1:${port}`);
    const again = await kafkaScript('start');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${bootstrap}\n`);
    const status = await kafkaScript('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^running ${bootstrap} \\(pid \\d+\\)\\n$`));
  });

  it('creates a topic, then produces and consumes messages with kafkajs', async () => {
    const kafka = new Kafka({
      clientId: 'kice-infra-test',
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }),
      ).toBe(true);
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(meta.topics[0]?.partitions.map((p) => p.partitionId)).toEqual([0]);
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const sent = await producer.send({
        topic,
        acks: -1,
        messages: [
          { key: 'k1', value: '{"n":1}', headers: { h: 'x' } },
          { key: 'k2', value: 'två ✓' },
        ],
      });
      expect(sent.map((r) => [r.partition, r.baseOffset])).toEqual([[0, '0']]);
    } finally {
      await producer.disconnect();
    }
    expect(await consume(bootstrap, topic, 2)).toEqual(expected);
  });

  it('creates topics automatically on first produce, with one partition', async () => {
    const auto = `kice-infra-auto-${randomUUID()}`;
    const kafka = new Kafka({
      clientId: 'kice-infra-test',
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      await producer.send({ topic: auto, messages: [{ value: 'auto' }] });
    } finally {
      await producer.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(auto);
      expect(offsets.map((o) => [o.partition, o.low, o.high])).toEqual([[0, '0', '1']]);
    } finally {
      await admin.disconnect();
    }
  });

  it('stops idempotently and keeps its data across a restart', async () => {
    await stopKafka();
    expect(await kafkaScript('status')).toEqual({ code: 3, stdout: 'stopped\n', stderr: '' });
    const second = await kafkaScript('stop');
    expect([second.code, second.stdout]).toEqual([0, 'stopped\n']);
    expect(await startKafka()).toBe(bootstrap);
    expect(await consume(bootstrap, topic, 2)).toEqual(expected);
  });
});
