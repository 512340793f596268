/**
 * Kafka metadata and key columns end to end (`kice run --once` on the real broker, read back
 * by PyIceberg and DuckDB):
 * - table `e2e.meta_json` (topic of 2 partitions, CreateTime): `metadata: {}` and
 *   `key: {format: json}`: JSON object keys become a struct column `_key`, null keys a null
 *   `_key`; every row's `_kafka` holds its topic, partition, the real Kafka offset, the
 *   producer's timestamp, "CreateTime" and its headers exactly (a repeated name, bytes that
 *   are not UTF-8, an empty value); a value with a `_kafka` field and a key that is not JSON
 *   go to the dead-letter topic with their reasons;
 * - table `e2e.meta_text` (a topic created with message.timestamp.type=LogAppendTime):
 *   `metadata: {column: meta}`, `key: {format: string, column: k}`: the broker's timestamps
 *   and "LogAppendTime"; an empty key is "" and a null key is null (DuckDB keeps them apart);
 *   partitioned by `day(meta.timestamp)`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata, plannedFiles, runOnce, writeConfig } from '../support/kice-process.ts';
import { createTopic, exactProducer, readTopic } from '../support/produce.ts';
import { duckdbQuery, pyicebergRows, type Row } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const JSON_TOPIC = `kice-e2e-meta-json-${RUN}`;
const TEXT_TOPIC = `kice-e2e-meta-text-${RUN}`;
const GROUP = `kice-e2e-meta-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const JSON_TABLE = 'e2e.meta_json';
const TEXT_TABLE = 'e2e.meta_text';
const TS0 = 1_700_000_000_000;

let brokers: string[];
let dir: string;
let warehouse: string;

interface Sent {
  readonly id: number;
  readonly partition: number;
  readonly value: string;
  readonly key: string | null;
  readonly timestamp: number;
  readonly headers: { key: string; value: Buffer }[];
}

/** Records of the JSON table: ids 0..19 alternate partitions; a few are bad on purpose. */
function jsonRecord(id: number): Sent {
  const key =
    id % 5 === 4 ? null : id === 7 ? 'not json' : JSON.stringify({ id, region: `r${id % 3}` });
  const value = id === 11 ? JSON.stringify({ id, _kafka: 1 }) : JSON.stringify({ id, v: `e${id}` });
  return {
    id,
    partition: id % 2,
    value,
    key,
    timestamp: TS0 + id,
    headers:
      id % 3 === 0
        ? []
        : [
            { key: 'trace', value: Buffer.from(`t${id}`) },
            { key: 'raw', value: Buffer.from([0xff, 0x00, id]) },
            { key: 'raw', value: Buffer.from('second') },
            { key: 'empty', value: Buffer.alloc(0) },
          ],
  };
}

/** Sends each partition's records in one call; resolves with their offsets by id. */
async function send(topic: string, recs: Sent[]): Promise<Map<number, bigint>> {
  const producer = exactProducer(brokers);
  await producer.connect();
  const offsets = new Map<number, bigint>();
  try {
    for (const p of new Set(recs.map((r) => r.partition))) {
      const mine = recs.filter((r) => r.partition === p);
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: mine.map((r) => {
          // kafkajs groups a repeated name's values into a list.
          const headers: Record<string, Buffer[]> = {};
          for (const h of r.headers) headers[h.key] = [...(headers[h.key] ?? []), h.value];
          return {
            partition: p,
            value: r.value,
            key: r.key,
            timestamp: String(r.timestamp),
            headers,
          };
        }),
      });
      const base = BigInt(meta?.baseOffset ?? '-1');
      mine.forEach((r, i) => {
        offsets.set(r.id, base + BigInt(i));
      });
    }
  } finally {
    await producer.disconnect();
  }
  return offsets;
}

const JSON_RECS = Array.from({ length: 20 }, (_, id) => jsonRecord(id));
const TEXT_RECS: Sent[] = Array.from({ length: 6 }, (_, id) => ({
  id,
  partition: 0,
  value: JSON.stringify({ id }),
  key: id === 1 ? null : id === 2 ? '' : `k${id}`,
  timestamp: 1000 + id, // the broker replaces it (LogAppendTime)
  headers: id === 3 ? [{ key: 'h', value: Buffer.from('x') }] : [],
}));

let jsonOffsets: Map<number, bigint>;
let textOffsets: Map<number, bigint>;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, JSON_TOPIC, 2);
  await createTopic(brokers, TEXT_TOPIC, 1, { 'message.timestamp.type': 'LogAppendTime' });
  jsonOffsets = await send(JSON_TOPIC, JSON_RECS);
  textOffsets = await send(TEXT_TOPIC, TEXT_RECS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-meta-'));
  warehouse = join(dir, 'warehouse');
  const configPath = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP },
    catalog: { type: 'filesystem', warehouse },
    tables: [
      { topic: JSON_TOPIC, table: JSON_TABLE, metadata: {}, key: { format: 'json' } },
      {
        topic: TEXT_TOPIC,
        table: TEXT_TABLE,
        metadata: { column: 'meta' },
        key: { format: 'string', column: 'k' },
        partitionBy: ['day(meta.timestamp)'],
      },
    ],
    deadLetter: { topic: DLQ },
  });
  await runOnce(configPath);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const bytes = (b: Buffer) => new Uint8Array(b);
const byId = (rows: Row[]) => [...rows].sort((a, b) => Number(a.id) - Number(b.id));

describe('Kafka metadata and key columns', () => {
  it('JSON table: struct keys, null keys, exact offsets, timestamps and headers', async () => {
    const meta = await latestMetadata(warehouse, JSON_TABLE);
    const rows = byId(await pyicebergRows(meta));
    const good = JSON_RECS.filter((r) => r.id !== 7 && r.id !== 11);
    expect(rows).toEqual(
      good.map((r) => ({
        id: BigInt(r.id),
        v: `e${r.id}`,
        _key: r.key === null ? null : { id: BigInt(r.id), region: `r${r.id % 3}` },
        _kafka: {
          topic: JSON_TOPIC,
          partition: r.partition,
          offset: jsonOffsets.get(r.id),
          timestamp: BigInt(r.timestamp) * 1000n,
          timestamp_type: 'CreateTime',
          headers: r.headers.map((h) => ({ key: h.key, value: bytes(h.value) })),
        },
      })),
    );
    // DuckDB: null keys are null structs; an empty header value is empty bytes, not null.
    const duck = await duckdbQuery(
      meta,
      "SELECT _kafka.offset AS o, _key IS NULL AS nokey, octet_length(h.value) AS len, h.value IS NULL AS nul FROM {t}, unnest(_kafka.headers) AS u(h) WHERE h.key = 'empty' ORDER BY _kafka.partition, _kafka.offset",
    );
    const withEmpty = good
      .filter((r) => r.headers.length > 0)
      .sort((a, b) => a.partition - b.partition || a.id - b.id);
    expect(duck).toEqual(
      withEmpty.map((r) => ({
        o: jsonOffsets.get(r.id),
        nokey: r.key === null,
        len: 0n,
        nul: false,
      })),
    );
    const dead = await readTopic(brokers, DLQ);
    const reasons = dead
      .filter((d) => d.headers['kice.source.topic'] === JSON_TOPIC)
      .map((d) => [d.headers['kice.source.offset'], d.headers['kice.error']]);
    expect(reasons.sort()).toEqual(
      [
        [String(jsonOffsets.get(7)), expect.stringMatching(/^key: invalid JSON: /)],
        [
          String(jsonOffsets.get(11)),
          'field "_kafka": the value has a field named like the metadata column (metadata.column)',
        ],
      ].sort(),
    );
  });

  it('LogAppendTime table: the broker timestamps, string keys, "" apart from null', async () => {
    const meta = await latestMetadata(warehouse, TEXT_TABLE);
    const seen = await readTopic(brokers, TEXT_TOPIC);
    const rows = byId(await pyicebergRows(meta));
    expect(rows).toEqual(
      TEXT_RECS.map((r) => {
        const at = seen.find((s) => BigInt(s.offset) === textOffsets.get(r.id));
        return {
          id: BigInt(r.id),
          k: r.key,
          meta: {
            topic: TEXT_TOPIC,
            partition: 0,
            offset: textOffsets.get(r.id),
            timestamp: BigInt(at?.timestamp ?? '0') * 1000n,
            timestamp_type: 'LogAppendTime',
            headers: r.headers.map((h) => ({ key: h.key, value: bytes(h.value) })),
          },
        };
      }),
    );
    // The broker's clock, not the producer's 1000 + id.
    expect(seen.every((s) => Number(s.timestamp) > TS0)).toBe(true);
    // Partitioned by day(meta.timestamp): each file's partition value is its rows' day.
    const days = new Set(seen.map((s) => Math.floor(Number(s.timestamp) / 86_400_000)));
    const files = await plannedFiles(meta);
    expect(files.reduce((a, f) => a + f.records, 0)).toBe(TEXT_RECS.length);
    expect(new Set(files.map((f) => String(f.partition[0])))).toEqual(
      new Set([...days].map(String)),
    );
    const duck = await duckdbQuery(
      meta,
      'SELECT id, k IS NULL AS nul, k AS k FROM {t} WHERE id IN (1, 2) ORDER BY id',
    );
    expect(duck).toEqual([
      { id: 1n, nul: true, k: null },
      { id: 2n, nul: false, k: '' },
    ]);
  });
});
