/**
 * Table-specific storage settings from the REST catalog (vended credentials): kice's
 * committer and its pool workers must write a table's files with the FileIO properties
 * the catalog's load-table answer gives for that table (`config` and
 * `storage-credentials`), not with the static `storage:` settings, and
 * `catalog.accessDelegation: vended-credentials` must send the
 * `X-Iceberg-Access-Delegation` header.
 *
 * Apache Iceberg's REST server (test/infra/iceberg-rest.sh, own instance, s3:// warehouse
 * on the test S3 server) does not vend credentials, so a FAKE vending front
 * (test/support/vending-proxy.ts) adds them to its load-table answers: `config` points
 * the table at a second endpoint (a recording proxy in front of the same S3 server) with
 * region and path-style access, and `storage-credentials` for the warehouse prefix carry
 * an access key, secret and session token of their own. The static `storage.s3` settings
 * point at the S3 server directly with other keys. The S3 server accepts any signature,
 * so the check is the recording proxy's request log: every data file and manifest kice
 * PUTs arrives there, signed with the vended access key, and nothing else in kice's
 * output shows the vended secret or token.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { startRest, stopRest } from '../support/iceberg-rest.ts';
import { startKafka } from '../support/kafka.ts';
import { spawnKice, writeConfig } from '../support/kice-process.ts';
import { createTopic, produce } from '../support/produce.ts';
import { restRows } from '../support/readers.ts';
import { makeBucket, S3_TEST_CREDENTIALS, startS3 } from '../support/s3.ts';
import { startVendingProxy, type VendingProxy } from '../support/vending-proxy.ts';

const RUN = randomBytes(4).toString('hex');
const GROUP = `kice-vended-${RUN}`;
const TOPIC = `kice-vended-${RUN}`;
const COUNT = 6_000;
const PARTITIONS = 2;
const STATIC = {
  accessKeyId: 'KICESTATICKEY',
  secretAccessKey: 'static-secret-not-for-this-table',
};
const VENDED = {
  key: 'KICEVENDEDKEY',
  secret: `vended-secret-${RUN}`,
  token: `vended-session-token-${RUN}`,
};

let dir: string;
let restEnv: NodeJS.ProcessEnv;
let endpoint: string;
let bucket: string;
let brokers: string[];
let s3Log: FaultProxy;
let vending: VendingProxy;
/** Every request the recording S3 proxy saw: method, path, signing access key. */
const signed: { method: string; path: string; key: string | undefined }[] = [];

beforeAll(async () => {
  [brokers, endpoint] = await Promise.all([startKafka().then((b) => [b]), startS3()]);
  bucket = await makeBucket(endpoint, 'vended');
  dir = await mkdtemp(join(tmpdir(), 'kice-vended-'));
  restEnv = {
    KICE_STATE: join(dir, 'state'),
    KICE_REST_PORT: '19192',
    CATALOG_WAREHOUSE: `s3://${bucket}/wh`,
    CATALOG_IO__IMPL: 'org.apache.iceberg.aws.s3.S3FileIO',
    CATALOG_S3_ENDPOINT: endpoint,
    CATALOG_S3_PATH__STYLE__ACCESS: 'true',
    CATALOG_S3_ACCESS__KEY__ID: S3_TEST_CREDENTIALS.accessKeyId,
    CATALOG_S3_SECRET__ACCESS__KEY: S3_TEST_CREDENTIALS.secretAccessKey,
    CATALOG_CLIENT_REGION: 'us-east-1',
  };
  const [uri] = await Promise.all([startRest(restEnv), createTopic(brokers, TOPIC, PARTITIONS)]);
  // The recording S3 endpoint: no faults (rate 0); the rule's match only observes.
  s3Log = await startFaultProxy(endpoint);
  s3Log.setRules([
    {
      rate: 0,
      fault: '500',
      match: (req) => {
        const auth = String(req.headers.authorization ?? '');
        signed.push({
          method: req.method ?? '',
          path: req.url ?? '',
          key: /Credential=([^/]+)\//.exec(auth)?.[1],
        });
        return false;
      },
    },
  ]);
  vending = await startVendingProxy(uri, {
    config: {
      's3.endpoint': s3Log.endpoint,
      'client.region': 'us-east-1',
      's3.path-style-access': 'true',
      // Overridden by the storage credential for the warehouse prefix below.
      's3.access-key-id': 'KICECONFIGKEY',
      's3.secret-access-key': 'config-secret',
    },
    storageCredentials: [
      {
        prefix: `s3://${bucket}/wh`,
        config: {
          's3.access-key-id': VENDED.key,
          's3.secret-access-key': VENDED.secret,
          's3.session-token': VENDED.token,
        },
      },
    ],
  });
});

afterAll(async () => {
  await vending?.close();
  await s3Log?.close();
  if (restEnv) await stopRest(restEnv);
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("writes a REST table's data files and manifests with the catalog's vended storage settings", async () => {
  expect(
    await produce({ brokers, topic: TOPIC, partitions: PARTITIONS, first: 0, count: COUNT }),
  ).toBe(COUNT);
  const config = await writeConfig(dir, {
    kafka: { brokers, groupId: GROUP },
    catalog: { type: 'rest', uri: vending.uri, accessDelegation: 'vended-credentials' },
    storage: { s3: { endpoint, region: 'us-east-1', forcePathStyle: true, ...STATIC } },
    tables: [{ topic: TOPIC, table: 'vended.events' }],
    commit: { intervalMs: 1_000 },
    deadLetter: { topic: `${GROUP}-dlq` },
    log: { level: 'debug' },
  });
  const kice = spawnKice(config, { once: true });
  const timer = setTimeout(() => kice.child.kill('SIGKILL'), 120_000);
  const exit = await kice.exited;
  clearTimeout(timer);
  expect(
    exit.code,
    `${kice.stderr.slice(-4000)}\n${kice.lines
      .slice(-30)
      .map((l) => JSON.stringify(l))
      .join('\n')}`,
  ).toBe(0);

  expect(vending.vended).toBeGreaterThan(0);
  expect(vending.tableRequests.length).toBeGreaterThan(0);
  expect(new Set(vending.tableRequests.map((r) => r.accessDelegation))).toEqual(
    new Set(['vended-credentials']),
  );

  const puts = signed.filter((r) => r.method === 'PUT' || r.method === 'POST');
  const dataPuts = puts.filter((r) => r.path.includes('/wh/vended/events/data/'));
  const manifestPuts = puts.filter((r) => /\/wh\/vended\/events\/metadata\/.*\.avro/.test(r.path));
  expect(dataPuts.length).toBeGreaterThan(0);
  expect(manifestPuts.length).toBeGreaterThan(0);
  expect(new Set(puts.map((r) => r.key))).toEqual(new Set([VENDED.key]));

  const output = `${kice.stderr}\n${kice.text.join('\n')}\n${kice.lines.map((l) => JSON.stringify(l)).join('\n')}`;
  for (const secret of [VENDED.secret, VENDED.token, STATIC.secretAccessKey, 'config-secret'])
    expect(output.includes(secret), `kice printed ${secret}`).toBe(false);

  const rows = await restRows(vending.uri, 'vended.events');
  expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(
    Array.from({ length: COUNT }, (_, i) => i),
  );
});
