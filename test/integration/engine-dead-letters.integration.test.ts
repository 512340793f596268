/**
 * Dead letters that cannot take the engine down (`kice run --once` on the real broker,
 * every dead-letter topic at the broker's DEFAULT `max.message.bytes`):
 * - the dead-letter topic is missing at start: kice creates it (1 partition) before it
 *   consumes, and the bad records land in it with their source headers; with
 *   `deadLetter.create: false` start fails naming the topic and the setting, and nothing
 *   is consumed;
 * - 5,000 bad records (~2.3 MB) arrive in one fetch: all 5,000 are dead-lettered, each
 *   source offset exactly once, in requests under the topic's limit; the good rows commit;
 * - one 2 MB bad record (its SOURCE topic's limit raised, the dead-letter topic's not):
 *   it is dead-lettered with its value truncated and headers giving the original size and
 *   the sha256 of the original value.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  latestMetadata,
  recordedOffsets,
  runOnce,
  spawnKice,
  tableDir,
  writeConfig,
} from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  kafkaClient,
  type OutRecord,
  produce,
  readTopic,
} from '../support/produce.ts';
import { pyicebergRows, sortBy } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
/** The broker's default `max.message.bytes` (1 MiB + 12 bytes of log overhead). */
const BROKER_DEFAULT_MAX_MESSAGE_BYTES = '1048588';

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-dlq-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Topic names, partition counts and `max.message.bytes` of the given topics. */
async function describeTopics(
  names: readonly string[],
): Promise<Map<string, { partitions: number; maxMessageBytes: string | undefined }>> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [...names] });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({ type: 2, name, configNames: ['max.message.bytes'] })),
    });
    const out = new Map<string, { partitions: number; maxMessageBytes: string | undefined }>();
    for (const t of meta.topics) {
      const c = configs.resources.find((r) => r.resourceName === t.name);
      out.set(t.name, {
        partitions: t.partitions.length,
        maxMessageBytes: c?.configEntries.find((e) => e.configName === 'max.message.bytes')
          ?.configValue,
      });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

async function topicExists(name: string): Promise<boolean> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(name);
  } finally {
    await admin.disconnect();
  }
}

/** Source offset of every record of a one-partition topic, by its value's text. */
async function offsetsByValue(topic: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const r of await readTopic(brokers, topic)) out.set(r.value?.toString() ?? '', r.offset);
  return out;
}

interface Case {
  readonly name: string;
  readonly topic: string;
  readonly group: string;
  readonly dlq: string;
  readonly table: string;
  readonly warehouse: string;
  readonly config: string;
}

async function setUp(
  name: string,
  sourceConfig: Record<string, string> = {},
  deadLetter: Record<string, unknown> = {},
): Promise<Case> {
  const topic = `kice-e2e-dlq-${name}-${RUN}`;
  const group = `kice-e2e-dlq-${name}-${RUN}`;
  const dlq = `${group}-dlq`;
  const table = `e2e.dlq_${name}`;
  const caseDir = join(dir, name);
  const warehouse = join(caseDir, 'warehouse');
  await createTopic(brokers, topic, 1, sourceConfig);
  await mkdir(caseDir, { recursive: true });
  const config = await writeConfig(caseDir, {
    kafka: { brokers, groupId: group },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic, table }],
    deadLetter: { topic: dlq, ...deadLetter },
  });
  return { name, topic, group, dlq, table, warehouse, config };
}

/** Checks the table holds exactly `good` (as `{id, n}` rows) and records the topic's end offsets. */
async function expectGoodRows(c: Case, good: readonly number[]): Promise<void> {
  const meta = await latestMetadata(c.warehouse, c.table);
  expect(sortBy(await pyicebergRows(meta), 'id')).toEqual(
    good.map((id) => ({ id: BigInt(id), n: BigInt(id * 7) })),
  );
  expect(await recordedOffsets(meta, c.group)).toEqual({
    [c.topic]: await endOffsets(brokers, c.topic),
  });
}

describe('dead letters', () => {
  it('creates a missing dead-letter topic at start and dead-letters into it', async () => {
    const c = await setUp('missing');
    const COUNT = 100;
    const bad = (id: number): boolean => id % 10 === 3;
    const record = (id: number): OutRecord => ({
      value: bad(id) ? `{"id": ${id}, "n": ` : JSON.stringify({ id, n: id * 7 }),
    });
    await produce({ brokers, topic: c.topic, partitions: 1, first: 0, count: COUNT, record });
    expect(await topicExists(c.dlq)).toBe(false);

    const run = await runOnce(c.config);

    expect(run.process.withMsg('dead-letter topic created')).toMatchObject([
      { topic: c.dlq, partitions: 1 },
    ]);
    const topics = await describeTopics([c.dlq]);
    expect(topics.get(c.dlq)).toEqual({
      partitions: 1,
      maxMessageBytes: BROKER_DEFAULT_MAX_MESSAGE_BYTES,
    });
    const where = await offsetsByValue(c.topic);
    const dead = await readTopic(brokers, c.dlq);
    const badIds = [...Array(COUNT).keys()].filter(bad);
    expect(
      dead
        .map((d) => ({ value: d.value?.toString(), headers: d.headers }))
        .sort(
          (a, b) =>
            Number(a.headers['kice.source.offset']) - Number(b.headers['kice.source.offset']),
        ),
    ).toEqual(
      badIds.map((id) => {
        const value = `{"id": ${id}, "n": `;
        return {
          value,
          headers: {
            'kice.source.topic': c.topic,
            'kice.source.partition': '0',
            'kice.source.offset': where.get(value),
            'kice.error': expect.stringMatching(/^invalid JSON: /),
          },
        };
      }),
    );
    await expectGoodRows(
      c,
      [...Array(COUNT).keys()].filter((id) => !bad(id)),
    );
  });

  it('fails start naming the topic when it is missing and deadLetter.create is false', async () => {
    const c = await setUp('nocreate', {}, { create: false });
    await produce({
      brokers,
      topic: c.topic,
      partitions: 1,
      first: 0,
      count: 10,
      record: (id) => ({ value: id === 4 ? '{' : JSON.stringify({ id, n: id * 7 }) }),
    });
    const p = spawnKice(c.config, { once: true });
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr).toBe(
      `kice: invalid configuration:\n  - deadLetter.topic: topic "${c.dlq}" does not exist on ${brokers.join(',')} and deadLetter.create is false\n`,
    );
    expect(await topicExists(c.dlq)).toBe(false);
    // Nothing consumed: no table, no group offsets.
    await expect(access(tableDir(c.warehouse, c.table))).rejects.toThrow(/ENOENT/);
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      expect(groups).not.toContain(c.group);
    } finally {
      await admin.disconnect();
    }
  });

  it('dead-letters 5,000 bad records of one fetch into a topic at the default limit', async () => {
    const c = await setUp('bulk');
    // A pre-existing dead-letter topic with the broker's defaults.
    await createTopic(brokers, c.dlq, 1);
    const COUNT = 6_000;
    const bad = (id: number): boolean => id % 6 !== 0;
    const pad = 'x'.repeat(400);
    const badValue = (id: number): string => `{"id": ${id}, "pad": "${pad}"`;
    const record = (id: number): OutRecord => ({
      value: bad(id) ? badValue(id) : JSON.stringify({ id, n: id * 7 }),
    });
    await produce({
      brokers,
      topic: c.topic,
      partitions: 1,
      first: 0,
      count: COUNT,
      record,
      batchSize: 1_000,
      inFlight: 1,
    });

    const run = await runOnce(c.config);

    // The precondition: all 5,000 arrived in one batch, more bytes than one request may carry.
    const lines = run.process.withMsg('records dead-lettered');
    expect(lines.map((l) => l.count)).toEqual([5_000]);
    expect(lines[0]?.bytes as number).toBeGreaterThan(2 * 1024 * 1024);
    expect(lines[0]?.requests as number).toBeGreaterThan(2);

    const where = await offsetsByValue(c.topic);
    const dead = await readTopic(brokers, c.dlq);
    expect(dead).toHaveLength(5_000);
    const deadOffsets = dead.map((d) => d.headers['kice.source.offset']);
    expect(new Set(deadOffsets).size).toBe(5_000);
    const badIds = [...Array(COUNT).keys()].filter(bad);
    expect(deadOffsets.map(Number).sort((a, b) => a - b)).toEqual(
      badIds.map((id) => Number(where.get(badValue(id)))),
    );
    for (const d of dead) {
      const value = d.value?.toString() ?? '';
      expect(where.get(value)).toBe(d.headers['kice.source.offset']);
      expect(d.headers['kice.source.topic']).toBe(c.topic);
    }
    await expectGoodRows(
      c,
      [...Array(COUNT).keys()].filter((id) => !bad(id)),
    );
  });

  it('dead-letters a 2 MB record truncated, with its original size and sha256', async () => {
    // Only the SOURCE topic takes records this large.
    const c = await setUp('huge', { 'max.message.bytes': String(4 * 1024 * 1024) });
    const huge = `{"id": 2, "n": 14, "s": "${'h'.repeat(2 * 1024 * 1024)}"}`;
    const size = Buffer.byteLength(huge);
    const record = (id: number): OutRecord => ({
      value: id === 2 ? huge : JSON.stringify({ id, n: id * 7 }),
    });
    await produce({
      brokers,
      topic: c.topic,
      partitions: 1,
      first: 0,
      count: 5,
      record,
      batchSize: 1,
      inFlight: 1,
    });

    await runOnce(c.config);

    const topics = await describeTopics([c.dlq]);
    expect(topics.get(c.dlq)?.maxMessageBytes).toBe(BROKER_DEFAULT_MAX_MESSAGE_BYTES);
    const dead = await readTopic(brokers, c.dlq);
    expect(dead).toHaveLength(1);
    const d = dead[0];
    expect(d?.headers).toEqual({
      'kice.source.topic': c.topic,
      'kice.source.partition': '0',
      'kice.source.offset': '2',
      'kice.error': `value of ${size} bytes exceeds limits.maxRecordBytes (1048576)`,
      'kice.original.size': String(size),
      'kice.original.sha256': createHash('sha256').update(huge).digest('hex'),
    });
    const value = d?.value ?? Buffer.alloc(0);
    expect(value.length).toBeGreaterThan(900_000);
    expect(value.length).toBeLessThan(1_048_588);
    expect(value.equals(Buffer.from(huge).subarray(0, value.length))).toBe(true);
    await expectGoodRows(c, [0, 1, 3, 4]);
  });
});
