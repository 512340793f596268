#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768 MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=4 --max-old-space-size=384
// The shebang keeps memory near what kice uses: glibc malloc arenas capped at 2 (one
// 64 MB arena per thread otherwise); allocations of 32 KB and more (ArrayBuffer backing
// stores: fetched batches, Arrow IPC, Parquet output) mmapped and given back to the OS on
// free — glibc otherwise raises its mmap threshold after the first large free and serves
// later buffers from arenas it seldom returns; main-thread young generation 4 MB
// semi-spaces; old generation capped. Measured (2M-event backlog, 32 MiB budget, 2
// workers): peak RSS 536 → 475 MB (arenas, heap caps), 422 → 344 MiB (mmap threshold).
// Launchers that run `node kice.mjs` take flags and environment from it.
// The kice binary. In the installed package (npm) it runs the JavaScript tsc built into
// ../dist. In the repository it runs the CLI bundle the build (`pnpm build`,
// scripts/build.mjs) wrote to packages/core/bundles/ — the engine's threads start from the
// bundles beside it — after checking that the build is current (scripts/bundles.mjs:
// every source it was made from unchanged, a few ms). A missing or stale build is an error
// naming the command to run: nothing is built or written at run time, and no TypeScript
// loader or bundler runs at all.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { main } = existsSync(join(app, 'src/main.ts'))
  ? await import(pathToFileURL(await repositoryBuild()).href)
  : await import(pathToFileURL(join(app, 'dist/main.js')).href);
process.exitCode = await main(process.argv.slice(2));

/** The repository's CLI bundle, once the build is known to be current; exits 1 if not. */
async function repositoryBuild() {
  const root = resolve(app, '../..');
  process.env.KICE_REPO_ROOT ??= root;
  const bundles = await import(pathToFileURL(join(root, 'scripts/bundles.mjs')).href);
  const reason = bundles.staleReason();
  if (reason !== undefined) {
    process.stderr.write(`${bundles.staleMessage(reason)}\n`);
    process.exit(1);
  }
  return join(bundles.BUNDLE_DIR, 'cli.mjs');
}
