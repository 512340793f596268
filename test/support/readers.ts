/**
 * Independent Iceberg readers for interop tests: PyIceberg and DuckDB, run through
 * test/support/readers.py with the project's Python venv. Rows come back decoded into
 * the in-memory conventions of packages/iceberg/src/spec/types.ts (see ./tagged.ts), so a
 * test can `expect(sortBy(rows, 'id')).toEqual(expected)`.
 *
 * The venv python is $KICE_PYTHON when set, else what test/infra/python-env.sh prints
 * (it creates the venv on first use).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodeTagged, parseTaggedRows, type Row } from './tagged.ts';

export { decodeTagged, encodeTagged, type JsonValue, parseTaggedRows, type Row } from './tagged.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const REPO_ROOT = resolve(here, '../..');
/** Path of the Python reader script. */
export const READERS_PY = join(here, 'readers.py');

let pythonPath: Promise<string> | undefined;

/** The venv python: $KICE_PYTHON, or the path test/infra/python-env.sh prints (memoized). */
export function venvPython(): Promise<string> {
  if (pythonPath === undefined) {
    const fromEnv = process.env.KICE_PYTHON;
    pythonPath = fromEnv
      ? Promise.resolve(fromEnv)
      : promisify(execFile)('bash', [join(REPO_ROOT, 'test/infra/python-env.sh')], {
          maxBuffer: 16 * 1024 * 1024,
        }).then(({ stdout }) => stdout.trim().split('\n').at(-1) ?? '');
  }
  return pythonPath;
}

/**
 * Runs the venv python with `args` and resolves with its whole stdout. Rejects with an
 * Error holding the command and the tail of stderr when it exits non-zero. Output is
 * collected in chunks: no buffer limit.
 */
export async function runPython(args: readonly string[]): Promise<string> {
  const python = await venvPython();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolvePromise(Buffer.concat(out).toString('utf8'));
      const stderr = Buffer.concat(err).toString('utf8').slice(-8000);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      reject(new Error(`python ${args.join(' ')} exited with ${how}:\n${stderr}`));
    });
  });
}

/** Runs one readers.py command and resolves with its stdout. */
export function runReaders(command: string, ...args: string[]): Promise<string> {
  return runPython([READERS_PY, command, ...args]);
}

/** Rows of a table as PyIceberg reads them (`StaticTable.from_metadata(...).scan().to_arrow()`). */
export async function pyicebergRows(
  metadataPath: string,
  opts: { snapshotId?: bigint; filter?: string } = {},
): Promise<Row[]> {
  const args = [metadataPath];
  if (opts.snapshotId !== undefined) args.push('--snapshot-id', opts.snapshotId.toString());
  if (opts.filter !== undefined) args.push('--filter', opts.filter);
  return parseTaggedRows(await runReaders('pyiceberg-rows', ...args));
}

/** Rows of a table as PyIceberg reads it through a REST catalog (`load_catalog("rest", uri=...)`). */
export async function restRows(uri: string, table: string): Promise<Row[]> {
  return parseTaggedRows(await runReaders('rest-rows', uri, table));
}

/** Rows of a table as DuckDB's `iceberg_scan` reads them. */
export async function duckdbRows(metadataPath: string): Promise<Row[]> {
  return parseTaggedRows(await runReaders('duckdb-rows', metadataPath));
}

/** Result rows of a DuckDB query; `{t}` in `sql` stands for `iceberg_scan('<metadataPath>')`. */
export async function duckdbQuery(metadataPath: string, sql: string): Promise<Row[]> {
  return parseTaggedRows(await runReaders('duckdb-query', metadataPath, sql));
}

/** The data files PyIceberg plans for a row filter, and how many an unfiltered scan plans. */
export interface ScanPlan {
  /** Data file paths as written in the manifests, sorted. */
  readonly files: string[];
  readonly totalFiles: number;
}

/** PyIceberg's file plan for `filter` (a PyIceberg row filter string, e.g. `"id = 5"`). */
export async function pyicebergPlan(metadataPath: string, filter: string): Promise<ScanPlan> {
  const out = JSON.parse(await runReaders('pyiceberg-plan', metadataPath, '--filter', filter)) as {
    files: string[];
    total_files: number;
  };
  return { files: out.files, totalFiles: out.total_files };
}

/** One snapshot as PyIceberg parsed it from the table metadata. */
export interface PySnapshot {
  readonly snapshotId: bigint;
  readonly parentSnapshotId: bigint | null;
  readonly sequenceNumber: number;
  readonly timestampMs: number;
  readonly schemaId: number | null;
  readonly manifestList: string;
  /** Summary including `operation`; every value a string. */
  readonly summary: Record<string, string>;
}

/** The snapshots of a table and its current snapshot, as PyIceberg parses them. */
export async function pyicebergHistory(
  metadataPath: string,
): Promise<{ currentSnapshotId: bigint | null; snapshots: PySnapshot[] }> {
  const raw = JSON.parse(await runReaders('pyiceberg-history', metadataPath)) as {
    current_snapshot_id: string | null;
    snapshots: {
      snapshot_id: string;
      parent_snapshot_id: string | null;
      sequence_number: number;
      timestamp_ms: number;
      schema_id: number | null;
      manifest_list: string;
      summary: Record<string, string>;
    }[];
  };
  const big = (s: string | null) => (s === null ? null : BigInt(s));
  return {
    currentSnapshotId: big(raw.current_snapshot_id),
    snapshots: raw.snapshots.map((s) => ({
      snapshotId: BigInt(s.snapshot_id),
      parentSnapshotId: big(s.parent_snapshot_id),
      sequenceNumber: s.sequence_number,
      timestampMs: s.timestamp_ms,
      schemaId: s.schema_id,
      manifestList: s.manifest_list,
      summary: s.summary,
    })),
  };
}

/** What `pyicebergWrite` creates: a table and the rows of each append. */
export interface PyWriteSpec {
  /** Iceberg schema JSON (`{"type":"struct","schema-id":0,"fields":[…]}`). */
  readonly schema: object;
  /** Partition spec JSON fields (`{"fields":[{"source-id","field-id","name","transform"}]}`). */
  readonly partitionSpec?: object;
  /** Table properties; `format-version` is 2 unless set here. */
  readonly properties?: Record<string, string>;
  /** One PyIceberg append per entry; rows keyed by column name, in-memory conventions. */
  readonly appends: readonly (readonly Row[])[];
}

/** Where `pyicebergWrite` left the table's current metadata. */
export interface PyWriteResult {
  /** As PyIceberg reports it (`file:///…/metadata/0000N-….metadata.json`). */
  readonly metadataLocation: string;
  /** The same as a local filesystem path. */
  readonly metadataPath: string;
}

/**
 * Creates `identifier` (`namespace.table`) with PyIceberg's SqlCatalog (sqlite under
 * `warehouseDir`) and appends each batch of rows. Note that PyIceberg assigns fresh
 * field IDs on create (as Java does): number the schema 1..n depth-first to keep yours.
 */
export async function pyicebergWrite(
  warehouseDir: string,
  identifier: string,
  spec: PyWriteSpec,
): Promise<PyWriteResult> {
  const dir = await mkdtemp(join(tmpdir(), 'kice-pywrite-'));
  try {
    const file = join(dir, 'spec.json');
    const body: Record<string, unknown> = {
      schema: spec.schema,
      appends: spec.appends.map((rows) => rows.map((r) => encodeTagged(r))),
    };
    if (spec.partitionSpec !== undefined) body.partition_spec = spec.partitionSpec;
    if (spec.properties !== undefined) body.properties = spec.properties;
    await writeFile(file, JSON.stringify(body));
    const out = await runReaders('pyiceberg-write', warehouseDir, identifier, file);
    const metadataLocation = out.trim().split('\n').at(-1) ?? '';
    const metadataPath = metadataLocation.startsWith('file:')
      ? fileURLToPath(metadataLocation)
      : metadataLocation;
    return { metadataLocation, metadataPath };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Appends `rows` to the Hadoop-layout (filesystem catalog) table in `tableDir` as another
 * writer: PyIceberg writes the files and the next metadata, committed as
 * `v<N+1>.metadata.json` plus `version-hint.text` (readers.py pyiceberg-append-hadoop).
 * Resolves with the new metadata file's path.
 */
export async function pyicebergAppendHadoop(
  tableDir: string,
  rows: readonly Row[],
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kice-pyappend-'));
  try {
    const file = join(dir, 'rows.json');
    await writeFile(file, JSON.stringify(rows.map((r) => encodeTagged(r))));
    const out = await runReaders('pyiceberg-append-hadoop', tableDir, file);
    return out.trim().split('\n').at(-1) ?? '';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rows sorted by a column (numbers, bigints or strings), for order-free comparisons. */
export function sortBy(rows: readonly Row[], column: string): Row[] {
  return [...rows].sort((a, b) => {
    const x = a[column] as number | bigint | string;
    const y = b[column] as number | bigint | string;
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
