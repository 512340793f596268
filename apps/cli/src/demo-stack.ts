/**
 * The servers behind `kice demo --stack s3-rest`: the local S3-compatible object store
 * (test/infra/s3.sh) and Apache Iceberg's REST catalog server (test/infra/iceberg-rest.sh)
 * with its warehouse in a fresh bucket on that store, so the demo writes through the same
 * pieces as a production deployment (REST catalog commits, S3 data and metadata files).
 *
 * Each demo run gets an empty catalog: the REST server of the demo (its own state folder,
 * `KICE_DEMO_REST_STATE`, default `<state>/demo-rest`, and port, `KICE_DEMO_REST_PORT`,
 * default 19190) is stopped, its state removed and started again over a new bucket. Both servers keep running after the
 * demo so the tables can be read; `stopCommand` says how to stop them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/** What the test S3 server accepts (it does not check signatures). */
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
const REGION = 'us-east-1';

export interface DemoStack {
  /** The `catalog:` and `storage:` keys of the demo's config (before validation). */
  readonly catalog: { readonly type: 'rest'; readonly uri: string };
  readonly storage: { readonly s3: Readonly<Record<string, string | boolean>> };
  readonly endpoint: string;
  readonly restUri: string;
  readonly warehouse: string;
  /** Shell commands that stop the two servers. */
  readonly stopCommand: string;
}

function script(path: string, command: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [path, command],
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${path} ${command} failed:\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

const lastLine = (s: string): string => s.trim().split('\n').pop() ?? '';

export async function startS3RestStack(
  root: string,
  log: (line: string) => void,
): Promise<DemoStack> {
  const state = process.env.KICE_STATE ?? join(root, '.state');
  const s3Sh = join(root, 'test/infra/s3.sh');
  const restSh = join(root, 'test/infra/iceberg-rest.sh');
  log('starting the local S3 server (test/infra/s3.sh; first run installs moto from PyPI)…');
  const endpoint = lastLine(await script(s3Sh, 'start'));
  log(`S3 endpoint ${endpoint}`);

  const bucket = `kice-demo-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  // Loaded here, not with the CLI: the SDK costs every start ~150 ms of CPU.
  const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { ...CREDENTIALS },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  const warehouse = `s3://${bucket}/wh`;

  const restState = process.env.KICE_DEMO_REST_STATE ?? join(state, 'demo-rest');
  const restEnv = {
    KICE_STATE: restState,
    KICE_REST_PORT: process.env.KICE_DEMO_REST_PORT ?? '19190',
    CATALOG_WAREHOUSE: warehouse,
    CATALOG_IO__IMPL: 'org.apache.iceberg.aws.s3.S3FileIO',
    CATALOG_S3_ENDPOINT: endpoint,
    CATALOG_S3_PATH__STYLE__ACCESS: 'true',
    CATALOG_S3_ACCESS__KEY__ID: CREDENTIALS.accessKeyId,
    CATALOG_S3_SECRET__ACCESS__KEY: CREDENTIALS.secretAccessKey,
    CATALOG_CLIENT_REGION: REGION,
  };
  log(
    'starting the Iceberg REST catalog (test/infra/iceberg-rest.sh; first run downloads its jars from Maven Central)…',
  );
  await script(restSh, 'stop', restEnv);
  await rm(restState, { recursive: true, force: true });
  const restUri = lastLine(await script(restSh, 'start', restEnv));
  log(`REST catalog ${restUri}, warehouse ${warehouse}`);

  return {
    catalog: { type: 'rest', uri: restUri },
    storage: {
      s3: {
        endpoint,
        region: REGION,
        forcePathStyle: true,
        ...CREDENTIALS,
      },
    },
    endpoint,
    restUri,
    warehouse,
    stopCommand: `KICE_STATE=${restState} KICE_REST_PORT=${restEnv.KICE_REST_PORT} bash test/infra/iceberg-rest.sh stop; bash test/infra/s3.sh stop`,
  };
}
