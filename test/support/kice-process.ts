/**
 * The kice CLI as a child process for the engine's end-to-end tests: write a temp config,
 * spawn `node apps/cli/bin/kice.mjs run -c <config> [--once]` from the repo root, read its
 * pino JSON log lines from stdout as they come, wait for a line or for exit, `kill -9`, and
 * sample its RSS. Also the bulk readers of what kice wrote (test/support/verify.py).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { IdStats } from './produce.ts';
import { REPO_ROOT, runPython } from './readers.ts';

/** Path of the kice binary. */
export const KICE_BIN = join(REPO_ROOT, 'apps/cli/bin/kice.mjs');
/** The node flags kice runs with: the ones on its shebang line. */
export const KICE_NODE_FLAGS =
  readFileSync(KICE_BIN, 'utf8')
    .split('\n', 1)[0]
    ?.split(' ')
    .filter((a) => a.startsWith('--')) ?? [];
/** The environment kice runs with: the VAR=value words on its shebang line. */
export const KICE_ENV: Record<string, string> = Object.fromEntries(
  (readFileSync(KICE_BIN, 'utf8').split('\n', 1)[0]?.split(' ') ?? [])
    .filter((a) => /^[A-Z_]+=/.test(a))
    .map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
);
/** Path of the bulk verification script. */
export const VERIFY_PY = join(REPO_ROOT, 'test/support/verify.py');

/** One pino log line (JSON) the child printed. */
export interface LogLine {
  readonly level?: number;
  readonly time?: number;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

/** How the child ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Milliseconds from spawn to exit. */
  readonly ms: number;
}

/** Writes `config` (a kice config object) as `kice.yaml` (JSON is YAML) into `dir`; returns its path. */
export async function writeConfig(
  dir: string,
  config: object,
  name = 'kice.yaml',
): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** A running (or finished) kice child process. */
export class KiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON log line printed so far. */
  readonly lines: LogLine[] = [];
  /** Stdout lines that are not JSON. */
  readonly text: string[] = [];
  private stderrChunks: Buffer[] = [];
  private readonly started = Date.now();
  private waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  /** Resolves when the process exited (never rejects). */
  readonly exited: Promise<Exit>;
  private exitInfo: Exit | undefined;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [...KICE_NODE_FLAGS, KICE_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...KICE_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error('kice did not start');
    this.pid = this.child.pid;
    this.child.stderr?.on('data', (b: Buffer) => this.stderrChunks.push(b));
    const rl = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => this.onLine(line));
    const closed = new Promise<void>((r) => rl.once('close', () => r()));
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        // Let stdout drain so that every line is parsed before callers look.
        void closed.then(() => {
          this.exitInfo = { code, signal, ms: Date.now() - this.started };
          resolve(this.exitInfo);
        });
      });
    });
  }

  private onLine(line: string): void {
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      this.text.push(line);
      return;
    }
    this.lines.push(parsed);
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (w.pred(parsed)) w.resolve(parsed);
      else this.waiters.push(w);
    }
  }

  /** Everything the child wrote to stderr so far. */
  get stderr(): string {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }

  /** Whether the child has exited. */
  get done(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Lines whose `msg` equals `msg`. */
  withMsg(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  /**
   * Resolves with the first line (from now on) matching `pred`; rejects when the child exits
   * first or after `timeoutMs`.
   */
  waitForLine(pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching kice log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (l: LogLine): void => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ pred, resolve: done });
      void this.exited.then((e) => {
        clearTimeout(timer);
        reject(
          new Error(`kice exited (${e.code ?? e.signal}) before the line came:\n${this.stderr}`),
        );
      });
    });
  }

  /**
   * Resolves when `n` lines in all (already printed ones included) have matched `pred`, with
   * the n-th; rejects when the child exits first or after `timeoutMs`.
   */
  async waitForNth(pred: (l: LogLine) => boolean, n: number, timeoutMs: number): Promise<LogLine> {
    const seen = this.lines.filter(pred);
    if (seen.length >= n) return seen[n - 1] as LogLine;
    let left = n - seen.length;
    return this.waitForLine((l) => pred(l) && --left === 0, timeoutMs);
  }

  /** SIGKILL (kill -9) and wait for the exit. */
  async kill9(): Promise<Exit> {
    if (!this.done) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (graceful: flush, commit, leave) and wait for the exit. */
  async terminate(): Promise<Exit> {
    if (!this.done) this.child.kill('SIGTERM');
    return this.exited;
  }

  /**
   * Samples the child's resident set size (VmRSS of /proc/<pid>/status) every `everyMs`
   * until it exits; resolves with the peak in bytes and the number of samples.
   */
  async sampleRss(everyMs = 100): Promise<{ peakBytes: number; samples: number }> {
    let peak = 0;
    let samples = 0;
    while (!this.done) {
      try {
        const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
        const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
        if (m) {
          peak = Math.max(peak, Number(m[1]) * 1024);
          samples++;
        }
      } catch {
        // gone between the check and the read
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return { peakBytes: peak, samples };
  }
}

/** Spawns `kice run -c <configPath>` (daemon) or with `--once`. */
export function spawnKice(
  configPath: string,
  opts: { once?: boolean; env?: NodeJS.ProcessEnv } = {},
): KiceProcess {
  const args = ['run', '-c', configPath, ...(opts.once ? ['--once'] : [])];
  return new KiceProcess(args, opts.env);
}

/** Runs `kice run --once`; rejects unless it exits 0. */
export async function runOnce(
  configPath: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ exit: Exit; process: KiceProcess }> {
  const p = spawnKice(configPath, { once: true, env });
  const exit = await p.exited;
  if (exit.code !== 0) {
    throw new Error(
      `kice run --once exited with ${exit.code ?? exit.signal}:\n${p.stderr.slice(-8000)}`,
    );
  }
  return { exit, process: p };
}

// ------------------------------------------------------------------ what kice wrote

/** Directory of table `namespace.name` in a filesystem warehouse. */
export function tableDir(warehouse: string, table: string): string {
  return join(warehouse, ...table.split('.'));
}

/** Path of the table's newest `v<N>.metadata.json` (highest N on disk; the hint may lag). */
export async function latestMetadata(warehouse: string, table: string): Promise<string> {
  const dir = join(tableDir(warehouse, table), 'metadata');
  let best = 0;
  for (const f of await readdir(dir)) {
    const m = /^v(\d+)\.metadata\.json$/.exec(f);
    if (m && Number(m[1]) > best) best = Number(m[1]);
  }
  if (best === 0) throw new Error(`no metadata file in ${dir}`);
  return join(dir, `v${best}.metadata.json`);
}

/** The table metadata JSON (numbers parsed as JS numbers: ids may lose precision, summaries are strings). */
export async function readMetadata(path: string): Promise<{
  'current-schema-id': number;
  schemas: { 'schema-id': number; fields: unknown[] }[];
  snapshots: { summary: Record<string, string> }[];
  'current-snapshot-id': number;
}> {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** `kice.offsets.<groupId>` of the current snapshot, parsed (`{topic: {partition: next}}`). */
export async function recordedOffsets(
  metadataPath: string,
  groupId: string,
): Promise<Record<string, Record<string, string>>> {
  const text = await readFile(metadataPath, 'utf8');
  // The current snapshot id is a 63-bit long: match it as text.
  const cur = /"current-snapshot-id"\s*:\s*(-?\d+)/.exec(text)?.[1];
  const meta = JSON.parse(text.replace(/("snapshot-id"\s*:\s*)(-?\d+)/g, '$1"$2"')) as {
    snapshots: { 'snapshot-id': string; summary: Record<string, string> }[];
  };
  const snap = meta.snapshots.find((s) => s['snapshot-id'] === cur);
  const raw = snap?.summary[`kice.offsets.${groupId}`];
  if (raw === undefined) throw new Error(`no kice.offsets.${groupId} in the current snapshot`);
  return JSON.parse(raw) as Record<string, Record<string, string>>;
}

/** verify.py ids: stats of the id column as PyIceberg (default) or DuckDB reads the table. */
export async function tableIdStats(
  metadataPath: string,
  column: string,
  reader: 'pyiceberg' | 'duckdb' = 'pyiceberg',
): Promise<IdStats> {
  const out = await runPython([VERIFY_PY, 'ids', metadataPath, column, '--reader', reader]);
  return JSON.parse(out) as IdStats;
}

/** One data file of the current snapshot as PyIceberg plans it. */
export interface PlannedFile {
  readonly path: string;
  readonly records: number;
  readonly partition: (string | null)[];
}

/** verify.py files: the current snapshot's data files (PyIceberg's plan). */
export async function plannedFiles(metadataPath: string): Promise<PlannedFile[]> {
  const out = await runPython([VERIFY_PY, 'files', metadataPath]);
  return (JSON.parse(out) as { files: PlannedFile[] }).files;
}

/** What DuckDB's iceberg_scan did for a filtered count (verify.py duckdb-scanned). */
export interface DuckdbScan {
  /** Rows matching the filter. */
  readonly count: number;
  /** Distinct data files (DuckDB's `filename` column) the matching rows come from. */
  readonly filenames: string[];
  /** "Total Files Read" of the ICEBERG_SCAN operator in the query profile. */
  readonly filesRead: number;
  /** The same for an unfiltered count(*). */
  readonly filesReadUnfiltered: number;
}

/** verify.py duckdb-scanned: rows matching `where` (SQL) and the data files DuckDB read for them. */
export async function duckdbScanned(metadataPath: string, where: string): Promise<DuckdbScan> {
  const out = JSON.parse(await runPython([VERIFY_PY, 'duckdb-scanned', metadataPath, where])) as {
    count: number;
    filenames: string[];
    files_read: number;
    files_read_unfiltered: number;
  };
  return {
    count: out.count,
    filenames: out.filenames,
    filesRead: out.files_read,
    filesReadUnfiltered: out.files_read_unfiltered,
  };
}
