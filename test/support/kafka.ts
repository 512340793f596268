/**
 * The test Kafka broker from test/infra/kafka.sh, driven from tests. `startKafka()` is
 * idempotent (an already running broker is reused) and resolves with the bootstrap
 * address; the broker keeps running after the test file so that later files reuse it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './readers.ts';

/** Path of the broker script. */
export const KAFKA_SH = join(REPO_ROOT, 'test/infra/kafka.sh');

/** Outcome of one kafka.sh run. */
export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `kafka.sh <command>` and resolves with its exit code and output (never rejects on exit code). */
export function kafkaScript(
  command: 'start' | 'stop' | 'status',
  env: NodeJS.ProcessEnv = {},
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [KAFKA_SH, command],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts (or reuses) the broker and resolves with its bootstrap address, e.g. `127.0.0.1:19092`. */
export async function startKafka(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await kafkaScript('start', env);
  if (r.code !== 0) throw new Error(`kafka.sh start exited with ${r.code}:\n${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!/^127\.0\.0\.1:\d+$/.test(last)) throw new Error(`kafka.sh start printed "${last}"`);
  return last;
}

/**
 * The environment for kafka.sh that selects a broker of the test's own, apart from the
 * shared one: its own client port (controller on port + 1) and its own state folder. A
 * test that stops or restarts a broker must use one of these, never the shared broker.
 */
export function ownBrokerEnv(opts: { port: number; state: string }): NodeJS.ProcessEnv {
  return { KICE_KAFKA_PORT: String(opts.port), KICE_STATE: opts.state };
}

/** Stops the broker (SIGTERM, then SIGKILL); a stopped broker is fine. */
export async function stopKafka(env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await kafkaScript('stop', env);
  if (r.code !== 0) throw new Error(`kafka.sh stop exited with ${r.code}:\n${r.stderr}`);
}
