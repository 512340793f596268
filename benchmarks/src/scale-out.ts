/**
 * The scale-out section of `pnpm bench` (docs/SCALING.md): 1 vs 2 kice processes in one
 * consumer group on the same topic (./systems/kice-group.ts), and the commit-contention
 * benchmark (./components/commit-contention.ts) on the filesystem catalog and on
 * test/infra/iceberg-rest.sh's REST catalog (started if needed, like the broker).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { benchCommitContention, type ContentionResult } from './components/commit-contention.ts';
import { prepareContext } from './harness.ts';
import { REPO_ROOT } from './systems/common.ts';
import type { KiceSettings } from './systems/kice.ts';
import { type GroupRunResult, runKiceGroup } from './systems/kice-group.ts';

export interface ScaleOutResult {
  /** 1 and 2 kice processes in one group; null when not run. */
  readonly processes: GroupRunResult[] | null;
  /** Commit contention; null when not run. */
  readonly contention: ContentionResult | null;
}

/** Where the REST catalog runs; starts test/infra/iceberg-rest.sh's server when none is given. */
export function ensureRest(uri?: string): string {
  if (uri) return uri;
  const out = execFileSync('bash', [join(REPO_ROOT, 'test/infra/iceberg-rest.sh'), 'start'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.toString().trim().split('\n').at(-1) as string;
}

export interface ScaleOutOptions {
  readonly quick: boolean;
  /** Events for the process runs. */
  readonly events: number;
  readonly broker: string | undefined;
  readonly settings: KiceSettings;
  readonly processes: boolean;
  readonly contention: boolean;
  /** REST catalog: a URI, `false` for none, undefined to start test/infra's. */
  readonly restUri: string | false | undefined;
  /** Each contention writer's commit interval; 0 = back to back. */
  readonly contentionIntervalMs: number;
  readonly log: (line: string) => void;
}

/** Commit interval of the process runs: short, so the end is seen soon after it happens. */
export const GROUP_COMMIT_INTERVAL_MS = 2_000;

export async function scaleOut(opts: ScaleOutOptions): Promise<ScaleOutResult> {
  const { log } = opts;
  let processes: GroupRunResult[] | null = null;
  if (opts.processes) {
    const ctx = await prepareContext(opts.events, { broker: opts.broker, log });
    processes = [];
    for (const p of [1, 2]) {
      log(`scale-out: ${p} kice process(es) in one group on ${ctx.data.topic}…`);
      const r = await runKiceGroup(ctx, {
        processes: p,
        settings: opts.settings,
        commitIntervalMs: GROUP_COMMIT_INTERVAL_MS,
        timeoutSeconds: 120 + (opts.events / 1e6) * 300,
      });
      log(
        r.ok
          ? `  ${r.eventsPerSecond.toLocaleString('en-US')} events/s in all; CPU s per process ${r.cpuSecondsPerProcess.join(' + ')}`
          : `  FAILED: ${r.error}`,
      );
      processes.push(r);
    }
  }
  let contention: ContentionResult | null = null;
  if (opts.contention) {
    const restUri = opts.restUri === false ? undefined : ensureRest(opts.restUri);
    contention = await benchCommitContention({
      dir: join(REPO_ROOT, '.state/bench', `contention-${Date.now()}`),
      writers: [1, 2, 4, 8, 16, 32],
      commitsPerWriter: opts.quick ? 10 : 40,
      intervalMs: opts.contentionIntervalMs,
      ...(restUri ? { restUri } : {}),
      log,
    });
  }
  return { processes, contention };
}
