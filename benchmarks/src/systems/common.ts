/**
 * What every end-to-end system run shares: the context (broker, data set, folders), the
 * result record, verification with PyIceberg, and the figures derived from a measurement.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PreparedTopic } from '../data.ts';
import type { Measured } from '../proc.ts';

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** Everything a system run needs to know. */
export interface RunContext {
  readonly broker: string;
  readonly data: PreparedTopic;
  /** Folder for this benchmark run's warehouses, configs, logs and profiles. */
  readonly runDir: string;
  /** The venv python with PyIceberg. */
  readonly python: string;
  /** Commit interval used by kice and by the Connect sink. */
  readonly commitIntervalMs: number;
  readonly log: (line: string) => void;
}

/** PyIceberg's view of a table written by a system. */
export interface Verification {
  readonly rows: number;
  /** Distinct event_id values: rows − distinct = doubled rows. */
  readonly distinct: number;
  readonly dataFiles: number;
  readonly dataBytes: number;
  readonly snapshots: number;
}

/** One system's measured run (one row of the printed table). */
export interface SystemResult {
  /** e.g. `ceiling-kafkajs`, `kice`, `kice-best`, `iceberg-kafka-connect`. */
  readonly system: string;
  /** The settings that differ from the system's defaults. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly events: number;
  /** True when the run finished and, for table writers, PyIceberg counted exactly N distinct rows. */
  readonly ok: boolean;
  readonly error: string | null;
  readonly wallSeconds: number;
  readonly eventsPerSecond: number;
  /** Record value megabytes (10^6) per second. */
  readonly mbPerSecond: number;
  /** User + sys CPU seconds of the whole process tree. */
  readonly cpuSeconds: number;
  readonly cpuSecondsPerMillionEvents: number;
  readonly peakRssMb: number;
  /** Data files in the table (null for the ceilings, which write nothing). */
  readonly dataFiles: number | null;
  readonly avgFileMb: number | null;
  readonly verification: Verification | null;
}

const MB = 1e6;

/** Turns a measurement (+ PyIceberg's verification for table writers) into a result row. */
export function toResult(
  system: string,
  settings: Record<string, unknown>,
  ctx: RunContext,
  m: Pick<Measured, 'wallSeconds' | 'cpuSeconds' | 'peakRssBytes'>,
  failure: string | null,
  verification: Verification | null,
  writesTable: boolean,
): SystemResult {
  const n = ctx.data.events;
  let error = failure;
  if (error === null && writesTable) {
    if (verification === null) error = 'no table to verify';
    else if (verification.rows !== n || verification.distinct !== n)
      error = `PyIceberg counted ${verification.rows} rows (${verification.distinct} distinct event_id), expected ${n}`;
  }
  const ok = error === null;
  return {
    system,
    settings,
    events: n,
    ok,
    error,
    wallSeconds: round(m.wallSeconds, 3),
    eventsPerSecond: ok ? Math.round(n / m.wallSeconds) : 0,
    mbPerSecond: ok ? round(ctx.data.bytes / MB / m.wallSeconds, 2) : 0,
    cpuSeconds: round(m.cpuSeconds, 2),
    cpuSecondsPerMillionEvents: round((m.cpuSeconds / n) * 1e6, 2),
    peakRssMb: round(m.peakRssBytes / MB, 1),
    dataFiles: verification ? verification.dataFiles : null,
    avgFileMb:
      verification && verification.dataFiles > 0
        ? round(verification.dataBytes / verification.dataFiles / MB, 2)
        : null,
    verification,
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Counts a table's rows and distinct event ids with PyIceberg (benchmarks/src/verify.py). */
export function verifyTable(python: string, tableDir: string): Promise<Verification> {
  const script = fileURLToPath(new URL('../verify.py', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [script, tableDir],
      { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`verify.py failed: ${stderr || err.message}`));
        const line = stdout.trim().split('\n').at(-1) ?? '';
        resolve(JSON.parse(line) as Verification);
      },
    );
  });
}

/** The last `n` lines of a process's output, for error messages. */
export function tail(s: string, n = 15): string {
  return s.trim().split('\n').slice(-n).join('\n');
}

/** total-records of the table's newest metadata file, or 0. */
export async function committedRows(tableDir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(join(tableDir, 'metadata'));
  } catch {
    return 0;
  }
  let best = -1;
  for (const n of names) {
    const m = /^v(\d+)\.metadata\.json$/.exec(n);
    if (m && Number(m[1]) > best) best = Number(m[1]);
  }
  if (best < 0) return 0;
  try {
    const meta = JSON.parse(
      await readFile(join(tableDir, 'metadata', `v${best}.metadata.json`), 'utf8'),
    ) as {
      'current-snapshot-id'?: number;
      snapshots?: { 'snapshot-id': number; summary?: Record<string, string> }[];
    };
    // Snapshot ids exceed 2^53 and JSON.parse rounds them alike on both sides: compare as is.
    const cur = meta.snapshots?.find((s) => s['snapshot-id'] === meta['current-snapshot-id']);
    return Number(cur?.summary?.['total-records'] ?? 0);
  } catch {
    return 0; // being written
  }
}
