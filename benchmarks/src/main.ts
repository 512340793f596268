/**
 * `pnpm bench [--quick]`: kice end to end beside the Kafka client ceilings and Apache
 * Iceberg's Kafka Connect sink on the same broker and data, then component benchmarks
 * and scaling; prints a table, saves JSON + PNG in benchmarks/results/. See BENCHMARKS.md.
 *
 * Options: --quick (N = 500k, ~2–4 min) | --events N | --systems a,b,… | --no-connect |
 * --no-components | --no-scaling | --profile (CPU profiles of the kice-best run) |
 * --broker host:port | --no-save
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCodec } from './components/codec.ts';
import { benchCommitLatency } from './components/commit-latency.ts';
import { benchRecordBatches } from './components/record-batches.ts';
import {
  type BenchResult,
  describeResult,
  prepareContext,
  runBenchmark,
  type ScalingResult,
  type SystemName,
  venvPython,
} from './harness.ts';
import { formatResult, saveResult } from './report.ts';
import { REPO_ROOT, type SystemResult } from './systems/common.ts';
import { type KiceSettings, runKice } from './systems/kice.ts';

/**
 * The best kice settings found on this 2-core machine (see BENCHMARKS.md, "Tuning"):
 * everything else stays at its default.
 */
export const KICE_BEST: KiceSettings = {
  workers: { threads: 1 },
  parquet: { compression: 'lz4_raw' },
};

const ALL: SystemName[] = [
  'ceiling-kafkajs',
  'ceiling-platformatic',
  'kice',
  'kice-best',
  'iceberg-kafka-connect',
];

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function scaling(
  quick: boolean,
  base: BenchResult,
  opts: { broker: string | undefined },
): Promise<ScalingResult> {
  const pick = (r: SystemResult) => ({
    eventsPerSecond: r.eventsPerSecond,
    cpuSecondsPerMillionEvents: r.cpuSecondsPerMillionEvents,
    ok: r.ok,
  });
  const ctx = await prepareContext(base.data.events, { ...opts, log });
  const workers: ScalingResult['workers'] = [];
  for (const threads of [1, 2]) {
    const have = base.systems.find(
      (s) => s.system === 'kice-best' && KICE_BEST.workers?.threads === threads,
    );
    log(`scaling: kice-best with ${threads} worker(s)…`);
    const r =
      have ??
      (await runKice(ctx, {
        name: `kice-best-${threads}w`,
        settings: { ...KICE_BEST, workers: { threads } },
      }));
    if (!have) log(`  ${describeResult(r)}`);
    workers.push({ threads, ...pick(r) });
  }
  const sizes = quick ? [100_000, 250_000, 500_000] : [1_000_000, 5_000_000, 20_000_000];
  const backlog: ScalingResult['backlog'] = [];
  for (const events of sizes) {
    const have =
      events === base.data.events ? base.systems.find((s) => s.system === 'kice-best') : undefined;
    let r = have;
    if (!r) {
      const c = await prepareContext(events, { ...opts, log });
      log(`scaling: kice-best on a backlog of ${events} events…`);
      r = await runKice(c, { name: `kice-best-${events}`, settings: KICE_BEST });
      log(`  ${describeResult(r)}`);
    }
    backlog.push({ events, ...pick(r) });
  }
  return { workers, backlog };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      quick: { type: 'boolean', default: false },
      events: { type: 'string' },
      systems: { type: 'string' },
      'no-connect': { type: 'boolean', default: false },
      'no-components': { type: 'boolean', default: false },
      'no-scaling': { type: 'boolean', default: false },
      'no-save': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      broker: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const events = values.events ? Number(values.events) : quick ? 500_000 : 5_000_000;
  let systems = values.systems ? (values.systems.split(',') as SystemName[]) : ALL;
  if (values['no-connect']) systems = systems.filter((s) => s !== 'iceberg-kafka-connect');
  const bad = systems.filter((s) => !ALL.includes(s));
  if (bad.length > 0 || !Number.isInteger(events) || events < 1) {
    log(`unknown system(s) ${bad.join(', ')} or bad --events; systems: ${ALL.join(', ')}`);
    return 2;
  }
  const t0 = performance.now();
  const base = await runBenchmark({
    events,
    systems,
    broker: values.broker,
    kiceBest: KICE_BEST,
    cpuProfile: values.profile ?? false,
    log,
  });
  let result: BenchResult = { ...base, quick };
  if (!values['no-components']) {
    log('components: value formats → Arrow (JSON, Avro), Arrow → Parquet…');
    const codec = benchCodec(20_000, quick ? 1 : 3);
    // Every milestone run is measured: the full run commits 10,000 times (merge append,
    // expiry to the last 100 snapshots after each commit, and old metadata files deleted
    // after each commit as on kice's tables, so the disk does not fill); the quick run
    // stops at #300 and #10,000 is extrapolated from a linear fit, labelled as such.
    const milestones = quick ? [10, 100, 300] : [10, 100, 1000, 10_000];
    log(`components: commit latency as history grows (commits 1..${Math.max(...milestones)})…`);
    const commitLatency = await benchCommitLatency(
      join(REPO_ROOT, '.state/bench', `commit-latency-${Date.now()}`),
      milestones,
      [10_000],
      { append: 'merge', retainLast: 100, deleteOldMetadata: true },
    );
    log('components: Kafka record-batch parsing per codec…');
    const recordBatches = await benchRecordBatches(venvPython(), quick ? 1 : 3);
    result = { ...result, components: { codec, commitLatency, recordBatches } };
  }
  if (!values['no-scaling']) {
    result = { ...result, scaling: await scaling(quick, base, { broker: values.broker }) };
  }
  result = {
    ...result,
    notes: [
      ...result.notes,
      `total bench time ${Math.round((performance.now() - t0) / 1000)} s`,
      'kice and the ceilings are timed from process spawn to exit (start-up, group join and, for kice, the final flush and commit included); the Connect sink from worker start to the first snapshot holding all N rows.',
    ],
  };
  process.stdout.write(`\n${formatResult(result)}\n`);
  if (!values['no-save']) {
    const saved = await saveResult(result, venvPython());
    log(`saved ${saved.json}${saved.png ? ` and ${saved.png}` : ''}`);
  }
  return result.systems.every((s) => s.ok) ? 0 : 1;
}

process.exitCode = await main();
