/**
 * `kice run --once` in a group that has another member (here a plain kafkajs consumer the
 * test runs, which never commits): kice consumes the partition it is assigned up to its
 * end, commits, and exits 0, logging the partition the other member owns as not consumed
 * (it does not wait for it, and a rebalance it has not been told of yet cannot be waited
 * for). Nothing is lost: once the other member has left, the next `--once` run takes that
 * partition too and the table holds every event exactly once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata, recordedOffsets, runOnce, writeConfig } from '../support/kice-process.ts';
import { createTopic, endOffsets, kafkaClient, produce } from '../support/produce.ts';
import { pyicebergRows, sortBy } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-once-members-${RUN}`;
const GROUP = `kice-e2e-once-members-${RUN}`;
const TABLE = 'e2e.once_members';
const COUNT = 40;

let brokers: string[];
let dir: string;
let other: kafkajs.Consumer | undefined;

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, 2);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-once-members-'));
});

afterAll(async () => {
  await other?.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('run --once with another member in the group', () => {
  it('consumes what it owns, names what it does not, and a later run takes the rest', async () => {
    const warehouse = join(dir, 'warehouse');
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse },
      tables: [{ topic: TOPIC, table: TABLE }],
      deadLetter: { topic: `${GROUP}-dlq` },
    });
    await produce({
      brokers,
      topic: TOPIC,
      partitions: 2,
      first: 0,
      count: COUNT,
      record: (id) => ({ value: JSON.stringify({ id }) }),
    });
    const ends = await endOffsets(brokers, TOPIC);

    // The other member: joins first (both partitions), reads, never commits.
    other = kafkaClient(brokers, 'kice-e2e-other-member').consumer({
      groupId: GROUP,
      heartbeatInterval: 500,
    });
    const joins: number[][] = []; // the other member's assignment at each of its joins
    let joined!: () => void;
    const firstJoin = new Promise<void>((r) => {
      joined = r;
    });
    other.on(other.events.GROUP_JOIN, (e) => {
      joins.push((e.payload.memberAssignment[TOPIC] ?? []).slice().sort());
      joined();
    });
    await other.connect();
    await other.subscribe({ topic: TOPIC, fromBeginning: true });
    await other.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
    await firstJoin;
    expect(joins).toEqual([[0, 1]]);

    const first = await runOnce(config);
    // The rebalance kice's join caused left the other member one partition.
    expect(joins[1]?.length).toBe(1);
    const theirs = joins[1]?.[0] as number;
    const mine = 1 - theirs;
    expect(first.process.withMsg('run --once: partitions of other members not consumed')).toEqual([
      expect.objectContaining({ partitions: [`${TOPIC}:${theirs}`], groupId: GROUP }),
    ]);
    const ids = (rows: { id?: unknown }[]) => sortBy(rows, 'id').map((r) => Number(r.id));
    const all = Array.from({ length: COUNT }, (_, i) => i);
    const meta1 = await latestMetadata(warehouse, TABLE);
    expect(ids(await pyicebergRows(meta1))).toEqual(all.filter((id) => id % 2 === mine));
    expect(await recordedOffsets(meta1, GROUP)).toEqual({
      [TOPIC]: { [String(mine)]: ends[String(mine)] },
    });

    await other.disconnect();
    other = undefined;
    const second = await runOnce(config);
    expect(second.process.withMsg('run --once: partitions of other members not consumed')).toEqual(
      [],
    );
    const meta2 = await latestMetadata(warehouse, TABLE);
    expect(ids(await pyicebergRows(meta2))).toEqual(all);
    expect(await recordedOffsets(meta2, GROUP)).toEqual({ [TOPIC]: ends });
  });
});
