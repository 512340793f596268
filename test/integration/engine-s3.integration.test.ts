/**
 * The engine (`kice run --once`) writing into a filesystem catalog whose warehouse is
 * `s3://<bucket>/wh` on the real S3 server (test/infra/s3.sh): 24,000 JSON events over 4
 * Kafka partitions land in one table exactly once, data files and metadata all on S3
 * (metadata via If-None-Match create-if-absent). PyIceberg (StaticTable with s3.*
 * properties) reads exactly the produced ids and names; DuckDB (httpfs + iceberg_scan)
 * agrees on count, distinct ids, min, max and sum; `kice tables` lists the table from S3.
 * Nothing is written to local disk.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3FileIO } from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  KICE_BIN,
  KICE_ENV,
  KICE_NODE_FLAGS,
  runOnce,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, produce, sampleEvent } from '../support/produce.ts';
import { duckdbQuery, pyicebergRows } from '../support/readers.ts';
import { makeBucket, S3_TEST_CREDENTIALS, s3TestOptions, startS3 } from '../support/s3.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-s3-${RUN}`;
const TABLE = 'e2e.s3_events';
const COUNT = 24_000;
const PARTITIONS = 4;

let brokers: string[];
let endpoint: string;
let bucket: string;
let dir: string;
let io: S3FileIO;

beforeAll(async () => {
  [brokers, endpoint] = await Promise.all([startKafka().then((b) => [b]), startS3()]);
  bucket = await makeBucket(endpoint, 'engine');
  io = new S3FileIO(s3TestOptions(endpoint));
  dir = await mkdtemp(join(tmpdir(), 'kice-s3-'));
  process.env.KICE_S3_ENDPOINT = endpoint;
});
afterAll(async () => {
  io?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The newest v<N>.metadata.json of the table on S3. */
async function latestS3Metadata(): Promise<string> {
  const files = await io.list(`s3://${bucket}/wh/e2e/s3_events/metadata/`);
  let best = 0;
  for (const f of files) {
    const m = /\/v(\d+)\.metadata\.json$/.exec(f);
    if (m && Number(m[1]) > best) best = Number(m[1]);
  }
  if (best === 0) throw new Error(`no metadata file among ${files.join(', ')}`);
  return `s3://${bucket}/wh/e2e/s3_events/metadata/v${best}.metadata.json`;
}

describe('engine into an s3:// warehouse', () => {
  it('streams 24k events over 4 partitions; PyIceberg and DuckDB read exactly them from S3', async () => {
    await createTopic(brokers, TOPIC, PARTITIONS);
    expect(
      await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: 0, count: COUNT }),
    ).toBe(COUNT);
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: `kice-e2e-s3-${RUN}` },
      catalog: { type: 'filesystem', warehouse: `s3://${bucket}/wh` },
      storage: {
        s3: {
          endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          ...S3_TEST_CREDENTIALS,
        },
      },
      tables: [{ topic: TOPIC, table: TABLE }],
      commit: { intervalMs: 2_000 },
      deadLetter: { topic: `kice-e2e-s3-dlq-${RUN}` },
      log: { level: 'warn' },
    });
    await runOnce(config);
    // Nothing went to local disk beside the config file.
    expect(await readdir(dir)).toEqual(['kice.yaml']);

    const metadata = await latestS3Metadata();
    const data = await io.list(`s3://${bucket}/wh/e2e/s3_events/data/`);
    expect(data.length).toBeGreaterThan(0);
    expect(data.every((f) => f.endsWith('.parquet'))).toBe(true);

    const rows = await pyicebergRows(metadata);
    const byId = new Map<number, unknown>();
    for (const r of rows) byId.set(Number(r.id), r.name);
    expect(rows.length).toBe(COUNT);
    expect(byId.size).toBe(COUNT);
    for (let id = 0; id < COUNT; id++) expect(byId.get(id), `id ${id}`).toBe(sampleEvent(id).name);

    const [stats] = await duckdbQuery(
      metadata,
      'SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi, sum(id) AS s FROM {t}',
    );
    expect({
      n: Number(stats?.n),
      d: Number(stats?.d),
      lo: Number(stats?.lo),
      hi: Number(stats?.hi),
      s: String(stats?.s),
    }).toEqual({ n: COUNT, d: COUNT, lo: 0, hi: COUNT - 1, s: String((COUNT * (COUNT - 1)) / 2) });

    const listed = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [...KICE_NODE_FLAGS, KICE_BIN, 'tables', '-c', config, '--json'],
        { env: { ...process.env, ...KICE_ENV } },
        (e, stdout, stderr) =>
          e ? reject(new Error(`kice tables: ${e.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const tables = JSON.parse(listed) as { table: string; rows: number; files: number }[];
    expect(tables.map((t) => [t.table, t.rows, t.files])).toEqual([[TABLE, COUNT, data.length]]);
  });
});
