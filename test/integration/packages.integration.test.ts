/**
 * The packages as other projects get them: `pnpm pack` turns @kice/iceberg, @kice/core and
 * the kice CLI into tarballs (built JavaScript, type declarations, `exports` at dist/,
 * real versions instead of `workspace:*`), and scratch projects outside the workspace
 * install them with plain npm (registry dependencies from the npm cache or registry):
 * - only @kice/iceberg: test/embedding/iceberg-table.ts typechecks with tsc (no
 *   skipLibCheck, so our declarations are checked too), runs with plain node, and reads
 *   back exactly the rows it appended;
 * - all three: test/embedding/engine-once.ts (`createEngine` + `runOnce`) consumes JSON
 *   records produced to a fresh topic of the test broker; it prints the rows it reads
 *   back, PyIceberg reads the same rows, and the snapshot records the end offsets;
 *   test/embedding/engine-query.ts (`start`, `query`, `get`, `stop`) sees every record of
 *   another topic in the hot buffer before any commit (no snapshot; every partition
 *   served from memory from offset 0), finds one by its key, and after `stop()` the
 *   table holds the same rows (PyIceberg agrees);
 *   `npx kice help` prints what the repository's binary prints, and `npx kice demo`
 *   (which needs the repository's test services) says so.
 * No TypeScript loader or bundler is installed in the scratch projects: the engine's
 * worker threads start from the built files.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata, recordedOffsets } from '../support/kice-process.ts';
import { createTopic, endOffsets, exactProducer } from '../support/produce.ts';
import { pyicebergRows, REPO_ROOT, sortBy } from '../support/readers.ts';

const PACKAGES = [
  { dir: 'packages/iceberg', tarball: 'kice-iceberg-0.1.0.tgz' },
  { dir: 'packages/core', tarball: 'kice-core-0.1.0.tgz' },
  { dir: 'apps/cli', tarball: 'kice-0.1.0.tgz' },
] as const;
const TOPIC = `kice-e2e-packages-${process.pid}-${Date.now()}`;
const GROUP = `${TOPIC}-embedded`; // as test/embedding/engine-once.ts names it
const TS0 = Date.UTC(2024, 2, 1);
const EVENTS = [0, 1, 2, 3, 4, 5].map((id) => ({
  id,
  name: ['Ada', 'Grace', 'Zoë', '東京', 'a "quoted" name', ''][id] as string,
  ts: new Date(TS0 + id * 1_000).toISOString(),
}));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
let tarballs: string;
let brokers: string[];
const timings: string[] = [];

/** The environment of the child processes: npm and pnpm settings of this run left out. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_)/i.test(k)));
}

function run(cmd: string, args: readonly string[], cwd: string): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        timings.push(`${[cmd, ...args].join(' ').slice(0, 70)}: ${Date.now() - t0} ms`);
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed; resolves with its stdout. */
async function ok(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A project in `dir/name` that npm-installs the tarballs, the repo's TypeScript, and `examples`. */
async function scratchProject(
  name: string,
  packed: readonly string[],
  examples: readonly string[],
): Promise<string> {
  const root = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
  const project = join(dir, name);
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: `kice-${name}`, private: true, type: 'module' }),
  );
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        strict: true,
        outDir: 'out',
      },
      files: examples,
    }),
  );
  for (const e of examples) await copyFile(join(REPO_ROOT, 'test/embedding', e), join(project, e));
  await ok(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline', // cached packages without a registry round trip each
      ...packed.map((t) => join(tarballs, t)),
      `typescript@${root.devDependencies.typescript}`,
      `@types/node@${root.devDependencies['@types/node']}`,
    ],
    project,
  );
  return project;
}

/** Every file below `folder`, relative to it, sorted. */
async function filesBelow(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(folder, join(e.parentPath, e.name)))
    .sort();
}

let icebergOnly: string;
let full: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-packages-'));
  tarballs = join(dir, 'tarballs');
  await mkdir(tarballs);
  // Each pack builds its package first (prepack: tsc into dist/).
  await Promise.all(
    PACKAGES.map((p) =>
      ok(
        'bash',
        [join(REPO_ROOT, 'scripts/pnpm.sh'), 'pack', '--pack-destination', tarballs],
        join(REPO_ROOT, p.dir),
      ),
    ),
  );
  [icebergOnly, full] = await Promise.all([
    scratchProject('iceberg-only', ['kice-iceberg-0.1.0.tgz'], ['iceberg-table.ts']),
    scratchProject(
      'full',
      PACKAGES.map((p) => p.tarball),
      ['engine-once.ts', 'engine-query.ts'],
    ),
  ]);
});

afterAll(async () => {
  console.log(`packages: ${timings.join('; ')}`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('packed packages installed with npm', () => {
  it('hold built JavaScript and declarations only, with exports at dist and real versions', async () => {
    const pkg = (name: string) =>
      readFile(join(full, 'node_modules', name, 'package.json'), 'utf8').then(JSON.parse);
    const distExports = { '.': { types: './dist/index.d.ts', import: './dist/index.js' } };
    const iceberg = await pkg('@kice/iceberg');
    const core = await pkg('@kice/core');
    const cli = await pkg('kice');
    expect(iceberg.exports).toEqual(distExports);
    expect(core.exports).toEqual(distExports);
    expect(cli.bin).toEqual({ kice: './bin/kice.mjs' });
    expect(core.dependencies['@kice/iceberg']).toBe('0.1.0');
    expect(cli.dependencies['@kice/core']).toBe('0.1.0');
    expect(cli.dependencies['@kice/iceberg']).toBe('0.1.0');
    for (const p of [iceberg, core, cli]) {
      // No TypeScript loader or bundler is needed at run time.
      expect(
        Object.keys(p.dependencies).filter((d) => /^(tsx|esbuild|typescript)$/.test(d)),
      ).toEqual([]);
      expect(JSON.stringify(p)).not.toContain('workspace:');
    }
    for (const name of ['@kice/iceberg', '@kice/core', 'kice']) {
      const files = await filesBelow(join(full, 'node_modules', name));
      const unexpected = files.filter(
        (f) =>
          f !== 'package.json' &&
          f !== 'bin/kice.mjs' &&
          !(f.startsWith('dist/') && (f.endsWith('.js') || f.endsWith('.d.ts'))),
      );
      expect({ name, unexpected }).toEqual({ name, unexpected: [] });
      expect(files).toContain(name === 'kice' ? 'dist/main.js' : 'dist/index.d.ts');
    }
    expect(
      (await readdir(join(full, 'node_modules'))).filter((d) => /^(tsx|esbuild)$/.test(d)),
    ).toEqual([]);
    expect(await readdir(join(icebergOnly, 'node_modules/@kice'))).toEqual(['iceberg']);
  });

  it('@kice/iceberg alone: typechecks, creates a table, appends rows and reads them back', async () => {
    // One tsc run typechecks (any error fails it) and emits the JavaScript node runs.
    expect(await run('npx', ['tsc'], icebergOnly)).toEqual({ code: 0, stdout: '', stderr: '' });
    const warehouse = join(dir, 'iceberg-warehouse');
    const out = await ok('node', ['out/iceberg-table.js', warehouse], icebergOnly);
    expect(JSON.parse(out)).toEqual([
      { id: '1', customer: 'Ada', amount: 12.5, paid_at: '1700000000000000' },
      { id: '2', customer: 'Grace', amount: 99.99, paid_at: null },
      { id: '3', customer: 'Zoë', amount: null, paid_at: '1700000123456789' },
    ]);
    const meta = await latestMetadata(warehouse, 'shop.orders');
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual([
      { id: 1n, customer: 'Ada', amount: 12.5, paid_at: 1_700_000_000_000_000n },
      { id: 2n, customer: 'Grace', amount: 99.99, paid_at: null },
      { id: 3n, customer: 'Zoë', amount: null, paid_at: 1_700_000_123_456_789n },
    ]);
  });

  it('createEngine: typechecks, consumes a topic into a table with plain node', async () => {
    await createTopic(brokers, TOPIC, 2);
    const producer = exactProducer(brokers);
    await producer.connect();
    try {
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: EVENTS.map((e) => ({ partition: e.id % 2, value: JSON.stringify(e) })),
      });
    } finally {
      await producer.disconnect();
    }
    expect(await run('npx', ['tsc'], full)).toEqual({ code: 0, stdout: '', stderr: '' });
    const warehouse = join(dir, 'engine-warehouse');
    const out = await ok(
      'node',
      ['out/engine-once.js', brokers[0] as string, TOPIC, warehouse],
      full,
    );
    const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
    expect(JSON.parse(out)).toEqual({
      committedRows: EVENTS.length,
      deadLetters: 0,
      rows: EVENTS.map((e) => ({ id: String(e.id), name: e.name, ts: String(micros(e.ts)) })),
    });
    const meta = await latestMetadata(warehouse, 'shop.events');
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual(
      EVENTS.map((e) => ({ id: BigInt(e.id), name: e.name, ts: micros(e.ts) })),
    );
    expect(await recordedOffsets(meta, GROUP)).toEqual({
      [TOPIC]: await endOffsets(brokers, TOPIC),
    });
  });

  it('createEngine: queries the hot buffer before any commit, then commits the same rows', async () => {
    const topic = `${TOPIC}-hot`;
    await createTopic(brokers, topic, 2);
    const names = ['Ada', 'Grace', 'Zoë', '東京', 'a "quoted" name', '', 'Émilie', 'x'];
    const producer = exactProducer(brokers);
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: names.map((name, id) => ({
          partition: id % 2,
          key: `k${id}`,
          value: JSON.stringify({ id, name }),
        })),
      });
    } finally {
      await producer.disconnect();
    }
    expect(await run('npx', ['tsc'], full)).toEqual({ code: 0, stdout: '', stderr: '' });
    const warehouse = join(dir, 'query-warehouse');
    const out = JSON.parse(
      await ok(
        'node',
        ['out/engine-query.js', brokers[0] as string, topic, warehouse, String(names.length)],
        full,
      ),
    );
    const rows = names.map((name, id) => ({ id: String(id), name, _key: `k${id}` }));
    out.query.hot.partitions.sort(
      (a: { partition: number }, b: { partition: number }) => a.partition - b.partition,
    );
    expect(out).toEqual({
      query: {
        snapshotId: null,
        hot: {
          partitions: [
            { topic, partition: 0, fromOffset: '0' },
            { topic, partition: 1, fromOffset: '0' },
          ],
        },
        rows,
      },
      byKey: rows[3],
      committed: rows,
    });
    const meta = await latestMetadata(warehouse, 'shop.hot');
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual(
      names.map((name, id) => ({ id: BigInt(id), name, _key: `k${id}` })),
    );
    expect(await recordedOffsets(meta, `${topic}-query`)).toEqual({
      [topic]: await endOffsets(brokers, topic),
    });
  });

  it('npx kice help prints the usage the repository binary prints', async () => {
    const installed = await run('npx', ['kice', 'help'], full);
    const repo = await run('node', [join(REPO_ROOT, 'apps/cli/bin/kice.mjs'), 'help'], REPO_ROOT);
    expect(repo.stdout).toMatch(/^usage: kice <command> \[options\]\n/);
    expect(installed).toEqual({ code: 0, stdout: repo.stdout, stderr: '' });
  });

  it('npx kice demo says it needs a clone of the repository', async () => {
    expect(await run('npx', ['kice', 'demo', '--seconds', '1'], full)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'kice demo: runs from a clone of the kice repository only (it starts the local services of test/infra/); the installed package has run and tables\n',
    });
  });
});
