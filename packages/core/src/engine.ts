/**
 * `createEngine(config)`: the embeddable kice engine. Wires the Source (kafkajs for the
 * group; kice's own fetcher or kafkajs's for records, as `kafka.fetch` says), the Piscina
 * pool (decode + flush), the committer thread and the dead-letter sink around the
 * coordinator. Start checks every input topic and prepares the dead-letter topic (creates
 * it if allowed, reads its size limit) before anything is consumed; the threads start
 * first and load while it does and while the group is joined (a failed start ends them).
 *
 *   const engine = createEngine(config);
 *   engine.on('commit', (c) => …);
 *   await engine.start();         // daemon: runs until stop()
 *   await engine.runOnce();       // batch: consume up to the end offsets seen at start
 *
 * Without a runtime an engine starts a worker pool and a committer thread of its own and
 * ends them at stop. With `{ runtime }` (./runtime/runtime.ts) it uses the runtime's
 * pool, a committer of its own on the runtime's committer thread, and the runtime's
 * memory budget; stopping it leaves the runtime running.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Catalog } from '@kice/iceberg';
import { pino } from 'pino';
import pinoPretty from 'pino-pretty';
import { Piscina } from 'piscina';
import { createCatalog } from './catalog/create-catalog.ts';
import type { TableDescription } from './commit/committer.ts';
import { startCommitterThread } from './commit/committer-client.ts';
import { ConfigError } from './config/load.ts';
import { threadLimits } from './config/memory-plan.ts';
import type { KiceConfig } from './config/schema.ts';
import { REDACTED, redact } from './config/secrets.ts';
import { tlsOptions } from './config/tls.ts';
import { Coordinator, type EngineMetrics, type Logger, rowGroupBytes } from './coordinator.ts';
import { KiceError } from './errors.ts';
import { EndOffsetCache } from './metrics/end-offsets.ts';
import { EngineMetricsRegistry } from './metrics/engine-metrics.ts';
import { DeadLetterSink } from './pipeline/dead-letters.ts';
import { topicsWanting } from './pipeline/routing.ts';
import { coldGet, hotRow, KeyIndex, keyValue, type RecordKey } from './query/key-index.ts';
import { poolDecoder } from './query/pool-decoder.ts';
import { loadTable, type QueryOptions, type QueryResult, runQuery } from './query/query.ts';
import { attachEngine, type EngineLease } from './runtime/attach.ts';
import { clearHeapSizeFlags } from './runtime/heap-flags.ts';
import type { Runtime } from './runtime/runtime.ts';
import type { KafkaClientOptions } from './source/client.ts';
import { KafkajsSource } from './source/kafkajs-source.ts';
import { createDeadLetterProducer } from './source/producer.ts';
import { createFileIO, sharedFileIO } from './storage/file-io.ts';
import { tableStorage } from './storage/table-storage.ts';
import { workerBundle } from './workers/bundle.ts';

export type { QueryOptions, QueryResult, RecordKey };

export interface EngineOptions {
  /**
   * A pino-like logger; default: pino at config.log.level, secrets redacted
   * (config/secrets.ts: by key, and every registered secret in every line's text).
   */
  readonly logger?: Logger;
  /**
   * Threads and memory shared with other engines of the process (createRuntime). The
   * config must then leave workers.threads and memory.maxInFlightBytes unset: the runtime
   * owns them (ConfigError otherwise).
   */
  readonly runtime?: Runtime;
  /**
   * A stable name for the engine (log lines, metrics labels); unique among the engines
   * of a runtime. Default: kafka.groupId.
   */
  readonly name?: string;
}

import type { CommitEvent } from './pipeline/table-flusher.ts';

export type { CommitEvent };

/** One owned partition of a table, for lag. */
export interface PartitionReport {
  readonly table: string;
  readonly topic: string;
  readonly partition: number;
  /** Next offset the table holds (where its next commit starts). */
  readonly committedOffset: string;
  /** Next offset Kafka will write; absent when not known yet (broker unreachable). */
  readonly endOffset?: string;
  readonly lag?: string;
}

export interface TableReport extends TableDescription {
  /** Partitions of the table this member owns now. */
  readonly partitions: readonly PartitionReport[];
}

export interface Engine {
  /** EngineOptions.name, or kafka.groupId. */
  readonly name: string;
  start(): Promise<void>;
  /**
   * Flushes, commits, leaves the group and releases threads and clients. Idempotent. Kafka
   * steps are bounded (source/kafkajs-source.ts): with the broker down it still returns,
   * after logging what it could not do; the table's commit is what counts.
   */
  stop(): Promise<void>;
  /**
   * Consumes every routed partition this member owns up to its end offset as seen at start,
   * commits, stops. Partitions other members of the group own when it has caught up are
   * not waited for (nor ones a rebalance the broker has started but not yet announced
   * would bring: a member learns of a rebalance only at its next heartbeat or fetch); they
   * are logged as `run --once: partitions of other members not consumed`.
   */
  runOnce(): Promise<void>;
  metrics(): Readonly<EngineMetrics>;
  /** Per-partition positions (next offset fetched, next offset committed to the table). */
  positions(): { key: string; start: bigint; expected: bigint; committed: bigint | undefined }[];
  tables(): string[];
  /**
   * Whether the engine is ready: started, joined its group with its assignment handled,
   * not failed and not stopping. `reasons` says what is missing (empty when ready).
   */
  status(): { ready: boolean; reasons: string[] };
  /** This engine's metrics in the Prometheus text format (docs/operations.md). */
  prometheus(): Promise<{ contentType: string; text: string }>;
  /**
   * A table as the catalog has it now (schema, newest snapshots, recorded offsets) and its
   * owned partitions' committed offset, end offset and lag; undefined when kice does not
   * route to it or the table does not exist yet.
   */
  /**
   * Owned partitions: the table's committed offset, Kafka's end offset and their
   * difference (end offsets refreshed from the broker at most every 5 s, when asked).
   */
  lag(): Promise<PartitionReport[]>;
  describeTable(table: string, options?: { snapshots?: number }): Promise<TableReport | undefined>;
  /**
   * One consistent view of a table: its current snapshot S (cold, through @kice/iceberg's
   * scan) plus the rows this process holds past S's offsets for the partitions it owns
   * (hot); `result.hot.partitions` names them (docs/embedding.md, "Querying"). With
   * `asOf`, that snapshot only (cold). Unknown table or column: KiceError QUERY_INVALID.
   */
  query(table: string, options?: QueryOptions): Promise<QueryResult>;
  /**
   * The latest row for a record key (the table's key column, `tables[].key`): from the hot
   * buffer's key index (its memory counted in the in-flight budget), else from the
   * current snapshot (equality filter, pruned by bounds); undefined when neither has it.
   */
  get(table: string, key: RecordKey): Promise<Record<string, unknown> | undefined>;
  /** Counts one HTTP query request in kice_queries_total / kice_query_duration_seconds. */
  observeQuery(route: 'query' | 'get', outcome: string, seconds: number): void;
  on(event: 'commit', listener: (e: CommitEvent) => void): this;
  on(event: 'deadLetter', listener: (count: number) => void): this;
  on(event: 'error', listener: (e: Error) => void): this;
  on(event: 'assigned', listener: (tps: { topic: string; partition: number }[]) => void): this;
  /** Readiness changed (as status() says): ready after a join, not ready on failure or stop. */
  on(event: 'status', listener: (s: { ready: boolean; reasons: string[] }) => void): this;
  /** `runOnce`: the end offsets ("topic:partition" → next offset) it consumes up to. */
  on(event: 'endOffsets', listener: (ends: ReadonlyMap<string, bigint>) => void): this;
}

/** The pino options of kice's default logger (exported for the redaction tests). */
export function createLoggerOptions(level: string = 'info'): Parameters<typeof pino>[0] {
  return {
    level,
    base: { app: 'kice' },
    redact: {
      paths: [
        '*.password',
        '*.sasl',
        'sasl',
        'password',
        'kafka.sasl',
        'catalog.credential',
        'catalog.token',
        'catalog.headers',
        '*.passphrase',
        '*.secretAccessKey',
        '*.sessionToken',
        'storage.s3.secretAccessKey',
        'storage.s3.sessionToken',
      ],
      censor: REDACTED,
    },
    // The last line of defence: a secret in any message, error or field, at any depth.
    hooks: { streamWrite: (line) => redact(line) },
  };
}

/** Where and how the default logger writes. */
export interface LoggerTarget {
  /** Default: stdout. */
  readonly destination?: NodeJS.WritableStream & { readonly isTTY?: boolean };
}

/** The format `log.format` means for `destination`: `auto` is pretty on a terminal. */
export function logFormat(
  format: KiceConfig['log']['format'],
  destination: { readonly isTTY?: boolean },
): 'pretty' | 'json' {
  return format === 'auto' ? (destination.isTTY ? 'pretty' : 'json') : format;
}

/**
 * kice's default logger: pino at `log.level`, secrets redacted, JSON lines or, with
 * `log.format` pretty (or auto on a terminal), pino-pretty's human-readable lines (colored
 * on a terminal). Redaction runs on the JSON line before it is prettified.
 */
export function createLogger(config: KiceConfig, target: LoggerTarget = {}): Logger {
  const destination = target.destination ?? process.stdout;
  const options = createLoggerOptions(config.log.level);
  if (logFormat(config.log.format, destination) === 'json')
    return target.destination ? pino(options, target.destination) : pino(options);
  const pretty = pinoPretty({
    destination,
    sync: true,
    colorize: destination.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app',
    singleLine: true,
  });
  return pino(options, pretty);
}

function kafkaClientOptions(config: KiceConfig, log: Logger): KafkaClientOptions {
  const k = config.kafka;
  return {
    brokers: k.brokers,
    clientId: k.clientId,
    ssl: tlsOptions(k.ssl),
    ...(k.sasl
      ? {
          sasl: {
            mechanism: k.sasl.mechanism,
            username: k.sasl.username,
            password: k.sasl.password,
          } as never,
        }
      : {}),
    logger: log,
  };
}

export function createEngine(input: KiceConfig, options: EngineOptions = {}): Engine {
  const name = options.name ?? input.kafka.groupId;
  const lease: EngineLease | undefined = options.runtime
    ? attachEngine(options.runtime, name, input)
    : undefined;
  const config = lease ? lease.config : input;
  const log = options.logger ?? createLogger(config);
  const events = new EventEmitter();
  const client = kafkaClientOptions(config, log);
  const explicit = config.tables.flatMap((t) => (t.topic !== undefined ? [t.topic] : []));
  const patterns = config.tables.flatMap((t) =>
    t.topicPattern !== undefined ? [new RegExp(t.topicPattern)] : [],
  );
  const perTopic = (wants: (t: KiceConfig['tables'][number]) => boolean) =>
    topicsWanting(config.tables, wants);
  const topics: string[] | RegExp =
    patterns.length === 0
      ? explicit
      : new RegExp(
          [
            ...explicit.map((t) => `^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
            ...patterns.map((p) => `(?:${p.source})`),
          ].join('|'),
        );

  const source = new KafkajsSource({
    ...client,
    groupId: config.kafka.groupId,
    topics,
    maxBytesPerPartition: config.kafka.maxBytesPerPartition,
    // One fetch is part of the in-flight budget: keep it to a quarter of it.
    maxBytes: Math.max(
      config.kafka.maxBytesPerPartition,
      Math.min(config.kafka.maxBytes, Math.floor(config.memory.maxInFlightBytes / 4)),
    ),
    minBytes: config.kafka.minBytes,
    maxWaitTimeInMs: Math.min(1000, config.kafka.maxWaitTimeInMs),
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: config.kafka.heartbeatIntervalMs,
    retry: config.kafka.retry,
    // The dead-letter table keeps each dead letter's raw key and headers; key and metadata
    // columns need them too, only for the topics of their tables.
    keepKeys:
      config.deadLetter.table !== undefined ||
      perTopic((t) => (t.key?.format ?? 'none') !== 'none'),
    keepHeaders: config.deadLetter.table !== undefined || perTopic((t) => t.metadata !== undefined),
    // raw: kice's own Fetch requests, record batches parsed in the pool (coordinator
    // onRawFetch); kafkajs: kafkajs's consumer fetches and decodes (onBatch).
    fetch: config.kafka.fetch,
  });
  // The reset policy's offsets, through the source's admin client (already connected by
  // the topic check in start()).
  const fetchStartOffsets = (names: string[]): Promise<Map<string, bigint>> =>
    config.kafka.autoOffsetReset === 'earliest'
      ? source.fetchBeginningOffsets(names)
      : source.fetchEndOffsets(names);

  const threads = lease ? lease.threads : (config.workers.threads ?? availableParallelism());
  let pool: Piscina | undefined;
  let committer: ReturnType<typeof startCommitterThread> | undefined;
  let coordinator: Coordinator | undefined;
  const deadLetters = new DeadLetterSink({
    config,
    producer: createDeadLetterProducer(client),
    log,
    brokers: config.kafka.brokers,
  });
  let stopped: Promise<void> | undefined;
  // Per engine, never prom-client's global registry: engines in one process stay apart.
  const prom = new EngineMetricsRegistry(name);
  const ends = new EndOffsetCache({
    // Never after stop: the admin client would connect again.
    fetch: (names) =>
      stopped ? Promise.resolve(new Map<string, bigint>()) : source.fetchEndOffsets(names),
    onError: (e) => log.warn({ err: e }, 'end offsets for lag could not be read (retried later)'),
  });
  prom.attach(
    {
      partitions: () => coordinator?.durablePositions() ?? [],
      tables: () => coordinator?.tableNames() ?? [],
      inFlightBytes: () => coordinator?.metrics.inFlightBytes ?? 0,
      watermarks: () => coordinator?.metrics.watermarkMs ?? {},
      hot: () => {
        const c = coordinator;
        if (!c) return [];
        return c.tableNames().flatMap((table) => {
          const a = c.hotAccess(table);
          return a ? [{ table, ...a.runtime.buffer.viewStats() }] : [];
        });
      },
      ready: () => engine.status().ready,
    },
    ends,
  );

  // Queries read the catalog from this thread (the committer thread keeps its own).
  let queryCatalog: Catalog | undefined;
  // Queries decode their cold row groups in the pool (query/pool-decoder.ts).
  const queryDecoder = poolDecoder(() => pool);
  const catalogForQueries = (): Catalog => {
    const storage = config.storage;
    queryCatalog ??= createCatalog(config.catalog, createFileIO(storage), {
      ...(storage ? { ioFactory: (props) => sharedFileIO(tableStorage(storage, props)) } : {}),
    });
    return queryCatalog;
  };
  const keyIndexes = new Map<string, KeyIndex>();
  const queryable = (table: string): Coordinator => {
    if (!coordinator)
      throw new KiceError('QUERY_INVALID', `query ${table}: the engine is not started`);
    if (stopped) throw new KiceError('QUERY_INVALID', `query ${table}: the engine is stopping`);
    return coordinator;
  };
  const capture = (c: Coordinator) => (table: string) => {
    const a = c.hotAccess(table);
    return a && { view: a.runtime.buffer.view(), owned: a.owned, observed: a.runtime.observed };
  };

  let lastReady = false;
  const emitStatus = (): void => {
    const s = engine.status();
    if (s.ready === lastReady) return;
    lastReady = s.ready;
    events.emit('status', s);
  };

  /**
   * Starts the engine's threads (its own, or its committer on the runtime's thread and the
   * runtime's pool) and sets `pool` and `committer` as soon as they exist, so that stop()
   * releases them; nothing is made once stop() has begun (`ifStopped` throws).
   */
  const startThreads = async (
    committerData: Parameters<typeof startCommitterThread>[1],
    ifStopped: () => void,
  ): Promise<void> => {
    if (lease) {
      const shared = await lease.pool();
      const own = await lease.committer(committerData);
      if (stopped) await own.close();
      ifStopped();
      pool = shared;
      committer = own;
      return;
    }
    const bundle = await workerBundle();
    ifStopped();
    const limits = threadLimits(config.memory);
    if (config.memory.limit !== undefined) clearHeapSizeFlags();
    pool = new Piscina({
      filename: pathToFileURL(bundle.poolTasks).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60 * 60_000,
      // A cap makes V8 collect garbage early instead of growing each worker's heap
      // toward its default (config/memory-plan.ts).
      resourceLimits: limits.worker,
    });
    committer = startCommitterThread(bundle.committerThread, committerData, limits.committer);
  };

  const engine: Engine = {
    name,
    async start() {
      if (coordinator) return;
      // stop() wins over a start still under way: past each wait, a stopped engine goes no
      // further (stop() released what existed when it ran; nothing is made after it).
      const ifStopped = () => {
        if (stopped)
          throw new KiceError(
            'INTERNAL',
            'engine.start(): the engine was stopped while it started',
          );
      };
      ifStopped();
      const committerData = {
        catalog: config.catalog,
        groupId: config.kafka.groupId,
        storage: config.storage,
      };
      // The threads start first and load their code while the topics are checked, the
      // dead-letter topic is prepared and the group is joined (coordinator.start). What is
      // asked of them before they are ready waits in their queues (Piscina's task queue,
      // the committer's message port); the assignment's start offsets still come from the
      // committer (the table's recorded offsets), so nothing is fetched, decoded or
      // committed before it answers.
      const threadsStarted = startThreads(committerData, ifStopped);
      threadsStarted.catch(() => {}); // awaited below; a failure before that is not unhandled
      try {
        ifStopped();
        const existing = new Set(await source.listTopics());
        const missing = config.tables.flatMap((t, i) =>
          t.topic !== undefined && !existing.has(t.topic)
            ? [
                `tables[${i}].topic: topic "${t.topic}" does not exist on ${config.kafka.brokers.join(',')}`,
              ]
            : [],
        );
        if (missing.length > 0) throw new ConfigError(missing);
        // Through the source's admin client (connected by the topic check above).
        await deadLetters.prepare(source.clusterAdmin);
        ifStopped();
        await threadsStarted;
        ifStopped();
      } catch (e) {
        // No thread outlives a failed start: a stop() under way releases them itself.
        await threadsStarted.catch(() => {});
        if (!stopped) {
          await Promise.allSettled([lease ? undefined : pool?.destroy(), committer?.close()]);
          pool = undefined;
          committer = undefined;
        }
        throw e;
      }
      if (!pool || !committer) throw new KiceError('INTERNAL', 'engine threads not started');
      coordinator = new Coordinator({
        config,
        source,
        pool,
        committer,
        deadLetters,
        log,
        fetchStartOffsets,
        observer: prom,
        ...(lease ? { budget: lease.budget } : {}),
      });
      for (const e of ['commit', 'deadLetter', 'assigned']) {
        coordinator.on(e, (...args: unknown[]) => events.emit(e, ...args));
      }
      // 'error' without a listener would throw: only forward when someone listens.
      coordinator.on('fatal', (e: Error) => {
        if (events.listenerCount('error') > 0) events.emit('error', e);
        emitStatus();
      });
      coordinator.on('joined', emitStatus);
      await coordinator.start();
      ifStopped();
      log.info(
        {
          engine: name,
          threads,
          tables: config.tables.length,
          sharedRuntime: lease !== undefined,
          // What memory.limit (or the budget alone) made of the memory settings.
          memory: {
            ...(config.memory.limit === undefined ? {} : { limit: config.memory.limit }),
            maxInFlightBytes: config.memory.maxInFlightBytes,
            rowGroupBytes: rowGroupBytes(config),
            ...(lease
              ? {}
              : { workerHeapMb: threadLimits(config.memory).worker.maxOldGenerationSizeMb }),
          },
          fetch: config.kafka.fetch,
        },
        'kice engine started',
      );
    },

    async stop() {
      stopped ??= (async () => {
        emitStatus();
        for (const index of keyIndexes.values()) index.clear();
        // No consumer restarts from now on, and a short budget for the last offset commit.
        source.prepareStop();
        try {
          // Without a coordinator (start failed early) the source still holds connections.
          await (coordinator ? coordinator.stop() : source.stop());
        } finally {
          // A shared pool stays: the runtime ends it (runtime.close()).
          await Promise.allSettled([
            deadLetters.close(),
            lease ? undefined : pool?.destroy(),
            committer?.close(),
          ]);
          lease?.release();
          const mem = process.memoryUsage();
          log.info(
            {
              engine: name,
              ...(coordinator ? coordinator.metrics : {}),
              mainHeapUsedBytes: mem.heapUsed,
              mainHeapTotalBytes: mem.heapTotal,
              mainArrayBuffersBytes: mem.arrayBuffers,
            },
            'kice engine stopped',
          );
        }
      })();
      return stopped;
    },

    async runOnce() {
      try {
        await engine.start();
      } catch (e) {
        await engine.stop().catch(() => {});
        throw e;
      }
      const c = coordinator as Coordinator;
      // Topics and end offsets as seen now.
      const all = await source.listTopics();
      const names = all.filter((t) =>
        topics instanceof RegExp ? topics.test(t) : topics.includes(t),
      );
      const ends = await source.fetchEndOffsets(names);
      events.emit('endOffsets', ends);
      log.info(
        { partitions: ends.size },
        'run --once: consuming up to the end offsets seen at start',
      );
      let failure: Error | undefined;
      const onError = (e: Error): void => {
        failure = e;
      };
      events.on('error', onError);
      try {
        for (;;) {
          if (failure) throw failure;
          // Only the partitions this member owns count: others belong to other members.
          if (!c.caughtUp(ends)) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          // A commit refused meanwhile re-seeks its partitions back: catch up again.
          const refused = c.metrics.refusedCommits;
          await c.settle();
          if (c.metrics.refusedCommits === refused) break;
        }
        if (failure) throw failure;
        const owned = new Set(c.positions().map((p) => p.key));
        const others = [...ends.keys()].filter((k) => !owned.has(k)).sort();
        if (others.length > 0) {
          log.warn(
            { partitions: others, groupId: config.kafka.groupId },
            'run --once: partitions of other members not consumed',
          );
        }
      } finally {
        events.off('error', onError);
        await engine.stop();
      }
      if (failure) throw failure;
    },

    metrics: () => {
      const m = coordinator?.metrics as EngineMetrics;
      return { ...m, watermarkMs: { ...m?.watermarkMs } };
    },
    positions: () => coordinator?.positions() ?? [],
    tables: () => coordinator?.tableNames() ?? [],
    status() {
      if (!coordinator) return { ready: false, reasons: ['not started'] };
      const reasons = coordinator.notReady();
      if (stopped && !reasons.includes('stopping')) reasons.push('stopping');
      return { ready: reasons.length === 0, reasons };
    },
    async prometheus() {
      return { contentType: prom.contentType, text: await prom.text() };
    },
    async lag() {
      const owned = coordinator?.durablePositions() ?? [];
      const known = await ends.get([...new Set(owned.map((p) => p.topic))]);
      return owned
        .sort(
          (a, b) =>
            a.table.localeCompare(b.table) ||
            a.topic.localeCompare(b.topic) ||
            a.partition - b.partition,
        )
        .map((p): PartitionReport => {
          const end = known.get(`${p.topic}:${p.partition}`);
          return {
            table: p.table,
            topic: p.topic,
            partition: p.partition,
            committedOffset: p.committed.toString(),
            ...(end === undefined
              ? {}
              : {
                  endOffset: end.toString(),
                  lag: (end > p.committed ? end - p.committed : 0n).toString(),
                }),
          };
        });
    },
    async describeTable(table, opts = {}) {
      const c = coordinator;
      if (!c || !committer || !c.tableNames().includes(table)) return undefined;
      // The committer thread closes on stop: a call then would never answer.
      if (stopped) throw new KiceError('INTERNAL', 'the engine is stopping');
      const described = await committer.api.describe(table, opts.snapshots ?? 20);
      if (!described) return undefined;
      const partitions = (await engine.lag()).filter((p) => p.table === table);
      return { ...described, partitions };
    },
    async query(table, opts = {}) {
      const c = queryable(table);
      return runQuery(
        {
          catalog: catalogForQueries,
          groupId: config.kafka.groupId,
          capture: capture(c),
          decoder: queryDecoder,
        },
        table,
        opts,
      );
    },
    async get(table, key) {
      const c = queryable(table);
      const a = c.hotAccess(table);
      if (!a)
        throw new KiceError(
          'QUERY_INVALID',
          `get: unknown table "${table}" (no configured topic routes to it)`,
        );
      const keyCfg = a.runtime.config.key;
      if (keyCfg.format === 'none')
        throw new KiceError(
          'QUERY_INVALID',
          `get ${table}: the table has no key column (set tables[].key.format to keep the record key)`,
        );
      const column = keyCfg.column;
      // The view, captured now; S, read after it (as in a query: nothing falls between).
      const view = a.runtime.buffer.view();
      let index = keyIndexes.get(table);
      if (!index) {
        index = new KeyIndex(column, c.memory);
        keyIndexes.set(table, index);
      }
      index.sync(view);
      const t = await loadTable(catalogForQueries(), table);
      const m = t?.metadata;
      const schema = m?.schemas.find((s) => s.schemaId === m.currentSchemaId) ?? a.runtime.observed;
      const value = keyValue(schema, column, key);
      const hit = index.lookup(value);
      // A hot row S already holds is the same row as S's, and the newest: it wins.
      if (hit) return hotRow(hit, schema);
      if (!t || m?.currentSnapshotId == null) return undefined;
      return coldGet(t, m.currentSnapshotId, column, value, queryDecoder).catch((e: unknown) => {
        if (e instanceof Error && (e as { code?: string }).code === 'INVALID_ARGUMENT')
          throw new KiceError('QUERY_INVALID', `get ${table}: ${e.message}`, { cause: e });
        throw e;
      });
    },
    observeQuery(route, outcome, seconds) {
      prom.observeQuery(route, outcome, seconds);
    },
    on(event: string, listener: (...args: never[]) => void) {
      events.on(event, listener as (...args: unknown[]) => void);
      return engine;
    },
  };
  return engine;
}
