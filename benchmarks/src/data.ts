/**
 * The benchmark's data set: N JSON events of about 300 bytes with realistic mixed types
 * (ids, timestamps, strings, floats, booleans, a nested object), produced once into a
 * 12-partition topic before any timing starts. Events are a pure function of their index
 * (a seeded generator), so every run and every system sees the same bytes. A topic that
 * already holds exactly N records in 12 partitions is reused.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import kafkajs from 'kafkajs';

/** Partitions of every benchmark topic. */
export const PARTITIONS = 12;

const TYPES = ['page_view', 'click', 'add_to_cart', 'purchase', 'search', 'logout'];
const COUNTRIES = ['DE', 'FR', 'US', 'JP', 'BR', 'IN', 'GB', 'ES', 'NL', 'SE'];
const CITIES = ['Berlin', 'Paris', 'Austin', 'Osaka', 'Recife', 'Pune', 'Leeds', 'Sevilla'];
const OSES = ['ios', 'android', 'linux', 'windows', 'macos'];
const BROWSERS = ['firefox', 'chrome', 'safari', 'edge'];
const BASE_MS = Date.UTC(2026, 0, 1);

/** xorshift32 step, seeded per event: deterministic, no shared state. */
function rng(seed: number): () => number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)] as T;
}

/** Event number `i` as a plain object (about 300 bytes as JSON). */
export function makeEvent(i: number): Record<string, unknown> {
  const r = rng(i + 1);
  const ts = new Date(BASE_MS + i * 37).toISOString();
  return {
    event_id: `e-${i}`,
    user_id: Math.floor(r() * 5_000_000),
    session_id: `s-${Math.floor(r() * 0xffffffff).toString(36)}-${(i % 977).toString(36)}`,
    ts,
    type: pick(r, TYPES),
    page: `/p/${Math.floor(r() * 100_000)}`,
    price: Math.round(r() * 100_000) / 100,
    qty: 1 + Math.floor(r() * 5),
    score: Math.round(r() * 1e6) / 1e6,
    is_mobile: r() < 0.6,
    premium: r() < 0.1,
    geo: {
      country: pick(r, COUNTRIES),
      city: pick(r, CITIES),
      lat: Math.round((r() * 180 - 90) * 1e4) / 1e4,
      lon: Math.round((r() * 360 - 180) * 1e4) / 1e4,
    },
    device: { os: pick(r, OSES), browser: pick(r, BROWSERS) },
  };
}

/** Event `i` as the bytes produced to Kafka. */
export function eventBytes(i: number): Buffer {
  return Buffer.from(JSON.stringify(makeEvent(i)));
}

/** What prepareTopic left in the broker. */
export interface PreparedTopic {
  readonly topic: string;
  readonly events: number;
  /** Sum of the record values' sizes. */
  readonly bytes: number;
  /** True when an existing topic with exactly these events was reused. */
  readonly reused: boolean;
  readonly produceSeconds: number;
}

/** Bumped whenever makeEvent changes, so that no stale topic is reused. */
const DATA_VERSION = 2;

/** Topic name for a data set of n events, e.g. `kice-bench-v2-500000`. */
export function topicFor(n: number): string {
  return `kice-bench-v${DATA_VERSION}-${n}`;
}

/** Total value bytes of events 0..n-1 (computed, not read back). */
export function totalBytes(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += eventBytes(i).length;
  return sum;
}

/** totalBytes, remembered in `cacheFile` (a JSON map topic → bytes) across runs. */
async function cachedBytes(
  cacheFile: string,
  topic: string,
  n: number,
  known?: number,
): Promise<number> {
  let cache: Record<string, number> = {};
  try {
    cache = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, number>;
  } catch {}
  const hit = cache[topic];
  if (known === undefined && hit !== undefined) return hit;
  const bytes = known ?? totalBytes(n);
  cache[topic] = bytes;
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify(cache, null, 2));
  return bytes;
}

/**
 * Makes sure `topicFor(n)` holds exactly events 0..n-1 over 12 partitions (event i in
 * partition i % 12): reuses a complete topic, else recreates and produces it.
 */
export async function prepareTopic(
  broker: string,
  n: number,
  stateDir: string,
  log: (s: string) => void = () => {},
): Promise<PreparedTopic> {
  const cacheFile = `${stateDir}/topic-bytes.json`;
  const topic = topicFor(n);
  const kafka = new kafkajs.Kafka({
    clientId: 'kice-bench-data',
    brokers: [broker],
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      const offs = await admin.fetchTopicOffsets(topic);
      const count = offs.reduce((a, p) => a + Number(p.high) - Number(p.low), 0);
      if (offs.length === PARTITIONS && count === n) {
        const bytes = await cachedBytes(cacheFile, topic, n);
        return { topic, events: n, bytes, reused: true, produceSeconds: 0 };
      }
      log(`topic ${topic} holds ${count} records in ${offs.length} partitions: recreating`);
      await admin.deleteTopics({ topics: [topic] });
      for (let k = 0; k < 150 && (await admin.listTopics()).includes(topic); k++)
        await new Promise((r) => setTimeout(r, 200));
    }
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    });
    const t0 = performance.now();
    const produced = await produce(kafka, topic, n, log);
    const bytes = await cachedBytes(cacheFile, topic, n, produced);
    const produceSeconds = (performance.now() - t0) / 1000;
    const offs = await admin.fetchTopicOffsets(topic);
    const count = offs.reduce((a, p) => a + Number(p.high) - Number(p.low), 0);
    if (count !== n) throw new Error(`produced ${count} records to ${topic}, expected ${n}`);
    return { topic, events: n, bytes, reused: false, produceSeconds };
  } finally {
    await admin.disconnect();
  }
}

async function produce(
  kafka: kafkajs.Kafka,
  topic: string,
  n: number,
  log: (s: string) => void,
): Promise<number> {
  let bytes = 0;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const chunk = 12_000;
    const inFlight = new Set<Promise<unknown>>();
    let lastLog = performance.now();
    for (let start = 0; start < n; start += chunk) {
      const end = Math.min(n, start + chunk);
      const perPartition: kafkajs.Message[][] = Array.from({ length: PARTITIONS }, () => []);
      for (let i = start; i < end; i++) {
        const value = eventBytes(i);
        bytes += value.length;
        (perPartition[i % PARTITIONS] as kafkajs.Message[]).push({
          key: String(i),
          value,
          partition: i % PARTITIONS,
        });
      }
      const p = producer.sendBatch({
        acks: -1,
        topicMessages: [{ topic, messages: perPartition.flat() }],
      });
      inFlight.add(p);
      p.finally(() => inFlight.delete(p)).catch(() => {});
      if (inFlight.size >= 4) await Promise.race(inFlight);
      if (performance.now() - lastLog > 5000) {
        log(`  produced ${end}/${n}`);
        lastLog = performance.now();
      }
    }
    await Promise.all(inFlight);
    return bytes;
  } finally {
    await producer.disconnect();
  }
}
