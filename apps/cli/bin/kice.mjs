#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768 MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=4 --max-old-space-size=384
// The shebang keeps memory near what kice uses: glibc malloc arenas capped at 2 (one
// 64 MB arena per thread otherwise); allocations of 32 KB and more (ArrayBuffer backing
// stores: fetched batches, Arrow IPC, Parquet output) mmapped and given back to the OS on
// free — glibc otherwise raises its mmap threshold after the first large free and serves
// later buffers from arenas it seldom returns; main-thread young generation 4 MB
// semi-spaces; old generation capped. Measured (2M-event backlog, 32 MiB budget, 2
// workers): peak RSS 536 → 475 MB (arenas, heap caps), 422 → 344 MiB (mmap threshold).
// Launchers that run `node kice.mjs` take flags and environment from it.
// The kice binary. In the installed package (npm) it runs the built JavaScript in
// ../dist. In the repository the CLI and the engine are TypeScript sources: they are
// bundled once into plain JavaScript with esbuild (rebuilt when the sources change,
// ~0.3 s) and loaded from there, so no TypeScript loader runs at all (tsx costs ~3 s and
// ~100 MB at start).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { main } = existsSync(join(app, 'src/main.ts'))
  ? await import(pathToFileURL(await bundleSources()).href)
  : await import(pathToFileURL(join(app, 'dist/main.js')).href);
process.exitCode = await main(process.argv.slice(2));

/** The repository's CLI sources bundled to one ESM file; resolves with its path. */
async function bundleSources() {
  const root = resolve(app, '../..');
  const core = join(root, 'packages/core');
  process.env.KICE_REPO_ROOT ??= root;
  process.env.KICE_CORE_ROOT ??= core;
  // esbuild is a (development) dependency of @kice/core; the bundle lives in its folder so
  // that every third-party import resolves from @kice/core's node_modules.
  const { build, stop } = createRequire(join(core, 'package.json'))('esbuild');
  const result = await build({
    entryPoints: [join(app, 'src/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outfile: 'main.mjs',
    logLevel: 'silent',
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
  stop(); // no esbuild service process left running beside kice
  const code = result.outputFiles[0].contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const file = join(core, '.cache/cli', hash, 'main.mjs');
  if (!existsSync(file)) {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, code);
    await rename(tmp, file);
  }
  return file;
}
