/**
 * Schema evolution end to end (`kice run --once` on the real broker, read by PyIceberg and
 * DuckDB):
 * - run 1: `score` is whole on partition 0 and fractional on partition 1 before anything is
 *   committed → one double column holding every value;
 * - run 2: events gain a top-level `extra` and a nested `nested.c` → a new schema; earlier
 *   rows read null there; `qty` (committed as long) carrying 1.5 → those records go to the
 *   dead-letter topic with `field "qty": 1.5 does not fit long`, every other one is in the
 *   table.
 * - empties: fields only ever `[]` / `{}` in the first commit get placeholder columns
 *   (list<string>, map<string, string>; a declared `hinted[]` its type), read back empty,
 *   not null, by DuckDB (Iceberg scan and the Parquet files themselves); a later commit's
 *   elements land in them as JSON text.
 * - a number, a string and an object where a list column added since the first commit is
 *   (typeConflicts deadLetter): dead-lettered naming the field; the run ends cleanly.
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
  tableDir,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, produce, readTopic } from '../support/produce.ts';
import {
  duckdbQuery,
  duckdbRows,
  pyicebergHistory,
  pyicebergRows,
  type Row,
  sortBy,
} from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-schema-${RUN}`;
const GROUP = `kice-e2e-schema-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TABLE = 'e2e.schema';
const PARTITIONS = 2;
const PHASE1 = { first: 0, count: 2_000 };
const PHASE2 = { first: 2_000, count: 2_000 };

let brokers: string[];
let warehouse: string;
let dir: string;

/** Run-1 events: `score` whole on partition 0 (even ids), fractional on partition 1. */
function phase1(id: number): Record<string, unknown> {
  return {
    id,
    name: `n${id}`,
    qty: id % 7,
    nested: { a: `a${id}`, b: id * 2 },
    score: id % 2 === 0 ? id : id + 0.5,
  };
}

/** Run-2 events: new `extra` and `nested.c`; `qty` is 1.5 for ids ending in 3. */
function phase2(id: number): Record<string, unknown> {
  return {
    id,
    name: `n${id}`,
    qty: id % 10 === 3 ? 1.5 : id % 7,
    nested: { a: `a${id}`, b: id * 2, c: id % 2 === 0 },
    score: id + 0.25,
    extra: `x${id}`,
  };
}

const isBad = (id: number): boolean => id >= PHASE2.first && id % 10 === 3;

/** The row both readers must return for an id (long → bigint, new columns null before run 2). */
function expectedRow(id: number): Row {
  const e = id < PHASE2.first ? phase1(id) : phase2(id);
  const n = e.nested as Record<string, unknown>;
  return {
    id: BigInt(id),
    name: e.name,
    qty: BigInt(e.qty as number),
    nested: { a: n.a, b: BigInt(n.b as number), c: n.c ?? null },
    score: e.score,
    extra: e.extra ?? null,
  };
}

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-schema-'));
  warehouse = join(dir, 'warehouse');
});

const json = (make: (id: number) => unknown) => (id: number) => ({
  value: JSON.stringify(make(id)),
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('schema evolution', () => {
  it('adds new top-level and nested columns, widens before the first commit, dead-letters 1.5 in a committed long', async () => {
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse },
      tables: [{ topic: TOPIC, table: TABLE }],
      deadLetter: { topic: DLQ },
    });
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      ...PHASE1,
      record: json(phase1),
    });
    const first = await runOnce(config);
    expect(first.process.withMsg('records dead-lettered')).toEqual([]);
    const meta1 = await latestMetadata(warehouse, TABLE);
    const schema1 = (await readMetadata(meta1)).schemas.at(-1);
    expect(schema1?.fields).toContainEqual({
      id: expect.any(Number),
      name: 'score',
      required: false,
      type: 'double',
    });
    expect(schema1?.fields).toContainEqual({
      id: expect.any(Number),
      name: 'qty',
      required: false,
      type: 'long',
    });

    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      ...PHASE2,
      record: json(phase2),
    });
    await runOnce(config);
    const meta = await latestMetadata(warehouse, TABLE);

    // A second schema with the new columns; snapshots of both schemas in the history.
    const md = await readMetadata(meta);
    expect(md.schemas.length).toBeGreaterThan(1);
    const current = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
    const names = (current?.fields ?? []) as { name: string; type: unknown }[];
    expect(names.map((f) => f.name)).toEqual(['id', 'name', 'qty', 'nested', 'score', 'extra']);
    const nested = names.find((f) => f.name === 'nested')?.type as { fields: { name: string }[] };
    expect(nested.fields.map((f) => f.name)).toEqual(['a', 'b', 'c']);
    const history = await pyicebergHistory(meta);
    expect(new Set(history.snapshots.map((s) => s.schemaId)).size).toBeGreaterThan(1);

    // Every good record, exactly, through both readers.
    const good: number[] = [];
    for (let id = 0; id < PHASE2.first + PHASE2.count; id++) if (!isBad(id)) good.push(id);
    const expected = good.map(expectedRow);
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual(expected);
    expect(sortBy(await duckdbRows(meta), 'id')).toEqual(expected);
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });

    // Each bad record once in the dead-letter topic, with its source coordinates.
    const source = new Map(
      (await readTopic(brokers, TOPIC)).map((r) => [`${r.partition}:${r.offset}`, r]),
    );
    const dead = await readTopic(brokers, DLQ);
    const deadIds = dead.map((d) => {
      const h = d.headers;
      expect(h['kice.source.topic']).toBe(TOPIC);
      expect(h['kice.error']).toBe('field "qty": 1.5 does not fit long');
      const src = source.get(`${h['kice.source.partition']}:${h['kice.source.offset']}`);
      expect(d.value?.toString()).toBe(src?.value?.toString());
      return (JSON.parse(d.value?.toString() ?? 'null') as { id: number }).id;
    });
    const bad: number[] = [];
    for (let id = PHASE2.first; id < PHASE2.first + PHASE2.count; id++) if (isBad(id)) bad.push(id);
    expect(deadIds.sort((a, b) => a - b)).toEqual(bad);
  });

  // Whole numbers then fractions in ONE decode batch (one partition) before the first commit.
  it('widens a whole-number field to double when fractions follow in the same partition before the first commit', async () => {
    const topic = `${TOPIC}-mixed`;
    await createTopic(brokers, topic, 1);
    const config = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: `${GROUP}-mixed` },
        catalog: { type: 'filesystem', warehouse },
        tables: [{ topic, table: 'e2e.schema_mixed' }],
        deadLetter: { topic: `${DLQ}-mixed` },
      },
      'mixed.yaml',
    );
    // Whole numbers first, then fractions, all on one partition.
    const value = (id: number) => (id < 10 ? id : id + 0.5);
    await produce({
      brokers,
      topic,
      partitions: 1,
      first: 0,
      count: 20,
      record: json((id) => ({ id, value: value(id) })),
    });
    const run = await runOnce(config);
    expect(run.process.withMsg('records dead-lettered')).toEqual([]);
    const meta = await latestMetadata(warehouse, 'e2e.schema_mixed');
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual(
      Array.from({ length: 20 }, (_, id) => ({ id: BigInt(id), value: value(id) })),
    );
  });

  it('a field only ever [] / {} in the first commit reads empty, never null, and keeps later elements', async () => {
    const topic = `${TOPIC}-empties`;
    const table = 'e2e.schema_empties';
    await createTopic(brokers, topic, 1);
    const config = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: `${GROUP}-empties` },
        catalog: { type: 'filesystem', warehouse },
        tables: [{ topic, table, columns: { 'hinted[]': 'long' } }],
        deadLetter: { topic: `${DLQ}-empties` },
      },
      'empties.yaml',
    );
    // Commit 1: only empties (id 2: items null, to tell null from empty).
    const empty = (id: number) =>
      id === 2
        ? { id, items: null, meta: {}, nested: [[]], hinted: [] }
        : { id, items: [], meta: {}, nested: [[]], hinted: [] };
    await produce({ brokers, topic, partitions: 1, first: 0, count: 4, record: json(empty) });
    const first = await runOnce(config);
    expect(first.process.withMsg('records dead-lettered')).toEqual([]);
    // Commit 2: elements of every kind.
    const full = (id: number) => ({
      id,
      items: [id, `s${id}`, { sku: `k${id}` }],
      meta: { n: id, o: { p: [true] } },
      nested: [[id], []],
      hinted: [id],
    });
    await produce({ brokers, topic, partitions: 1, first: 4, count: 2, record: json(full) });
    const second = await runOnce(config);
    expect(second.process.withMsg('records dead-lettered')).toEqual([]);

    const meta = await latestMetadata(warehouse, table);
    const sql = `SELECT id, items IS NULL AS items_null, items, meta IS NULL AS meta_null,
      map_keys(meta) AS meta_keys, map_values(meta) AS meta_values, nested, hinted
      FROM {t} ORDER BY id`;
    const emptyRow = (id: number): Row => ({
      id: BigInt(id),
      items_null: id === 2,
      items: id === 2 ? null : [],
      meta_null: false,
      meta_keys: [],
      meta_values: [],
      nested: [[]],
      hinted: [],
    });
    const fullRow = (id: number): Row => ({
      id: BigInt(id),
      items_null: false,
      items: [String(id), `s${id}`, `{"sku":"k${id}"}`],
      meta_null: false,
      meta_keys: ['n', 'o'],
      meta_values: [String(id), '{"p":[true]}'],
      nested: [[String(id)], []],
      hinted: [BigInt(id)],
    });
    const expected = [0, 1, 2, 3].map(emptyRow).concat([4, 5].map(fullRow));
    expect(await duckdbQuery(meta, sql)).toEqual(expected);
    // The Parquet files themselves (no Iceberg projection filling in missing columns).
    const files = join(tableDir(warehouse, table), 'data', '**', '*.parquet').replaceAll("'", "''");
    const raw = await duckdbQuery(
      meta,
      `SELECT id, items IS NULL AS items_null, len(items) AS n, meta IS NULL AS meta_null,
        hinted IS NULL AS hinted_null FROM read_parquet('${files}') ORDER BY id`,
    );
    expect(raw).toEqual(
      [0, 1, 2, 3, 4, 5].map((id) => ({
        id: BigInt(id),
        items_null: id === 2,
        n: id === 2 ? null : BigInt(id < 4 ? 0 : 3),
        meta_null: false,
        hinted_null: false,
      })),
    );
  });

  // Partition 0 only empties, partition 1 elements: two batches of one commit, in either order.
  it('a placeholder from one partition gives way to the type another partition finds in the same commit', async () => {
    const topic = `${TOPIC}-empties2`;
    const table = 'e2e.schema_empties2';
    await createTopic(brokers, topic, 2);
    const config = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: `${GROUP}-empties2` },
        catalog: { type: 'filesystem', warehouse },
        tables: [{ topic, table }],
        commit: { intervalMs: 120_000 },
        deadLetter: { topic: `${DLQ}-empties2` },
      },
      'empties2.yaml',
    );
    const event = (id: number) =>
      id % 2 === 0 ? { id, items: [], meta: {} } : { id, items: [id], meta: { k: `v${id}` } };
    await produce({ brokers, topic, partitions: 2, first: 0, count: 6, record: json(event) });
    const run = await runOnce(config);
    expect(run.process.withMsg('records dead-lettered')).toEqual([]);
    expect(run.process.withMsg('committed')).toHaveLength(1);
    const meta = await latestMetadata(warehouse, table);
    const rows = await duckdbQuery(
      meta,
      'SELECT id, items, meta IS NULL AS meta_null, meta.k AS k FROM {t} ORDER BY id',
    );
    expect(rows).toEqual(
      [0, 1, 2, 3, 4, 5].map((id) => ({
        id: BigInt(id),
        items: id % 2 === 0 ? [] : [BigInt(id)],
        meta_null: false,
        k: id % 2 === 0 ? null : `v${id}`,
      })),
    );
  });

  it('a number, a string and an object where an uncommitted list column is: dead-lettered naming the field', async () => {
    const topic = `${TOPIC}-relist`;
    const table = 'e2e.schema_relist';
    const dlq = `${DLQ}-relist`;
    await createTopic(brokers, topic, 1);
    const config = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: `${GROUP}-relist` },
        catalog: { type: 'filesystem', warehouse },
        tables: [{ topic, table, typeConflicts: 'deadLetter' }],
        deadLetter: { topic: dlq },
      },
      'relist.yaml',
    );
    const events: Record<string, unknown>[] = [
      { id: 0, a: 'x' }, // run 1: the first commit
      { id: 1, tags: [1] }, // run 2: tags, list<long>, not committed yet
      { id: 2, tags: 5 },
      { id: 3, tags: 'x' },
      { id: 4, tags: { k: 1 } },
      { id: 5, a: 'y' },
    ];
    const record = json((id) => events[id]);
    await produce({ brokers, topic, partitions: 1, first: 0, count: 1, record });
    await runOnce(config);
    await produce({ brokers, topic, partitions: 1, first: 1, count: 5, record });
    await runOnce(config);
    const meta = await latestMetadata(warehouse, table);
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual([
      { id: 0n, a: 'x', tags: null },
      { id: 1n, a: null, tags: [1n] },
      { id: 5n, a: 'y', tags: null },
    ]);
    expect(await recordedOffsets(meta, `${GROUP}-relist`)).toEqual({
      [topic]: await endOffsets(brokers, topic),
    });
    const dead = (await readTopic(brokers, dlq)).map(
      (d) => `${d.headers['kice.source.offset']}: ${d.headers['kice.error']}`,
    );
    expect(dead.sort()).toEqual([
      '2: field "tags": expected list, got number',
      '3: field "tags": expected list, got string',
      '4: field "tags": expected list, got object',
    ]);
  });
});
