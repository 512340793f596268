/**
 * Presenting a bench result: the printed table (with the kice/peer ratios), the JSON file
 * in benchmarks/results/ named by date and commit, and the PNG chart beside it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatColdScan } from './components/cold-scan.ts';
import { describeContention } from './components/commit-contention.ts';
import type { CommitLatencyPoint, CommitLatencyResult } from './components/commit-latency.ts';
import { formatQuery } from './components/query-report.ts';
import { formatRecordBatches } from './components/record-batches.ts';
import type { BenchResult } from './harness.ts';
import { REPO_ROOT } from './systems/common.ts';

/** benchmarks/results/ */
export const RESULTS_DIR = join(REPO_ROOT, 'benchmarks/results');

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function fmt(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined) return '–';
  return x.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** The systems table plus ratios, components and scaling, as printed text. */
/** How the report names a value format. */
const FORMAT_LABELS: Record<string, string> = {
  json: 'JSON',
  'json-escaped': 'JSON (escaped strings)',
  'json-map': 'JSON (map column)',
  avro: 'Avro',
  protobuf: 'Protobuf',
};

export function formatResult(r: BenchResult): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `kice bench${r.quick ? ' --quick' : ''} @ ${r.revision.commit}${r.revision.dirty ? ' (dirty)' : ''} — ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, ${m.java}`,
  );
  lines.push(
    `data: ${fmt(r.data.events)} events, ${fmt(r.data.bytes / 1e6, 1)} MB (avg ${r.data.avgEventBytes} B), ${r.data.partitions} partitions; commit interval ${r.commitIntervalMs / 1000} s`,
  );
  const head = [
    'system',
    'events/s',
    'MB/s',
    'CPU s',
    'CPU s/M ev',
    'peak RSS MB',
    'files',
    'avg file MB',
    'verified',
  ];
  const widths = [24, 11, 8, 8, 11, 12, 7, 12, 10];
  lines.push(head.map((h, i) => pad(h, widths[i] as number, i > 0)).join(' '));
  for (const s of r.systems) {
    const cells = [
      s.system,
      s.ok ? fmt(s.eventsPerSecond) : 'FAILED',
      fmt(s.mbPerSecond, 1),
      fmt(s.cpuSeconds, 1),
      fmt(s.cpuSecondsPerMillionEvents, 1),
      fmt(s.peakRssMb),
      fmt(s.dataFiles),
      fmt(s.avgFileMb, 1),
      s.verification
        ? `${s.verification.rows === s.events && s.verification.distinct === s.events ? 'ok' : 'NO'}`
        : '–',
    ];
    lines.push(cells.map((c, i) => pad(c, widths[i] as number, i > 0)).join(' '));
    if (!s.ok) lines.push(`    ${s.system} failed: ${s.error}`);
  }
  const q = r.ratios;
  lines.push(
    `ratios (events/s): kice/ceiling-kafkajs ${fmt(q.kiceVsCeilingKafkajs, 2)}, kice-best/ceiling-kafkajs ${fmt(q.kiceBestVsCeilingKafkajs, 2)}, kice/connect ${fmt(q.kiceVsConnect, 2)}, kice-best/connect ${fmt(q.kiceBestVsConnect, 2)}; CPU per event kice-best/connect ${fmt(q.kiceBestCpuVsConnect, 2)}`,
  );
  if (r.components) {
    const c = r.components.codec;
    lines.push(
      `components (one thread, ${fmt(c.batchRows)}-row batches): ${(c.decode ?? [{ format: 'json', rowsPerSecond: c.decodeRowsPerSecond, mbPerSecond: c.decodeMbPerSecond }]).map((d) => `${FORMAT_LABELS[d.format] ?? d.format} → Arrow ${fmt(d.rowsPerSecond)} rows/s (${d.mbPerSecond} MB/s of input)`).join('; ')}; Arrow → Parquet (snappy) ${fmt(c.parquetRowsPerSecond)} rows/s (${c.parquetArrowMbPerSecond} MB/s of Arrow IPC; Parquet = ${c.parquetToJsonRatio} × JSON size)`,
    );
    const pb = c.decode?.find((d) => d.format === 'protobuf');
    if (pb) {
      lines.push(
        `components (one thread, ${fmt(c.batchRows)}-row batches): Protobuf → Arrow ${fmt(pb.rowsPerSecond)} rows/s (${pb.mbPerSecond} MB/s of framed Protobuf, ${pb.bytesPerRow} B/record) vs JSON → Arrow ${fmt(c.decodeRowsPerSecond)} rows/s`,
      );
    }
    if (r.components.recordBatches) lines.push(formatRecordBatches(r.components.recordBatches));
    if (r.components.coldScan) lines.push(...formatColdScan(r.components.coldScan));
    lines.push(...formatCommitLatency(r.components.commitLatency));
  }
  if (r.query) lines.push(...formatQuery(r.query));
  if (r.scaling) {
    lines.push(
      `scaling, workers: ${r.scaling.workers.map((w) => `${w.threads} → ${w.ok ? `${fmt(w.eventsPerSecond)} events/s, ${w.cpuSecondsPerMillionEvents} CPU s/M` : 'FAILED'}`).join('; ')}`,
    );
    lines.push(
      `scaling, backlog: ${r.scaling.backlog.map((b) => `${fmt(b.events)} → ${b.ok ? `${fmt(b.eventsPerSecond)} events/s, ${b.cpuSecondsPerMillionEvents} CPU s/M` : 'FAILED'}`).join('; ')}`,
    );
  }
  if (r.scaleOut) lines.push(...formatScaleOut(r.scaleOut));
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

/**
 * The commit-latency component: its policy, the measured medians (and commit + expiry),
 * what was extrapolated, and the last milestone ÷ commit #10 — saying whether that last
 * milestone was measured or extrapolated.
 */
export function formatCommitLatency(cl: CommitLatencyResult): string[] {
  const lines = [
    `commit latency (${cl.policy ?? 'fast append'}; local warehouse; median of 5 commits):`,
    `  measured: ${cl.measured.map((p) => `#${fmt(p.commit)} ${p.medianMs} ms`).join(', ')}`,
  ];
  if (cl.measured.some((p) => p.medianWithExpiryMs !== undefined)) {
    lines.push(
      `  commit + expiry, measured: ${cl.measured.map((p) => `#${fmt(p.commit)} ${p.medianWithExpiryMs ?? '–'} ms`).join(', ')}`,
    );
  }
  if (cl.extrapolated.length > 0) {
    lines.push(
      `  EXTRAPOLATED (linear fit ${cl.fit.interceptMs} + ${cl.fit.msPerCommit} ms × commit, not measured): ${cl.extrapolated.map((p) => `#${fmt(p.commit)} ≈ ${p.medianMs} ms`).join(', ')}`,
    );
  }
  const tenth = cl.measured.find((p) => p.commit === 10) ?? cl.measured[0];
  const lastMeasured = cl.measured.at(-1);
  const lastExtrapolated = cl.extrapolated.at(-1);
  const ratio = (p: CommitLatencyPoint) =>
    tenth && tenth.medianMs > 0 ? fmt(p.medianMs / tenth.medianMs, 2) : '–';
  const ratios: string[] = [];
  if (tenth && lastMeasured && lastMeasured !== tenth) {
    ratios.push(
      `#${fmt(lastMeasured.commit)} / #${fmt(tenth.commit)} = ${ratio(lastMeasured)} (measured)`,
    );
  }
  if (tenth && lastExtrapolated) {
    ratios.push(
      `#${fmt(lastExtrapolated.commit)} / #${fmt(tenth.commit)} ≈ ${ratio(lastExtrapolated)} (EXTRAPOLATED, not measured)`,
    );
  }
  if (ratios.length > 0) lines.push(`  ratio: ${ratios.join('; ')}`);
  if (cl.final) {
    lines.push(
      `  table after commit #${fmt(lastMeasured?.commit)}: ${fmt(cl.final.snapshots)} snapshots, ${fmt(cl.final.manifests)} manifests in the current snapshot${cl.final.metadataFiles !== undefined ? `, ${fmt(cl.final.metadataFiles)} metadata files on disk` : ''}; ${cl.totalSeconds} s in all`,
    );
  }
  return lines;
}

/** 1 vs 2 processes in one group, and the commit-contention points, as printed lines. */
export function formatScaleOut(so: NonNullable<BenchResult['scaleOut']>): string[] {
  const lines: string[] = [];
  for (const p of so.processes ?? []) {
    lines.push(
      p.ok
        ? `scale-out, ${p.processes} kice process(es) in one group: ${fmt(p.eventsPerSecond)} events/s in all, CPU s per process ${p.cpuSecondsPerProcess.map((c) => fmt(c, 1)).join(' + ')} (${p.cpuSecondsPerMillionEvents} CPU s/M), peak RSS MB ${p.peakRssMbPerProcess.map((m) => fmt(m)).join(' + ')}, ${p.verification?.snapshots ?? '–'} snapshots; commit interval ${p.commitIntervalMs / 1000} s`
        : `scale-out, ${p.processes} kice process(es): FAILED: ${p.error}`,
    );
  }
  const c = so.contention;
  if (c) {
    lines.push(
      `commit contention (K writers × ${c.commitsPerWriter} ${c.intervalMs > 0 ? `appends, one per ${c.intervalMs} ms each (offered K ÷ ${c.intervalMs / 1000} s commits/s),` : 'back-to-back appends'} of ${c.rowsPerCommit} rows to one table, kice's Committer; ${c.totalSeconds} s in all):`,
    );
    for (const p of c.points) lines.push(`  ${describeContention(p)}`);
  }
  return lines;
}

/** `2026-01-31-<commit>[-quick][-<label>]` (label: the `--only` parts of a partial run). */
export function resultName(r: BenchResult, label?: string): string {
  return `${r.startedAt.slice(0, 10)}-${r.revision.commit}${r.quick ? '-quick' : ''}${label ? `-${label}` : ''}`;
}

/**
 * Writes `<name>.json` and renders `<name>.png` with the venv's matplotlib (and
 * `<name>-contention.png` when the result has commit-contention figures); returns the paths.
 */
export async function saveResult(
  r: BenchResult,
  python: string,
  label?: string,
): Promise<{ json: string; png: string | null }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const base = join(RESULTS_DIR, resultName(r, label));
  const json = `${base}.json`;
  await writeFile(json, `${JSON.stringify(r, null, 2)}\n`);
  const png = `${base}.png`;
  try {
    const req = join(REPO_ROOT, 'benchmarks/requirements.txt');
    execFileSync(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', req], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const script = fileURLToPath(new URL('./chart.py', import.meta.url));
    execFileSync(python, [script, json, png], { stdio: ['ignore', 'inherit', 'inherit'] });
    // A run without systems (--only …) has no systems chart, only the contention one.
    const drawn = [png, `${base}-contention.png`].filter((p) => existsSync(p));
    return { json, png: drawn.length > 0 ? drawn.join(' and ') : null };
  } catch (e) {
    process.stderr.write(`bench: chart not rendered: ${(e as Error).message}\n`);
    return { json, png: null };
  }
}
