/**
 * The engine (createEngine) into an Iceberg REST catalog (Apache Iceberg's REST server,
 * test/infra/iceberg-rest.sh, file:// warehouse): 20,000 events over 4 partitions, in two
 * halves with a restart of the REST server between the commits of the first and of the
 * second half. The engine must ride out the restart (transient errors are retried) and
 * PyIceberg, loading the table through the same REST catalog, must read exactly the
 * produced ids; the current snapshot records every partition's end offset.
 *
 * The test runs a REST server of its own (own state folder and port) because it restarts
 * it; the shared one stays untouched.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentSnapshot, LocalFileIO, RestCatalog } from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEngine,
  type Engine,
  readOffsets,
  validateConfig,
} from '../../packages/core/src/index.ts';
import { startRest, stopRest } from '../support/iceberg-rest.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, endOffsets, produce } from '../support/produce.ts';
import { restRows } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const GROUP = `kice-e2e-rest-${RUN}`;
const TOPIC = `kice-e2e-rest-${RUN}`;
const TABLE = 'e2e_rest.events';
const PARTITIONS = 4;
const HALF = 10_000;

let dir: string;
let restEnv: NodeJS.ProcessEnv;
let uri: string;
let brokers: string[];
let engine: Engine | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-rest-'));
  restEnv = { KICE_STATE: join(dir, 'state'), KICE_REST_PORT: '19187' };
  [uri, brokers] = await Promise.all([startRest(restEnv), startKafka().then((b) => [b])]);
  await createTopic(brokers, TOPIC, PARTITIONS);
});

afterAll(async () => {
  await engine?.stop();
  await stopRest(restEnv);
  await rm(dir, { recursive: true, force: true });
});

/** Resolves when every partition's committed offset reached its end offset. */
async function committedUpTo(e: Engine, ends: Record<string, string>): Promise<void> {
  const want = new Map(Object.entries(ends).map(([p, o]) => [`${TOPIC}:${p}`, BigInt(o)]));
  const deadline = Date.now() + 240_000;
  for (;;) {
    const pos = new Map(e.positions().map((p) => [p.key, p.committed]));
    if ([...want].every(([k, o]) => pos.get(k) === o)) return;
    if (Date.now() > deadline)
      throw new Error(
        `not committed in time: ${JSON.stringify(e.positions(), (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves when every partition has been fetched up to its end offset. */
async function fetchedUpTo(e: Engine, ends: Record<string, string>): Promise<void> {
  const want = new Map(Object.entries(ends).map(([p, o]) => [`${TOPIC}:${p}`, BigInt(o)]));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const pos = new Map(e.positions().map((p) => [p.key, p.expected]));
    if ([...want].every(([k, o]) => pos.get(k) === o)) return;
    if (Date.now() > deadline) throw new Error('not fetched in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('engine into a REST catalog', () => {
  it('lands 20,000 events exactly once across a REST server restart; PyIceberg reads them through REST', async () => {
    const config = validateConfig({
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'rest', uri },
      tables: [{ topic: TOPIC, table: TABLE }],
      commit: { intervalMs: 1_000 },
      deadLetter: { topic: `${GROUP}-dlq` },
      log: { level: 'warn' },
    });
    const errors: Error[] = [];
    engine = createEngine(config);
    engine.on('error', (e) => errors.push(e));
    let commits = 0;
    engine.on('commit', () => commits++);
    await engine.start();

    await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: 0, count: HALF });
    const firstEnds = await endOffsets(brokers, TOPIC);
    await committedUpTo(engine, firstEnds);
    const commitsBefore = commits;

    // The catalog goes away while the second half arrives and is flushed.
    await stopRest(restEnv);
    await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: HALF, count: HALF });
    const ends = await endOffsets(brokers, TOPIC);
    await fetchedUpTo(engine, ends);
    // Keep the catalog down for three commit intervals with the second half buffered, so
    // that its flush is due (and its catalog calls fail) before the server returns.
    const due = Date.now() + 3 * 1_000;
    while (Date.now() < due) await new Promise((r) => setTimeout(r, 100));
    expect(commits).toBe(commitsBefore);
    await startRest(restEnv);
    await committedUpTo(engine, ends);
    expect(commits).toBeGreaterThan(commitsBefore);
    await engine.stop();
    engine = undefined;
    expect(errors).toEqual([]);

    const catalog = new RestCatalog({ uri, io: new LocalFileIO() });
    const t = await catalog.loadTable({ namespace: ['e2e_rest'], name: 'events' });
    const summary = currentSnapshot(t.metadata)?.summary;
    const offsets = Object.fromEntries(
      [...readOffsets(summary, GROUP)].map(([k, v]) => [k, v.toString()]),
    );
    expect(offsets).toEqual(
      Object.fromEntries(Object.entries(ends).map(([p, o]) => [`${TOPIC}:${p}`, o])),
    );
    expect(summary?.['total-records']).toBe(String(2 * HALF));

    const rows = await restRows(uri, TABLE);
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(ids.length).toBe(2 * HALF);
    expect(ids).toEqual(Array.from({ length: 2 * HALF }, (_, i) => i));
  });
});
