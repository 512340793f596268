/**
 * `pnpm bench [--quick]`: kice end to end beside the Kafka client ceilings and Apache
 * Iceberg's Kafka Connect sink on the same broker and data, then component benchmarks
 * and scaling; prints a table, saves JSON + PNG in benchmarks/results/. See BENCHMARKS.md.
 *
 * Options: --quick (N = 500k, ~2–4 min) | --events N | --systems a,b,… | --no-connect |
 * --no-components | --no-query | --no-scaling | --no-scale-out | --only part,… (parts:
 * systems, components, query (freshness and key lookup), scaling, processes, contention;
 * `scale-out` = processes + contention) |
 * --rest-uri URI (REST catalog for the contention run; default: start
 * test/infra/iceberg-rest.sh's) | --no-rest | --contention-interval-ms MS (each contention
 * writer commits once per MS instead of back to back) | --profile (CPU profiles of the kice-best
 * run) | --broker host:port | --no-save | --kice-fetch raw|kafkajs (kafka.fetch of the kice
 * runs; default kice's default, raw)
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCodec } from './components/codec.ts';
import { benchColdScan } from './components/cold-scan.ts';
import { benchCommitLatency } from './components/commit-latency.ts';
import { benchFreshness } from './components/freshness.ts';
import { benchKeyLookup } from './components/key-lookup.ts';
import { benchRecordBatches } from './components/record-batches.ts';
import {
  type BenchResult,
  describeResult,
  ensureBroker,
  prepareContext,
  runBenchmark,
  type ScalingResult,
  type SystemName,
  venvPython,
} from './harness.ts';
import { formatResult, saveResult } from './report.ts';
import { scaleOut } from './scale-out.ts';
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

/** What `--only` can pick; `scale-out` stands for processes + contention. */
const PARTS = ['systems', 'components', 'query', 'scaling', 'processes', 'contention'] as const;
type Part = (typeof PARTS)[number];
const SCALE_OUT: Part[] = ['processes', 'contention'];

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
      'no-query': { type: 'boolean', default: false },
      'no-scaling': { type: 'boolean', default: false },
      'no-scale-out': { type: 'boolean', default: false },
      only: { type: 'string' },
      'rest-uri': { type: 'string' },
      'no-rest': { type: 'boolean', default: false },
      'contention-interval-ms': { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      broker: { type: 'string' },
      'kice-fetch': { type: 'string' },
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
  const only = values.only
    ? new Set(values.only.split(',').flatMap((p) => (p === 'scale-out' ? [...SCALE_OUT] : [p])))
    : undefined;
  const badParts = [...(only ?? [])].filter((p) => !PARTS.includes(p as Part));
  if (badParts.length > 0) {
    log(`unknown --only part(s) ${badParts.join(', ')}; parts: ${PARTS.join(', ')}, scale-out`);
    return 2;
  }
  const contentionIntervalMs = Number(values['contention-interval-ms'] ?? 0);
  if (!Number.isInteger(contentionIntervalMs) || contentionIntervalMs < 0) {
    log('bad --contention-interval-ms: a whole number of milliseconds ≥ 0');
    return 2;
  }
  const fetch = values['kice-fetch'];
  if (fetch !== undefined && fetch !== 'raw' && fetch !== 'kafkajs') {
    log('bad --kice-fetch: raw or kafkajs');
    return 2;
  }
  const kiceBest: KiceSettings = fetch ? { ...KICE_BEST, kafka: { fetch } } : KICE_BEST;
  const want = (part: Part, off: boolean) => !off && (only === undefined || only.has(part));
  if (!want('systems', false)) systems = [];
  const t0 = performance.now();
  const base = await runBenchmark({
    events,
    systems,
    broker: values.broker,
    ...(fetch ? { kice: { kafka: { fetch } } } : {}),
    kiceBest,
    cpuProfile: values.profile ?? false,
    log,
  });
  let result: BenchResult = { ...base, quick };
  if (want('components', values['no-components'] ?? false)) {
    log('components: value formats → Arrow (JSON, Avro, Protobuf), Arrow → Parquet…');
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
    const coldRows = quick ? 1_000_000 : 10_000_000;
    log(`components: filtered scans of a ${coldRows}-row table, kice coldScan vs DuckDB…`);
    const coldScan = await benchColdScan(venvPython(), {
      rows: coldRows,
      dir: join(REPO_ROOT, '.state/bench', `cold-scan-${Date.now()}`),
      log,
    });
    result = { ...result, components: { codec, commitLatency, recordBatches, coldScan } };
  }
  if (want('query', values['no-query'] ?? false)) {
    const broker = ensureBroker(values.broker);
    const rates = [1_000, 10_000, 50_000];
    log(`query: produce → visible at ${rates.join(', ')} events/s (engine.query and HTTP)…`);
    const freshness = await benchFreshness(broker, {
      rates,
      seconds: quick ? 5 : 20,
      dir: join(REPO_ROOT, '.state/bench', `freshness-${Date.now()}`),
      log,
    });
    const hotRows = quick ? 200_000 : 1_000_000;
    log(`query: key lookups with ${hotRows} rows hot…`);
    const keyLookup = await benchKeyLookup(broker, {
      rows: hotRows,
      lookups: 10_000,
      httpLookups: 2_000,
      dir: join(REPO_ROOT, '.state/bench', `key-lookup-${Date.now()}`),
      log,
    });
    result = { ...result, query: { freshness, keyLookup } };
  }
  if (want('scaling', values['no-scaling'] ?? false)) {
    result = { ...result, scaling: await scaling(quick, base, { broker: values.broker }) };
  }
  const noScaleOut = values['no-scale-out'] ?? false;
  const processes = want('processes', noScaleOut);
  const contention = want('contention', noScaleOut);
  if (processes || contention) {
    result = {
      ...result,
      scaleOut: await scaleOut({
        quick,
        events,
        broker: values.broker,
        settings: KICE_BEST,
        processes,
        contention,
        restUri: values['no-rest'] ? false : values['rest-uri'],
        contentionIntervalMs,
        log,
      }),
    };
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
    const label = only ? [...only].sort().join('-') : undefined;
    const saved = await saveResult(result, venvPython(), label);
    log(`saved ${saved.json}${saved.png ? ` and ${saved.png}` : ''}`);
  }
  const so = result.scaleOut;
  const scaleOutOk =
    (so?.processes ?? []).every((p) => p.ok) &&
    (so?.contention?.points ?? []).every((p) => p.verified);
  return result.systems.every((s) => s.ok) && scaleOutOk ? 0 : 1;
}

process.exitCode = await main();
