/**
 * `format: avro` end to end: records framed and encoded by confluent-kafka's
 * AvroSerializer through the real registry land in an Iceberg table (`kice run --once` on
 * the real broker) that PyIceberg and DuckDB read exactly; bad input (wrong magic byte,
 * unknown schema id, truncated payload) goes to the dead-letter topic with its reason
 * while the good records land; `metadata` and `key` columns beside the Avro values.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVERY_TYPE_EXPECTED,
  EVERY_TYPE_ROWS,
  EVERY_TYPE_SCHEMA,
} from '../support/avro-fixtures.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  readMetadata,
  recordedOffsets,
  runOnce,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, exactProducer, readTopic } from '../support/produce.ts';
import { duckdbRows, pyicebergRows, sortBy } from '../support/readers.ts';
import { produceAvro, startRegistry } from '../support/schema-registry.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-avro-${RUN}`;
const GROUP = `kice-e2e-avro-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TABLE = 'e2e.avro';

/** Rows in id order (ids are bigint: a numeric comparison). */
const byId = (rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) => ((a.id as bigint) < (b.id as bigint) ? -1 : 1));

let brokers: string[];
let registry: string;
let dir: string;

beforeAll(async () => {
  const [b, r] = await Promise.all([startKafka(), startRegistry()]);
  brokers = [b];
  registry = r;
  await createTopic(brokers, TOPIC, 1);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-avro-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('format: avro', () => {
  it('lands every logical type exactly and dead-letters bad frames with the reason', async () => {
    const warehouse = join(dir, 'warehouse');
    const [ids] = await produceAvro(brokers[0] as string, registry, TOPIC, [
      { schema: EVERY_TYPE_SCHEMA, rows: EVERY_TYPE_ROWS },
    ]);
    const good = (await readTopic(brokers, TOPIC))[0]?.value as Buffer;
    await produceAvro(brokers[0] as string, registry, TOPIC, [
      { raw: `05${good.subarray(1).toString('hex')}` },
      { raw: `00${(765_432).toString(16).padStart(8, '0')}00` },
      { raw: good.subarray(0, 20).toString('hex') },
    ]);
    expect(ids?.length).toBe(2);
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse },
      schemaRegistry: { url: registry },
      tables: [{ topic: TOPIC, table: TABLE, format: 'avro' }],
      deadLetter: { topic: DLQ },
    });
    await runOnce(config);
    const meta = await latestMetadata(warehouse, TABLE);
    const py = sortBy(await pyicebergRows(meta), 'i');
    expect(py).toEqual(EVERY_TYPE_EXPECTED);
    const duck = sortBy(await duckdbRows(meta), 'i');
    expect(duck).toEqual(EVERY_TYPE_EXPECTED);
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
    const dead = await readTopic(brokers, DLQ);
    expect(dead.map((d) => d.headers['kice.error'])).toEqual([
      'not a Schema Registry frame: magic byte is 5, expected 0',
      "unknown schema id 765432: the registry answered 404 (No content with ID '765432' was found. error_code 40403)",
      'truncated Avro payload: 15 bytes end inside the datum',
    ]);
  });

  it('waits through registry failures (503s, connection resets) and dead-letters no good record', async () => {
    const topic = `${TOPIC}-outage`;
    await createTopic(brokers, topic, 1);
    const warehouse = join(dir, 'warehouse-outage');
    // A schema of its own: a fresh id, looked up by the kice process during the outage.
    const schema = {
      type: 'record',
      name: `Outage${RUN}`,
      fields: [
        { name: 'n', type: 'long' },
        { name: 's', type: 'string' },
      ],
    };
    const rows = Array.from({ length: 50 }, (_, n) => ({ n, s: `r${n}` }));
    await produceAvro(brokers[0] as string, registry, topic, [{ schema, rows }]);
    const proxy = await startFaultProxy(registry.replace(/\/apis\/ccompat\/v7$/, ''));
    try {
      // The start-up check passes; every schema lookup fails 6 times before one answers.
      proxy.setRules([
        {
          match: (r) => r.url?.includes('/schemas/ids/') ?? false,
          rate: 1,
          fault: '503',
          limit: 3,
        },
        {
          match: (r) => r.url?.includes('/schemas/ids/') ?? false,
          rate: 1,
          fault: 'reset',
          limit: 3,
        },
      ]);
      const config = await writeConfig(dir, {
        kafka: { brokers, groupId: `${GROUP}-outage` },
        catalog: { type: 'filesystem', warehouse },
        schemaRegistry: { url: `${proxy.endpoint}/apis/ccompat/v7` },
        tables: [{ topic, table: 'e2e.avro_outage', format: 'avro' }],
        deadLetter: { topic: `${DLQ}-outage` },
      });
      const { process: p } = await runOnce(config);
      expect(proxy.injected['503']).toBe(3);
      expect(proxy.injected.reset).toBe(3);
      expect(p.withMsg('schema registry request failed; retrying').length).toBe(6);
      expect(p.withMsg('records dead-lettered')).toEqual([]);
      const meta = await latestMetadata(warehouse, 'e2e.avro_outage');
      expect(sortBy(await pyicebergRows(meta), 'n')).toEqual(
        rows.map((r) => ({ n: BigInt(r.n), s: r.s })),
      );
      expect(await recordedOffsets(meta, `${GROUP}-outage`)).toEqual({
        [topic]: await endOffsets(brokers, topic),
      });
      expect(await readTopic(brokers, `${DLQ}-outage`).catch(() => [])).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('evolves the table through three schema versions across runs, interleaved, and dead-letters an incompatible one', async () => {
    const topic = `${TOPIC}-evo`;
    await createTopic(brokers, topic, 1);
    const warehouse = join(dir, 'warehouse-evo');
    const name = `Evo${RUN}`;
    const user = (extra: unknown[] = []) => ({
      type: 'record',
      name: `${name}User`,
      fields: [{ name: 'name', type: 'string' }, ...extra],
    });
    const email = { name: 'email', type: ['null', 'string'], default: null };
    const note = { name: 'note', type: ['null', 'string'], default: null };
    const rec = (fields: unknown[]) => ({ type: 'record', name, fields });
    const v1 = rec([{ name: 'id', type: 'int' }, { name: 'user', type: user() }, note]);
    const v2 = rec([{ name: 'id', type: 'long' }, { name: 'user', type: user([email]) }, note]);
    const v3 = rec([
      { name: 'id', type: 'long' },
      { name: 'user', type: user([email]) },
    ]);
    const bad = rec([{ name: 'id', type: 'string' }]);
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: `${GROUP}-evo` },
      catalog: { type: 'filesystem', warehouse },
      schemaRegistry: { url: registry },
      tables: [{ topic, table: 'e2e.avro_evo', format: 'avro' }],
      deadLetter: { topic: `${DLQ}-evo` },
    });
    const b = brokers[0] as string;
    await produceAvro(b, registry, topic, [
      { schema: v1, rows: [{ id: 1, user: { name: 'a' }, note: 'n1' }] },
    ]);
    await runOnce(config);
    const first = await latestMetadata(warehouse, 'e2e.avro_evo');
    expect(await pyicebergRows(first)).toEqual([{ id: 1, user: { name: 'a' }, note: 'n1' }]);
    const ids = await produceAvro(b, registry, topic, [
      {
        schema: v2,
        rows: [{ id: { $int: '5000000000' }, user: { name: 'b', email: 'b@x' }, note: null }],
      },
      { schema: v1, rows: [{ id: 3, user: { name: 'c' }, note: 'n3' }] },
      { schema: v3, rows: [{ id: 4, user: { name: 'd', email: null } }] },
      { schema: bad, rows: [{ id: 'five' }] },
      { schema: v2, rows: [{ id: 6, user: { name: 'f', email: 'f@x' }, note: 'n6' }] },
    ]);
    await runOnce(config);
    const meta = await latestMetadata(warehouse, 'e2e.avro_evo');
    const expected = [
      { id: 1n, user: { name: 'a', email: null }, note: 'n1' },
      { id: 3n, user: { name: 'c', email: null }, note: 'n3' },
      { id: 4n, user: { name: 'd', email: null }, note: null },
      { id: 6n, user: { name: 'f', email: 'f@x' }, note: 'n6' },
      { id: 5000000000n, user: { name: 'b', email: 'b@x' }, note: null },
    ];
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
    const dead = await readTopic(brokers, `${DLQ}-evo`);
    expect(dead.map((d) => d.headers['kice.error'])).toEqual([
      `schema id ${ids[3]?.[0]}: field "id": cannot change long to string`,
    ]);
    expect(await recordedOffsets(meta, `${GROUP}-evo`)).toEqual({
      [topic]: await endOffsets(brokers, topic),
    });
  });

  it('a field renamed with its old name in aliases keeps its column (same field id) across versions and runs', async () => {
    const topic = `${TOPIC}-alias`;
    await createTopic(brokers, topic, 1);
    const warehouse = join(dir, 'warehouse-alias');
    const name = `Alias${RUN}`;
    const v1 = {
      type: 'record',
      name,
      fields: [
        { name: 'id', type: 'long' },
        { name: 'mail', type: 'string' },
      ],
    };
    const v2 = {
      type: 'record',
      name,
      fields: [
        { name: 'id', type: 'long' },
        { name: 'email', aliases: ['mail'], type: 'string' },
      ],
    };
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: `${GROUP}-alias` },
      catalog: { type: 'filesystem', warehouse },
      schemaRegistry: { url: registry },
      tables: [{ topic, table: 'e2e.avro_alias', format: 'avro' }],
      deadLetter: { topic: `${DLQ}-alias` },
    });
    const b = brokers[0] as string;
    const [id1] = await produceAvro(b, registry, topic, [
      { schema: v1, rows: [{ id: 1, mail: 'a@x' }] },
    ]);
    await runOnce(config);
    const first = await latestMetadata(warehouse, 'e2e.avro_alias');
    // A second run: v2 (the rename), then v1 again (an old producer still running).
    const [id2] = await produceAvro(b, registry, topic, [
      {
        schema: v2,
        rows: [
          { id: 2, email: 'b@x' },
          { id: 3, email: 'c@x' },
        ],
      },
      { schema: v1, rows: [{ id: 4, mail: 'd@x' }] },
    ]);
    expect(id2?.[0]).not.toBe(id1?.[0]);
    await runOnce(config);
    const meta = await latestMetadata(warehouse, 'e2e.avro_alias');
    const expected = [
      { id: 1n, mail: 'a@x' },
      { id: 2n, mail: 'b@x' },
      { id: 3n, mail: 'c@x' },
      { id: 4n, mail: 'd@x' },
    ];
    expect(byId(await pyicebergRows(meta))).toEqual(expected);
    expect(byId(await duckdbRows(meta))).toEqual(expected);
    type F = { name: string; id: number };
    const fieldsOf = async (m: string) => {
      const md = await readMetadata(m);
      const cur = md.schemas.find((x) => x['schema-id'] === md['current-schema-id']);
      return ((cur?.fields ?? []) as F[]).map((f) => [f.id, f.name]);
    };
    expect(await fieldsOf(meta)).toEqual(await fieldsOf(first));
    expect(await fieldsOf(meta)).toEqual([
      [1, 'id'],
      [2, 'mail'],
    ]);
    expect(await readTopic(brokers, `${DLQ}-alias`).catch(() => [])).toEqual([]);
  });

  it('adds the Kafka metadata struct and a JSON key column to an Avro table', async () => {
    // Values from confluent-kafka's AvroSerializer (through a staging topic), sent again
    // with keys, headers and timestamps of our choosing.
    const staging = `${TOPIC}-meta-staging`;
    const topic = `${TOPIC}-meta`;
    await Promise.all([createTopic(brokers, staging, 1), createTopic(brokers, topic, 1)]);
    const warehouse = join(dir, 'warehouse-meta');
    const schema = {
      type: 'record',
      name: `Meta${RUN}`,
      fields: [
        { name: 'id', type: 'long' },
        { name: 'v', type: ['null', 'string'], default: null },
      ],
    };
    const clash = {
      type: 'record',
      name: `Clash${RUN}`,
      fields: [
        { name: 'id', type: 'long' },
        { name: '_kafka', type: 'string' },
      ],
    };
    await produceAvro(brokers[0] as string, registry, staging, [
      { schema, rows: [0, 1, 2, 3, 4].map((id) => ({ id, v: id === 2 ? null : `v${id}` })) },
      { schema: clash, rows: [{ id: 5, _kafka: 'x' }] },
    ]);
    const values = (await readTopic(brokers, staging)).map((r) => r.value as Buffer);
    const keys = [
      JSON.stringify({ k: 0, r: 'a' }),
      null,
      JSON.stringify({ k: 2 }),
      'not json',
      JSON.stringify({ k: 4, r: 'b' }),
      '{"k": 5}',
    ];
    const TS = 1_750_000_000_000;
    const producer = exactProducer(brokers);
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: values.map((value, i) => ({
          partition: 0,
          key: keys[i] ?? null,
          value,
          timestamp: String(TS + i),
          headers: i === 0 ? { h: [Buffer.from([0xff, 1]), Buffer.from('two')] } : {},
        })),
      });
    } finally {
      await producer.disconnect();
    }
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: `${GROUP}-meta` },
      catalog: { type: 'filesystem', warehouse },
      schemaRegistry: { url: registry },
      tables: [
        { topic, table: 'e2e.avro_meta', format: 'avro', metadata: {}, key: { format: 'json' } },
      ],
      deadLetter: { topic: `${DLQ}-meta` },
    });
    await runOnce(config);
    const meta = await latestMetadata(warehouse, 'e2e.avro_meta');
    const kafka = (i: number) => ({
      topic,
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
    expect(byId(await pyicebergRows(meta))).toEqual([
      { id: 0n, v: 'v0', _key: { k: 0n, r: 'a' }, _kafka: kafka(0) },
      { id: 1n, v: 'v1', _key: null, _kafka: kafka(1) },
      { id: 2n, v: null, _key: { k: 2n, r: null }, _kafka: kafka(2) },
      { id: 4n, v: 'v4', _key: { k: 4n, r: 'b' }, _kafka: kafka(4) },
    ]);
    const dead = await readTopic(brokers, `${DLQ}-meta`);
    expect(dead.map((d) => [d.headers['kice.source.offset'], d.headers['kice.error']])).toEqual([
      ['3', expect.stringMatching(/^key: invalid JSON: /)],
      [
        '5',
        expect.stringMatching(
          /^schema id \d+: field "_kafka": the value has a field named like the metadata column \(metadata\.column\)$/,
        ),
      ],
    ]);
  });
});
