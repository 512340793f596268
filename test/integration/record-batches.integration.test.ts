/**
 * The record-batch parser (packages/core/src/source/batches) on batches framed by
 * producers kice did not write: librdkafka (confluent-kafka's Producer) and Kafka's own
 * Java producer (kafka-clients from the broker's jars), each with compression.type none,
 * gzip, snappy, lz4 and zstd, each also transactional (two transactional producers whose
 * committed and aborted transactions interleave with an idempotent non-transactional
 * one); plus a compacted topic (offset gaps, tombstones, batches the log cleaner rewrote)
 * and a LogAppendTime topic.
 *
 * The bytes parsed are the partition's log segment files on the broker (`<log.dirs>/<topic>-0/*.log`,
 * the record batches a Fetch response serves as they are), and the aborted-transactions
 * list is the segments' transaction index (`*.txnindex`, what the broker builds a Fetch
 * response's list from). Each topic's parse must equal, record for record (offset,
 * timestamp, key, value, headers), what kafkajs consumes from the same topic, under
 * read_committed and read_uncommitted, and its values must be exactly what the producers
 * say they wrote in committed transactions. The same log parsed in fetch-sized pieces
 * (each piece cut at a byte limit, the cut batch fetched again) gives the same records.
 *
 * The test runs its OWN broker (port $KICE_BATCHES_KAFKA_PORT, default 29200, state
 * <repo>/.state/record-batches): it reads the broker's data directory and sets a broker
 * config (the log cleaner's back-off), which the shared broker must not see.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AbortedTransaction,
  type IsolationLevel,
  type ParsedFetch,
  type ParsedRecords,
  parseRecordBatches,
} from '../../packages/core/src/source/batches/parse.ts';
import { registerCodecs } from '../../packages/core/src/source/codecs.ts';
import { ownBrokerEnv, startKafka, stopKafka } from '../support/kafka.ts';
import { kafkaClient } from '../support/produce.ts';
import { REPO_ROOT, runPython } from '../support/readers.ts';

const run = promisify(execFile);
const RUN = randomBytes(4).toString('hex');
const PORT = Number(process.env.KICE_BATCHES_KAFKA_PORT ?? 29200);
const STATE = join(REPO_ROOT, '.state/record-batches');
const BROKER = ownBrokerEnv({ port: PORT, state: STATE });
const DATA = join(STATE, 'kafka/data');
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
/** Records per plain topic, and per producer per round of a transactional topic. */
const PLAIN_COUNT = 400;
const TXN_COUNT = 25;
const COMPACT_COUNT = 400;

type Producer = 'rdkafka' | 'java';
interface Written {
  readonly committed: (string | null)[];
  readonly aborted: (string | null)[];
}

let brokers: string[];
let dir: string;
const written = new Map<string, Written>();
const logs = new Map<string, Log>();
const parsed = new Map<string, { committed: ParsedFetch; all: ParsedFetch }>();
let kafkajsCommitted: Map<string, Row[]>;
let kafkajsAll: Map<string, Row[]>;
/** The parse of topic `t`'s whole log under `isolation`, as rows (no batch cut short). */
function parsedRows(t: string, isolation: IsolationLevel): Row[] {
  const p = parsed.get(t);
  const r = isolation === 'read_committed' ? p?.committed : p?.all;
  expect(r?.truncatedBytes).toBe(0);
  return rowsOf(r?.records);
}
const topic = (name: string) => `rb-${RUN}-${name}`;

/** The Kafka jars kafka.sh runs the broker from. */
async function kafkaLibs(): Promise<string> {
  const pom = await readFile(join(REPO_ROOT, 'test/infra/kafka/pom.xml'), 'utf8');
  const version = /<kafka\.version>(.*)<\/kafka\.version>/.exec(pom)?.[1];
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cache, `kice/kafka-${version}/libs`);
}

/** Runs the Java producer over `jobs` ("topic:compression:mode:count"). */
async function produceJava(jobs: string[]): Promise<Written[]> {
  const libs = await kafkaLibs();
  const classes = join(dir, 'java');
  const src = join(REPO_ROOT, 'test/support/java-producer/BatchProducer.java');
  await run('javac', ['-nowarn', '-d', classes, '-cp', `${libs}/*`, src]);
  const log4j = join(REPO_ROOT, 'test/infra/kafka/tools-log4j2.properties');
  const { stdout } = await run(
    'java',
    [
      `-Dlog4j2.configurationFile=${log4j}`,
      '-cp',
      `${classes}:${libs}/*`,
      'BatchProducer',
      brokers[0] as string,
      ...jobs,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const lines = stdout.trim().split('\n');
  return jobs.map((_, i) => ({
    committed: JSON.parse(lines[2 * i] as string),
    aborted: JSON.parse(lines[2 * i + 1] as string),
  }));
}

/** Runs produce_batches.py over `jobs`. */
async function produceRdkafka(jobs: object[]): Promise<Written[]> {
  const file = join(dir, `rdkafka-${randomBytes(3).toString('hex')}.json`);
  await writeFile(file, JSON.stringify(jobs));
  const out = await runPython([
    join(REPO_ROOT, 'test/support/produce_batches.py'),
    brokers[0] as string,
    file,
  ]);
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Written);
}

/** A partition's log as the broker holds it: its segments' bytes, in order, and its aborted transactions. */
interface Log {
  readonly data: Uint8Array;
  /** Base offsets of the segments (file names). */
  readonly segments: bigint[];
  readonly aborted: (AbortedTransaction & { readonly lastOffset: bigint })[];
}

async function readLog(t: string): Promise<Log> {
  const d = join(DATA, `${t}-0`);
  const files = (await readdir(d)).sort();
  const logs = files.filter((f) => f.endsWith('.log'));
  const parts = await Promise.all(logs.map((f) => readFile(join(d, f))));
  const aborted: Log['aborted'][number][] = [];
  for (const f of files.filter((x) => x.endsWith('.txnindex'))) {
    // Entries of 34 bytes: version int16, producer id, first offset, last offset, last stable offset.
    const b = await readFile(join(d, f));
    for (let at = 0; at + 34 <= b.length; at += 34)
      aborted.push({
        producerId: b.readBigInt64BE(at + 2),
        firstOffset: b.readBigInt64BE(at + 10),
        lastOffset: b.readBigInt64BE(at + 18),
      });
  }
  const data = new Uint8Array(new SharedArrayBuffer(parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, segments: logs.map((f) => BigInt(f.slice(0, -4))), aborted };
}

/** One record in a client-neutral form, for comparing the parser with kafkajs. */
interface Row {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string | null>;
}

const text = new TextDecoder();

function rowsOf(r: ParsedRecords | undefined): Row[] {
  if (!r) return [];
  const rows: Row[] = [];
  for (let i = 0; i < r.count; i++) {
    const value = r.nulls[i] ? null : text.decode(r.bytes.subarray(r.offsets[i], r.offsets[i + 1]));
    const k = r.keys as NonNullable<ParsedRecords['keys']>;
    const key = k.nulls[i] ? null : text.decode(k.bytes.subarray(k.offsets[i], k.offsets[i + 1]));
    const headers: Record<string, string | null> = {};
    for (const h of r.headers?.[i] ?? [])
      headers[h.key] = h.value === null ? null : text.decode(h.value);
    rows.push({
      offset: String(r.recordOffsets[i]),
      timestamp: String(r.timestamps[i]),
      key,
      value,
      headers,
    });
  }
  return rows;
}

function parseLog(t: string, log: Log, isolation: IsolationLevel): ParsedFetch {
  return parseRecordBatches({
    topic: t,
    partition: 0,
    data: log.data,
    fetchOffset: 0n,
    isolation,
    abortedTransactions: log.aborted,
    keepKeys: true,
    keepHeaders: true,
  });
}

/**
 * The log parsed as a fetcher would get it: pieces of at most `limit` bytes from the
 * current position, each with the aborted transactions that end at or after the piece's
 * fetch offset (as the broker lists them); a batch cut at the end of a piece is read again
 * at the start of the next one.
 */
function parseInPieces(t: string, log: Log, limit: number): Row[] {
  const rows: Row[] = [];
  let pos = 0;
  let offset = 0n;
  let size = limit;
  while (pos < log.data.length) {
    const piece = log.data.subarray(pos, Math.min(log.data.length, pos + size));
    const r = parseRecordBatches({
      topic: t,
      partition: 0,
      data: piece,
      fetchOffset: offset,
      isolation: 'read_committed',
      abortedTransactions: log.aborted.filter((a) => a.lastOffset >= offset),
      keepKeys: true,
      keepHeaders: true,
    });
    if (r.batches === 0) {
      size *= 2; // a batch larger than the limit: the broker would send it whole
      continue;
    }
    size = limit;
    rows.push(...rowsOf(r.records));
    pos += piece.length - r.truncatedBytes;
    offset = r.nextOffset;
  }
  return rows;
}

/**
 * Every record kafkajs consumes from each topic of `until` up to the record at its offset
 * (one consumer for all topics: one group join).
 */
async function consumeAll(
  isolation: IsolationLevel,
  until: Map<string, string>,
): Promise<Map<string, Row[]>> {
  const consumer = kafkaClient(brokers).consumer({
    groupId: `rb-${RUN}-${isolation}`,
    readUncommitted: isolation === 'read_uncommitted',
    maxBytesPerPartition: 64 * 1024,
  });
  const out = new Map<string, Row[]>([...until.keys()].map((t) => [t, []]));
  const left = new Set(until.keys());
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...until.keys()], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`kafkajs (${isolation}) never read to the end of ${[...left].join(', ')}`),
          ),
        120_000,
      );
      consumer
        .run({
          partitionsConsumedConcurrently: 4,
          eachMessage: async ({ topic: t, message }) => {
            const headers: Record<string, string | null> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) {
              if (Array.isArray(v)) throw new Error(`repeated header ${k}`);
              headers[k] = v === null || v === undefined ? null : v.toString();
            }
            out.get(t)?.push({
              offset: message.offset,
              timestamp: message.timestamp,
              key: message.key === null ? null : message.key.toString(),
              value: message.value === null ? null : message.value.toString(),
              headers,
            });
            if (message.offset === until.get(t)) left.delete(t);
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
  return out;
}

/** Waits until the log cleaner has cleaned `t` up to its active segment. */
async function cleaned(t: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const checkpoint = await readFile(join(DATA, 'cleaner-offset-checkpoint'), 'utf8').catch(
      () => '',
    );
    const line = checkpoint.split('\n').find((l) => l.startsWith(`${t} 0 `));
    const log = await readLog(t);
    if (line && BigInt(line.split(' ')[2] as string) >= (log.segments.at(-1) as bigint)) return;
    if (Date.now() > deadline) throw new Error(`the log cleaner did not clean ${t}: ${checkpoint}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const sorted = (vs: (string | null)[]) =>
  [...vs].sort((a, b) => String(a).localeCompare(String(b)));

beforeAll(async () => {
  registerCodecs();
  dir = await mkdtemp(join(tmpdir(), 'kice-record-batches-'));
  brokers = [await startKafka(BROKER)];
  const plainTopics: string[] = [];
  for (const p of ['rdkafka', 'java'] as const)
    for (const c of CODECS) plainTopics.push(topic(`${p}-${c}`), topic(`${p}-${c}-txn`));
  const topics = [
    ...plainTopics.map((t) => ({ topic: t })),
    {
      topic: topic('compact'),
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'segment.ms', value: '1000' },
        { name: 'min.cleanable.dirty.ratio', value: '0.01' },
      ],
    },
    {
      topic: topic('log-append'),
      configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
    },
  ];
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    // The cleaner checks for dirty logs every 15 s by default; this broker is ours.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.BROKER,
          name: '1',
          configEntries: [{ name: 'log.cleaner.backoff.ms', value: '500' }],
        },
      ],
    });
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({ ...t, numPartitions: 1, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
  const rdJobs = [
    ...CODECS.flatMap((c) => [
      { topic: topic(`rdkafka-${c}`), compression: c, count: PLAIN_COUNT, mode: 'plain' },
      { topic: topic(`rdkafka-${c}-txn`), compression: c, count: TXN_COUNT, mode: 'txn' },
    ]),
    { topic: topic('compact'), compression: 'lz4', count: COMPACT_COUNT, mode: 'compact' },
    { topic: topic('log-append'), compression: 'none', count: 100, mode: 'plain' },
  ];
  const javaJobs = CODECS.flatMap((c) => [
    `${topic(`java-${c}`)}:${c}:plain:${PLAIN_COUNT}`,
    `${topic(`java-${c}-txn`)}:${c}:txn:${TXN_COUNT}`,
  ]);
  const [rd, java] = await Promise.all([produceRdkafka(rdJobs), produceJava(javaJobs)]);
  for (const [i, j] of rdJobs.entries()) written.set(j.topic, rd[i] as Written);
  for (const [i, j] of javaJobs.entries())
    written.set(j.split(':')[0] as string, java[i] as Written);
  await cleaned(topic('compact'));
  const untilCommitted = new Map<string, string>();
  const untilAll = new Map<string, string>();
  for (const t of written.keys()) {
    const log = await readLog(t);
    logs.set(t, log);
    const committed = parseLog(t, log, 'read_committed');
    const all = parseLog(t, log, 'read_uncommitted');
    parsed.set(t, { committed, all });
    untilCommitted.set(t, String(committed.records?.lastOffset));
    if (t.endsWith('-txn')) untilAll.set(t, String(all.records?.lastOffset));
  }
  [kafkajsCommitted, kafkajsAll] = await Promise.all([
    consumeAll('read_committed', untilCommitted),
    consumeAll('read_uncommitted', untilAll),
  ]);
});

afterAll(async () => {
  await stopKafka(BROKER);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** How many of records 0..n-1 (produce_batches.py and BatchProducer's rules) match `f`. */
const countOf = (n: number, f: (i: number) => boolean) =>
  Array.from({ length: n }, (_, i) => i).filter(f).length;

describe.each(['rdkafka', 'java'] as Producer[])('batches framed by %s', (producer) => {
  it.each(CODECS)('compression.type %s: every record exactly as kafkajs reads it', (codec) => {
    const t = topic(`${producer}-${codec}`);
    const rows = parsedRows(t, 'read_committed');
    expect(rows.map((r) => r.value)).toEqual(written.get(t)?.committed);
    expect(rows.map((r) => r.offset)).toEqual(
      Array.from({ length: PLAIN_COUNT }, (_, i) => String(i)),
    );
    // The odd cases are in there: tombstones, empty values, null keys, valueless headers.
    const n = PLAIN_COUNT;
    expect(rows.filter((r) => r.value === null)).toHaveLength(countOf(n, (i) => i % 17 === 0));
    expect(rows.filter((r) => r.value === '')).toHaveLength(
      countOf(n, (i) => i % 19 === 0 && i % 17 !== 0),
    );
    expect(rows.filter((r) => r.key === null)).toHaveLength(countOf(n, (i) => i % 10 === 0));
    expect(rows.filter((r) => r.headers.none === null)).toHaveLength(
      countOf(n, (i) => i % 3 === 0),
    );
    expect(rows).toEqual(kafkajsCommitted.get(t));
    expect(parseInPieces(t, logs.get(t) as Log, 1500)).toEqual(rows);
  });

  it.each(CODECS)(
    'compression.type %s, transactional: aborted records dropped under read_committed only',
    (codec) => {
      const t = topic(`${producer}-${codec}-txn`);
      const w = written.get(t) as Written;
      expect(logs.get(t)?.aborted).toHaveLength(4); // one abort per round
      const committed = parsedRows(t, 'read_committed');
      expect(sorted(committed.map((r) => r.value))).toEqual(sorted(w.committed));
      const all = parsedRows(t, 'read_uncommitted');
      expect(sorted(all.map((r) => r.value))).toEqual(sorted([...w.committed, ...w.aborted]));
      // 4 rounds: A sends twice, B and C once, TXN_COUNT records a send.
      expect(all).toHaveLength(16 * TXN_COUNT);
      expect(committed).toHaveLength(10 * TXN_COUNT);
      expect(parsed.get(t)?.committed).toMatchObject({
        controlBatches: 8,
        abortedRecords: 6 * TXN_COUNT,
      });
      expect(committed).toEqual(kafkajsCommitted.get(t));
      expect(all).toEqual(kafkajsAll.get(t));
      expect(parseInPieces(t, logs.get(t) as Log, 700)).toEqual(committed);
    },
  );
});

describe('a compacted topic', () => {
  it('gives offset gaps after the cleaner ran, each key its last value, as kafkajs reads it', () => {
    const t = topic('compact');
    const log = logs.get(t) as Log;
    const rows = parsedRows(t, 'read_committed');
    // What compaction keeps: the last record of each key below the active segment's base
    // offset (tombstones too: delete.retention.ms has not passed), and the active segment.
    const values = written.get(t)?.committed as (string | null)[];
    const activeBase = Number(log.segments.at(-1));
    const keyOf = (i: number) => (i === COMPACT_COUNT ? 'roll' : `key-${i % 20}`);
    const lastOf = new Map<string, number>();
    for (let i = 0; i < activeBase; i++) lastOf.set(keyOf(i), i);
    const kept = values
      .map((value, i) => ({ offset: String(i), key: keyOf(i), value }))
      .filter((r, i) => i >= activeBase || lastOf.get(r.key) === i);
    expect(rows.map(({ offset, key, value }) => ({ offset, key, value }))).toEqual(kept);
    expect(rows.length).toBeLessThan(COMPACT_COUNT / 2);
    expect(rows).toEqual(kafkajsCommitted.get(t));
    expect(parseInPieces(t, log, 300)).toEqual(rows);
  });
});

describe('a LogAppendTime topic', () => {
  it('stamps every record with its batch max timestamp, as kafkajs reads it', () => {
    const t = topic('log-append');
    const r = parsed.get(t)?.committed.records as ParsedRecords;
    expect(r.count).toBe(100);
    expect([...(r.timestampTypes ?? [])]).toEqual(Array(100).fill(1));
    expect(parsedRows(t, 'read_committed')).toEqual(kafkajsCommitted.get(t));
  });
});
