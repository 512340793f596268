/**
 * Scale-out by processes: P kice daemons (`kice run -c <config>`, the real CLI, no
 * `--once`) started together in ONE consumer group on the context's topic, writing ONE
 * table in a shared filesystem warehouse. Kafka's group protocol spreads the topic's
 * partitions over them; their commits to the table race through the catalog's optimistic
 * concurrency. Daemons rather than `--once`: a `--once` member that catches up before the
 * other has joined would take every partition and exit, measuring nothing.
 *
 * Timed from the first spawn to the first table snapshot whose total-records holds all N
 * rows (as the Connect sink is, ./connect.ts); CPU of each process's tree is sampled at
 * that moment. The daemons are then stopped (SIGTERM) and the table verified with
 * PyIceberg: exactly N rows and N distinct event ids.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KICE_ENV, KICE_NODE_FLAGS } from '../../../test/support/kice-process.ts';
import { type MeasuredProcess, spawnMeasured } from '../proc.ts';
import {
  committedRows,
  REPO_ROOT,
  type RunContext,
  round,
  tail,
  type Verification,
  verifyTable,
} from './common.ts';
import { type KiceSettings, writeKiceConfig } from './kice.ts';

export interface GroupRunResult {
  readonly processes: number;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly commitIntervalMs: number;
  readonly ok: boolean;
  readonly error: string | null;
  readonly wallSeconds: number;
  /** N ÷ wall seconds, all processes together. */
  readonly eventsPerSecond: number;
  /** User + sys CPU seconds of each process's tree at the complete snapshot. */
  readonly cpuSecondsPerProcess: number[];
  readonly cpuSecondsPerMillionEvents: number;
  readonly peakRssMbPerProcess: number[];
  readonly verification: Verification | null;
}

export interface GroupRunOptions {
  readonly processes: number;
  readonly settings: KiceSettings;
  /** Shorter than the daemon default so the end is seen soon after it happens. */
  readonly commitIntervalMs: number;
  /** Give up after this long. */
  readonly timeoutSeconds: number;
}

/** Runs P daemons in one group until a snapshot holds all N rows, then stops them. */
export async function runKiceGroup(
  ctx: RunContext,
  opts: GroupRunOptions,
): Promise<GroupRunResult> {
  const id = `kice-group-${opts.processes}p-${randomUUID().slice(0, 8)}`;
  const dir = join(ctx.runDir, id);
  const warehouse = join(dir, 'warehouse');
  const tableDir = join(warehouse, 'bench', 'events');
  await mkdir(warehouse, { recursive: true });
  const configPath = await writeKiceConfig(
    ctx,
    dir,
    warehouse,
    `kice-bench-${id}`,
    opts.settings,
    opts.commitIntervalMs,
  );
  const procs: MeasuredProcess[] = [];
  for (let i = 0; i < opts.processes; i++) {
    procs.push(
      spawnMeasured(
        process.execPath,
        [...KICE_NODE_FLAGS, join(REPO_ROOT, 'apps/cli/bin/kice.mjs'), 'run', '-c', configPath],
        { cwd: REPO_ROOT, env: { ...process.env, ...KICE_ENV } },
      ),
    );
  }
  let exited = false;
  for (const p of procs)
    p.done.then(() => {
      exited = true;
    });
  let failure: string | null = null;
  let at: ReturnType<MeasuredProcess['sample']>[] | undefined;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const rows = await committedRows(tableDir);
    if (rows >= ctx.data.events) {
      at = procs.map((p) => p.sample());
      if (rows > ctx.data.events)
        failure = `snapshot holds ${rows} rows, expected ${ctx.data.events}`;
      break;
    }
    if (exited) {
      failure = `a kice process exited before all rows were committed (${rows})`;
      break;
    }
    if ((procs[0] as MeasuredProcess).sample().wallSeconds > opts.timeoutSeconds) {
      failure = `only ${rows} of ${ctx.data.events} rows committed after ${opts.timeoutSeconds} s`;
      break;
    }
  }
  // kice itself, not the measuring wrapper: it flushes, commits, leaves and exits 0.
  for (const p of procs) p.signal('SIGTERM');
  const killer = setTimeout(() => {
    for (const p of procs) p.kill('SIGKILL');
  }, 30_000);
  const ms = await Promise.all(procs.map((p) => p.done));
  clearTimeout(killer);
  await writeFile(
    join(dir, 'kice.log'),
    ms.map((m, i) => `--- process ${i} ---\n${m.stdout}\n--- stderr ---\n${m.stderr}`).join('\n'),
  );
  ms.forEach((m, i) => {
    if (failure === null && m.code !== 0)
      failure = `kice process ${i} exited ${m.code ?? m.signal} on SIGTERM: ${tail(m.stderr)}`;
  });
  const measured = at ?? ms;
  let verification: Verification | null = null;
  try {
    verification = await verifyTable(ctx.python, tableDir);
    const n = ctx.data.events;
    if (failure === null && (verification.rows !== n || verification.distinct !== n))
      failure = `PyIceberg counted ${verification.rows} rows (${verification.distinct} distinct event_id), expected ${n}`;
  } catch (e) {
    failure ??= (e as Error).message;
  }
  const wallSeconds = Math.max(...measured.map((m) => m.wallSeconds));
  const cpu = measured.map((m) => round(m.cpuSeconds, 2));
  const ok = failure === null;
  return {
    processes: opts.processes,
    settings: { ...opts.settings },
    commitIntervalMs: opts.commitIntervalMs,
    ok,
    error: failure,
    wallSeconds: round(wallSeconds, 3),
    eventsPerSecond: ok ? Math.round(ctx.data.events / wallSeconds) : 0,
    cpuSecondsPerProcess: cpu,
    cpuSecondsPerMillionEvents: round((cpu.reduce((a, b) => a + b, 0) / ctx.data.events) * 1e6, 2),
    peakRssMbPerProcess: measured.map((m) => round(m.peakRssBytes / 1e6, 1)),
    verification,
  };
}
