/**
 * `createEngine(config)`: the embeddable kice engine. Wires the kafkajs Source, the Piscina
 * pool (decode + flush), the committer thread and the dead-letter sink around the
 * coordinator. Start checks every input topic and prepares the dead-letter topic (creates
 * it if allowed, reads its size limit) before anything is consumed.
 *
 *   const engine = createEngine(config);
 *   engine.on('commit', (c) => …);
 *   await engine.start();         // daemon: runs until stop()
 *   await engine.runOnce();       // batch: consume up to the end offsets seen at start
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import pinoPretty from 'pino-pretty';
import { Piscina } from 'piscina';
import { startCommitterThread } from './commit/committer-client.ts';
import { ConfigError } from './config/load.ts';
import type { KiceConfig } from './config/schema.ts';
import { REDACTED, redact } from './config/secrets.ts';
import { tlsOptions } from './config/tls.ts';
import { Coordinator, type EngineMetrics, type Logger } from './coordinator.ts';
import { DeadLetterSink } from './pipeline/dead-letters.ts';
import { topicsWanting } from './pipeline/routing.ts';
import type { KafkaClientOptions } from './source/client.ts';
import { KafkajsSource } from './source/kafkajs-source.ts';
import { createDeadLetterProducer } from './source/producer.ts';
import { workerBundle } from './workers/bundle.ts';

export interface EngineOptions {
  /**
   * A pino-like logger; default: pino at config.log.level, secrets redacted
   * (config/secrets.ts: by key, and every registered secret in every line's text).
   */
  readonly logger?: Logger;
}

import type { CommitEvent } from './pipeline/table-flusher.ts';

export type { CommitEvent };

export interface Engine {
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
  on(event: 'commit', listener: (e: CommitEvent) => void): this;
  on(event: 'deadLetter', listener: (count: number) => void): this;
  on(event: 'error', listener: (e: Error) => void): this;
  on(event: 'assigned', listener: (tps: { topic: string; partition: number }[]) => void): this;
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

export function createEngine(config: KiceConfig, options: EngineOptions = {}): Engine {
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
  });
  // The reset policy's offsets, through the source's admin client (already connected by
  // the topic check in start()).
  const fetchStartOffsets = (names: string[]): Promise<Map<string, bigint>> =>
    config.kafka.autoOffsetReset === 'earliest'
      ? source.fetchBeginningOffsets(names)
      : source.fetchEndOffsets(names);

  const threads = config.workers.threads ?? availableParallelism();
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

  const engine: Engine = {
    async start() {
      if (coordinator) return;
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
      const bundle = await workerBundle();
      pool = new Piscina({
        filename: pathToFileURL(bundle.poolTasks).href,
        minThreads: threads,
        maxThreads: threads,
        idleTimeout: 60 * 60_000,
        resourceLimits: {
          maxYoungGenerationSizeMb: 16,
          // A flush holds at most the in-flight budget; a cap close to it makes V8 collect
          // garbage early instead of growing each worker's heap toward its 2 GB default.
          maxOldGenerationSizeMb: Math.max(
            128,
            Math.ceil((config.memory.maxInFlightBytes * 2) / 2 ** 20),
          ),
        },
      });
      committer = startCommitterThread(bundle.committerThread, {
        catalog: config.catalog,
        groupId: config.kafka.groupId,
        storage: config.storage,
      });
      coordinator = new Coordinator({
        config,
        source,
        pool,
        committer,
        deadLetters,
        log,
        fetchStartOffsets,
      });
      for (const e of ['commit', 'deadLetter', 'assigned']) {
        coordinator.on(e, (...args: unknown[]) => events.emit(e, ...args));
      }
      // 'error' without a listener would throw: only forward when someone listens.
      coordinator.on('fatal', (e: Error) => {
        if (events.listenerCount('error') > 0) events.emit('error', e);
      });
      await coordinator.start();
      log.info({ threads, tables: config.tables.length }, 'kice engine started');
    },

    async stop() {
      stopped ??= (async () => {
        // No consumer restarts from now on, and a short budget for the last offset commit.
        source.prepareStop();
        try {
          // Without a coordinator (start failed early) the source still holds connections.
          await (coordinator ? coordinator.stop() : source.stop());
        } finally {
          await Promise.allSettled([deadLetters.close(), pool?.destroy(), committer?.close()]);
          const mem = process.memoryUsage();
          log.info(
            {
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
    on(event: string, listener: (...args: never[]) => void) {
      events.on(event, listener as (...args: unknown[]) => void);
      return engine;
    },
  };
  return engine;
}
