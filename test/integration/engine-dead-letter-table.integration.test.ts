/**
 * `deadLetter.table` exactly once under kill -9, on the real broker. A topic of 3
 * partitions gets ids in order (one producer lane, so partition p holds ids p, p+3, …
 * at offsets 0, 1, …); every 7th id is unreadable (bytes that are not JSON, with a 0xff in
 * them), the rest are good events; every record has a key and a header. `kice run`
 * (commit.intervalMs 500, dead letters to a table only) is killed with SIGKILL 8 times (twice each way)
 * while more records arrive:
 *   - inside the dead-letter table's commit (KICE_TEST_COMMIT_PAUSE_AT=manifest-list, killed
 *     when the pause names the dead-letter table: the source table's commit has landed, the
 *     dead-letter commit has not; the test checks that files are left to absorb);
 *   - inside the source table's commit, after its metadata file is written (committed, hint
 *     not rewritten) and before (paused at manifest-list);
 *   - at a random moment after a commit.
 * A final `run --once` drains the topic. Then PyIceberg reads the good table with every
 * good id exactly once and the dead-letter table with every bad record exactly once, with
 * its exact partition, offset, raw value bytes, key, header, reason and target table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableMetadataFromJson } from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ABSORBED_PREFIX,
  pendingDeadLetters,
} from '../../packages/core/src/commit/dead-letter-files.ts';
import { recordedProperties } from '../../packages/core/src/commit/offsets.ts';
import { startKafka } from '../support/kafka.ts';
import {
  type KiceProcess,
  latestMetadata,
  runOnce,
  spawnKice,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, type OutRecord, produce } from '../support/produce.ts';
import { pyicebergRows } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-dlqt-${RUN}`;
const GROUP = `kice-e2e-dlqt-${RUN}`;
const TABLE = 'e2e.dlqt';
const DLQ = 'e2e.dlqt_dead';
const PARTITIONS = 3;
const KILLS = 8;
const PER_ROUND = 3_000;
const PAUSE_MS = 1500;
const PAUSED = 'commit paused (test hook)';

let brokers: string[];
let dir: string;
let warehouse: string;
let configPath: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

const isBad = (id: number) => id % 7 === 3;
/** Not JSON, and not UTF-8 either: the table must keep the exact bytes. */
const badValue = (id: number) =>
  Buffer.concat([Buffer.from([0xff, 0x00]), Buffer.from(`bad${id}`)]);

function record(id: number): OutRecord {
  return {
    value: isBad(id) ? badValue(id) : JSON.stringify({ id, v: `e${id}` }),
    key: `k${id}`,
    // A repeated name and a value that is not UTF-8: the table keeps them exactly.
    headers: { src: `h${id}`, raw: [Buffer.from([0xff, id % 256]), Buffer.from('second')] },
  };
}

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, TOPIC, PARTITIONS);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-dlqt-'));
  warehouse = join(dir, 'warehouse');
  configPath = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE }],
    commit: { intervalMs: 500 },
    deadLetter: { table: DLQ },
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const hex = (b: Buffer) => b.toString('hex');

/** Dead-letter files the source table names that the dead-letter table does not hold yet. */
async function unabsorbed(): Promise<number> {
  const read = async (t: string) =>
    tableMetadataFromJson(await readFile(await latestMetadata(warehouse, t), 'utf8'));
  const source = await read(TABLE);
  let marker = 0;
  try {
    const props = recordedProperties(await read(DLQ), ABSORBED_PREFIX).properties;
    marker = Number(props.get(`${ABSORBED_PREFIX}${source.tableUuid}`) ?? 0);
  } catch {
    // no dead-letter commit yet
  }
  return pendingDeadLetters(source, DLQ, marker).files.length;
}

describe('deadLetter.table under kill -9', () => {
  it('keeps every good row and every dead letter exactly once across 8 kills', async () => {
    let produced = 0;
    const more = async (n: number) => {
      produced += await produce({
        brokers,
        topic: TOPIC,
        partitions: PARTITIONS,
        first: produced,
        count: n,
        batchSize: 500,
        inFlight: 1,
        record,
      });
    };
    await more(PER_ROUND);
    // Where each run is killed: [pause step, table whose pause it is] or a random moment.
    const KINDS = {
      // The table's commit landed, the dead-letter commit had not: the case to catch up.
      deadLetterCommit: ['manifest-list', DLQ],
      // The table's metadata file is in place (committed), its hint not rewritten yet.
      tableMetadata: ['metadata', TABLE],
      // Inside the table's commit, before anything of it is committed.
      tableCommit: ['manifest-list', TABLE],
      random: undefined,
    } as const;
    const kinds: Record<string, number> = {};
    const order = Object.keys(KINDS) as (keyof typeof KINDS)[];
    for (let k = 0; k < KILLS; k++) {
      const kind = order[k % order.length] as keyof typeof KINDS;
      const at = KINDS[kind];
      const env = at
        ? { KICE_TEST_COMMIT_PAUSE_AT: at[0], KICE_TEST_COMMIT_PAUSE_MS: String(PAUSE_MS) }
        : {};
      const p: KiceProcess = spawnKice(configPath, { env });
      const producing = more(PER_ROUND);
      if (at) {
        await p.waitForNth((l) => l.msg === PAUSED && l.table === at[1], 1, 120_000);
      } else {
        await p.waitForNth((l) => l.msg === 'committed', 1, 120_000);
        await sleep(between(0, 1_500));
      }
      expect(p.done, `kice exited by itself:\n${p.stderr}`).toBe(false);
      await p.kill9();
      // Killed inside the dead-letter commit: the table's commit names files not absorbed.
      if (kind === 'deadLetterCommit') expect(await unabsorbed()).toBeGreaterThan(0);
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      await producing;
    }
    console.log(
      `engine-dead-letter-table: kills ${JSON.stringify(kinds)}, ${produced} records produced`,
    );
    await runOnce(configPath);
    expect(await unabsorbed()).toBe(0);

    const ids = Array.from({ length: produced }, (_, i) => i);
    const rows = await pyicebergRows(await latestMetadata(warehouse, TABLE));
    expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(
      ids.filter((id) => !isBad(id)),
    );

    const dead = await pyicebergRows(await latestMetadata(warehouse, DLQ));
    const got = dead
      .map((r) => ({
        partition: r.source_partition as number,
        offset: Number(r.source_offset as bigint),
        value: hex(Buffer.from(r.value as Uint8Array)),
        key: Buffer.from(r.key as Uint8Array).toString(),
        headers: (r.headers as { key: string; value: Uint8Array }[]).map((h) => [
          h.key,
          hex(Buffer.from(h.value)),
        ]),
        reason: typeof r.reason === 'string' && r.reason.length > 0,
        topic: r.source_topic,
        target: r.target_table,
      }))
      .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    const want = ids
      .filter(isBad)
      .map((id) => ({
        partition: id % PARTITIONS,
        offset: Math.floor(id / PARTITIONS),
        value: hex(badValue(id)),
        key: `k${id}`,
        headers: [
          ['src', hex(Buffer.from(`h${id}`))],
          ['raw', hex(Buffer.from([0xff, id % 256]))],
          ['raw', hex(Buffer.from('second'))],
        ],
        reason: true,
        topic: TOPIC,
        target: TABLE,
      }))
      .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  });
});
