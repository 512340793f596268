/**
 * The production-shaped stack end to end: `kice run --once` streams 100,000 rich events
 * over 6 Kafka partitions into an Iceberg REST catalog (Apache Iceberg's REST server,
 * test/infra/iceberg-rest.sh, its own instance) whose warehouse is a bucket on the test S3
 * server (test/infra/s3.sh): the REST server writes table metadata to the bucket, kice's
 * S3FileIO the data files and manifests. Then:
 * - PyIceberg loads the table THROUGH the same REST catalog (its own S3 FileIO) and every
 *   column of every row equals what was produced (row hashes, test/support/row-hash.ts);
 * - DuckDB (httpfs + iceberg_scan over the s3:// metadata location the catalog reports)
 *   reads exactly the produced ids;
 * - the current snapshot records every partition's end offset for kice's group.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentSnapshot, RestCatalog, S3FileIO } from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOffsets } from '../../packages/core/src/index.ts';
import { startRest, stopRest } from '../support/iceberg-rest.ts';
import { startKafka } from '../support/kafka.ts';
import { runOnce, tableIdStats, writeConfig } from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  idRange,
  idStats,
  produce,
  RICH_COLUMNS,
  richExpected,
  richRecord,
} from '../support/produce.ts';
import { allRowsMatch, checkRows } from '../support/row-hash.ts';
import { makeBucket, S3_TEST_CREDENTIALS, s3TestOptions, startS3 } from '../support/s3.ts';

const RUN = randomBytes(4).toString('hex');
const GROUP = `kice-e2e-rest-s3-${RUN}`;
const TOPIC = `kice-e2e-rest-s3-${RUN}`;
const TABLE = 'stack.events';
const PARTITIONS = 6;
const COUNT = 100_000;

let dir: string;
let restEnv: NodeJS.ProcessEnv;
let uri: string;
let endpoint: string;
let bucket: string;
let brokers: string[];

beforeAll(async () => {
  [brokers, endpoint] = await Promise.all([startKafka().then((b) => [b]), startS3()]);
  bucket = await makeBucket(endpoint, 'stack');
  dir = await mkdtemp(join(tmpdir(), 'kice-rest-s3-stack-'));
  restEnv = {
    KICE_STATE: join(dir, 'state'),
    KICE_REST_PORT: '19189',
    CATALOG_WAREHOUSE: `s3://${bucket}/wh`,
    CATALOG_IO__IMPL: 'org.apache.iceberg.aws.s3.S3FileIO',
    CATALOG_S3_ENDPOINT: endpoint,
    CATALOG_S3_PATH__STYLE__ACCESS: 'true',
    CATALOG_S3_ACCESS__KEY__ID: S3_TEST_CREDENTIALS.accessKeyId,
    CATALOG_S3_SECRET__ACCESS__KEY: S3_TEST_CREDENTIALS.secretAccessKey,
    CATALOG_CLIENT_REGION: 'us-east-1',
  };
  [uri] = await Promise.all([startRest(restEnv), createTopic(brokers, TOPIC, PARTITIONS)]);
  process.env.KICE_S3_ENDPOINT = endpoint;
});

afterAll(async () => {
  delete process.env.KICE_S3_ENDPOINT;
  if (restEnv) await stopRest(restEnv);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kice into a REST catalog with an S3 warehouse', () => {
  it('streams 100k rich events over 6 partitions; PyIceberg (through REST) and DuckDB read exactly them', async () => {
    expect(
      await produce({
        brokers,
        topic: TOPIC,
        partitions: PARTITIONS,
        first: 0,
        count: COUNT,
        record: richRecord,
      }),
    ).toBe(COUNT);
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP },
      catalog: { type: 'rest', uri },
      storage: {
        s3: { endpoint, region: 'us-east-1', forcePathStyle: true, ...S3_TEST_CREDENTIALS },
      },
      tables: [{ topic: TOPIC, table: TABLE, columns: RICH_COLUMNS }],
      commit: { intervalMs: 2_000 },
      deadLetter: { topic: `${GROUP}-dlq` },
      log: { level: 'warn' },
    });
    await runOnce(config);

    const io = new S3FileIO(s3TestOptions(endpoint));
    let metadataLocation: string;
    try {
      const catalog = new RestCatalog({ uri, io });
      const t = await catalog.loadTable({ namespace: ['stack'], name: 'events' });
      metadataLocation = t.metadataLocation;
      expect(t.metadata.location).toBe(`s3://${bucket}/wh/stack/events`);
      expect(metadataLocation.startsWith(`s3://${bucket}/wh/stack/events/metadata/`)).toBe(true);
      const summary = currentSnapshot(t.metadata)?.summary;
      expect(summary?.['total-records']).toBe(String(COUNT));
      const offsets = Object.fromEntries(
        [...readOffsets(summary, GROUP)].map(([k, v]) => [k, v.toString()]),
      );
      const ends = await endOffsets(brokers, TOPIC);
      expect(offsets).toEqual(
        Object.fromEntries(Object.entries(ends).map(([p, o]) => [`${TOPIC}:${p}`, o])),
      );
      const data = await io.list(`s3://${bucket}/wh/stack/events/data/`);
      expect(data.length).toBeGreaterThan(0);
      expect(data.every((f) => f.endsWith('.parquet'))).toBe(true);
    } finally {
      io.destroy();
    }

    const ids = [...idRange(0, COUNT)];
    expect(await checkRows(TABLE, 'id', ids, richExpected, { rest: uri })).toEqual(
      allRowsMatch(COUNT),
    );
    expect(await tableIdStats(metadataLocation, 'id', 'duckdb')).toEqual(idStats(ids));
  });
});
