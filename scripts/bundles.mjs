/**
 * Where the repository's built JavaScript lives and whether it is current. Plain
 * JavaScript with no dependencies: apps/cli/bin/kice.mjs and the engine's thread start-up
 * (packages/core/src/workers/bundle.ts) read it before anything else loads, and
 * scripts/build.mjs (the build, `pnpm build`) writes what it describes.
 *
 * The build bundles three entry points with esbuild into packages/core/bundles/ (git
 * ignored, outside every src/): the CLI (cli.mjs) and the two thread entry points
 * (pool-tasks.mjs, committer-thread.mjs). Our own sources are inlined; third-party packages
 * stay imports, resolved from @kice/core's node_modules (hence the folder). Beside them,
 * inputs.json records every file the bundles were made from (esbuild's metafile inputs,
 * the workspace package.json files and the build scripts): size, mtime and SHA-256.
 *
 * Current means: every output exists and every input is unchanged: same size and mtime,
 * or else the same content (a checkout or a copy changes mtimes, not content). Checking
 * stats each input (a few hundred files, a few ms) and reads only those whose stat
 * differs. Nothing is ever rebuilt or written at run time: a stale or missing build is an
 * error naming the command to run.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The folder the build writes. */
export const BUNDLE_DIR = join(ROOT, 'packages/core/bundles');
/** The manifest of inputs, inside BUNDLE_DIR. */
export const MANIFEST = 'inputs.json';
/** Output file (in BUNDLE_DIR) → entry point (relative to ROOT). */
export const ENTRIES = {
  'cli.mjs': 'apps/cli/src/main.ts',
  'pool-tasks.mjs': 'packages/core/src/workers/pool-tasks.ts',
  'committer-thread.mjs': 'packages/core/src/workers/committer-thread.ts',
};
/** The command that builds (named in every error). */
export const BUILD_COMMAND = 'pnpm build';

/** SHA-256 (hex) of a file's content. */
export function fileHash(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Why the build in `dir` is not current, or undefined when it is. `root` is the repository
 * the inputs' paths are relative to.
 */
export function staleReason(dir = BUNDLE_DIR, root = ROOT) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
  } catch {
    return 'nothing has been built';
  }
  for (const out of Object.keys(ENTRIES)) {
    try {
      statSync(join(dir, out));
    } catch {
      return `${out} is missing`;
    }
  }
  for (const [file, recorded] of Object.entries(manifest.inputs ?? {})) {
    let st;
    try {
      st = statSync(join(root, file));
    } catch {
      return `${file} was removed since the last build`;
    }
    if (st.size === recorded.size && st.mtimeMs === recorded.mtimeMs) continue;
    if (st.size !== recorded.size || fileHash(join(root, file)) !== recorded.sha256)
      return `${file} changed since the last build`;
  }
  return undefined;
}

/** The error message for a build that is not current. */
export function staleMessage(reason, dir = BUNDLE_DIR, root = ROOT) {
  const where = dir.startsWith(`${root}/`) ? dir.slice(root.length + 1) : dir;
  return `kice: the built JavaScript in ${where} is missing or out of date (${reason}); run \`${BUILD_COMMAND}\` in ${root} first`;
}

/** Throws (with staleMessage) unless the build is current. */
export function assertCurrent(dir = BUNDLE_DIR, root = ROOT) {
  const reason = staleReason(dir, root);
  if (reason !== undefined) throw new Error(staleMessage(reason, dir, root));
}
