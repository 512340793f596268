/**
 * The test S3 server from test/infra/s3.sh (moto), driven from tests. `startS3()` starts it
 * once per suite run (an already running server is reused; it keeps running after the test
 * file so later files reuse it) and resolves with the endpoint URL. `makeBucket()` creates
 * a bucket no other test uses, so tests never see each other's objects.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3FileIOOptions } from '@kice/iceberg';
import { REPO_ROOT } from './readers.ts';

export const S3_SH = join(REPO_ROOT, 'test/infra/s3.sh');

/** The server accepts any credentials; these are what the tests send. */
export const S3_TEST_CREDENTIALS: {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
} = Object.freeze({ accessKeyId: 'test', secretAccessKey: 'test' });
export const S3_TEST_REGION = 'us-east-1';

export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function s3Script(
  command: 'start' | 'stop' | 'status',
  env: NodeJS.ProcessEnv = {},
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [S3_SH, command],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

let started: Promise<string> | undefined;

/** Starts (or reuses) the server; resolves with its endpoint, e.g. `http://127.0.0.1:19400`. */
export function startS3(): Promise<string> {
  started ??= (async () => {
    const r = await s3Script('start');
    if (r.code !== 0) throw new Error(`s3.sh start exited with ${r.code}:\n${r.stderr}`);
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(last)) throw new Error(`s3.sh start printed "${last}"`);
    return last;
  })();
  return started;
}

/** S3FileIO options for the test server at `endpoint` (path-style, test credentials). */
export function s3TestOptions(endpoint: string): S3FileIOOptions {
  return { endpoint, region: S3_TEST_REGION, forcePathStyle: true, ...S3_TEST_CREDENTIALS };
}

/** A raw SDK client for the test server, to look behind the FileIO's back. */
export function s3TestClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: S3_TEST_REGION,
    forcePathStyle: true,
    // A copy: the SDK tags the credentials object it is given (a `$source` field).
    credentials: { ...S3_TEST_CREDENTIALS },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates a fresh bucket named `kice-<prefix>-<random>` and resolves with its name. */
export async function makeBucket(endpoint: string, prefix = 't'): Promise<string> {
  const name = `kice-${prefix}-${randomUUID().slice(0, 12)}`.toLowerCase();
  const client = s3TestClient(endpoint);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
  return name;
}
