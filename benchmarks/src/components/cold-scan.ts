/**
 * Component benchmark: filtered scans of a large table written with @kice/iceberg's writer,
 * read by @kice/iceberg's cold scan (coldScan: row groups skipped by Parquet statistics,
 * projected column chunks read by range, filters on Arrow columns) and by DuckDB's
 * `iceberg_scan` (the venv's duckdb with its iceberg extension, loaded offline from the
 * duckdb_ext package) on the same table, same queries, in the same run.
 *
 * Table: N rows (10M in the full run, 1M with --quick) in files of 1M rows, row groups of
 * 128 Ki rows, snappy (the writer's defaults otherwise): id long (0..N-1, in order, as
 * Kafka offsets are), user_id long (pseudo-random in 0..N/2: about two rows per user, not
 * sorted), ts timestamptz (one row per ms, in order), amount double, name string.
 *
 * Queries (each system runs each query twice in a fresh child process; the figure is the
 * second run, from planning to the last row; the first run, which for kice includes
 * instantiating parquet-wasm, is kept too; peak RSS is the child's high-water mark over
 * both runs, start-up included):
 * - point on user_id: `user_id = X` (2 rows; no statistics can skip: every row group's
 *   user_id chunk is read and filtered)
 * - point on id: `id = X` (1 row; statistics skip all row groups but one)
 * - range on ts: `ts >= A and ts < B` (1 % of the rows), selecting id and amount
 * The row counts (and, for the point queries, the ids) must agree between the systems.
 *
 * Runs inside `pnpm bench` (components), or alone:
 * `pnpm --filter @kice/benchmarks bench:cold-scan [--quick | --rows N]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  arrowSchemaFor,
  FilesystemCatalog,
  fastAppend,
  LocalFileIO,
  type Schema,
  writeDataFile,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { REPO_ROOT, round } from '../systems/common.ts';

export interface Timing {
  /** The query run a second time in its process (the figure). */
  readonly seconds: number;
  /** The first run in a fresh process (kice: parquet-wasm instantiated inside it). */
  readonly firstSeconds: number;
  readonly peakRssMb: number;
}

export interface ColdScanQueryResult {
  readonly query: string;
  readonly rows: number;
  readonly kice: Timing;
  /** The same with the row groups decoded on POOL_THREADS worker threads running the
   * engine's pool task, as engine.query does (absent in results saved before). */
  readonly kicePool?: Timing;
  readonly duckdb: Timing;
  /** Row counts (and the ids of point queries) equal in every run. */
  readonly agree: boolean;
  /** Row groups kice read / in the files it opened. */
  readonly rowGroupsRead: number;
  readonly rowGroupsTotal: number;
  readonly kiceMbRead: number;
}

export interface ColdScanResult {
  readonly tableRows: number;
  readonly files: number;
  readonly tableMb: number;
  readonly writeSeconds: number;
  readonly queries: readonly ColdScanQueryResult[];
  readonly notes: readonly string[];
}

const SCHEMA: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'user_id', required: true, type: 'long' },
    { id: 3, name: 'ts', required: true, type: 'timestamptz' },
    { id: 4, name: 'amount', required: false, type: 'double' },
    { id: 5, name: 'name', required: false, type: 'string' },
  ],
};

const FILE_ROWS = 1_000_000;
const ROW_GROUP_ROWS = 128 * 1024;
const TS0 = 1_700_000_000_000_000n; // µs

function userId(i: number, users: number): bigint {
  // A multiplicative hash: a fixed permutation-like spread, reproducible across runs.
  return BigInt(Math.imul(i, 2654435761) >>> 0) % BigInt(users);
}

function chunk(from: number, count: number, users: number): arrow.Table {
  const id = new BigInt64Array(count);
  const user = new BigInt64Array(count);
  const ts = new BigInt64Array(count);
  const amount = new Float64Array(count);
  const names: string[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    id[k] = BigInt(i);
    user[k] = userId(i, users);
    ts[k] = TS0 + BigInt(i) * 1000n;
    amount[k] = (i % 100_000) / 100;
    names[k] = `user-${i % 1000}`;
  }
  const schema = arrowSchemaFor(SCHEMA);
  const types = schema.fields.map((f) => f.type);
  const children = [
    arrow.makeData({ type: types[0] as arrow.Int64, data: id }),
    arrow.makeData({ type: types[1] as arrow.Int64, data: user }),
    arrow.makeData({ type: types[2] as arrow.TimestampMicrosecond, data: ts }),
    arrow.makeData({ type: types[3] as arrow.Float64, data: amount }),
    arrow.vectorFromArray(names, new arrow.Utf8()).data[0] as arrow.Data,
  ];
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: count,
    nullCount: 0,
    children,
  });
  return new arrow.Table(schema, [new arrow.RecordBatch(schema, data)]);
}

interface QuerySpec {
  readonly name: string;
  /** For the kice child: the filter as JSON-able expression and the select. */
  readonly kice: { readonly filter: unknown; readonly select?: readonly string[] };
  readonly sql: string;
  readonly idsMatter: boolean;
}

function isoOfMicros(us: bigint): string {
  return new Date(Number(us / 1000n)).toISOString().replace('T', ' ').replace('Z', '+00');
}

function queries(rows: number, users: number): QuerySpec[] {
  const u = userId(4242, users);
  const idX = Math.floor(rows / 2) + 7;
  const a = TS0 + BigInt(Math.floor(rows * 0.3)) * 1000n;
  const b = a + BigInt(Math.floor(rows / 100)) * 1000n;
  return [
    {
      name: `point on user_id (user_id = ${u})`,
      kice: { filter: { op: 'eq', ref: 'user_id', value: `${u}n` } },
      sql: `SELECT * FROM {t} WHERE user_id = ${u}`,
      idsMatter: true,
    },
    {
      name: `point on id (id = ${idX})`,
      kice: { filter: { op: 'eq', ref: 'id', value: `${idX}n` } },
      sql: `SELECT * FROM {t} WHERE id = ${idX}`,
      idsMatter: true,
    },
    {
      name: 'range on ts (1 % of rows), select id, amount',
      kice: {
        filter: {
          op: 'and',
          left: { op: 'gtEq', ref: 'ts', value: `${a}n` },
          right: { op: 'lt', ref: 'ts', value: `${b}n` },
        },
        select: ['id', 'amount'],
      },
      sql: `SELECT id, amount FROM {t} WHERE ts >= TIMESTAMPTZ '${isoOfMicros(a)}' AND ts < TIMESTAMPTZ '${isoOfMicros(b)}'`,
      idsMatter: false,
    },
  ];
}

interface ChildReport {
  readonly seconds: number;
  readonly firstSeconds: number;
  readonly rows: number;
  readonly peakRssMb: number;
  readonly ids?: string[];
  readonly rowGroupsRead?: number;
  readonly rowGroupsTotal?: number;
  readonly bytesRead?: number;
}

const KICE_CHILD = join(REPO_ROOT, 'benchmarks/src/components/cold-scan-query.ts');
/** Worker threads of the pooled kice run: the engine's default on this 2-core machine. */
const POOL_THREADS = 2;

const DUCKDB_CHILD = `
import json, sys, time
import duckdb, duckdb_ext
con = duckdb.connect()
duckdb_ext.init(con)
con.execute("LOAD avro")
con.execute("LOAD iceberg")
meta, sql, want_ids = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sql = sql.replace("{t}", "iceberg_scan('" + meta.replace("'", "''") + "')")
t0 = time.perf_counter()
table = con.execute(sql).fetch_arrow_table()
first = time.perf_counter() - t0
t0 = time.perf_counter()
table = con.execute(sql).fetch_arrow_table()
seconds = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec from the parent.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
out = {"seconds": seconds, "firstSeconds": first, "rows": table.num_rows,
       "peakRssMb": int(hwm) / 1024}
if want_ids:
    out["ids"] = sorted(str(v) for v in table.column("id").to_pylist())
print(json.dumps(out))
`;

function timing(r: ChildReport): Timing {
  return {
    seconds: round(r.seconds, 3),
    firstSeconds: round(r.firstSeconds, 3),
    peakRssMb: round(r.peakRssMb, 1),
  };
}

function runChild(cmd: string, args: readonly string[]): ChildReport {
  const out = execFileSync(cmd, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.toString().trim().split('\n').at(-1) ?? '{}') as ChildReport;
}

export async function benchColdScan(
  python: string,
  opts: { readonly rows: number; readonly dir: string; readonly log: (s: string) => void },
): Promise<ColdScanResult> {
  const { rows, dir, log } = opts;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const io = new LocalFileIO();
  const warehouse = `file://${dir}`;
  const catalog = new FilesystemCatalog({ warehouse, io });
  await catalog.createNamespace(['bench']);
  let table = await catalog.createTable(
    { namespace: ['bench'], name: 'events' },
    { schema: SCHEMA },
  );
  const users = Math.max(1, Math.floor(rows / 2));
  const t0 = performance.now();
  let files = 0;
  let bytes = 0;
  for (let from = 0; from < rows; from += FILE_ROWS) {
    const count = Math.min(FILE_ROWS, rows - from);
    const f = await writeDataFile(
      io,
      `${table.metadata.location}/data/part-${files}.parquet`,
      chunk(from, count, users),
      {
        schema: SCHEMA,
        specId: table.metadata.defaultSpecId,
        partition: [],
        rowGroupSize: ROW_GROUP_ROWS,
      },
    );
    const op = fastAppend(table);
    op.appendFile(f);
    table = await op.commit();
    files++;
    bytes += f.fileSizeInBytes;
    log(`  cold scan: wrote ${from + count} / ${rows} rows`);
  }
  const writeSeconds = (performance.now() - t0) / 1000;
  const metadata = table.metadataLocation.replace(/^file:\/\//, '');
  const out: ColdScanQueryResult[] = [];
  for (const q of queries(rows, users)) {
    log(`  cold scan: ${q.name}…`);
    const kiceRun = (...more: string[]) =>
      runChild(process.execPath, [
        '--import',
        'tsx',
        KICE_CHILD,
        warehouse,
        JSON.stringify(q.kice),
        q.idsMatter ? '1' : '0',
        ...more,
      ]);
    const k = kiceRun();
    const kp = kiceRun(String(POOL_THREADS));
    const d = runChild(python, ['-c', DUCKDB_CHILD, metadata, q.sql, q.idsMatter ? '1' : '0']);
    const same = (x: ChildReport) =>
      x.rows === d.rows && (!q.idsMatter || JSON.stringify(x.ids) === JSON.stringify(d.ids));
    const agree = same(k) && same(kp);
    out.push({
      query: q.name,
      rows: k.rows,
      kice: timing(k),
      kicePool: timing(kp),
      duckdb: timing(d),
      agree,
      rowGroupsRead: k.rowGroupsRead ?? 0,
      rowGroupsTotal: k.rowGroupsTotal ?? 0,
      kiceMbRead: round((k.bytesRead ?? 0) / 1e6, 1),
    });
    log(
      `    kice ${k.seconds.toFixed(3)} s, ${k.peakRssMb.toFixed(0)} MB; kice, ${POOL_THREADS} decode threads ${kp.seconds.toFixed(3)} s; duckdb ${d.seconds.toFixed(3)} s, ${d.peakRssMb.toFixed(0)} MB; rows ${k.rows}/${d.rows}`,
    );
  }
  if (!process.env.KICE_BENCH_KEEP) await rm(dir, { recursive: true, force: true });
  return {
    tableRows: rows,
    files,
    tableMb: round(bytes / 1e6, 1),
    writeSeconds: round(writeSeconds, 1),
    queries: out,
    notes: [
      `files of ${FILE_ROWS} rows, row groups of ${ROW_GROUP_ROWS} rows, snappy; local filesystem`,
      'seconds: the second run of the query in its process (planning to last row); first: the first run; peak RSS: the process high-water mark',
    ],
  };
}

/** The printed lines of a cold scan result. */
export function formatColdScan(r: ColdScanResult): string[] {
  const lines = [
    `cold scan (${r.tableRows.toLocaleString('en-US')} rows, ${r.files} files, ${r.tableMb} MB; written in ${r.writeSeconds} s): kice coldScan vs DuckDB iceberg_scan`,
  ];
  for (const q of r.queries)
    lines.push(
      `  ${q.query}: ${q.rows} rows${q.agree ? '' : ' (ROWS DIFFER)'}; kice ${q.kice.seconds} s (first ${q.kice.firstSeconds} s), ${q.kice.peakRssMb} MB peak (${q.rowGroupsRead}/${q.rowGroupsTotal} row groups, ${q.kiceMbRead} MB read)${q.kicePool ? `; kice decoding in ${POOL_THREADS} threads ${q.kicePool.seconds} s` : ''}; duckdb ${q.duckdb.seconds} s (first ${q.duckdb.firstSeconds} s), ${q.duckdb.peakRssMb} MB peak`,
    );
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--rows');
  const rows = at >= 0 ? Number(args[at + 1]) : args.includes('--quick') ? 1_000_000 : 10_000_000;
  const { venvPython } = await import('../harness.ts');
  const r = await benchColdScan(venvPython(), {
    rows,
    dir: join(REPO_ROOT, '.state/bench', `cold-scan-${Date.now()}`),
    log: (s) => process.stderr.write(`bench: ${s}\n`),
  });
  process.stdout.write(`${formatColdScan(r).join('\n')}\n`);
}
