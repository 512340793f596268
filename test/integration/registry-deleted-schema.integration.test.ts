/**
 * Schemas deleted from the registry while kice runs (Apicurio, its Confluent API:
 * `DELETE /subjects/{s}/versions/{v}` then `?permanent=true`), records produced by
 * confluent-kafka's AvroSerializer:
 * - records of an id deleted before kice ever fetched it are dead-lettered with the
 *   registry's 404 naming the id, and the pipeline goes on with the next records;
 * - an id kice had fetched before it was deleted keeps decoding in that process (ids are
 *   immutable, so the cached schema is still the id's schema);
 * - a new process (an empty cache) dead-letters that id's records in turn.
 *
 * Deleting schemas: run with your own registry when others share one
 * (KICE_REGISTRY_PORT, KICE_REGISTRY_STATE); the subjects here are this file's own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  type KiceProcess,
  latestMetadata,
  recordedOffsets,
  runOnce,
  spawnKice,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, endOffsets, readTopic } from '../support/produce.ts';
import { pyicebergRows } from '../support/readers.ts';
import { deleteSchemaVersion, produceAvro, startRegistry } from '../support/schema-registry.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-sr-deleted-${RUN}`;
const SUBJECT = `${TOPIC}-value`;
const GROUP = `kice-e2e-sr-deleted-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TABLE = 'e2e.sr_deleted';

let brokers: string[];
let registry: string;
let dir: string;
let daemon: KiceProcess | undefined;

beforeAll(async () => {
  const [b, r] = await Promise.all([startKafka(), startRegistry()]);
  brokers = [b];
  registry = r;
  await createTopic(brokers, TOPIC, 1);
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-sr-deleted-'));
});
afterAll(async () => {
  await daemon?.kill9();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Resolves once the process's `committed` lines for TABLE add up to `n` rows. */
async function committedRows(p: KiceProcess, n: number): Promise<void> {
  const rowsOf = (l: { msg?: string; table?: unknown; rows?: unknown }) =>
    l.msg === 'committed' && l.table === TABLE ? Number(l.rows) : 0;
  let total = p.lines.reduce((a, l) => a + rowsOf(l), 0);
  if (total >= n) return;
  await p.waitForLine((l) => {
    total += rowsOf(l);
    return total >= n;
  }, 120_000);
}

const lookup = async (id: number) => (await fetch(`${registry}/schemas/ids/${id}`)).status;

describe('schemas deleted from the registry', () => {
  it('dead-letters an id deleted before it was fetched, keeps decoding one fetched before its deletion', async () => {
    const name = `Deleted${RUN}`;
    const a = { type: 'record', name, fields: [{ name: 'n', type: 'long' }] };
    const c = {
      type: 'record',
      name,
      fields: [
        { name: 'n', type: 'long' },
        { name: 'c', type: 'string' },
      ],
    };
    const b = brokers[0] as string;
    // Subject versions: 1 = a, 2 = c (the serializer registers each under <topic>-value).
    const [idsA, idsC] = await produceAvro(b, registry, TOPIC, [
      { schema: a, rows: [{ n: 1 }, { n: 2 }] },
      { schema: c, rows: [{ n: 3, c: 'x' }] },
    ]);
    const idA = idsA?.[0] as number;
    const idC = idsC?.[0] as number;
    expect(idA).not.toBe(idC);
    const frameA = (await readTopic(brokers, TOPIC))[0]?.value as Buffer; // {n: 1} under a
    await deleteSchemaVersion(registry, SUBJECT, 2);
    expect(await lookup(idC)).toBe(404);

    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
      schemaRegistry: { url: registry },
      tables: [{ topic: TOPIC, table: TABLE, format: 'avro' }],
      deadLetter: { topic: DLQ },
      commit: { intervalMs: 500 },
    });
    daemon = spawnKice(config);
    await committedRows(daemon, 2);
    await daemon.waitForNth((l) => l.msg === 'records dead-lettered', 1, 120_000);
    const gone = `unknown schema id ${idC}: the registry answered 404 (No content with ID '${idC}' was found. error_code 40403)`;

    // a is deleted too, after kice fetched it: its records keep decoding in this process.
    await deleteSchemaVersion(registry, SUBJECT, 1);
    expect(await lookup(idA)).toBe(404);
    await produceAvro(b, registry, TOPIC, [
      { raw: frameA.toString('hex') },
      { raw: frameA.toString('hex') },
    ]);
    await committedRows(daemon, 4);
    expect((await daemon.terminate()).code).toBe(0);
    expect(daemon.withMsg('records dead-lettered').length).toBe(1);

    const meta = await latestMetadata(join(dir, 'warehouse'), TABLE);
    const ns = (await pyicebergRows(meta)).map((r) => r.n as bigint);
    expect(ns.sort((x, y) => (x < y ? -1 : 1))).toEqual([1n, 1n, 1n, 2n]);
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
    const dead = await readTopic(brokers, DLQ);
    expect(dead.map((d) => [d.headers['kice.source.offset'], d.headers['kice.error']])).toEqual([
      ['2', gone],
    ]);

    // A new process has nothing cached: every record of both deleted ids is dead-lettered.
    const fresh = await writeConfig(
      dir,
      {
        kafka: { brokers, groupId: `${GROUP}-fresh` },
        catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse-fresh') },
        schemaRegistry: { url: registry },
        tables: [{ topic: TOPIC, table: TABLE, format: 'avro' }],
        deadLetter: { topic: `${DLQ}-fresh` },
      },
      'fresh.yaml',
    );
    await runOnce(fresh);
    const goneA = `unknown schema id ${idA}: the registry answered 404 (No content with ID '${idA}' was found. error_code 40403)`;
    const deadFresh = await readTopic(brokers, `${DLQ}-fresh`);
    expect(deadFresh.map((d) => d.headers['kice.error'])).toEqual([
      goneA,
      goneA,
      gone,
      goneA,
      goneA,
    ]);
  });
});
