/**
 * A fast kafkajs producer for the engine's end-to-end tests: creates topics, produces
 * millions of records in large uncompressed batches with several sends in flight, and
 * reads the partitions' end offsets back (what `kice.offsets.<group>` must then record).
 *
 * Records are placed by `id % partitions` (no key hashing), so a test knows which
 * partition holds which id. `sampleEvent(id)` is deterministic: a test can rebuild any
 * produced event from its id and compare it field by field with what a reader returns.
 */
import { createHash } from 'node:crypto';
import kafkajs from 'kafkajs';

/** One record to produce: a value (null = tombstone), optional key and headers. */
export interface OutRecord {
  readonly value: string | Buffer | null;
  readonly key?: string;
  readonly partition?: number;
  /** A value list repeats the header name (one header per value, in order). */
  readonly headers?: Record<string, string | Buffer | (string | Buffer)[]>;
}

/** A broker list, or one with the TLS and SASL settings to reach it (the SASL_SSL listener). */
export type Brokers =
  | readonly string[]
  | {
      readonly brokers: readonly string[];
      readonly ssl?: kafkajs.KafkaConfig['ssl'];
      readonly sasl?: kafkajs.SASLOptions;
    };

/** A kafkajs client that logs nothing. */
export function kafkaClient(target: Brokers, clientId = 'kice-e2e'): kafkajs.Kafka {
  const t = 'brokers' in target ? target : { brokers: target };
  return new kafkajs.Kafka({
    clientId,
    brokers: [...t.brokers],
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 10 },
    ...(t.ssl !== undefined ? { ssl: t.ssl } : {}),
    ...(t.sasl !== undefined ? { sasl: t.sasl } : {}),
  });
}

/**
 * An idempotent producer with one request in flight: kafkajs retries a whole send when one
 * of its partitions fails (NOT_LEADER_OR_FOLLOWER on a topic just created, a timeout under
 * load), and without idempotence the partitions that had landed are written twice. Sends
 * must ask for acks -1 (kafkajs's default).
 */
export function exactProducer(
  target: Brokers,
  options: Omit<kafkajs.ProducerConfig, 'idempotent' | 'maxInFlightRequests'> = {},
): kafkajs.Producer {
  return kafkaClient(target).producer({
    allowAutoTopicCreation: false,
    ...options,
    idempotent: true,
    maxInFlightRequests: 1,
  });
}

/**
 * Creates `topic` with `partitions` partitions (and topic configs, e.g. max.message.bytes),
 * then waits until every partition has a leader. kafkajs's own `waitForLeaders` gives up on
 * the first UNKNOWN_TOPIC_OR_PARTITION a loaded broker answers while the topic is being
 * set up; the wait here retries every error for up to a minute.
 */
export async function createTopic(
  brokers: Brokers,
  topic: string,
  partitions: number,
  config: Record<string, string> = {},
): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const led = topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0;
        if (led === partitions) return;
        if (Date.now() > deadline)
          throw new Error(`topic ${topic}: ${led} of ${partitions} partitions have a leader`);
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Next offset (high watermark) of every partition of `topic`, keyed by partition number as a string. */
export async function endOffsets(brokers: Brokers, topic: string): Promise<Record<string, string>> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const parts = await admin.fetchTopicOffsets(topic);
    return Object.fromEntries(
      [...parts]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => [String(p.partition), p.high]),
    );
  } finally {
    await admin.disconnect();
  }
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
const COUNTRIES = ['DE', 'FR', 'US', 'JP', 'BR', 'IN'];
/** 2024-03-01T00:00:00Z in ms: sample timestamps count from here. */
export const SAMPLE_EPOCH_MS = Date.UTC(2024, 2, 1);

/**
 * A deterministic ~280-byte event for `id`: ints, floats, strings, booleans, a nested
 * object and an ISO timestamp `ts` (one second apart per id, millisecond precision).
 * Float fields never carry whole numbers (see the engine-schema test for why that matters).
 */
export function sampleEvent(id: number): Record<string, unknown> {
  return {
    id,
    user_id: id % 10_007,
    amount: Math.round(((id * 7919) % 1_000_000) + 1) / 100 + 0.005,
    ratio: (id % 1000) + 0.5,
    name: `user-${WORDS[id % WORDS.length]}-${id}`,
    active: id % 3 === 0,
    flagged: id % 11 === 0,
    ts: new Date(SAMPLE_EPOCH_MS + id * 1000 + (id % 1000)).toISOString(),
    address: {
      country: COUNTRIES[id % COUNTRIES.length],
      zip: 10_000 + (id % 89_999),
      geo: { lat: (id % 180) - 90 + 0.25, lon: (id % 360) - 180 + 0.75 },
    },
    note: 'x'.repeat(20 + (id % 40)),
  };
}

/**
 * `sampleEvent(id)` plus what real events also carry, for the bulk tests that compare every
 * column (test/support/row-hash.ts): whole-number floats in fractional columns (`price`, and
 * `unit` inside `items`), arrays of strings and of objects, nested objects with an optional
 * field, and strings that need JSON escapes. `richRecord` writes some of them with `\u` and
 * `\/` escapes in the JSON text.
 */
/**
 * The column types a table of `richEvent`s must declare: `items[].unit` is a whole number in
 * every event of an even id (so in every event of the even partitions, when ids are
 * partitioned by id) and a fraction in odd ones; `price` is a whole number exactly when
 * id % 4 === 1 (so in every event of partition 1 of a 4-partition topic). A first commit that happens to hold only
 * even partitions would otherwise make it a long column, and Iceberg has no long → double
 * promotion: every later fraction would be dead-lettered (docs/config.md). Users declare
 * such columns the same way.
 */
export const RICH_COLUMNS: Readonly<Record<string, string>> = {
  ts: 'timestamptz',
  'items[].unit': 'double',
  price: 'double',
};

export function richEvent(id: number): Record<string, unknown> {
  return {
    ...sampleEvent(id),
    price: id % 4 === 1 ? id % 500 : (id % 500) + 0.25,
    tags: Array.from({ length: 1 + (id % 3) }, (_, k) => `${WORDS[(id + k) % WORDS.length]}-${k}`),
    items: Array.from({ length: 1 + (id % 2) }, (_, k) => ({
      sku: `SKU-${(id * 7 + k) % 5000}`,
      qty: 1 + k,
      unit: k === 0 ? 2 + (id % 7) : 0.5 + (id % 7),
    })),
    meta: {
      source: id % 2 === 0 ? 'web' : 'app',
      version: { major: 1 + (id % 3), minor: id % 10 },
      ...(id % 5 === 0 ? { campaign: `c-${id % 97}` } : {}),
    },
    url: `https://example.com/p/${id}?q=a&b=c`,
    text: `say "hi" \\ to ${COUNTRIES[id % COUNTRIES.length]}\n\tline ${id} \u0001 é 東京 🚀`,
  };
}

/**
 * `richEvent(id)` as a record; odd ids write non-ASCII characters as `\u` escapes (a
 * surrogate pair for the emoji) and `/` as `\/`, even ids write them as they are.
 */
export function richRecord(id: number): OutRecord {
  const json = JSON.stringify(richEvent(id));
  if (id % 2 === 0) return { value: json };
  return {
    value: json.replaceAll('/', '\\/').replace(/[\u0080-\u{10ffff}]/gu, (c) =>
      [...c]
        .flatMap((ch) => {
          const cp = ch.codePointAt(0) as number;
          return cp > 0xffff
            ? [0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)]
            : [cp];
        })
        .map((u) => `\\u${u.toString(16).padStart(4, '0')}`)
        .join(''),
    ),
  };
}

/** The row PyIceberg returns for `richEvent(id)` with `ts` a timestamptz column (µs). */
export function richExpected(id: number): Record<string, unknown> {
  const e = richEvent(id);
  return { ...e, ts: BigInt(Date.parse(e.ts as string)) * 1000n };
}

export interface ProduceOptions {
  readonly brokers: Brokers;
  readonly topic: string;
  /** Number of partitions of the topic (records go to `id % partitions`). */
  readonly partitions: number;
  /** Ids produced: `first`, `first + 1`, … `first + count - 1`. */
  readonly first: number;
  readonly count: number;
  /** The record for one id; default: `sampleEvent(id)` as JSON. */
  readonly record?: (id: number) => OutRecord;
  /** Records per send call (default 5,000). */
  readonly batchSize?: number;
  /** Send calls in flight (default 4). */
  readonly inFlight?: number;
  /** Pause after each send, per lane (throttles a background producer; default 0). */
  readonly delayMs?: number;
  /** Checked between sends: stop early when it returns true. */
  readonly stop?: () => boolean;
}

/**
 * Produces `count` records to `topic` and resolves with how many were acknowledged (equal
 * to `count` unless `stop` ended it early; ids past the returned count were not sent).
 */
export async function produce(opts: ProduceOptions): Promise<number> {
  const inFlight = opts.inFlight ?? 4;
  // One idempotent producer per lane (one send in flight each): a send kafkajs retries
  // after part of it landed is not written twice.
  const producers = Array.from({ length: inFlight }, () => exactProducer(opts.brokers));
  await Promise.all(producers.map((p) => p.connect()));
  const batchSize = opts.batchSize ?? 5_000;
  const make =
    opts.record ?? ((id: number): OutRecord => ({ value: JSON.stringify(sampleEvent(id)) }));
  let next = 0;
  let acked = 0;
  let failed: unknown;
  const lane = async (producer: kafkajs.Producer): Promise<void> => {
    while (failed === undefined && next < opts.count && !opts.stop?.()) {
      const start = next;
      const n = Math.min(batchSize, opts.count - start);
      next += n;
      const messages = new Array(n);
      for (let i = 0; i < n; i++) {
        const id = opts.first + start + i;
        const r = make(id);
        messages[i] = {
          value: r.value,
          partition: r.partition ?? id % opts.partitions,
          ...(r.key !== undefined ? { key: r.key } : {}),
          ...(r.headers !== undefined ? { headers: r.headers } : {}),
        };
      }
      try {
        await producer.send({ topic: opts.topic, acks: -1, messages });
        acked += n;
      } catch (e) {
        failed = e;
      }
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    }
  };
  try {
    await Promise.all(producers.map(lane));
  } finally {
    await Promise.all(producers.map((p) => p.disconnect()));
  }
  if (failed !== undefined) throw failed;
  return acked;
}

/** What a set of ids looks like to verify.py: count, distinct, min, max, sum, sha256 of the sorted ids. */
export interface IdStats {
  readonly count: number;
  readonly distinct: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly sum: string;
  /** Hex SHA-256 of the sorted ids as little-endian int64s. */
  readonly sha256: string;
}

/** The stats verify.py prints, computed here for ids the test produced. */
export function idStats(ids: Iterable<number>): IdStats {
  const all = BigInt64Array.from(ids, (v) => BigInt(v)).sort();
  let sum = 0n;
  let distinct = 0;
  for (let i = 0; i < all.length; i++) {
    sum += all[i] as bigint;
    if (i === 0 || all[i] !== all[i - 1]) distinct++;
  }
  const bytes = new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  return {
    count: all.length,
    distinct,
    min: all.length > 0 ? Number(all[0]) : null,
    max: all.length > 0 ? Number(all[all.length - 1]) : null,
    sum: sum.toString(),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** `first`, `first + 1`, … as an iterable (no array of a million numbers). */
export function* idRange(first: number, count: number): Iterable<number> {
  for (let i = 0; i < count; i++) yield first + i;
}

/** One record read back from a topic. */
export interface InRecord {
  readonly partition: number;
  readonly offset: string;
  /** Epoch milliseconds, as the consumer sees it (the broker's for LogAppendTime topics). */
  readonly timestamp: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/**
 * Reads every record of `topic` up to its end offsets as they are now (a fresh consumer
 * group, from the beginning), sorted by partition and offset.
 */
export async function readTopic(brokers: Brokers, topic: string): Promise<InRecord[]> {
  const ends = await endOffsets(brokers, topic);
  const left = new Map(
    Object.entries(ends)
      .filter(([, end]) => end !== '0')
      .map(([p, end]) => [Number(p), BigInt(end)]),
  );
  const out: InRecord[] = [];
  if (left.size === 0) return out;
  const client = kafkaClient(brokers);
  const consumer = client.consumer({
    groupId: `kice-e2e-read-${createHash('sha1').update(`${topic}${Math.random()}`).digest('hex')}`,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {}))
              if (v !== undefined) headers[k] = String(v);
            out.push({
              partition,
              offset: message.offset,
              timestamp: message.timestamp,
              key: message.key === null ? null : message.key.toString(),
              value: message.value,
              headers,
            });
            const end = left.get(partition);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) left.delete(partition);
            if (left.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) =>
    a.partition !== b.partition
      ? a.partition - b.partition
      : Number(BigInt(a.offset) - BigInt(b.offset)),
  );
}
