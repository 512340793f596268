/**
 * One engine's Prometheus metrics (prom-client), in a registry of its own: never
 * prom-client's global default registry, so that several engines in one process keep
 * their counts apart. The pipeline feeds it through the PipelineObserver seam
 * (./observer.ts); gauges of state (lag, in-flight bytes, readiness, memory) are read
 * from the engine when scraped. Every name and label is listed in docs/operations.md.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EndOffsetCache } from './end-offsets.ts';
import type { CommittedRange, PipelineObserver } from './observer.ts';
import { reasonClass } from './reason-class.ts';

/** What the metrics read from the engine at scrape time. */
export interface MetricsProbe {
  /** Owned partitions and where the table's next commit starts (its durable offset). */
  partitions(): { table: string; topic: string; partition: number; committed: bigint }[];
  /** Tables known so far. */
  tables(): string[];
  inFlightBytes(): number;
  ready(): boolean;
  /** Per table, the completeness watermark of its last commit (epoch ms), where known. */
  watermarks?(): Readonly<Record<string, number>>;
  /** Per table, the rows and bytes queries read from memory (the hot view). */
  hot?(): { table: string; rows: number; bytes: number }[];
}

interface PartitionView {
  readonly table: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: bigint;
  readonly end: bigint | undefined;
}

const SIZE_BUCKETS = [
  64 * 2 ** 10,
  256 * 2 ** 10,
  2 ** 20,
  4 * 2 ** 20,
  16 * 2 ** 20,
  64 * 2 ** 20,
  128 * 2 ** 20,
  256 * 2 ** 20,
  512 * 2 ** 20,
  2 ** 30,
];
const SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class EngineMetricsRegistry implements PipelineObserver {
  readonly registry = new Registry();
  private readonly startedAt = Date.now();
  private readonly lastCommitMs = new Map<string, number>();
  private pausedSince: number | undefined;
  private pausedMs = 0;
  private probe: MetricsProbe | undefined;
  private ends: EndOffsetCache | undefined;

  private readonly recordsConsumed: Counter<'table' | 'topic' | 'partition'>;
  private readonly recordsCommitted: Counter<'table' | 'topic' | 'partition'>;
  private readonly rowsCommitted: Counter<'table'>;
  private readonly commits: Counter<'table'>;
  private readonly refusedCommits: Counter<'table'>;
  private readonly deadLetters: Counter<'table' | 'reason'>;
  private readonly schemaChanges: Counter<'table'>;
  private readonly errors: Counter<'code' | 'fatal'>;
  private readonly pauses: Counter;
  private readonly commitSeconds: Histogram<'table'>;
  private readonly flushSeconds: Histogram<'table'>;
  private readonly flushBytes: Histogram<'table'>;
  private readonly fileBytes: Histogram<'table'>;
  private readonly querySeconds: Histogram<'route' | 'outcome'>;
  private readonly queries: Counter<'route' | 'outcome'>;

  /** `engine`: a label on every sample (the engine's name), so registries of several
   * engines in one process can be merged into one scrape and stay apart. */
  constructor(engine?: string) {
    if (engine !== undefined) this.registry.setDefaultLabels({ engine });
    const registers = [this.registry];
    const tp = ['table', 'topic', 'partition'] as const;
    this.recordsConsumed = new Counter({
      name: 'kice_records_consumed_total',
      help: 'Records taken from Kafka into the pipeline, per partition.',
      labelNames: tp,
      registers,
    });
    this.recordsCommitted = new Counter({
      name: 'kice_records_committed_total',
      help: 'Kafka offsets covered by table commits (rows, dead letters and skipped records), per partition.',
      labelNames: tp,
      registers,
    });
    this.rowsCommitted = new Counter({
      name: 'kice_rows_committed_total',
      help: 'Rows committed to each table.',
      labelNames: ['table'],
      registers,
    });
    this.commits = new Counter({
      name: 'kice_commits_total',
      help: 'Snapshots committed to each table.',
      labelNames: ['table'],
      registers,
    });
    this.refusedCommits = new Counter({
      name: 'kice_commits_refused_total',
      help: 'Commits refused by the offset-continuity check (the partitions are read again).',
      labelNames: ['table'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'kice_dead_letters_total',
      help: 'Records dead-lettered, per table and reason class.',
      labelNames: ['table', 'reason'],
      registers,
    });
    this.schemaChanges = new Counter({
      name: 'kice_schema_changes_total',
      help: 'Schema changes (columns added or widened) this process committed, per table.',
      labelNames: ['table'],
      registers,
    });
    this.errors = new Counter({
      name: 'kice_errors_total',
      help: 'Errors by code; fatal="true" ones stop the engine committing.',
      labelNames: ['code', 'fatal'],
      registers,
    });
    this.pauses = new Counter({
      name: 'kice_backpressure_pauses_total',
      help: 'Times consumption paused because the in-flight memory budget was full.',
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'kice_commit_duration_seconds',
      help: 'Catalog commit latency (data files already written), per table.',
      labelNames: ['table'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.flushSeconds = new Histogram({
      name: 'kice_flush_duration_seconds',
      help: 'From draining a table buffer to its commit landing (Parquet writes + commit).',
      labelNames: ['table'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.flushBytes = new Histogram({
      name: 'kice_flush_size_bytes',
      help: 'Buffered (Arrow) bytes per flush, per table.',
      labelNames: ['table'],
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.fileBytes = new Histogram({
      name: 'kice_data_file_size_bytes',
      help: 'Size of each Parquet data file committed, per table.',
      labelNames: ['table'],
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.querySeconds = new Histogram({
      name: 'kice_query_duration_seconds',
      help: 'HTTP query requests (POST /query, GET /tables/{t}/keys/{k}): until the last byte was written.',
      labelNames: ['route', 'outcome'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.queries = new Counter({
      name: 'kice_queries_total',
      help: 'HTTP query requests by route and outcome (ok, bad_request, not_found, client_gone, error).',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.stateGauges();
  }

  /** One HTTP query request done (../http/query-routes.ts). */
  observeQuery(route: 'query' | 'get', outcome: string, seconds: number): void {
    this.queries.inc({ route, outcome });
    this.querySeconds.observe({ route, outcome }, seconds);
  }

  /** Connects the scrape-time gauges to the engine (once it runs). */
  attach(probe: MetricsProbe, ends: EndOffsetCache): void {
    this.probe = probe;
    this.ends = ends;
  }

  /** The text exposition format (version 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private stateGauges(): void {
    const registers = [this.registry];
    const self = this;
    const tp = ['topic', 'partition'] as const;
    const perPartition = (
      name: string,
      help: string,
      value: (p: PartitionView) => number | undefined,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['table', ...tp],
        registers,
        async collect() {
          // The registry collects metrics concurrently: the three share one view.
          const parts = await self.partitionView();
          this.reset();
          for (const p of parts) {
            const v = value(p);
            if (v !== undefined)
              this.set({ table: p.table, topic: p.topic, partition: String(p.partition) }, v);
          }
        },
      });
    perPartition(
      'kice_partition_end_offset',
      'Next offset Kafka will write in each owned partition (read at most every 5 s, when scraped).',
      (p) => (p.end === undefined ? undefined : Number(p.end)),
    );
    perPartition(
      'kice_partition_committed_offset',
      'Next offset the table holds for each owned partition (where its next commit starts).',
      (p) => Number(p.committed),
    );
    perPartition(
      'kice_partition_lag_records',
      'End offset minus committed offset, per owned partition (absent while the end is unknown).',
      (p) => (p.end === undefined ? undefined : Math.max(0, Number(p.end - p.committed))),
    );
    new Gauge({
      name: 'kice_table_seconds_since_last_commit',
      help: "Seconds since this process's last commit to each table (since start before the first).",
      labelNames: ['table'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const t of self.probe?.tables() ?? [])
          this.set({ table: t }, (now - (self.lastCommitMs.get(t) ?? self.startedAt)) / 1000);
      },
    });
    new Gauge({
      name: 'kice_table_last_commit_timestamp_seconds',
      help: "Unix time of this process's last commit to each table.",
      labelNames: ['table'],
      registers,
      collect() {
        this.reset();
        for (const [t, ms] of self.lastCommitMs) this.set({ table: t }, ms / 1000);
      },
    });
    new Gauge({
      name: 'kice_table_watermark_timestamp_seconds',
      help: 'Unix time through which each table is complete (the completeness watermark its last commit recorded; docs/operations.md).',
      labelNames: ['table'],
      registers,
      collect() {
        this.reset();
        for (const [t, ms] of Object.entries(self.probe?.watermarks?.() ?? {}))
          this.set({ table: t }, ms / 1000);
      },
    });
    for (const [name, help, key] of [
      [
        'kice_hot_rows',
        'Rows of each table held in memory that queries read (buffered or flushing, not yet committed or just committed).',
        'rows',
      ],
      ['kice_hot_bytes', 'Arrow bytes of those rows, per table.', 'bytes'],
    ] as const)
      new Gauge({
        name,
        help,
        labelNames: ['table'],
        registers,
        collect() {
          this.reset();
          for (const h of self.probe?.hot?.() ?? []) this.set({ table: h.table }, h[key]);
        },
      });
    new Gauge({
      name: 'kice_in_flight_bytes',
      help: 'Bytes fetched, decoding, buffered or flushing (capped by memory.maxInFlightBytes).',
      registers,
      collect() {
        this.set(self.probe?.inFlightBytes() ?? 0);
      },
    });
    new Counter({
      name: 'kice_backpressure_paused_seconds_total',
      help: 'Seconds consumption spent paused for the in-flight memory budget.',
      registers,
      collect() {
        const now = self.pausedSince === undefined ? 0 : performance.now() - self.pausedSince;
        this.reset();
        this.inc((self.pausedMs + now) / 1000);
      },
    });
    new Gauge({
      name: 'kice_backpressure_paused',
      help: '1 while consumption is paused for the in-flight memory budget.',
      registers,
      collect() {
        this.set(self.pausedSince === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: 'kice_ready',
      help: '1 when the engine joined its group, has its assignment and has not failed.',
      registers,
      collect() {
        this.set(self.probe?.ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'kice_process_memory_bytes',
      help: 'Memory of the whole process (all engines and worker threads share it), by type.',
      labelNames: ['type'],
      registers,
      collect() {
        const m = process.memoryUsage();
        this.set({ type: 'rss' }, m.rss);
        this.set({ type: 'heap_total' }, m.heapTotal);
        this.set({ type: 'heap_used' }, m.heapUsed);
        this.set({ type: 'external' }, m.external);
        this.set({ type: 'array_buffers' }, m.arrayBuffers);
      },
    });
  }

  private view: { at: number; parts: Promise<PartitionView[]> } | undefined;

  /** Owned partitions with end offsets, shared by the gauges of one scrape. */
  private partitionView(): Promise<PartitionView[]> {
    const now = Date.now();
    if (this.view && now - this.view.at < 250) return this.view.parts;
    const parts = (async () => {
      const owned = this.probe?.partitions() ?? [];
      const topics = [...new Set(owned.map((p) => p.topic))];
      const known = (await this.ends?.get(topics)) ?? new Map<string, bigint>();
      return owned.map((p) => ({ ...p, end: known.get(`${p.topic}:${p.partition}`) }));
    })();
    this.view = { at: now, parts };
    return parts;
  }

  // ------------------------------------------------------------------ PipelineObserver

  consumed(table: string, topic: string, partition: number, records: number): void {
    this.recordsConsumed.inc({ table, topic, partition: String(partition) }, records);
  }

  deadLettered(table: string, reasons: readonly string[]): void {
    for (const r of reasons) this.deadLetters.inc({ table, reason: reasonClass(r) });
  }

  committed(e: {
    table: string;
    ranges: readonly CommittedRange[];
    rows: number;
    fileSizes: readonly number[];
    flushBytes: number;
    commitSeconds: number;
    flushSeconds: number;
  }): void {
    const table = e.table;
    this.lastCommitMs.set(table, Date.now());
    this.commits.inc({ table });
    this.rowsCommitted.inc({ table }, e.rows);
    for (const r of e.ranges) {
      const n = Number(r.to - r.from);
      if (n > 0)
        this.recordsCommitted.inc({ table, topic: r.topic, partition: String(r.partition) }, n);
    }
    for (const size of e.fileSizes) this.fileBytes.observe({ table }, size);
    this.flushBytes.observe({ table }, e.flushBytes);
    this.commitSeconds.observe({ table }, e.commitSeconds);
    this.flushSeconds.observe({ table }, e.flushSeconds);
  }

  refused(table: string): void {
    this.refusedCommits.inc({ table });
  }

  schemaChanged(table: string): void {
    this.schemaChanges.inc({ table });
  }

  backpressure(paused: boolean): void {
    if (paused && this.pausedSince === undefined) {
      this.pausedSince = performance.now();
      this.pauses.inc();
    } else if (!paused && this.pausedSince !== undefined) {
      this.pausedMs += performance.now() - this.pausedSince;
      this.pausedSince = undefined;
    }
  }

  error(code: string, fatal: boolean): void {
    this.errors.inc({ code, fatal: String(fatal) });
  }
}
