/**
 * kice through its real CLI path: `node apps/cli/bin/kice.mjs run -c <config> --once`
 * into a fresh local filesystem warehouse, measured from spawn to exit (consume up to the
 * end offsets, flush, commit, leave), then verified with PyIceberg.
 */

import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KiceConfigInput } from '@kice/core';
import { KICE_ENV, KICE_NODE_FLAGS } from '../../../test/support/kice-process.ts';
import { spawnMeasured } from '../proc.ts';
import {
  REPO_ROOT,
  type RunContext,
  type SystemResult,
  tail,
  toResult,
  verifyTable,
} from './common.ts';

/** kice settings a run may change (merged over the defaults of packages/core/src/config/schema.ts). */
export interface KiceSettings {
  readonly kafka?: Partial<
    Pick<
      NonNullable<KiceConfigInput['kafka']>,
      'maxBytes' | 'maxBytesPerPartition' | 'minBytes' | 'maxWaitTimeInMs' | 'fetch'
    >
  >;
  readonly workers?: { threads?: number };
  readonly memory?: { maxInFlightBytes?: number };
  readonly commit?: { targetFileSizeBytes?: number };
  readonly parquet?: { compression?: 'snappy' | 'zstd' | 'lz4_raw' | 'gzip' | 'uncompressed' };
}

export interface KiceRunOptions {
  /** Result name, e.g. `kice` or `kice-best`. */
  readonly name: string;
  readonly settings?: KiceSettings;
  /** Write V8 CPU profiles (main thread and each worker thread) into this folder. */
  readonly cpuProfileDir?: string;
}

/** Writes `<dir>/kice.yaml`: one table `bench.events` from the context's topic; returns its path. */
export async function writeKiceConfig(
  ctx: RunContext,
  dir: string,
  warehouse: string,
  groupId: string,
  s: KiceSettings,
  commitIntervalMs = ctx.commitIntervalMs,
): Promise<string> {
  const config: KiceConfigInput = {
    kafka: { brokers: [ctx.broker], groupId, ...s.kafka },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: ctx.data.topic, table: 'bench.events' }],
    commit: { intervalMs: commitIntervalMs, ...s.commit },
    deadLetter: { topic: 'kice-bench-dead-letters' },
    ...(s.workers ? { workers: s.workers } : {}),
    ...(s.memory ? { memory: s.memory } : {}),
    ...(s.parquet ? { parquet: s.parquet } : {}),
    log: { level: 'warn' },
  };
  // JSON is YAML.
  const configPath = join(dir, 'kice.yaml');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  return configPath;
}

/** Writes the run's config and runs `kice run --once` measured. */
export async function runKice(ctx: RunContext, opts: KiceRunOptions): Promise<SystemResult> {
  const id = `${opts.name}-${randomUUID().slice(0, 8)}`;
  const dir = join(ctx.runDir, id);
  const warehouse = join(dir, 'warehouse');
  await mkdir(warehouse, { recursive: true });
  const s = opts.settings ?? {};
  const configPath = await writeKiceConfig(ctx, dir, warehouse, `kice-bench-${id}`, s);
  const nodeArgs = opts.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir] : [];
  const p = spawnMeasured(
    process.execPath,
    [
      ...KICE_NODE_FLAGS,
      ...nodeArgs,
      join(REPO_ROOT, 'apps/cli/bin/kice.mjs'),
      'run',
      '-c',
      configPath,
      '--once',
    ],
    { cwd: REPO_ROOT, env: { ...process.env, ...KICE_ENV } },
  );
  const m = await p.done;
  await writeFile(join(dir, 'kice.log'), `${m.stdout}\n--- stderr ---\n${m.stderr}`);
  let failure: string | null = null;
  if (m.code !== 0) failure = `kice exited ${m.code ?? m.signal}: ${tail(m.stderr)}`;
  let verification = null;
  try {
    verification = await verifyTable(ctx.python, join(warehouse, 'bench', 'events'));
  } catch (e) {
    failure ??= (e as Error).message;
  }
  return toResult(opts.name, { ...s }, ctx, m, failure, verification, true);
}
