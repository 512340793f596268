/**
 * Poison records end to end (`kice run --once` on the real broker): invalid JSON, a JSON
 * array, a 5 MB value (over limits.maxRecordBytes), a string where a number was (the table
 * has typeConflicts: deadLetter; the default asString would keep it as text) and an
 * empty value each land in the dead-letter topic exactly once, with the source topic,
 * partition, offset and the reason in headers and the original bytes as value (the 5 MB
 * one cut to fit the dead-letter topic's default 1 MiB limit, with its original size and
 * sha256 in headers); a tombstone is counted and skipped; every good record around them
 * is in the table. kice creates the dead-letter topic.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata, recordedOffsets, runOnce, writeConfig } from '../support/kice-process.ts';
import { createTopic, endOffsets, type OutRecord, produce, readTopic } from '../support/produce.ts';
import { pyicebergRows, sortBy } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-poison-${RUN}`;
const GROUP = `kice-e2e-poison-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TABLE = 'e2e.poison';
const PARTITIONS = 3;
const COUNT = 3_000;
const MAX_RECORD = 1024 * 1024;
const BIG = `{"id":1202,"n":1202,"s":"${'b'.repeat(5 * 1024 * 1024)}"}`;

/** Poison by id: the value produced and the dead-letter reason (undefined: skipped, not dead-lettered). */
const POISON = new Map<number, { value: string | null; reason: string | RegExp | undefined }>([
  [100, { value: '{"id": 100, "n": ', reason: /^invalid JSON: / }],
  [701, { value: '[701, "an array"]', reason: 'expected a JSON object, got array' }],
  [
    1202,
    {
      value: BIG,
      reason: `value of ${Buffer.byteLength(BIG)} bytes exceeds limits.maxRecordBytes (${MAX_RECORD})`,
    },
  ],
  [
    1500,
    {
      value: '{"id":1500,"n":"seven","s":"s1500"}',
      reason: 'field "n": expected long, got string',
    },
  ],
  [1804, { value: '', reason: 'empty value' }],
  [2101, { value: null, reason: undefined }], // tombstone: counted, skipped
  [COUNT - 1, { value: '{"id": 2999 "n": 1}', reason: /^invalid JSON: / }], // last record of its partition
]);

function record(id: number): OutRecord {
  const poison = POISON.get(id);
  if (poison) return { value: poison.value };
  return { value: JSON.stringify({ id, n: id * 3, s: `s${id}` }) };
}

let brokers: string[];
let warehouse: string;
let dir: string;
let configPath: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  // The source topic takes the 5 MB record; the dead-letter topic is kice's, at the broker's defaults.
  await createTopic(brokers, TOPIC, PARTITIONS, { 'max.message.bytes': String(16 * 1024 * 1024) });
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-poison-'));
  warehouse = join(dir, 'warehouse');
  configPath = await writeConfig(dir, {
    kafka: {
      brokers,
      groupId: GROUP,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
    },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE, typeConflicts: 'deadLetter' }],
    deadLetter: { topic: DLQ },
    limits: { maxRecordBytes: MAX_RECORD },
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('poison records', () => {
  it('dead-letters each bad record once with its source headers and keeps every good one', async () => {
    // One send: the records of a partition arrive in one batch, in id order.
    await produce({
      brokers,
      topic: TOPIC,
      partitions: PARTITIONS,
      first: 0,
      count: COUNT,
      batchSize: COUNT,
      inFlight: 1,
      record,
    });
    const run = await runOnce(configPath);
    const stopped = run.process.withMsg('kice engine stopped')[0];
    expect(stopped?.tombstones).toBe(1);

    const meta = await latestMetadata(warehouse, TABLE);
    const good: number[] = [];
    for (let id = 0; id < COUNT; id++) if (!POISON.has(id)) good.push(id);
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual(
      good.map((id) => ({ id: BigInt(id), n: BigInt(id * 3), s: `s${id}` })),
    );
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });

    // Source coordinates of every poison record, from the topic itself.
    const where = new Map<number, { partition: number; offset: string }>();
    const source = await readTopic(brokers, TOPIC);
    expect(source).toHaveLength(COUNT);
    for (const r of source) {
      const text = r.value?.toString() ?? null;
      for (const [id, p] of POISON) {
        if (p.value === text && id % PARTITIONS === r.partition)
          where.set(id, { partition: r.partition, offset: r.offset });
      }
    }
    expect([...where.keys()].sort((a, b) => a - b)).toEqual([...POISON.keys()]);

    const dead = await readTopic(brokers, DLQ);
    const expected = [...POISON].filter(([, p]) => p.reason !== undefined);
    expect(dead).toHaveLength(expected.length);
    for (const [id, p] of expected) {
      const at = where.get(id);
      const d = dead.filter(
        (x) =>
          x.headers['kice.source.partition'] === String(at?.partition) &&
          x.headers['kice.source.offset'] === at?.offset,
      );
      expect(d, `dead letter of id ${id}`).toHaveLength(1);
      const h = d[0]?.headers ?? {};
      expect(h['kice.source.topic']).toBe(TOPIC);
      expect(h['kice.error']).toMatch(
        typeof p.reason === 'string'
          ? new RegExp(`^${p.reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
          : (p.reason as RegExp),
      );
      if (id === 1202) {
        const value = d[0]?.value ?? Buffer.alloc(0);
        expect(value.length).toBeGreaterThan(900_000);
        expect(value.equals(Buffer.from(BIG).subarray(0, value.length))).toBe(true);
        expect(h['kice.original.size']).toBe(String(Buffer.byteLength(BIG)));
        expect(h['kice.original.sha256']).toBe(createHash('sha256').update(BIG).digest('hex'));
      } else {
        expect(d[0]?.value?.toString()).toBe(p.value);
        expect(h['kice.original.size']).toBeUndefined();
      }
    }
  });
});
