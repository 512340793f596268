/**
 * `format: protobuf` end to end: records framed and encoded by confluent-kafka's
 * ProtobufSerializer through the real registry (an imported file under its own subject,
 * well-known types not registered) land in an Iceberg table (`kice run --once` on the real
 * broker) that PyIceberg and DuckDB read exactly, with the Kafka metadata struct and a
 * string key column; bad input (frames, a key that is not UTF-8) goes to the dead-letter
 * topic with its reason while good records land; a second table evolves across runs
 * through three schema versions, interleaved, with an incompatible one dead-lettered.
 * Both tables are in one config, so the file starts kice twice (evolution across runs
 * needs two runs).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  readMetadata,
  recordedOffsets,
  runOnce,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, exactProducer, readTopic } from '../support/produce.ts';
import {
  EVERY_TYPE_EXPECTED,
  EVERY_TYPE_MESSAGE,
  EVERY_TYPE_ROWS,
  everyTypeFiles,
} from '../support/protobuf-fixtures.ts';
import { duckdbRows, pyicebergRows } from '../support/readers.ts';
import { produceProtobuf, startRegistry } from '../support/schema-registry.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-pb-${RUN}`;
const EVO = `${TOPIC}-evo`;
const GROUP = `kice-e2e-pb-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TS = 1_750_000_000_000;
/** Keys of the every-type records by offset: offset 3 (a good value) has a non-UTF-8 key. */
const KEYS: (Buffer | null)[] = [Buffer.from('k0'), null, Buffer.from('k2'), Buffer.of(0xff, 0xfe)];

let brokers: string[];
let registry: string;
let dir: string;
let config: string;
let idHex: string;
let first: string;

const proto = (body: string, user: string) => ({
  [`e2e_evo_${RUN}.proto`]: `syntax = "proto3";\npackage kice.e2e;\nmessage Ev {\n${body}\n  message User {\n${user}\n  }\n}\n`,
});
const name = '    string name = 1;';
const email = `${name}\n    optional string email = 2;`;
const v1 = proto('  int32 id = 1;\n  User user = 2;\n  optional string note = 3;', name);
const v2 = proto('  int64 id = 1;\n  User user = 2;\n  optional string note = 3;', email);
const v3 = proto('  int64 id = 1;\n  User user = 2;', email);
const bad = proto('  string id = 1;', name);
const M = 'kice.e2e.Ev';

beforeAll(async () => {
  const [b, r] = await Promise.all([startKafka(), startRegistry()]);
  brokers = [b];
  registry = r;
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-pb-'));
  // Every-type values from the serializer go to a staging topic first, and are sent
  // again (with bad frames after them) with keys, headers and timestamps of our choosing.
  const staging = `${TOPIC}-staging`;
  await Promise.all([staging, TOPIC, EVO].map((t) => createTopic(brokers, t, 1)));
  const [[ids]] = await Promise.all([
    produceProtobuf(b, registry, staging, [
      { files: everyTypeFiles(RUN), message: EVERY_TYPE_MESSAGE, rows: EVERY_TYPE_ROWS },
    ]),
    produceProtobuf(b, registry, EVO, [
      { files: v1, message: M, rows: [{ id: 1, user: { name: 'a' }, note: 'n1' }] },
    ]),
  ]);
  idHex = Number(ids?.[0]).toString(16).padStart(8, '0');
  const values = (await readTopic(brokers, staging)).map((x) => x.value as Buffer);
  const good = values[0] as Buffer;
  const badFrames = [
    Buffer.from(`05${good.subarray(1).toString('hex')}`, 'hex'),
    Buffer.from(`00${(765_431).toString(16).padStart(8, '0')}00`, 'hex'),
    good.subarray(0, 20),
    Buffer.from(`00${idHex}0206`, 'hex'),
  ];
  const producer = exactProducer(brokers);
  await producer.connect();
  try {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: [...values, good, ...badFrames].map((value, i) => ({
        partition: 0,
        key: KEYS[i] ?? null,
        value,
        timestamp: String(TS + i),
        headers: i === 0 ? { h: [Buffer.from([0xff, 1]), Buffer.from('two')] } : {},
      })),
    });
  } finally {
    await producer.disconnect();
  }
  config = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP },
    catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
    schemaRegistry: { url: registry },
    tables: [
      {
        topic: TOPIC,
        table: 'e2e.pb',
        format: 'protobuf',
        metadata: {},
        key: { format: 'string' },
      },
      { topic: EVO, table: 'e2e.pb_evo', format: 'protobuf' },
    ],
    deadLetter: { topic: DLQ },
  });
  await runOnce(config);
  first = await latestMetadata(join(dir, 'warehouse'), 'e2e.pb_evo');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Rows in a stable order: by a key that is unique in the test's rows. */
const by = (rows: Record<string, unknown>[], key: (r: Record<string, unknown>) => string) =>
  [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
const everyKey = (r: Record<string, unknown>) => `${String(r.color)}|${String(r.i32)}`;
const deadOf = async (topic: string) =>
  (await readTopic(brokers, DLQ))
    .filter((d) => d.headers['kice.source.topic'] === topic)
    .map((d) => [d.headers['kice.source.offset'], d.headers['kice.error']]);

describe('format: protobuf', () => {
  it('lands every type exactly with metadata and key columns, and dead-letters bad input with the reason', async () => {
    const meta = await latestMetadata(join(dir, 'warehouse'), 'e2e.pb');
    const kafka = (i: number) => ({
      topic: TOPIC,
      partition: 0,
      offset: BigInt(i),
      timestamp: BigInt(TS + i) * 1000n,
      timestamp_type: 'CreateTime',
      headers:
        i === 0
          ? [
              { key: 'h', value: Uint8Array.of(0xff, 1) },
              { key: 'h', value: new Uint8Array(Buffer.from('two')) },
            ]
          : [],
    });
    const expected = by(
      EVERY_TYPE_EXPECTED.map((r, i) => ({
        ...r,
        _key: KEYS[i]?.toString() ?? null,
        _kafka: kafka(i),
      })),
      everyKey,
    );
    expect(by(await pyicebergRows(meta), everyKey)).toEqual(expected);
    expect(by(await duckdbRows(meta), everyKey)).toEqual(expected);
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
    expect(await deadOf(TOPIC)).toEqual([
      ['3', 'key: not valid UTF-8'],
      ['4', 'not a Schema Registry frame: magic byte is 5, expected 0'],
      [
        '5',
        "unknown schema id 765431: the registry answered 404 (No content with ID '765431' was found. error_code 40403)",
      ],
      ['6', 'truncated Protobuf payload: the bytes end inside a field'],
      [
        '7',
        `schema id ${Number.parseInt(idHex, 16)}: message indexes [3]: index 3 is out of range, the file has 2 messages`,
      ],
    ]);
  });

  it('evolves the table through three versions across runs, interleaved, and dead-letters an incompatible one', async () => {
    const b = brokers[0] as string;
    const m = M;
    // The first run (beforeAll) took v1 alone.
    expect(await pyicebergRows(first)).toEqual([{ id: 1, user: { name: 'a' }, note: 'n1' }]);
    const ids = await produceProtobuf(b, registry, EVO, [
      { files: v2, message: m, rows: [{ id: '5000000000', user: { name: 'b', email: 'b@x' } }] },
      { files: v1, message: m, rows: [{ id: 3, user: { name: 'c' }, note: 'n3' }] },
      { files: v3, message: m, rows: [{ id: '4', user: { name: 'd' } }] },
      { files: bad, message: m, rows: [{ id: 'five' }] },
      { files: v2, message: m, rows: [{ id: '6', user: { name: 'f', email: 'f@x' }, note: 'n6' }] },
    ]);
    await runOnce(config);
    const meta = await latestMetadata(join(dir, 'warehouse'), 'e2e.pb_evo');
    const expected = [
      { id: 1n, user: { name: 'a', email: null }, note: 'n1' },
      { id: 3n, user: { name: 'c', email: null }, note: 'n3' },
      { id: 4n, user: { name: 'd', email: null }, note: null },
      { id: 6n, user: { name: 'f', email: 'f@x' }, note: 'n6' },
      { id: 5000000000n, user: { name: 'b', email: 'b@x' }, note: null },
    ];
    const byId = (rows: Record<string, unknown>[]) =>
      [...rows].sort((x, y) => ((x.id as bigint) < (y.id as bigint) ? -1 : 1));
    expect(byId(await pyicebergRows(meta))).toEqual(expected);
    expect(byId(await duckdbRows(meta))).toEqual(expected);
    const md = await readMetadata(meta);
    const current = md.schemas.find((x) => x['schema-id'] === md['current-schema-id']);
    const firstSchema = (await readMetadata(first)).schemas.at(-1);
    type F = { name: string; id: number; type: unknown };
    const idOf = (sch: { fields: unknown[] } | undefined, n: string) =>
      (sch?.fields as F[] | undefined)?.find((f) => f.name === n)?.id;
    for (const n of ['id', 'user', 'note']) expect(idOf(current, n)).toBe(idOf(firstSchema, n));
    expect((current?.fields as F[] | undefined)?.find((f) => f.name === 'id')?.type).toBe('long');
    expect(await deadOf(EVO)).toEqual([
      ['4', `schema id ${ids[3]?.[0]}: field "id": cannot change long to string`],
    ]);
    expect(await recordedOffsets(meta, GROUP)).toEqual({ [EVO]: await endOffsets(brokers, EVO) });
  });
});
