/**
 * Keys in registry formats end to end (`key.format: avro | json-schema | protobuf`): records
 * whose keys and values confluent-kafka's serializers wrote (key schemas registered under
 * `<topic>-key`) land through `kice run --once` on the real broker and registry in tables
 * PyIceberg reads exactly: an Avro record key on Avro values, a JSON Schema key on plain
 * JSON values, a primitive Avro key on JSON Schema values, a Protobuf message key (the
 * second message of its file) on plain JSON values, and an Avro key on `format: raw`
 * values. Each key schema evolves between the two runs (a new field; int → long) and the
 * key columns keep their field IDs; keys that
 * cannot be read (bad frame, unknown id, a type the key schema does not allow) are dead
 * letters whose reason names the key.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { createTopic, endOffsets, readTopic } from '../support/produce.ts';
import { pyicebergRows, REPO_ROOT, venvPython } from '../support/readers.ts';
import { startRegistry } from '../support/schema-registry.ts';

const RUN = randomBytes(4).toString('hex');
const GROUP = `kice-e2e-regkeys-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TOPIC = {
  a: `${GROUP}-a`,
  b: `${GROUP}-b`,
  c: `${GROUP}-c`,
  d: `${GROUP}-d`,
  e: `${GROUP}-e`,
};

type Serde =
  | { format: 'avro' | 'json-schema' | 'json' | 'raw'; schema?: unknown }
  | { format: 'protobuf'; files: Record<string, string>; message: string };
interface Job {
  key: Serde;
  value: Serde;
  rows: { key: unknown; value: unknown }[];
}

/** Runs test/support/produce_registry_keys.py; resolves with each job's key schema ids. */
async function produce(topic: string, jobs: Job[]): Promise<(number | null)[][]> {
  const file = join(dir, `jobs-${topic}-${Date.now()}.json`);
  await writeFile(file, JSON.stringify(jobs));
  const py = await venvPython();
  const script = join(REPO_ROOT, 'test/support/produce_registry_keys.py');
  const out = await new Promise<string>((resolve, reject) => {
    execFile(py, [script, brokers[0] as string, registry, topic, file], (error, stdout, stderr) => {
      if (error) reject(new Error(`produce_registry_keys.py failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  return out
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { keyIds: (number | null)[] }).keyIds);
}

/** A Confluent frame (magic 0, big-endian id) around `payload`, as hex. */
const frameHex = (id: number, payload: string) => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, Buffer.from(payload)]).toString('hex');
};

let brokers: string[];
let registry: string;
let dir: string;

beforeAll(async () => {
  const [b, r] = await Promise.all([startKafka(), startRegistry()]);
  brokers = [b];
  registry = r;
  await Promise.all(Object.values(TOPIC).map((t) => createTopic(brokers, t, 1)));
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-regkeys-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('registry key formats', () => {
  it('decodes Avro, JSON Schema and Protobuf keys (also on raw values) into key columns that evolve with the key schema', async () => {
    const warehouse = join(dir, 'warehouse');
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse },
      schemaRegistry: { url: registry },
      tables: [
        { topic: TOPIC.a, table: 'e2e.keys_a', format: 'avro', key: { format: 'avro' } },
        { topic: TOPIC.b, table: 'e2e.keys_b', key: { format: 'json-schema', column: 'k' } },
        {
          topic: TOPIC.c,
          table: 'e2e.keys_c',
          format: 'json-schema',
          key: { format: 'avro', column: 'id' },
        },
        { topic: TOPIC.d, table: 'e2e.keys_d', key: { format: 'protobuf', column: 'k' } },
        { topic: TOPIC.e, table: 'e2e.keys_e', format: 'raw', key: { format: 'avro' } },
      ],
      deadLetter: { topic: DLQ },
    });

    // A: Avro record key, Avro value.
    const keyA = (extra: unknown[] = []) => ({
      type: 'record',
      name: `KeyA${RUN}`,
      fields: [{ name: 'id', type: 'long' }, ...extra],
    });
    const region = { name: 'region', type: ['null', 'string'], default: null };
    const valueA = {
      format: 'avro' as const,
      schema: {
        type: 'record',
        name: `ValA${RUN}`,
        fields: [
          { name: 'n', type: 'long' },
          { name: 's', type: 'string' },
        ],
      },
    };
    const avroKey1 = { format: 'avro' as const, schema: keyA() };
    // B: JSON Schema key, plain JSON value.
    const keyB = (extra: Record<string, unknown> = {}) => ({
      format: 'json-schema' as const,
      schema: {
        type: 'object',
        properties: { user: { type: 'string' }, seq: { type: 'integer' }, ...extra },
      },
    });
    const json = { format: 'json' as const };
    // C: primitive Avro key ("int", then "long"), JSON Schema value.
    const valueC = {
      format: 'json-schema' as const,
      schema: { type: 'object', properties: { amount: { type: 'number' } } },
    };

    await produce(TOPIC.a, [
      {
        key: avroKey1,
        value: valueA,
        rows: [
          { key: { id: 1 }, value: { n: 1, s: 'one' } },
          { key: null, value: { n: 2, s: 'two' } },
          { key: { $rawhex: '01000000010203' }, value: { n: 3, s: 'bad magic' } },
          { key: { $rawhex: frameHex(7654321, '\u0002') }, value: { n: 4, s: 'unknown id' } },
        ],
      },
    ]);
    const [idsB1] = await produce(TOPIC.b, [
      {
        key: keyB(),
        value: json,
        rows: [
          { key: { user: 'u1', seq: 1 }, value: { v: 1 } },
          { key: { user: 'u2' }, value: { v: 2 } },
        ],
      },
    ]);
    await produce(TOPIC.b, [
      {
        key: keyB(),
        value: json,
        rows: [{ key: { $rawhex: frameHex(idsB1?.[0] as number, '{"user":5}') }, value: { v: 3 } }],
      },
    ]);
    await produce(TOPIC.c, [
      {
        key: { format: 'avro', schema: 'int' },
        value: valueC,
        rows: [
          { key: 10, value: { amount: 1.5 } },
          { key: 20, value: { amount: 2.5 } },
        ],
      },
    ]);
    // D: a Protobuf key (k.Key, message indexes [1]), plain JSON value.
    const keyD = (extra = '') => ({
      format: 'protobuf' as const,
      files: {
        'key_d.proto': `syntax = "proto3";
package kd${RUN};
message Pad { string p = 1; }
message Key { int64 id = 1; string user = 2;${extra} }
`,
      },
      message: `kd${RUN}.Key`,
    });
    const [idsD1] = await produce(TOPIC.d, [
      {
        key: keyD(),
        value: json,
        rows: [
          { key: { id: 1, user: 'ann' }, value: { v: 1 } },
          { key: { id: 2 }, value: { v: 2 } },
        ],
      },
    ]);
    // A frame of that id and indexes whose field 1 is length-delimited, not a varint.
    const badD = frameHex(idsD1?.[0] as number, '\u0002\u0002\u000a\u0001A');
    await produce(TOPIC.d, [
      { key: keyD(), value: json, rows: [{ key: { $rawhex: badD }, value: { v: 3 } }] },
    ]);
    // E: raw values, an Avro record key.
    const keyE = { format: 'avro' as const, schema: { ...keyA(), name: `KeyE${RUN}` } };
    await produce(TOPIC.e, [
      {
        key: keyE,
        value: { format: 'raw' },
        rows: [
          { key: { id: 1 }, value: 'first' },
          { key: null, value: 'second' },
          { key: { $rawhex: frameHex(7654321, '\u0002') }, value: 'third' },
        ],
      },
    ]);
    await runOnce(config);
    const first = {
      a: await latestMetadata(warehouse, 'e2e.keys_a'),
      b: await latestMetadata(warehouse, 'e2e.keys_b'),
      c: await latestMetadata(warehouse, 'e2e.keys_c'),
      d: await latestMetadata(warehouse, 'e2e.keys_d'),
      e: await latestMetadata(warehouse, 'e2e.keys_e'),
    };
    const byN = (rows: Record<string, unknown>[], f: string) =>
      [...rows].sort((x, y) => (Number(x[f]) < Number(y[f]) ? -1 : 1));
    expect(byN(await pyicebergRows(first.a), 'n')).toEqual([
      { n: 1n, s: 'one', _key: { id: 1n } },
      { n: 2n, s: 'two', _key: null },
    ]);
    expect(byN(await pyicebergRows(first.b), 'v')).toEqual([
      { v: 1n, k: { user: 'u1', seq: 1n } },
      { v: 2n, k: { user: 'u2', seq: null } },
    ]);
    expect(byN(await pyicebergRows(first.c), 'amount')).toEqual([
      { amount: 1.5, id: 10 },
      { amount: 2.5, id: 20 },
    ]);
    expect(byN(await pyicebergRows(first.d), 'v')).toEqual([
      { v: 1n, k: { id: 1n, user: 'ann' } },
      { v: 2n, k: { id: 2n, user: '' } },
    ]);
    const rawRows = async (m: string) =>
      (await pyicebergRows(m))
        .map((r) => ({ ...r, value: Buffer.from(r.value as Uint8Array).toString('utf8') }))
        .sort((x, y) => (x.value < y.value ? -1 : 1));
    expect(await rawRows(first.e)).toEqual([
      { value: 'first', _key: { id: 1n } },
      { value: 'second', _key: null },
    ]);

    // The key schemas evolve: a new optional field (A, B), int → long (C).
    await produce(TOPIC.a, [
      {
        key: { format: 'avro', schema: keyA([region]) },
        value: valueA,
        rows: [
          { key: { id: 5, region: 'eu' }, value: { n: 5, s: 'five' } },
          { key: { id: 6, region: null }, value: { n: 6, s: 'six' } },
        ],
      },
      { key: avroKey1, value: valueA, rows: [{ key: { id: 7 }, value: { n: 7, s: 'seven' } }] },
    ]);
    await produce(TOPIC.b, [
      {
        key: keyB({ tags: { type: 'array', items: { type: 'string' } } }),
        value: json,
        rows: [{ key: { user: 'u4', seq: 4, tags: ['x', 'y'] }, value: { v: 4 } }],
      },
    ]);
    await produce(TOPIC.c, [
      {
        key: { format: 'avro', schema: 'long' },
        value: valueC,
        rows: [
          { key: { $int: '5000000000' }, value: { amount: 3.5 } },
          { key: null, value: { amount: 4.5 } },
        ],
      },
    ]);
    await produce(TOPIC.d, [
      {
        key: keyD(' optional string region = 3;'),
        value: json,
        rows: [
          { key: { id: 4, user: 'bo', region: 'eu' }, value: { v: 4 } },
          { key: { id: 5, user: 'cy' }, value: { v: 5 } },
        ],
      },
    ]);
    await produce(TOPIC.e, [
      { key: keyE, value: { format: 'raw' }, rows: [{ key: { id: 4 }, value: 'fourth' }] },
    ]);
    await runOnce(config);
    const meta = {
      a: await latestMetadata(warehouse, 'e2e.keys_a'),
      b: await latestMetadata(warehouse, 'e2e.keys_b'),
      c: await latestMetadata(warehouse, 'e2e.keys_c'),
      d: await latestMetadata(warehouse, 'e2e.keys_d'),
      e: await latestMetadata(warehouse, 'e2e.keys_e'),
    };
    expect(byN(await pyicebergRows(meta.a), 'n')).toEqual([
      { n: 1n, s: 'one', _key: { id: 1n, region: null } },
      { n: 2n, s: 'two', _key: null },
      { n: 5n, s: 'five', _key: { id: 5n, region: 'eu' } },
      { n: 6n, s: 'six', _key: { id: 6n, region: null } },
      { n: 7n, s: 'seven', _key: { id: 7n, region: null } },
    ]);
    expect(byN(await pyicebergRows(meta.b), 'v')).toEqual([
      { v: 1n, k: { user: 'u1', seq: 1n, tags: null } },
      { v: 2n, k: { user: 'u2', seq: null, tags: null } },
      { v: 4n, k: { user: 'u4', seq: 4n, tags: ['x', 'y'] } },
    ]);
    expect(byN(await pyicebergRows(meta.c), 'amount')).toEqual([
      { amount: 1.5, id: 10n },
      { amount: 2.5, id: 20n },
      { amount: 3.5, id: 5000000000n },
      { amount: 4.5, id: null },
    ]);
    // An optional proto3 field not set is null; the first version's keys read null for it.
    expect(byN(await pyicebergRows(meta.d), 'v')).toEqual([
      { v: 1n, k: { id: 1n, user: 'ann', region: null } },
      { v: 2n, k: { id: 2n, user: '', region: null } },
      { v: 4n, k: { id: 4n, user: 'bo', region: 'eu' } },
      { v: 5n, k: { id: 5n, user: 'cy', region: null } },
    ]);
    expect(await rawRows(meta.e)).toEqual([
      { value: 'first', _key: { id: 1n } },
      { value: 'fourth', _key: { id: 4n } },
      { value: 'second', _key: null },
    ]);

    // The key columns kept their field IDs; C's key column was promoted in place.
    type F = { name: string; id: number; type: unknown };
    const current = async (m: string) => {
      const md = await readMetadata(m);
      return md.schemas.find((x) => x['schema-id'] === md['current-schema-id'])?.fields as F[];
    };
    const idsOf = (fields: F[], column: string): number[] => {
      const f = fields.find((x) => x.name === column) as F;
      const nested = (f.type as { fields?: F[] }).fields ?? [];
      return [f.id, ...nested.map((x) => x.id)];
    };
    const [a0, a1] = [await current(first.a), await current(meta.a)];
    expect(idsOf(a1, '_key').slice(0, 2)).toEqual(idsOf(a0, '_key'));
    const [b0, b1] = [await current(first.b), await current(meta.b)];
    expect(idsOf(b1, 'k').slice(0, 3)).toEqual(idsOf(b0, 'k'));
    const [d0, d1] = [await current(first.d), await current(meta.d)];
    expect(idsOf(d1, 'k').slice(0, 3)).toEqual(idsOf(d0, 'k'));
    const [c0, c1] = [await current(first.c), await current(meta.c)];
    expect(c1.find((f) => f.name === 'id')).toEqual({
      ...c0.find((f) => f.name === 'id'),
      type: 'long',
    });

    const dead = await readTopic(brokers, DLQ);
    const reasons = dead.map(
      (d) => `${d.headers['kice.source.topic']}: ${d.headers['kice.error']}`,
    );
    expect(reasons.sort()).toEqual(
      [
        `${TOPIC.a}: key: not a Schema Registry frame: magic byte is 1, expected 0`,
        `${TOPIC.a}: key: unknown schema id 7654321: the registry answered 404 (No content with ID '7654321' was found. error_code 40403)`,
        `${TOPIC.b}: key: field "k.user": expected string, got number`,
        `${TOPIC.d}: key: corrupt Protobuf payload: field "k.id" (number 1) has wire type 2, expected 0`,
        `${TOPIC.e}: key: unknown schema id 7654321: the registry answered 404 (No content with ID '7654321' was found. error_code 40403)`,
      ].sort(),
    );
    for (const k of ['a', 'b', 'c', 'd', 'e'] as const)
      expect(await recordedOffsets(meta[k], GROUP)).toEqual({
        [TOPIC[k]]: await endOffsets(brokers, TOPIC[k]),
      });
  });
});
