/**
 * Child process of the cold scan benchmark (./cold-scan.ts): runs one coldScan query on the
 * benchmark table twice and prints one JSON line: seconds of the second run and of the
 * first (planning to last batch), rows, peak RSS (MB), the ids of the rows when asked, and
 * the scan's row group / byte counts.
 *
 * Usage: cold-scan-query.ts <warehouse URI> <{"filter": Expr, "select"?: [...]}> <0|1 ids>
 * [threads] (bigint literals in the filter are strings ending in "n"). With `threads` > 0
 * the row groups decode on that many worker threads running the engine's pool task
 * (`readRowGroup`, as engine.query does) instead of on the main thread.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  coldScan,
  type Expr,
  FilesystemCatalog,
  LocalFileIO,
  type RowGroupDecoder,
} from '@kice/iceberg';
import { REPO_ROOT } from '../systems/common.ts';

const [warehouse, spec, wantIds, threadArg] = process.argv.slice(2);
if (!warehouse || !spec) {
  process.stderr.write('usage: cold-scan-query.ts <warehouse> <query json> <0|1>\n');
  process.exit(2);
}
const query = JSON.parse(spec, (_k, v) =>
  typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
) as { filter: Expr; select?: string[] };
const catalog = new FilesystemCatalog({ warehouse, io: new LocalFileIO() });
const table = await catalog.loadTable({ namespace: ['bench'], name: 'events' });
const threads = Number(threadArg ?? 0);

/** Row groups to `threads` workers, each task to the one with the fewest outstanding. */
function workerDecoder(n: number): { decoder: RowGroupDecoder; close: () => Promise<void> } {
  const poolTasks = join(REPO_ROOT, 'packages/core/bundles/pool-tasks.mjs');
  const workers = Array.from({ length: n }, () => {
    const w = new Worker(new URL('./cold-scan-decoder.mjs', import.meta.url), {
      workerData: { poolTasks },
    });
    const waiting = new Map<number, (r: unknown) => void>();
    w.on('message', (m: { id: number; result: unknown }) => {
      waiting.get(m.id)?.(m.result);
      waiting.delete(m.id);
    });
    return { w, waiting };
  });
  let next = 0;
  const decoder: RowGroupDecoder = async (request) => {
    const slot = workers.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
    const id = next++;
    const result = (await new Promise<unknown>((resolve) => {
      slot.waiting.set(id, resolve);
      slot.w.postMessage({ id, task: { kind: 'readRowGroup', ...request } });
    })) as { ok: boolean; ipc?: Uint8Array; error?: { message: string } };
    if (!result.ok || !result.ipc) throw new Error(result.error?.message ?? 'decode failed');
    return result.ipc;
  };
  return {
    decoder,
    close: async () => void (await Promise.all(workers.map((x) => x.w.terminate()))),
  };
}
const pool = threads > 0 ? workerDecoder(threads) : undefined;

async function run() {
  const t0 = performance.now();
  const scan = await coldScan(table, {
    filter: query.filter,
    ...(query.select ? { select: query.select } : {}),
    ...(pool ? { decoder: pool.decoder } : {}),
  });
  let rows = 0;
  const ids: string[] = [];
  for await (const batch of scan.batches()) {
    rows += batch.numRows;
    if (wantIds === '1') {
      const col = batch.getChild('id');
      for (let i = 0; i < batch.numRows; i++) ids.push(String(col?.get(i)));
    }
  }
  return { seconds: (performance.now() - t0) / 1000, rows, ids, stats: scan.stats };
}

// The first query of a process also instantiates parquet-wasm; the second is the figure.
const first = await run();
const { seconds, rows, ids, stats } = await run();
await pool?.close();
process.stdout.write(
  `${JSON.stringify({
    seconds,
    firstSeconds: first.seconds,
    rows,
    // VmHWM, not resourceUsage().maxRSS: Linux carries maxRSS over fork + exec.
    peakRssMb: Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024,
    ...(wantIds === '1' ? { ids: ids.sort() } : {}),
    rowGroupsRead: stats.rowGroupsRead,
    rowGroupsTotal: stats.rowGroupsTotal,
    bytesRead: stats.bytesRead,
  })}\n`,
);
