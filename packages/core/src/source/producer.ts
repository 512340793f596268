/**
 * Producers over kafkajs. The dead-letter producer is idempotent (acks -1, one request in
 * flight) and writes raw record bytes with string headers. Sends must complete before the
 * Iceberg commit that moves past the bad record; after a crash they may be sent again, so
 * callers put deterministic headers (source topic, partition, offset) on each record for dedupe.
 * createRecordProducer adds a compression choice and explicit partitions (demo, tests, benchmarks).
 */
import kafkajs, { type Message, type Producer } from 'kafkajs';
import { KiceError } from '../errors.ts';
import { createKafka, type KafkaClientOptions } from './client.ts';

/** One record for a dead-letter topic. */
export interface DeadLetterRecord {
  readonly topic: string;
  /** Target partition (default: kafkajs's partitioner, by key). */
  readonly partition?: number;
  readonly key?: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** Sends dead-letter records; `send` resolves once every record is acknowledged by all in-sync replicas. */
export interface DeadLetterProducer {
  send(records: readonly DeadLetterRecord[]): Promise<void>;
  close(): Promise<void>;
}

function toBuffer(b: Uint8Array | null | undefined): Buffer | null {
  if (b == null) return null;
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Batch compression of a record producer; zstd is not available (no JS compressor). */
export type ProducerCompression = 'none' | 'gzip' | 'snappy' | 'lz4';

/** Options of createRecordProducer. */
export interface RecordProducerOptions {
  /** Default "none". */
  readonly compression?: ProducerCompression;
  /** Idempotent delivery (acks -1, one request in flight; default true). */
  readonly idempotent?: boolean;
}

/** Creates a producer that writes records with the given batch compression; it connects on the first send. */
export function createRecordProducer(
  kafkaOptions: KafkaClientOptions,
  options: RecordProducerOptions = {},
): DeadLetterProducer {
  const { CompressionTypes } = kafkajs;
  const compression = {
    none: CompressionTypes.None,
    gzip: CompressionTypes.GZIP,
    snappy: CompressionTypes.Snappy,
    lz4: CompressionTypes.LZ4,
  }[options.compression ?? 'none'];
  const idempotent = options.idempotent ?? true;
  const producer: Producer = createKafka(kafkaOptions).producer({
    idempotent,
    maxInFlightRequests: idempotent ? 1 : 5,
    allowAutoTopicCreation: false,
    // Explicit, so kafkajs does not warn about its v2 default change on every start.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  let connecting: Promise<void> | undefined;

  return {
    async send(records) {
      if (records.length === 0) return;
      connecting ??= producer.connect();
      try {
        await connecting;
      } catch (e) {
        connecting = undefined;
        throw new KiceError('KAFKA', `producer connect failed: ${(e as Error).message}`, {
          retryable: true,
          cause: e,
        });
      }
      const byTopic = new Map<string, Message[]>();
      for (const r of records) {
        const list = byTopic.get(r.topic) ?? [];
        const m: Message = {
          key: toBuffer(r.key),
          value: toBuffer(r.value),
          headers: { ...r.headers },
        };
        if (r.partition !== undefined) m.partition = r.partition;
        list.push(m);
        byTopic.set(r.topic, list);
      }
      try {
        await producer.sendBatch({
          acks: -1,
          compression,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (e) {
        throw new KiceError('KAFKA', `producer send failed: ${(e as Error).message}`, {
          retryable: Boolean((e as { retriable?: unknown }).retriable),
          context: { topics: [...byTopic.keys()], records: records.length },
          cause: e,
        });
      }
    },
    async close() {
      if (connecting === undefined) return;
      connecting = undefined;
      await producer.disconnect();
    },
  };
}

/** Creates the idempotent, uncompressed dead-letter producer; it connects on the first send. */
export function createDeadLetterProducer(kafkaOptions: KafkaClientOptions): DeadLetterProducer {
  return createRecordProducer(kafkaOptions, { idempotent: true, compression: 'none' });
}
