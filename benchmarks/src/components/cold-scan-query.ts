/**
 * Child process of the cold scan benchmark (./cold-scan.ts): runs one coldScan query on the
 * benchmark table twice and prints one JSON line: seconds of the second run and of the
 * first (planning to last batch), rows, peak RSS (MB), the ids of the rows when asked, and
 * the scan's row group / byte counts.
 *
 * Usage: cold-scan-query.ts <warehouse URI> <{"filter": Expr, "select"?: [...]}> <0|1 ids>
 * (bigint literals in the filter are strings ending in "n").
 */
import { readFileSync } from 'node:fs';
import { coldScan, type Expr, FilesystemCatalog, LocalFileIO } from '@kice/iceberg';

const [warehouse, spec, wantIds] = process.argv.slice(2);
if (!warehouse || !spec) {
  process.stderr.write('usage: cold-scan-query.ts <warehouse> <query json> <0|1>\n');
  process.exit(2);
}
const query = JSON.parse(spec, (_k, v) =>
  typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
) as { filter: Expr; select?: string[] };
const catalog = new FilesystemCatalog({ warehouse, io: new LocalFileIO() });
const table = await catalog.loadTable({ namespace: ['bench'], name: 'events' });
async function run() {
  const t0 = performance.now();
  const scan = await coldScan(table, {
    filter: query.filter,
    ...(query.select ? { select: query.select } : {}),
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
