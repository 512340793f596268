/**
 * The test Kafka broker from test/infra/kafka.sh, driven from tests. `startKafka()` is
 * idempotent (an already running broker is reused) and resolves with the bootstrap
 * address; the broker keeps running after the test file so that later files reuse it.
 * `startKafkaSasl()` does the same and resolves with the SASL_SSL listener, its CA and
 * test user (test/infra/README.md).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  return execKafkaSh([command], env);
}

function execKafkaSh(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [KAFKA_SH, ...args],
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

/** The SASL_SSL listener of the test broker, from `kafka.sh start --sasl-ssl` and its sasl.env. */
export interface SaslKafka {
  /** `127.0.0.1:<sasl port>` */
  readonly address: string;
  /** The test CA's PEM file (the broker's certificate is signed by it). */
  readonly caFile: string;
  readonly username: string;
  /** The test user's password (SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN). */
  readonly password: string;
}

/**
 * Starts (or reuses) the broker and resolves with its SASL_SSL listener and test user.
 * The listener is always configured, so this never restarts a running broker; one
 * started by an older kafka.sh without it makes this fail (stop it once).
 */
export async function startKafkaSasl(env: NodeJS.ProcessEnv = {}): Promise<SaslKafka> {
  const r = await execKafkaSh(['start', '--sasl-ssl'], env);
  if (r.code !== 0)
    throw new Error(`kafka.sh start --sasl-ssl exited with ${r.code}:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const address = lines.at(-1) ?? '';
  const envFile = /^sasl\.env: (.+)$/.exec(lines.at(-2) ?? '')?.[1];
  if (!/^127\.0\.0\.1:\d+$/.test(address) || !envFile)
    throw new Error(`kafka.sh start --sasl-ssl printed:\n${r.stdout}`);
  const vars = new Map(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  const get = (k: string): string => {
    const v = vars.get(k);
    if (!v) throw new Error(`${envFile} has no ${k}`);
    return v;
  };
  return {
    address,
    caFile: get('KICE_KAFKA_SASL_CA'),
    username: get('KICE_KAFKA_SASL_USERNAME'),
    password: get('KICE_KAFKA_SASL_PASSWORD'),
  };
}
