/**
 * One writer process of concurrent-commits.integration.test.ts. Run with tsx:
 *
 *   tsx concurrent-append-worker.ts <warehouse dir> <worker number> <appends> <rows> <start-at ms>
 *
 * Waits until <start-at ms> (so that both writers start together), then commits <appends>
 * fast appends of one data file of <rows> rows each to table db.t of the FilesystemCatalog
 * at <warehouse dir>. Row ids are worker * 1e6 + append * 1000 + row. Prints one JSON line:
 * {"snapshotIds": [...], "retries": N}, where retries are the commit attempts past the first
 * (AppendOperation.attempts), checked against the committed manifest list's name
 * (`snap-<id>-<attempt>-<uuid>.avro`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { currentSnapshot } from '@kice/iceberg';
import { appendRows, newWarehouseAt } from './helpers.ts';

const [dir, workerArg, appendsArg, rowsArg, startArg] = process.argv.slice(2);
if (!dir || !workerArg || !appendsArg || !rowsArg || !startArg) {
  console.error('usage: concurrent-append-worker.ts <dir> <worker> <appends> <rows> <start-at ms>');
  process.exit(2);
}
const worker = Number(workerArg);
const appends = Number(appendsArg);
const rowsPer = Number(rowsArg);

const { catalog } = newWarehouseAt(dir);
const id = { namespace: ['db'], name: 't' };
await sleep(Math.max(0, Number(startArg) - Date.now()));

const snapshotIds: string[] = [];
let retries = 0;
for (let a = 0; a < appends; a++) {
  const table = await catalog.loadTable(id);
  const rows = Array.from({ length: rowsPer }, (_, r) => ({
    id: BigInt(worker * 1_000_000 + a * 1000 + r),
    worker,
    label: `w${worker}-a${a}-r${r}`,
  }));
  const { table: committed, attempts } = await appendRows(table, rows);
  // The committed snapshot is ours: fast append returns the table it committed.
  const snap = currentSnapshot(committed.metadata);
  if (!snap) throw new Error('no current snapshot after commit');
  const attempt = /\/snap-\d+-(\d+)-[^/]+\.avro$/.exec(snap.manifestList);
  if (!attempt) throw new Error(`unexpected manifest list name ${snap.manifestList}`);
  if (Number(attempt[1]) !== attempts)
    throw new Error(`${snap.manifestList} was committed by attempt ${attempts}`);
  retries += attempts - 1;
  snapshotIds.push(snap.snapshotId.toString());
}
process.stdout.write(`${JSON.stringify({ snapshotIds, retries })}\n`);
