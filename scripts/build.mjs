#!/usr/bin/env node
/**
 * The build (`pnpm build`; scripts/demo.sh, scripts/test.sh and the test suite's global
 * set-up run it): bundles the kice CLI and the engine's two thread entry points (the pool
 * tasks and the committer thread) with esbuild into packages/core/bundles/, the JavaScript
 * apps/cli/bin/kice.mjs and the threads start from when kice runs from the repository.
 * See ./bundles.mjs for the layout and for what "current" means.
 *
 * Does nothing when the build is already current (--force: build anyway). Each output is
 * written to a temporary file and renamed into place, the manifest last, so a kice
 * starting meanwhile (or a second build at the same time) sees the old build or the new
 * one, never a part of one. The installed packages do not use this: they run the
 * JavaScript tsc emits into dist/ (the packages' own `build`, run by `pnpm pack`).
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import {
  BUILD_COMMAND,
  BUNDLE_DIR,
  ENTRIES,
  fileHash,
  MANIFEST,
  ROOT,
  staleReason,
} from './bundles.mjs';

/** Besides esbuild's inputs, the files whose change makes the build stale. */
const EXTRA_INPUTS = [
  'scripts/build.mjs',
  'scripts/bundles.mjs',
  'packages/core/package.json',
  'packages/iceberg/package.json',
  'apps/cli/package.json',
];

const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const before = staleReason();
if (before === undefined && !force) {
  if (!quiet) console.log(`build: ${relative(ROOT, BUNDLE_DIR)} is up to date`);
  process.exit(0);
}

const t0 = performance.now();
// esbuild is a development dependency of @kice/core.
const { build } = createRequire(join(ROOT, 'packages/core/package.json'))('esbuild');
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: Object.fromEntries(
    Object.entries(ENTRIES).map(([out, src]) => [out.replace(/\.mjs$/, ''), join(ROOT, src)]),
  ),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  metafile: true,
  outdir: BUNDLE_DIR,
  outExtension: { '.js': '.mjs' },
  logLevel: 'error',
  plugins: [
    {
      // Third-party packages stay imports (resolved from @kice/core's node_modules at run
      // time); our workspace packages are inlined.
      name: 'externals',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@kice/') ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});

const inputs = {};
for (const file of [...Object.keys(result.metafile.inputs), ...EXTRA_INPUTS].sort()) {
  const st = await stat(join(ROOT, file));
  inputs[file] = { size: st.size, mtimeMs: st.mtimeMs, sha256: fileHash(join(ROOT, file)) };
  const read = result.metafile.inputs[file]?.bytes;
  if (read !== undefined && read !== st.size) {
    // Changed while it was being bundled: what was bundled is not what is recorded.
    console.error(`build: ${file} changed during the build; run \`${BUILD_COMMAND}\` again`);
    process.exit(1);
  }
}
await mkdir(BUNDLE_DIR, { recursive: true });
const place = async (path, contents) => {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, path);
};
for (const f of result.outputFiles) await place(f.path, f.contents);
await place(join(BUNDLE_DIR, MANIFEST), `${JSON.stringify({ inputs }, null, 1)}\n`);

if (!quiet) {
  console.log(
    `build: ${relative(ROOT, BUNDLE_DIR)} (${result.outputFiles.length} files from ${Object.keys(inputs).length} inputs, ${before}) in ${Math.round(performance.now() - t0)} ms`,
  );
}
