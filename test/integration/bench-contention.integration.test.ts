/**
 * The commit-contention benchmark (benchmarks/src/components/commit-contention.ts) on the
 * filesystem catalog, tiny: K = 1 and 3 writers (worker threads) × 4 commits each. Its
 * own check must pass (every partition's offset recorded, every commit once), and
 * PyIceberg must read exactly the rows the writers committed: none lost or doubled by the
 * races. No timing assertions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemCatalog, LocalFileIO } from '@kice/iceberg';
import { afterAll, expect, it } from 'vitest';
import { benchCommitContention } from '../../benchmarks/src/components/commit-contention.ts';
import { pyicebergRows } from '../support/readers.ts';

const COMMITS = 4;
const ROWS = 10;
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('K writers race commits to one table: every commit lands once, counted', async () => {
  dir = await mkdtemp(join(tmpdir(), 'kice-contention-'));
  const r = await benchCommitContention({
    dir,
    writers: [1, 3],
    commitsPerWriter: COMMITS,
    rowsPerCommit: ROWS,
  });
  expect(r.points.map((p) => [p.catalog, p.writers, p.commits, p.verified, p.error])).toEqual([
    ['filesystem', 1, COMMITS, true, null],
    ['filesystem', 3, 3 * COMMITS, true, null],
  ]);
  const [one, three] = r.points;
  // One writer has nobody to conflict with.
  expect(one?.conflictsPerCommit).toBe(0);
  expect(one?.retriesPerCommit).toBe(0);
  expect(one?.maxAttempts).toBe(1);
  // Every retry follows a conflict.
  expect(three?.retriesPerCommit).toBe(three?.conflictsPerCommit);
  for (const p of r.points) {
    expect(p.exhausted).toBe(0);
    expect(p.p99Ms).toBeGreaterThanOrEqual(p.p50Ms);
    expect(p.commitsPerSecond).toBeGreaterThan(0);
  }
  const catalog = new FilesystemCatalog({
    warehouse: join(dir, 'warehouse'),
    io: new LocalFileIO(),
  });
  const t = await catalog.loadTable({ namespace: [r.namespace], name: 'k3' });
  const ids = (await pyicebergRows(t.metadataLocation)).map((row) => String(row.id)).sort();
  const want: string[] = [];
  for (let w = 0; w < 3; w++)
    for (let i = 0; i < COMMITS * ROWS; i++) want.push(String(w * 1_000_000_000 + i));
  expect(ids).toEqual(want.sort());
  expect(t.metadata.snapshots.length).toBe(3 * COMMITS);
});
