/**
 * Two OS processes each commit 50 fast appends (one small data file each) to the same
 * FilesystemCatalog table at the same time. The catalog's create-if-absent metadata write
 * must let exactly one writer win each version and the loser retry on fresh metadata:
 * at the end all 100 appends are in the current snapshot's ancestry, v1..v101 exist
 * once each, the totals add up, and PyIceberg reads every row of all 100 files. The
 * writers did contend: at least one commit was retried after a conflict (with
 * commit.retry.num-retries 0 the loser of the first conflict fails instead).
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentSnapshot, type Snapshot, schemaFromJson } from '@kice/iceberg';
import { afterAll, expect, it } from 'vitest';
import { pyicebergRows, REPO_ROOT, sortBy } from '../support/readers.ts';
import { newWarehouse } from './helpers.ts';

const WORKERS = 2;
const APPENDS = 50;
const ROWS = 3;
const here = dirname(fileURLToPath(import.meta.url));
const TSX = resolve(REPO_ROOT, 'packages/core/node_modules/.bin/tsx');
const WORKER_SCRIPT = join(here, 'concurrent-append-worker.ts');

const warehouse = await newWarehouse('concurrent');
afterAll(() => warehouse.cleanup());

function runWorker(
  worker: number,
  startAt: number,
): Promise<{ snapshotIds: string[]; retries: number }> {
  return new Promise((res, rej) => {
    const args = [
      WORKER_SCRIPT,
      warehouse.dir,
      String(worker),
      String(APPENDS),
      String(ROWS),
      String(startAt),
    ];
    const child = spawn(TSX, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('error', rej);
    child.on('close', (code) => {
      if (code !== 0)
        return rej(new Error(`worker ${worker} exited with ${code}:\n${err.slice(-4000)}`));
      res(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
    });
  });
}

it('two processes × 50 fast appends: every append lands once, v1..v101, PyIceberg reads all rows', async () => {
  await warehouse.catalog.createNamespace(['db']);
  const schema = schemaFromJson({
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'worker', required: true, type: 'int' },
      { id: 3, name: 'label', required: false, type: 'string' },
    ],
  });
  await warehouse.catalog.createTable(
    { namespace: ['db'], name: 't' },
    {
      schema,
      properties: {
        'commit.retry.num-retries': '100',
        'commit.retry.min-wait-ms': '10',
        // Keeps a unlucky writer's backoff short (default 60 s) so the test stays fast.
        'commit.retry.max-wait-ms': '500',
      },
    },
  );

  const startAt = Date.now() + 3000; // both processes are loaded by then
  const t0 = Date.now();
  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, w) => runWorker(w + 1, startAt)),
  );
  const elapsedMs = Date.now() - t0;
  const retries = results.map((r) => r.retries);
  console.log(`concurrent commits: retries per worker ${JSON.stringify(retries)}, ${elapsedMs} ms`);
  // Contention happened: some commit lost a version to the other process and retried.
  expect(retries.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

  const table = await warehouse.catalog.loadTable({ namespace: ['db'], name: 't' });
  const m = table.metadata;
  const total = WORKERS * APPENDS;

  // Walk the ancestry of the current snapshot.
  const byId = new Map<bigint, Snapshot>(m.snapshots.map((s) => [s.snapshotId, s]));
  const ancestry: Snapshot[] = [];
  for (
    let s = currentSnapshot(m);
    s;
    s = s.parentSnapshotId === undefined ? undefined : byId.get(s.parentSnapshotId)
  ) {
    ancestry.push(s);
  }
  expect(ancestry.length).toBe(total);
  expect(new Set(ancestry.map((s) => s.snapshotId.toString()))).toEqual(
    new Set(results.flatMap((r) => r.snapshotIds)),
  );
  expect(m.snapshots.length).toBe(total);
  // Sequence numbers 100, 99, …, 1 down the ancestry; no gaps, no repeats.
  expect(ancestry.map((s) => s.sequenceNumber)).toEqual(
    Array.from({ length: total }, (_, k) => total - k),
  );
  expect(m.lastSequenceNumber).toBe(total);

  // Exactly v1..v101.metadata.json (plus the hint), each once.
  const files = await readdir(join(warehouse.dir, 'db/t/metadata'));
  const versions = files
    .filter((f) => /^v\d+\.metadata\.json$/.test(f))
    .map((f) => Number(f.slice(1, -'.metadata.json'.length)))
    .sort((a, b) => a - b);
  expect(versions).toEqual(Array.from({ length: total + 1 }, (_, k) => k + 1));
  expect(table.metadataLocation).toBe(
    join(warehouse.dir, `db/t/metadata/v${total + 1}.metadata.json`),
  );

  const snap = currentSnapshot(m);
  expect(snap?.summary['total-records']).toBe(String(total * ROWS));
  expect(snap?.summary['total-data-files']).toBe(String(total));

  const expected = [];
  for (let w = 1; w <= WORKERS; w++) {
    for (let a = 0; a < APPENDS; a++) {
      for (let r = 0; r < ROWS; r++) {
        expected.push({
          id: BigInt(w * 1_000_000 + a * 1000 + r),
          worker: w,
          label: `w${w}-a${a}-r${r}`,
        });
      }
    }
  }
  expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual(expected);
});
