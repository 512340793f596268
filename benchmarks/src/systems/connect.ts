/**
 * iceberg-kafka-connect: Apache Iceberg's Kafka Connect sink under Connect standalone
 * (benchmarks/peers/iceberg-connect/connect.sh) into a Hadoop-catalog warehouse, with
 * kice's commit interval. Timed from the worker's start to the first table snapshot whose
 * summary holds all N rows; CPU is the worker's tree at that moment. The worker is then
 * stopped and the table verified with PyIceberg.
 */
import { join } from 'node:path';
import { spawnMeasured } from '../proc.ts';
import {
  committedRows,
  REPO_ROOT,
  type RunContext,
  type SystemResult,
  tail,
  toResult,
  verifyTable,
} from './common.ts';

const SCRIPT = join(REPO_ROOT, 'benchmarks/peers/iceberg-connect/connect.sh');

/** Fetches the Connect and sink jars once (outside any timing); resolves with the cache folder. */
export async function prepareConnect(): Promise<string> {
  const p = spawnMeasured('bash', [SCRIPT, 'prepare']);
  const m = await p.done;
  if (m.code !== 0) throw new Error(`connect.sh prepare failed: ${tail(m.stderr)}`);
  return m.stdout.trim().split('\n').at(-1) ?? '';
}

export interface ConnectRunOptions {
  /** tasks.max (one Kafka consumer + writer per task). */
  readonly tasks: number;
  /** Give up after this long. */
  readonly timeoutSeconds: number;
}

/** Runs the sink until a snapshot holds all N rows (or the timeout), then stops it. */
export async function runConnect(ctx: RunContext, opts: ConnectRunOptions): Promise<SystemResult> {
  const dir = join(ctx.runDir, `connect-${Date.now().toString(36)}`);
  const tableDir = join(dir, 'warehouse', 'bench', 'events');
  const p = spawnMeasured('bash', [
    SCRIPT,
    'run',
    dir,
    ctx.broker,
    ctx.data.topic,
    'bench.events',
    String(ctx.commitIntervalMs),
    String(opts.tasks),
  ]);
  let exited = false;
  p.done.then(() => {
    exited = true;
  });
  let failure: string | null = null;
  let at: ReturnType<typeof p.sample> | undefined;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const rows = await committedRows(tableDir);
    if (rows >= ctx.data.events) {
      at = p.sample();
      if (rows > ctx.data.events)
        failure = `snapshot holds ${rows} rows, expected ${ctx.data.events}`;
      break;
    }
    if (exited) {
      failure = `Connect exited before committing all rows (${rows}); see ${dir}/connect.log`;
      break;
    }
    if (p.sample().wallSeconds > opts.timeoutSeconds) {
      failure = `only ${rows} of ${ctx.data.events} rows committed after ${opts.timeoutSeconds} s`;
      break;
    }
  }
  p.kill('SIGTERM');
  const killer = setTimeout(() => p.kill('SIGKILL'), 20_000);
  const m = await p.done;
  clearTimeout(killer);
  const measured = at ?? m;
  let verification = null;
  try {
    verification = await verifyTable(ctx.python, tableDir);
  } catch (e) {
    failure ??= (e as Error).message;
  }
  return toResult(
    'iceberg-kafka-connect',
    { 'tasks.max': opts.tasks, 'iceberg.control.commit.interval-ms': ctx.commitIntervalMs },
    ctx,
    {
      wallSeconds: measured.wallSeconds,
      cpuSeconds: measured.cpuSeconds,
      peakRssBytes: measured.peakRssBytes,
    },
    failure,
    verification,
    true,
  );
}
