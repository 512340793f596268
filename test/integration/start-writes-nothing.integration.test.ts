/**
 * Starting kice from the repository writes nothing into the source tree: the CLI and the
 * engine's threads start from the build `pnpm build` made before the run (the suite's
 * global set-up), and nothing is bundled or cached at run time. Checked for
 * `kice run --once` (the binary) and for an engine started in this process from the
 * sources (createEngine + runOnce), each against a fresh empty topic of the test broker:
 * `git status --ignored` of packages/ and apps/ and every file below them outside
 * node_modules (path, size, mtime) are the same after as before.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, validateConfig } from '../../packages/core/src/index.ts';
import { startKafka } from '../support/kafka.ts';
import { runOnce, writeConfig } from '../support/kice-process.ts';
import { createTopic } from '../support/produce.ts';
import { REPO_ROOT } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-start-writes-${RUN}`;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-start-writes-'));
  await createTopic(brokers, TOPIC, 2);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What the source tree holds: git's view (ignored files too) and every file's stat. */
async function tree(): Promise<{ git: string; files: string[] }> {
  const { stdout: git } = await promisify(execFile)(
    'git',
    ['status', '--porcelain', '--ignored', '--', 'packages', 'apps'],
    { cwd: REPO_ROOT },
  );
  const files: string[] = [];
  for (const top of ['packages', 'apps']) {
    for (const e of await readdir(join(REPO_ROOT, top), { recursive: true, withFileTypes: true })) {
      const p = join(e.parentPath, e.name);
      if (!e.isFile() || p.includes('/node_modules/')) continue;
      const s = await stat(p);
      files.push(`${relative(REPO_ROOT, p)} ${s.size} ${s.mtimeMs}`);
    }
  }
  return { git, files: files.sort() };
}

function config(groupId: string) {
  return {
    kafka: { brokers, groupId },
    catalog: { type: 'filesystem', warehouse: join(dir, `warehouse-${groupId}`) },
    tables: [{ topic: TOPIC, table: 'e2e.events' }],
    deadLetter: { topic: `${TOPIC}-dlq` },
    log: { level: 'silent' },
  };
}

describe('starting kice from the repository', () => {
  it('kice run --once writes nothing into packages/ or apps/', async () => {
    const path = await writeConfig(dir, config(`${TOPIC}-cli`));
    const before = await tree();
    const { exit } = await runOnce(path);
    expect(exit.code).toBe(0);
    expect(await tree()).toEqual(before);
  });

  it('an engine started from the sources writes nothing into packages/ or apps/', async () => {
    const before = await tree();
    const engine = createEngine(validateConfig(config(`${TOPIC}-engine`)));
    await engine.runOnce();
    expect(engine.metrics().recordsConsumed).toBe(0);
    expect(await tree()).toEqual(before);
  });
});
