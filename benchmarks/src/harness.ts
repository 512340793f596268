/**
 * The end-to-end harness: prepares the data once, then runs the chosen systems one after
 * another on the same broker and topic, each verified with PyIceberg, and returns the
 * result record that main.ts prints and saves (and the smoke test checks).
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodecResult } from './components/codec.ts';
import type { ColdScanResult } from './components/cold-scan.ts';
import type { CommitLatencyResult } from './components/commit-latency.ts';
import type { FreshnessResult } from './components/freshness.ts';
import type { KeyLookupResult } from './components/key-lookup.ts';
import type { RecordBatchResult } from './components/record-batches.ts';
import { PARTITIONS, prepareTopic } from './data.ts';
import { describeMachine, describeRevision, type Machine, type Revision } from './machine.ts';
import type { ScaleOutResult } from './scale-out.ts';
import { runCeiling } from './systems/ceiling.ts';
import { REPO_ROOT, type RunContext, round, type SystemResult } from './systems/common.ts';
import { prepareConnect, runConnect } from './systems/connect.ts';
import { type KiceSettings, runKice } from './systems/kice.ts';

/** End-to-end systems the harness can run. */
export type SystemName =
  | 'ceiling-kafkajs'
  | 'ceiling-platformatic'
  | 'kice'
  | 'kice-best'
  | 'iceberg-kafka-connect';

export interface BenchOptions {
  /** Events in the data set. */
  readonly events: number;
  readonly systems: readonly SystemName[];
  /** Bootstrap address; default: start (or reuse) test/infra/kafka.sh's broker. */
  readonly broker?: string;
  /** Default `<repo>/.state/bench`. */
  readonly stateDir?: string;
  /** kice's and the Connect sink's commit interval; default kice's default, 10 s. */
  readonly commitIntervalMs?: number;
  /** Settings of the `kice` run (default: none, kice's defaults). */
  readonly kice?: KiceSettings;
  /** Settings of the `kice-best` run. */
  readonly kiceBest?: KiceSettings;
  /** tasks.max of the Connect sink; default the number of cores. */
  readonly connectTasks?: number;
  /** Write CPU profiles of the `kice-best` run into `<runDir>/profile`. */
  readonly cpuProfile?: boolean;
  readonly log?: (line: string) => void;
}

/** Events/s and cost per event as the backlog or the worker count changes. */
export interface ScalingResult {
  readonly workers: {
    threads: number;
    eventsPerSecond: number;
    cpuSecondsPerMillionEvents: number;
    ok: boolean;
  }[];
  readonly backlog: {
    events: number;
    eventsPerSecond: number;
    cpuSecondsPerMillionEvents: number;
    ok: boolean;
  }[];
}

/** Everything one `pnpm bench` run measured (saved as JSON). */
export interface BenchResult {
  readonly format: 'kice-bench/1';
  readonly startedAt: string;
  readonly quick: boolean;
  readonly revision: Revision;
  readonly machine: Machine;
  readonly data: {
    readonly topic: string;
    readonly events: number;
    readonly partitions: number;
    readonly bytes: number;
    readonly avgEventBytes: number;
    readonly produceSeconds: number;
    readonly reused: boolean;
  };
  readonly commitIntervalMs: number;
  readonly systems: SystemResult[];
  /** kice ÷ peer, events/s (and CPU per event for Connect); null when a side is missing or failed. */
  readonly ratios: {
    readonly kiceVsCeilingKafkajs: number | null;
    readonly kiceBestVsCeilingKafkajs: number | null;
    readonly kiceVsConnect: number | null;
    readonly kiceBestVsConnect: number | null;
    /** kice-best CPU s per M events ÷ Connect's (lower is better). */
    readonly kiceBestCpuVsConnect: number | null;
  };
  readonly components: {
    codec: CodecResult;
    commitLatency: CommitLatencyResult;
    /** Absent in results saved before it was measured. */
    recordBatches?: RecordBatchResult;
    /** Absent in results saved before it was measured. */
    coldScan?: ColdScanResult;
  } | null;
  /** Freshness and key lookups over the hot buffer; absent in results saved before. */
  readonly query?: {
    freshness: FreshnessResult;
    keyLookup: KeyLookupResult;
  } | null;
  readonly scaling: ScalingResult | null;
  /** 1 vs 2 processes in one group, and commit contention on one table (docs/SCALING.md). */
  readonly scaleOut: ScaleOutResult | null;
  readonly notes: string[];
}

/** Where the broker runs; starts test/infra/kafka.sh's broker when none is given. */
export function ensureBroker(broker?: string): string {
  if (broker) return broker;
  const out = execFileSync('bash', [join(REPO_ROOT, 'test/infra/kafka.sh'), 'start'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.toString().trim().split('\n').at(-1) as string;
}

/** The venv python with PyIceberg (test/infra/python-env.sh), or $KICE_PYTHON. */
export function venvPython(): string {
  if (process.env.KICE_PYTHON) return process.env.KICE_PYTHON;
  const out = execFileSync('bash', [join(REPO_ROOT, 'test/infra/python-env.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.toString().trim().split('\n').at(-1) as string;
}

function ratio(a: SystemResult | undefined, b: SystemResult | undefined): number | null {
  if (!a?.ok || !b?.ok || b.eventsPerSecond === 0) return null;
  return round(a.eventsPerSecond / b.eventsPerSecond, 2);
}

/** Builds the run context (broker, python, prepared topic, run folder). */
export async function prepareContext(
  events: number,
  opts: Pick<BenchOptions, 'broker' | 'stateDir' | 'commitIntervalMs' | 'log'>,
): Promise<RunContext> {
  const log = opts.log ?? (() => {});
  const broker = ensureBroker(opts.broker);
  const python = venvPython();
  const stateDir = opts.stateDir ?? join(REPO_ROOT, '.state/bench');
  const runDir = join(stateDir, 'runs', new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(runDir, { recursive: true });
  log(`preparing ${events} events in ${PARTITIONS} partitions on ${broker}…`);
  const data = await prepareTopic(broker, events, stateDir, log);
  log(
    data.reused
      ? `reusing topic ${data.topic} (${(data.bytes / 1e6).toFixed(1)} MB)`
      : `produced ${data.topic} (${(data.bytes / 1e6).toFixed(1)} MB) in ${data.produceSeconds.toFixed(1)} s`,
  );
  return {
    broker,
    data,
    runDir,
    python,
    commitIntervalMs: opts.commitIntervalMs ?? 10_000,
    log,
  };
}

/** Runs one named system on a prepared context. */
export async function runSystem(
  name: SystemName,
  ctx: RunContext,
  opts: Pick<BenchOptions, 'kice' | 'kiceBest' | 'connectTasks' | 'cpuProfile'>,
): Promise<SystemResult> {
  switch (name) {
    case 'ceiling-kafkajs':
      return runCeiling('kafkajs', ctx);
    case 'ceiling-platformatic':
      return runCeiling('platformatic', ctx);
    case 'kice':
      return runKice(ctx, { name: 'kice', ...(opts.kice ? { settings: opts.kice } : {}) });
    case 'kice-best':
      return runKice(ctx, {
        name: 'kice-best',
        settings: opts.kiceBest ?? {},
        ...(opts.cpuProfile ? { cpuProfileDir: join(ctx.runDir, 'profile') } : {}),
      });
    case 'iceberg-kafka-connect':
      return runConnect(ctx, {
        tasks: opts.connectTasks ?? describeMachine().cores,
        timeoutSeconds: 120 + (ctx.data.events / 1e6) * 300,
      });
  }
}

/** Prints one finished system's headline. */
export function describeResult(r: SystemResult): string {
  if (!r.ok) return `${r.system}: FAILED: ${r.error}`;
  return `${r.system}: ${r.eventsPerSecond.toLocaleString('en-US')} events/s, ${r.mbPerSecond} MB/s, ${r.cpuSecondsPerMillionEvents} CPU s/M events, peak RSS ${r.peakRssMb} MB${r.dataFiles === null ? '' : `, ${r.dataFiles} files of ${r.avgFileMb} MB`}`;
}

/**
 * Prepares the data once and runs `systems` one after another on it. Components,
 * scaling and scale-out are left null (main.ts adds them).
 */
export async function runBenchmark(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? (() => {});
  const startedAt = new Date().toISOString();
  if (opts.systems.includes('iceberg-kafka-connect')) {
    log('fetching the Kafka Connect + Iceberg sink jars (once)…');
    await prepareConnect();
  }
  const ctx = await prepareContext(opts.events, opts);
  const systems: SystemResult[] = [];
  for (const name of opts.systems) {
    log(`running ${name}…`);
    const r = await runSystem(name, ctx, opts);
    log(`  ${describeResult(r)}`);
    systems.push(r);
  }
  const by = (s: string) => systems.find((r) => r.system === s);
  const best = by('kice-best');
  const connect = by('iceberg-kafka-connect');
  return {
    format: 'kice-bench/1',
    startedAt,
    quick: false,
    revision: describeRevision(),
    machine: describeMachine(),
    data: {
      topic: ctx.data.topic,
      events: ctx.data.events,
      partitions: PARTITIONS,
      bytes: ctx.data.bytes,
      avgEventBytes: round(ctx.data.bytes / ctx.data.events, 1),
      produceSeconds: round(ctx.data.produceSeconds, 2),
      reused: ctx.data.reused,
    },
    commitIntervalMs: ctx.commitIntervalMs,
    systems,
    ratios: {
      kiceVsCeilingKafkajs: ratio(by('kice'), by('ceiling-kafkajs')),
      kiceBestVsCeilingKafkajs: ratio(best, by('ceiling-kafkajs')),
      kiceVsConnect: ratio(by('kice'), connect),
      kiceBestVsConnect: ratio(best, connect),
      kiceBestCpuVsConnect:
        best?.ok && connect?.ok && connect.cpuSecondsPerMillionEvents > 0
          ? round(best.cpuSecondsPerMillionEvents / connect.cpuSecondsPerMillionEvents, 2)
          : null,
    },
    components: null,
    scaling: null,
    scaleOut: null,
    notes: [],
  };
}
