/**
 * The test REST catalog from test/infra/iceberg-rest.sh, driven from tests.
 * `startRest()` is idempotent (a running server is reused) and resolves with the catalog
 * URI; the server keeps running after the test file so that later files reuse it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ScriptResult } from './kafka.ts';
import { REPO_ROOT } from './readers.ts';

export const REST_SH = join(REPO_ROOT, 'test/infra/iceberg-rest.sh');

export function restScript(
  command: 'start' | 'stop' | 'status',
  env: NodeJS.ProcessEnv = {},
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [REST_SH, command],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts (or reuses) the REST catalog and resolves with its URI, e.g. `http://127.0.0.1:19181`. */
export async function startRest(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await restScript('start', env);
  if (r.code !== 0) throw new Error(`iceberg-rest.sh start exited with ${r.code}:\n${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(last))
    throw new Error(`iceberg-rest.sh start printed "${last}"`);
  return last;
}

export async function stopRest(env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await restScript('stop', env);
  if (r.code !== 0) throw new Error(`iceberg-rest.sh stop exited with ${r.code}:\n${r.stderr}`);
}
