/**
 * Crash-test hook: pause a commit at a named step so that a test can kill -9 the process
 * there. Read from the environment by the committer thread only (../workers/committer-thread.ts);
 * @kice/iceberg just reports its steps to an observer.
 *
 *   KICE_TEST_COMMIT_PAUSE_AT   comma-separated steps: data, manifests, manifest-list,
 *                               metadata, version-hint (see CommitterStep)
 *   KICE_TEST_COMMIT_PAUSE_MS   how long each pause lasts (default 60000; set alone, the
 *                               pause is at `manifests`)
 *
 * At each pause the committer prints one log line to stdout:
 *   {"level":30,"time":…,"msg":"commit paused (test hook)","step":"metadata","table":…,"path":…}
 */
import { KiceError } from '../errors.ts';
import type { CommitterObserver, CommitterStep } from './committer.ts';

export const COMMIT_PAUSED = 'commit paused (test hook)';

const STEPS: readonly CommitterStep[] = [
  'data',
  'manifests',
  'manifest-list',
  'metadata',
  'version-hint',
];

/** The pausing observer the environment asks for, or undefined when it asks for none. */
export function commitPauseFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  write: (line: string) => void = (l) => process.stdout.write(l),
): CommitterObserver | undefined {
  const at = env.KICE_TEST_COMMIT_PAUSE_AT?.trim();
  const msText = env.KICE_TEST_COMMIT_PAUSE_MS?.trim();
  if (!at && !msText) return undefined;
  const ms = msText ? Number(msText) : 60_000;
  if (!Number.isFinite(ms) || ms < 0)
    throw new KiceError(
      'CONFIG_INVALID',
      `KICE_TEST_COMMIT_PAUSE_MS: expected milliseconds, got "${msText}"`,
    );
  const steps = new Set<string>(at ? at.split(',').map((s) => s.trim()) : ['manifests']);
  const unknown = [...steps].filter((s) => !STEPS.includes(s as CommitterStep));
  if (unknown.length > 0)
    throw new KiceError(
      'CONFIG_INVALID',
      `KICE_TEST_COMMIT_PAUSE_AT: unknown step(s) ${unknown.join(', ')} (steps: ${STEPS.join(', ')})`,
    );
  return async (e) => {
    if (!steps.has(e.step)) return;
    write(
      `${JSON.stringify({ level: 30, time: Date.now(), msg: COMMIT_PAUSED, step: e.step, table: e.table, path: e.path })}\n`,
    );
    await new Promise((r) => setTimeout(r, ms));
  };
}
