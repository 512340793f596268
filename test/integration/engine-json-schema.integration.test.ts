/**
 * `format: json-schema` end to end: records framed by confluent-kafka's JSONSerializer
 * against JSON Schemas in the real registry (one referencing another subject's schema)
 * land in an Iceberg table (`kice run --once` on the real broker) that PyIceberg and DuckDB
 * read exactly, with Kafka metadata and key columns; bad input (wrong magic byte, unknown
 * schema id, truncated JSON, values of other types from a producer that does not validate)
 * goes to the dead-letter topic with its reason. Three schema versions mid-stream (a
 * nested field added, a field removed, a new optional field), interleaved in one batch,
 * evolve the table; an incompatible version is dead-lettered.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameHex, produceJsonSchema } from '../support/json-schema-producer.ts';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata, recordedOffsets, runOnce, writeConfig } from '../support/kice-process.ts';
import { createTopic, endOffsets, readTopic } from '../support/produce.ts';
import { duckdbRows, pyicebergRows } from '../support/readers.ts';
import { startRegistry } from '../support/schema-registry.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-jsonschema-${RUN}`;
const GROUP = `kice-e2e-jsonschema-${RUN}`;
const DLQ = `${GROUP}-dlq`;

/** Rows in id order (ids are bigint). */
const byId = (rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) => ((a.id as bigint) < (b.id as bigint) ? -1 : 1));

let brokers: string[];
let registry: string;
let dir: string;

beforeAll(async () => {
  const [b, r] = await Promise.all([startKafka(), startRegistry()]);
  brokers = [b];
  registry = r;
  await Promise.all([createTopic(brokers, TOPIC, 1), createTopic(brokers, `${TOPIC}-evo`, 1)]);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-jsonschema-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ADDRESS = {
  type: 'object',
  properties: { city: { type: 'string' }, zip: { type: ['string', 'null'] } },
};

const EVERY_TYPE = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: `Every${RUN}`,
  type: 'object',
  properties: {
    id: { type: 'integer' },
    n: { type: 'number' },
    b: { type: 'boolean' },
    s: { type: 'string' },
    ts: { type: 'string', format: 'date-time' },
    d: { type: 'string', format: 'date' },
    t: { type: 'string', format: 'time' },
    u: { type: 'string', format: 'uuid' },
    bin: { type: 'string', contentEncoding: 'base64' },
    color: { enum: ['RED', 'GREEN'] },
    tags: { type: 'array', items: { type: ['string', 'null'] } },
    attrs: { type: 'object', additionalProperties: { type: 'integer' } },
    home: { $ref: 'address.json' },
    work: { $ref: '#/definitions/place' },
    opt: { oneOf: [{ type: 'null' }, { type: 'string' }] },
    un: { type: ['string', 'integer'] },
    any: {},
  },
  definitions: { place: { type: 'object', properties: { name: { type: 'string' } } } },
  required: ['id'],
};

const ROWS = [
  {
    id: { $int: '9007199254740993' },
    n: -0.25,
    b: true,
    s: 'héllo',
    ts: '2024-03-01T00:00:00.123456Z',
    d: '2024-03-01',
    t: '12:34:56.789012',
    u: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    bin: 'AP8Q',
    color: 'GREEN',
    tags: ['a', null],
    attrs: { x: 1, y: -2 },
    home: { city: 'Oslo', zip: null },
    work: { name: 'HQ' },
    opt: null,
    un: 3,
    any: { deep: [1, 'two'] },
  },
  {
    id: 2,
    n: 1e300,
    b: false,
    s: '',
    ts: '1969-12-31T23:59:59.999999-01:00',
    d: '1969-12-31',
    t: '00:00:00Z',
    u: '00000000-0000-0000-0000-000000000000',
    bin: '',
    color: 'RED',
    tags: [],
    attrs: {},
    home: { city: 'Rome', zip: '00100' },
    opt: 'here',
    un: 'text',
    any: 'plain',
  },
  { id: 3 },
];

const EXPECTED = [
  {
    id: 2n,
    n: 1e300,
    b: false,
    s: '',
    ts: 3599999999n,
    d: -1,
    t: 0n,
    u: '00000000-0000-0000-0000-000000000000',
    bin: new Uint8Array(0),
    color: 'RED',
    tags: [],
    attrs: new Map(),
    home: { city: 'Rome', zip: '00100' },
    work: null,
    opt: 'here',
    un: { string: 'text', integer: null },
    any: 'plain',
  },
  {
    id: 3n,
    n: null,
    b: null,
    s: null,
    ts: null,
    d: null,
    t: null,
    u: null,
    bin: null,
    color: null,
    tags: null,
    attrs: null,
    home: null,
    work: null,
    opt: null,
    un: null,
    any: null,
  },
  {
    id: 9007199254740993n,
    n: -0.25,
    b: true,
    s: 'héllo',
    ts: 1709251200123456n,
    d: 19783,
    t: 45296789012n,
    u: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    bin: Uint8Array.of(0, 0xff, 0x10),
    color: 'GREEN',
    tags: ['a', null],
    attrs: new Map([
      ['x', 1n],
      ['y', -2n],
    ]),
    home: { city: 'Oslo', zip: null },
    work: { name: 'HQ' },
    opt: null,
    un: { string: null, integer: 3n },
    any: '{"deep":[1,"two"]}',
  },
];

describe('format: json-schema', () => {
  it('lands every type exactly with metadata and key columns, and dead-letters bad input with the reason', async () => {
    const warehouse = join(dir, 'warehouse');
    const b = brokers[0] as string;
    const subject = `${TOPIC}-address`;
    const [reg] = await produceJsonSchema(b, registry, TOPIC, [{ register: ADDRESS, subject }]);
    const version = (reg as { version: number }).version;
    const [produced] = await produceJsonSchema(b, registry, TOPIC, [
      {
        schema: EVERY_TYPE,
        references: [{ name: 'address.json', subject, version }],
        rows: ROWS.map((r, i) => ({ $key: `k${i + 1}`, $value: r })),
      },
    ]);
    const id = (produced as { ids: number[] }).ids[0] as number;
    expect((produced as { ids: number[] }).ids).toEqual([id, id, id]);
    // Bad input from a producer that neither frames nor validates like the serializer.
    await produceJsonSchema(b, registry, TOPIC, [
      { raw: `05${frameHex(id, '{"id": 4}').slice(2)}` },
      { raw: frameHex(765_431, '{"id": 5}') },
      { raw: frameHex(id, '{"id": 6, "s": "cut') },
      { raw: frameHex(id, '{"id": "7"}') },
      { raw: frameHex(id, '{"id": 8, "ts": "2024-03-01 10:00"}') },
      { raw: frameHex(id, '{"id": 9, "home": {"city": 12}}') },
      { raw: frameHex(id, '{"id": 10, "u": "not-a-uuid"}') },
      { raw: '0000' },
    ]);
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse },
      schemaRegistry: { url: registry },
      tables: [
        {
          topic: TOPIC,
          table: 'e2e.jsonschema',
          format: 'json-schema',
          metadata: { column: 'meta' },
          key: { format: 'string', column: 'k' },
        },
      ],
      deadLetter: { topic: DLQ },
    });
    await runOnce(config);
    const meta = await latestMetadata(warehouse, 'e2e.jsonschema');
    for (const rows of [await pyicebergRows(meta), await duckdbRows(meta)]) {
      const sorted = byId(rows);
      expect(sorted.map(({ meta: _m, k: _k, ...v }) => v)).toEqual(EXPECTED);
      expect(sorted.map((r) => r.k)).toEqual(['k2', 'k3', 'k1']);
      expect(sorted.map((r) => (r.meta as { offset: bigint }).offset)).toEqual([1n, 2n, 0n]);
      expect(sorted.map((r) => (r.meta as { topic: string }).topic)).toEqual([TOPIC, TOPIC, TOPIC]);
    }
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
    const dead = await readTopic(brokers, DLQ);
    expect(dead.map((d) => d.headers['kice.error'])).toEqual([
      'not a Schema Registry frame: magic byte is 5, expected 0',
      "unknown schema id 765431: the registry answered 404 (No content with ID '765431' was found. error_code 40403)",
      expect.stringMatching(/^invalid JSON: /),
      'field "id": expected long, got string',
      'field "ts": "2024-03-01 10:00" is not an ISO-8601 timestamp with Z or an offset',
      'field "home.city": expected string, got number',
      'field "u": "not-a-uuid" is not a uuid',
      'not a Schema Registry frame: 2 bytes, the header alone is 5',
    ]);
  });

  it('evolves through three versions mid-stream, interleaved, and dead-letters an incompatible one', async () => {
    const topic = `${TOPIC}-evo`;
    const warehouse = join(dir, 'warehouse-evo');
    const title = `Evo${RUN}`;
    const user = (extra: Record<string, unknown> = {}) => ({
      type: 'object',
      properties: { name: { type: 'string' }, ...extra },
    });
    const obj = (properties: Record<string, unknown>) => ({ title, type: 'object', properties });
    const v1 = obj({ id: { type: 'integer' }, user: user(), note: { type: 'string' } });
    // v2: a nested field added (user.email).
    const v2 = obj({
      id: { type: 'integer' },
      user: user({ email: { type: ['string', 'null'] } }),
      note: { type: 'string' },
    });
    // v3: `note` removed, a new optional field `score`.
    const v3 = obj({
      id: { type: 'integer' },
      user: user({ email: { type: ['string', 'null'] } }),
      score: { type: 'number' },
    });
    // Incompatible: id integer → string.
    const bad = obj({ id: { type: 'string' } });
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: `${GROUP}-evo` },
      catalog: { type: 'filesystem', warehouse },
      schemaRegistry: { url: registry },
      tables: [{ topic, table: 'e2e.jsonschema_evo', format: 'json-schema' }],
      deadLetter: { topic: `${DLQ}-evo` },
    });
    const b = brokers[0] as string;
    await produceJsonSchema(b, registry, topic, [
      { schema: v1, rows: [{ id: 1, user: { name: 'a' }, note: 'n1' }] },
    ]);
    await runOnce(config);
    const first = await latestMetadata(warehouse, 'e2e.jsonschema_evo');
    expect(await pyicebergRows(first)).toEqual([{ id: 1n, user: { name: 'a' }, note: 'n1' }]);
    const results = await produceJsonSchema(b, registry, topic, [
      { schema: v2, rows: [{ id: 2, user: { name: 'b', email: 'b@x' }, note: 'n2' }] },
      { schema: v1, rows: [{ id: 3, user: { name: 'c' }, note: 'n3' }] },
      { schema: v3, rows: [{ id: 4, user: { name: 'd', email: null }, score: 0.5 }] },
      { schema: bad, rows: [{ id: 'five' }] },
      { schema: v2, rows: [{ id: 6, user: { name: 'f', email: 'f@x' }, note: 'n6' }] },
      { schema: v3, rows: [{ id: 7, user: { name: 'g' }, score: 7 }] },
    ]);
    const ids = results.map((r) => (r as { ids: number[] }).ids[0]);
    expect(new Set(ids).size).toBe(4);
    await runOnce(config);
    const meta = await latestMetadata(warehouse, 'e2e.jsonschema_evo');
    const expected = [
      { id: 1n, user: { name: 'a', email: null }, note: 'n1', score: null },
      { id: 2n, user: { name: 'b', email: 'b@x' }, note: 'n2', score: null },
      { id: 3n, user: { name: 'c', email: null }, note: 'n3', score: null },
      { id: 4n, user: { name: 'd', email: null }, note: null, score: 0.5 },
      { id: 6n, user: { name: 'f', email: 'f@x' }, note: 'n6', score: null },
      { id: 7n, user: { name: 'g', email: null }, note: null, score: 7 },
    ];
    expect(byId(await pyicebergRows(meta))).toEqual(expected);
    expect(byId(await duckdbRows(meta))).toEqual(expected);
    const dead = await readTopic(brokers, `${DLQ}-evo`);
    expect(dead.map((d) => d.headers['kice.error'])).toEqual([
      `schema id ${ids[3]}: field "id": cannot change long to string`,
    ]);
    expect(await recordedOffsets(meta, `${GROUP}-evo`)).toEqual({
      [topic]: await endOffsets(brokers, topic),
    });
  });
});
