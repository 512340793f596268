/**
 * `scripts/demo.sh --stack s3-rest --seconds 10` (the README's "Production stacks"
 * command): the demo against the local S3 server and Apache Iceberg's REST catalog exits 0,
 * and its results say that every table holds exactly the produced events, read back
 * through the REST catalog from S3. The demo's REST server runs with its own state folder
 * and port here and is stopped afterwards; the S3 server is the suite's shared one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopRest } from '../support/iceberg-rest.ts';
import { startKafka } from '../support/kafka.ts';
import { REPO_ROOT } from '../support/readers.ts';
import { startS3 } from '../support/s3.ts';

let dir: string;
let restEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  await Promise.all([startKafka(), startS3()]);
  dir = await mkdtemp(join(tmpdir(), 'kice-demo-stack-'));
  restEnv = { KICE_STATE: join(dir, 'rest'), KICE_REST_PORT: '19191' };
});

afterAll(async () => {
  if (restEnv) await stopRest(restEnv);
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('scripts/demo.sh --stack s3-rest --seconds 10 lands every produced event through REST + S3', async () => {
  const { code, stdout, stderr } = await new Promise<{
    code: number;
    stdout: string;
    stderr: string;
  }>((resolve, reject) =>
    execFile(
      'bash',
      [
        join(REPO_ROOT, 'scripts/demo.sh'),
        '--stack',
        's3-rest',
        '--seconds',
        '10',
        '--rate',
        '2000',
        // The suite's registry may run: the stack demo's tables stay the three JSON ones.
        '--no-avro',
      ],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          KICE_DEMO_REST_STATE: restEnv.KICE_STATE,
          KICE_DEMO_REST_PORT: restEnv.KICE_REST_PORT,
        },
        maxBuffer: 16 * 1024 * 1024,
      },
      (e, out, err) => {
        if (e && typeof e.code !== 'number') reject(e);
        else resolve({ code: e ? (e.code as number) : 0, stdout: out, stderr: err });
      },
    ),
  );
  expect(code, `${stdout}\n${stderr}`).toBe(0);
  expect(stdout).toContain('Tables in the REST catalog http://127.0.0.1:19191 (warehouse s3://');
  const results = [
    ...stdout.matchAll(/^ {2}(demo\.\S+): produced (\d+), table holds (\d+) → (\S+)$/gm),
  ];
  expect(results.map((m) => m[1])).toEqual(['demo.orders', 'demo.clicks', 'demo.demo_views_web']);
  for (const m of results) {
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(m[3]).toBe(m[2]);
    expect(m[4]).toBe('ok');
  }
});
