/**
 * `format: raw` end to end: values produced by confluent-kafka's Python Producer (bytes
 * that are no text at all, invalid UTF-8, empty values, tombstones, a 200 KB value) land
 * byte for byte in the table's binary `value` column next to the Kafka metadata and key
 * columns (`kice run --once` on the real broker); PyIceberg and DuckDB read them back. A
 * record whose key cannot be a string column is dead-lettered with the reason, the rest
 * land, and the table records the end offsets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata, recordedOffsets, runOnce, writeConfig } from '../support/kice-process.ts';
import { createTopic, endOffsets, readTopic } from '../support/produce.ts';
import { duckdbQuery, pyicebergRows } from '../support/readers.ts';
import { produceAvro, type RegistryJob } from '../support/schema-registry.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-raw-${RUN}`;
const GROUP = `kice-e2e-raw-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TABLE = 'e2e.raw';

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, 1);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-raw-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array | string) => Buffer.from(b as Uint8Array).toString('hex');

describe('format: raw', () => {
  it('lands every value byte for byte, tombstones as null, with metadata and keys', async () => {
    const big = randomBytes(200_000);
    // value (hex; null = tombstone), key (hex; undefined = no key)
    const records: { raw: string | null; key?: string }[] = [
      { raw: hex('{"a": 1}'), key: hex('k0') },
      { raw: 'fffe00c3', key: hex('k1') }, // not UTF-8
      { raw: '' }, // empty value, no key
      { raw: null, key: hex('k3') }, // tombstone
      { raw: '00', key: 'c328' }, // a key that is not UTF-8: dead-lettered
      { raw: hex(big), key: hex('') },
      { raw: hex('plain text ü') },
    ];
    // The registry URL is not used for raw jobs.
    await produceAvro(
      brokers[0] as string,
      'http://127.0.0.1:9/none',
      TOPIC,
      records as RegistryJob[],
    );
    const warehouse = join(dir, 'warehouse');
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse },
      tables: [
        { topic: TOPIC, table: TABLE, format: 'raw', metadata: {}, key: { format: 'string' } },
      ],
      deadLetter: { topic: DLQ },
      limits: { maxRecordBytes: 300_000 },
    });
    await runOnce(config);
    const meta = await latestMetadata(warehouse, TABLE);
    const rows = (await pyicebergRows(meta)).sort((a, b) =>
      (a._kafka as { offset: bigint }).offset < (b._kafka as { offset: bigint }).offset ? -1 : 1,
    );
    const expected = records
      .map((r, offset) => ({ ...r, offset }))
      .filter((r) => r.offset !== 4)
      .map((r) => ({
        offset: BigInt(r.offset),
        value: r.raw === null ? null : r.raw,
        key: r.key === undefined ? null : Buffer.from(r.key, 'hex').toString('utf8'),
      }));
    expect(
      rows.map((r) => ({
        offset: (r._kafka as { offset: bigint }).offset,
        value: r.value === null ? null : hex(r.value as Uint8Array),
        key: r._key,
      })),
    ).toEqual(expected);
    expect(Object.keys(rows[0] ?? {})).toEqual(['value', '_key', '_kafka']);
    // DuckDB reads the same bytes (lengths and digests; null stays null).
    const duck = await duckdbQuery(
      meta,
      'select _kafka.offset as o, octet_length(value) as n, md5(value) as h from {t} order by o',
    );
    const md5 = (h: string) => createHash('md5').update(Buffer.from(h, 'hex')).digest('hex');
    expect(duck).toEqual(
      expected.map((e) => ({
        o: e.offset,
        n: e.value === null ? null : BigInt(e.value.length / 2),
        h: e.value === null ? null : md5(e.value),
      })),
    );
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
    const dead = await readTopic(brokers, DLQ);
    expect(dead.map((d) => [d.headers['kice.source.offset'], d.headers['kice.error']])).toEqual([
      ['4', 'key: not valid UTF-8'],
    ]);
  });
});
