/**
 * The files the worker threads start from: always built JavaScript, nothing built or
 * written at run time.
 *
 * - Installed package (dist/, emitted by tsc): pool-tasks.js and committer-thread.js
 *   beside this file.
 * - The repository's CLI bundle (packages/core/bundles/cli.mjs, made by `pnpm build`,
 *   scripts/build.mjs): pool-tasks.mjs and committer-thread.mjs beside it; bin/kice.mjs
 *   checked that the build is current before loading the CLI.
 * - The repository's sources (tests, tsx): the same bundles in packages/core/bundles/,
 *   checked here (scripts/bundles.mjs); a missing or stale build rejects with the error
 *   naming the command to run (the test suite builds first: test/support/build-global-setup.ts).
 *
 * One ESM file per thread instead of a TypeScript loader per thread (tsx costs every
 * thread a loader-hooks thread and a module cache: ~70 MB per worker on Node 20).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = dirname(fileURLToPath(import.meta.url));

export interface WorkerBundle {
  readonly poolTasks: string;
  readonly committerThread: string;
}

let pending: Promise<WorkerBundle> | undefined;

/** The thread entry points (checked once per process when running from the sources). */
export function workerBundle(): Promise<WorkerBundle> {
  pending ??= locate().catch((e: unknown) => {
    pending = undefined; // a build made meanwhile is found by the next call
    throw e;
  });
  return pending;
}

async function locate(): Promise<WorkerBundle> {
  const beside = (ext: string): WorkerBundle => ({
    poolTasks: join(SELF, `pool-tasks${ext}`),
    committerThread: join(SELF, `committer-thread${ext}`),
  });
  if (existsSync(join(SELF, 'pool-tasks.js'))) return beside('.js');
  if (!existsSync(join(SELF, 'pool-tasks.ts'))) return beside('.mjs');
  // packages/core/src/workers → the repository root.
  const script = join(SELF, '../../../../scripts/bundles.mjs');
  const bundles = (await import(pathToFileURL(script).href)) as {
    BUNDLE_DIR: string;
    assertCurrent(): void;
  };
  bundles.assertCurrent();
  return {
    poolTasks: join(bundles.BUNDLE_DIR, 'pool-tasks.mjs'),
    committerThread: join(bundles.BUNDLE_DIR, 'committer-thread.mjs'),
  };
}
