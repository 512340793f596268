/**
 * vitest global setup of both projects: runs the build (scripts/build.mjs, `pnpm build`)
 * once before any test file, so that the kice processes and engine threads the tests start
 * run the current sources even when one test file is run on its own. The build does
 * nothing when it is already current; two projects starting at once both find it so or
 * write the same files (each placed by rename).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

export default function setup(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}
