/**
 * The REST catalog with an s3:// warehouse: Apache Iceberg's REST server (its own
 * instance, S3FileIO against the test S3 server, test/infra/s3.sh) writes the table
 * metadata to the bucket, kice's S3FileIO writes manifests and data files next to it,
 * and both kice and PyIceberg (through the same REST catalog, with s3.* properties) read
 * exactly the appended rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastAppend, RestCatalog, S3FileIO, scanRows } from '@kice/iceberg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendWith, rows, schema } from '../../packages/iceberg/test/transaction/tables.ts';
import { startRest, stopRest } from '../support/iceberg-rest.ts';
import { restRows } from '../support/readers.ts';
import { makeBucket, S3_TEST_CREDENTIALS, s3TestOptions, startS3 } from '../support/s3.ts';

let dir: string;
let env: NodeJS.ProcessEnv;
let uri: string;
let endpoint: string;
let bucket: string;

beforeAll(async () => {
  endpoint = await startS3();
  bucket = await makeBucket(endpoint, 'rest');
  dir = await mkdtemp(join(tmpdir(), 'kice-rest-s3-'));
  env = {
    KICE_STATE: join(dir, 'state'),
    KICE_REST_PORT: '19188',
    CATALOG_WAREHOUSE: `s3://${bucket}/wh`,
    CATALOG_IO__IMPL: 'org.apache.iceberg.aws.s3.S3FileIO',
    CATALOG_S3_ENDPOINT: endpoint,
    CATALOG_S3_PATH__STYLE__ACCESS: 'true',
    CATALOG_S3_ACCESS__KEY__ID: S3_TEST_CREDENTIALS.accessKeyId,
    CATALOG_S3_SECRET__ACCESS__KEY: S3_TEST_CREDENTIALS.secretAccessKey,
    CATALOG_CLIENT_REGION: 'us-east-1',
  };
  uri = await startRest(env);
});

afterAll(async () => {
  await stopRest(env);
  await rm(dir, { recursive: true, force: true });
});

it('appends through a REST catalog whose warehouse is on S3; kice and PyIceberg read the rows', async () => {
  const catalog = new RestCatalog({ uri, io: new S3FileIO(s3TestOptions(endpoint)) });
  await catalog.createNamespace(['s3ns']);
  const id = { namespace: ['s3ns'], name: 'events' };
  const t = await catalog.createTable(id, { schema });
  expect(t.metadata.location).toBe(`s3://${bucket}/wh/s3ns/events`);
  expect(t.metadataLocation.startsWith(`s3://${bucket}/wh/s3ns/events/metadata/`)).toBe(true);
  await appendWith(fastAppend, t, rows(0, 7));
  const loaded = await catalog.loadTable(id);
  expect((await scanRows(loaded)).map((r) => r.id)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
  process.env.KICE_S3_ENDPOINT = endpoint;
  try {
    const py = await restRows(uri, 's3ns.events');
    expect(py.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  } finally {
    delete process.env.KICE_S3_ENDPOINT;
  }
});
