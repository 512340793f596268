/**
 * The files the worker threads start from.
 *
 * Installed package (dist/, built by tsc): the emitted pool-tasks.js and
 * committer-thread.js beside this file, loaded as they are; esbuild is not needed (it is
 * only a development dependency).
 *
 * Repository sources: worker code is bundled to plain JavaScript with esbuild before the
 * threads start, so each thread loads one ESM file instead of registering a TypeScript
 * loader of its own (tsx costs every thread a loader-hooks thread and a module cache:
 * ~70 MB per worker measured on Node 20). Third-party packages stay external and resolve
 * from @kice/core's node_modules; our own sources (@kice/core, @kice/iceberg) are inlined.
 * Output: packages/core/.cache/workers/<content hash>/{pool-tasks,committer-thread}.mjs,
 * rebuilt when the sources change (esbuild takes ~100 ms).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file may itself run from a bundle (the CLI's): then KICE_CORE_ROOT names the package.
const SELF = dirname(fileURLToPath(import.meta.url));
const BUILT = {
  poolTasks: join(SELF, 'pool-tasks.js'),
  committerThread: join(SELF, 'committer-thread.js'),
};
const HERE = existsSync(join(SELF, 'pool-tasks.ts'))
  ? SELF
  : join(process.env.KICE_CORE_ROOT ?? join(SELF, '../..'), 'src/workers');
const PACKAGE_ROOT = join(HERE, '../..');
const ENTRIES = {
  'pool-tasks': join(HERE, 'pool-tasks.ts'),
  'committer-thread': join(HERE, 'committer-thread.ts'),
};

export interface WorkerBundle {
  readonly poolTasks: string;
  readonly committerThread: string;
}

let pending: Promise<WorkerBundle> | undefined;

/** Builds (once per process, and only when the sources changed) the worker bundles. */
export function workerBundle(): Promise<WorkerBundle> {
  if (existsSync(BUILT.poolTasks) && existsSync(BUILT.committerThread))
    return Promise.resolve(BUILT);
  pending ??= buildBundle();
  return pending;
}

async function buildBundle(): Promise<WorkerBundle> {
  const { build, stop } = await import('esbuild');
  const result = await build({
    entryPoints: ENTRIES,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outdir: 'out',
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    // Bare imports of third-party packages stay imports; workspace sources are inlined.
    plugins: [
      {
        name: 'externals',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@kice/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  await stop(); // no esbuild service process left running beside the engine
  const hash = createHash('sha256');
  for (const f of result.outputFiles) hash.update(f.path).update(f.contents);
  const dir = join(PACKAGE_ROOT, '.cache/workers', hash.digest('hex').slice(0, 16));
  const out = (name: string) => join(dir, `${name}.mjs`);
  if (!existsSync(out('pool-tasks')) || !existsSync(out('committer-thread'))) {
    await mkdir(dir, { recursive: true });
    for (const f of result.outputFiles) {
      const target = join(dir, f.path.split('/').pop() as string);
      const tmp = `${target}.${process.pid}.tmp`;
      await writeFile(tmp, f.contents);
      await rename(tmp, target); // atomic: concurrent processes may build the same bundle
    }
  }
  return { poolTasks: out('pool-tasks'), committerThread: out('committer-thread') };
}
