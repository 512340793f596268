/**
 * bin/kice.mjs in a clone runs the build `pnpm build` made (scripts/build.mjs,
 * packages/core/bundles/), never builds at run time, and refuses a build older than the
 * sources with an error naming the command. The real build stays untouched: each case
 * runs a copy of the binary, the sources the build recorded, scripts/bundles.mjs and the
 * build itself (copied, so every mtime differs and currency rests on content), with
 * @kice/core's node_modules linked in.
 */
import { execFile } from 'node:child_process';
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BUNDLES = 'packages/core/bundles';

let base: string;
let n = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kice-repo-build-'));
});
afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

/** A copy of what the binary reads in a clone; returns its root. */
async function copyClone(): Promise<string> {
  const root = join(base, `clone-${n++}`);
  const manifest = JSON.parse(await readFile(join(ROOT, BUNDLES, 'inputs.json'), 'utf8'));
  const files = [...Object.keys(manifest.inputs), 'apps/cli/bin/kice.mjs', 'scripts/bundles.mjs'];
  for (const f of files) {
    await mkdir(dirname(join(root, f)), { recursive: true });
    await cp(join(ROOT, f), join(root, f));
  }
  await cp(join(ROOT, BUNDLES), join(root, BUNDLES), { recursive: true });
  await symlink(join(ROOT, 'packages/core/node_modules'), join(root, 'packages/core/node_modules'));
  return root;
}

function kice(
  root: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, 'apps/cli/bin/kice.mjs'), ...args],
      { cwd: root },
      (e, stdout, stderr) => done({ code: e ? (e.code as number) : 0, stdout, stderr }),
    );
  });
}

/** Every file below `root` (links not followed) with its size and mtime. */
async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    const s = await stat(p);
    out.push(`${relative(root, p)} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

const stale = (root: string, reason: string) =>
  `kice: the built JavaScript in ${BUNDLES} is missing or out of date (${reason}); run \`pnpm build\` in ${root} first\n`;

describe('kice from a clone: the build', () => {
  it('runs a current build (same content, other mtimes) and writes nothing', async () => {
    const root = await copyClone();
    const before = await snapshot(root);
    const r = await kice(root, ['help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: kice <command> \[options\]\n/);
    expect(await snapshot(root)).toEqual(before);
  });

  it('fails at once, naming pnpm build, when a source changed since the build', async () => {
    const root = await copyClone();
    const file = join(root, 'packages/core/src/engine.ts');
    await writeFile(file, `${await readFile(file, 'utf8')}// changed\n`);
    const before = await snapshot(root);
    expect(await kice(root, ['help'])).toEqual({
      code: 1,
      stdout: '',
      stderr: stale(root, 'packages/core/src/engine.ts changed since the last build'),
    });
    expect(await snapshot(root)).toEqual(before);
  });

  it('fails when a source the build used is gone, or a bundle, or the whole build', async () => {
    const gone = await copyClone();
    await rm(join(gone, 'packages/iceberg/src/index.ts'));
    expect(await kice(gone, ['help'])).toEqual({
      code: 1,
      stdout: '',
      stderr: stale(gone, 'packages/iceberg/src/index.ts was removed since the last build'),
    });
    const noBundle = await copyClone();
    await rm(join(noBundle, BUNDLES, 'committer-thread.mjs'));
    expect(await kice(noBundle, ['help'])).toEqual({
      code: 1,
      stdout: '',
      stderr: stale(noBundle, 'committer-thread.mjs is missing'),
    });
    const unbuilt = await copyClone();
    await rm(join(unbuilt, BUNDLES), { recursive: true });
    expect(await kice(unbuilt, ['help'])).toEqual({
      code: 1,
      stdout: '',
      stderr: stale(unbuilt, 'nothing has been built'),
    });
  });
});
