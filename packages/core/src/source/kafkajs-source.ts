/**
 * The Source seam implemented with kafkajs 2.2.4 (its behaviour read from its source):
 * - autoCommit off, eachBatchAutoResolve on; eachBatch validates, copies the values into a
 *   fresh buffer, hands the batch on and returns at once; kafkajs heartbeats after
 *   every batch, so a handler that never blocks keeps the session alive;
 * - on every GROUP_JOIN: diff with the previous assignment (all lost when the member id
 *   changed or after a crash), pause every assigned partition synchronously, forget their
 *   positions, then call onRevoke and onAssign; the handler seeks (numbers only) and resumes
 *   (kafkajs forgets every position on a rebalance);
 * - a batch is delivered only if it was fetched at the partition's expected next offset;
 *   a live batch that is dropped re-seeks kafkajs to that offset so nothing is skipped; each
 *   batch carries the partition's epoch, bumped on every seek and assignment;
 * - batches with only markers/aborted records advance the position through END_BATCH_PROCESS
 *   and onProgress;
 * - a consumer crash is fatal only when it is not transient: kafkajs restarts the consumer
 *   itself after a retriable crash (restart:true → revoke all); a crash it will not restart
 *   but that retry.ts calls transient (coordinator not found, a lock timeout while a broker
 *   restarts) is restarted here, with backoff within the retry budget; anything else goes to
 *   onError;
 * - admin look-ups retry transient errors (admin.ts); a Kafka offset commit retries too,
 *   and its failure is the caller's warning, never fatal;
 * - codecs are registered before the client is built (client.ts).
 *
 * Stopping, bounded: `prepareStop()` (the engine calls it before its last flush) turns off
 * every restart and shortens the offset-commit budget; `stop()` aborts retries, waits for a
 * consumer restart under way to end (kafkajs cannot stop a consumer that is still joining:
 * it would join later, after disconnect, and keep the process alive), then leaves the
 * group and disconnects, each step within its own deadline, logging what it gave up on.
 *
 * Raw fetch (option `fetch: 'raw'`, fetch/fetcher.ts): kafkajs still subscribes and runs the
 * consumer (group joins, heartbeats, offset commits) but every assigned partition stays
 * paused in kafkajs for good (its runner then only waits maxWaitTime per loop and
 * heartbeats); kice's own fetcher, over connections of the same kafkajs client (same TLS,
 * SASL and socket settings), holds the positions: seek, pause, resume and each join's
 * assignment go to it, and whole record batches arrive through handlers.onRawFetch (keys
 * and headers kept per topic as for onBatch). stop() stops the fetcher first.
 *
 * Pattern subscriptions: kafkajs resolves a RegExp only when subscribing. With a pattern, the
 * Source lists the cluster's topics every `topicRefreshIntervalMs` and, when a new topic
 * matches, restarts the subscription (stop, subscribe, run): this member leaves and rejoins
 * the group, so every partition is revoked and assigned again (lostAll). Between two checks a
 * new topic is not consumed.
 */
import type { Batch, Consumer, ConsumerRunConfig, EachBatchPayload } from 'kafkajs';
import { KiceError } from '../errors.ts';
import { KafkaAdmin } from './admin.ts';
import { diffAssignments, flattenAssignment, groupByTopic } from './assignment.ts';
import { createKafka } from './client.ts';
import { RawFetcher } from './fetch/fetcher.ts';
import { SharedSlabs } from './fetch/shared-slabs.ts';
import { KafkajsFetchTransport } from './fetch/transport.ts';
import {
  type KafkaSourceOptions,
  type ResolvedSourceOptions,
  resolveSourceOptions,
} from './options.ts';
import { packBatch } from './pack.ts';
import { PartitionTracker } from './partition-state.ts';
import { isTransientKafkaError, rootMessage, withRetry } from './retry.ts';
import type {
  Source,
  SourceHandlers,
  SourceLogger,
  TopicPartition,
  TopicPartitionOffset,
} from './types.ts';

const INT64_MAX = (1n << 63n) - 1n;

const silent: SourceLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** kafkajs's consumer restart delay is at most this (its retry.maxRetryTime). */
const RESTART_DELAY_MAX_MS = 5_000;
/** Budget of one Kafka offset commit while running (the next commit covers a failed one). */
const COMMIT_BUDGET_MS = 30_000;
/** Budget of the offset commit of a shutdown, and of each step of stop(). */
const STOP_STEP_MS = 8_000;
/** How long stop() waits for a kafkajs consumer restart under way to join or fail. */
const RESTART_SETTLE_MS = RESTART_DELAY_MAX_MS + 15_000;

/** `p`, or undefined once `ms` passed (p keeps running; its rejection is swallowed). */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
    p.catch(() => {});
  }
}

/** A Source over a kafkajs consumer group. */
export class KafkajsSource implements Source {
  private readonly options: ResolvedSourceOptions;
  private readonly consumer: Consumer;
  private readonly admin: KafkaAdmin;
  private readonly log: SourceLogger;
  private readonly tracker = new PartitionTracker();
  /** kice's own fetcher (option fetch: 'raw'); undefined: kafkajs fetches. */
  private readonly fetcher: RawFetcher | undefined;
  private handlers: SourceHandlers | undefined;
  private assigned: TopicPartition[] = [];
  private memberId: string | undefined;
  private lostAll = false;
  private generation = 0;
  private running = false;
  private subscribed = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  /** start()'s connect and run, while under way or done (stop() waits for it). */
  private starting: Promise<void> | undefined;
  /** Set by prepareStop()/stop(): no more consumer restarts, short commit budgets. */
  private stopping = false;
  private stopped: Promise<void> | undefined;
  /** Aborts every retry when stop() begins. */
  private readonly closing = new AbortController();
  /** A kafkajs restart is scheduled or under way; resolves at its GROUP_JOIN or CRASH. */
  private kafkajsRestart: { done: Promise<void>; settle: () => void } | undefined;

  /** Validates the options (throws CONFIG_INVALID) and builds the client; nothing connects yet. */
  constructor(options: KafkaSourceOptions) {
    this.options = resolveSourceOptions(options);
    this.log = options.logger ?? silent;
    const o = this.options;
    const kafka = createKafka(o);
    this.consumer = kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeout,
      heartbeatInterval: o.heartbeatInterval,
      rebalanceTimeout: o.rebalanceTimeout,
      maxBytesPerPartition: o.maxBytesPerPartition,
      maxBytes: o.maxBytes,
      minBytes: o.minBytes,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      allowAutoTopicCreation: false,
      retry: {
        initialRetryTime: 300,
        maxRetryTime: RESTART_DELAY_MAX_MS,
        retries: 5,
        // Consulted after every retriable crash: a stopping Source starts no consumer again.
        restartOnFailure: async () => !this.stopping,
      },
    });
    this.admin = new KafkaAdmin({ ...o, retry: o.retry, signal: this.closing.signal });
    if (o.fetch === 'raw') {
      this.fetcher = new RawFetcher({
        // Fetched batches go into reused shared slabs; half a fetch's worth kept free.
        transport: new KafkajsFetchTransport(
          kafka,
          'read_committed',
          new SharedSlabs(Math.floor(o.maxBytes / 2)),
        ),
        maxWaitTimeInMs: o.maxWaitTimeInMs,
        minBytes: o.minBytes,
        maxBytes: o.maxBytes,
        maxBytesPerPartition: o.maxBytesPerPartition,
        isolation: 'read_committed',
        requestTimeoutMs: o.requestTimeout ?? 30_000,
        backoff: o.retry,
        keepKeys: (topic) => keepFor(o.keepKeys, topic),
        keepHeaders: (topic) => keepFor(o.keepHeaders, topic),
        log: this.log,
        onFetch: (f) => this.handlers?.onRawFetch?.(f),
        onError: (e) => this.fail(e),
      });
    }
  }

  async start(handlers: SourceHandlers): Promise<void> {
    if (this.handlers) throw new KiceError('INTERNAL', 'KafkajsSource.start called twice');
    if (this.fetcher && !handlers.onRawFetch) {
      throw new KiceError('INTERNAL', "source fetch 'raw' needs a handler with onRawFetch");
    }
    this.handlers = handlers;
    const fetcher = this.fetcher;
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, (e) =>
      this.onGroupJoin(e.payload.memberId, e.payload.memberAssignment),
    );
    this.consumer.on(events.END_BATCH_PROCESS, (e) => {
      const p = e.payload;
      if (p.batchSize !== 0) return;
      this.onSkipped(p.topic, p.partition, p.firstOffset, p.lastOffset);
    });
    this.consumer.on(events.CRASH, (e) => this.onCrash(e.payload.error, e.payload.restart));
    let fetcherStarted = false;
    this.starting = this.retried('starting the Kafka consumer', async () => {
      if (fetcher && !fetcherStarted) {
        await fetcher.start();
        fetcherStarted = true;
      }
      await this.consumer.connect();
      await this.subscribeAndRun();
    });
    await this.starting;
    const { topics, topicRefreshIntervalMs } = this.options;
    if (topics instanceof RegExp && topicRefreshIntervalMs > 0) {
      this.refreshTimer = setInterval(
        () => void this.refreshPatternTopics(),
        topicRefreshIntervalMs,
      );
      this.refreshTimer.unref();
    }
  }

  pause(tps: TopicPartition[]): void {
    const owned = this.tracker.setPaused(tps, true);
    if (this.fetcher) {
      this.fetcher.pause(owned);
      return;
    }
    if (owned.length > 0 && this.running)
      this.client('pause', () => this.consumer.pause(groupByTopic(owned)));
  }

  resume(tps: TopicPartition[]): void {
    const owned = this.tracker.setPaused(tps, false);
    if (this.fetcher) {
      // kafkajs keeps every partition paused: the fetcher reads them.
      this.fetcher.resume(owned);
      return;
    }
    if (owned.length > 0 && this.running)
      this.client('resume', () => this.consumer.resume(groupByTopic(owned)));
  }

  seek(tp: TopicPartition, offset: bigint): void {
    if (offset < 0n || offset > INT64_MAX) {
      throw new KiceError('INTERNAL', `seek offset must be a non-negative int64 (got ${offset})`, {
        context: { topic: tp.topic, partition: tp.partition },
      });
    }
    if (!this.running || !this.tracker.seek(tp, offset)) {
      this.log.warn(
        { topic: tp.topic, partition: tp.partition, offset: String(offset) },
        'seek ignored: not assigned',
      );
      return;
    }
    if (this.fetcher) {
      this.fetcher.seek(tp, offset);
      return;
    }
    this.client('seek', () =>
      this.consumer.seek({ topic: tp.topic, partition: tp.partition, offset: offset.toString() }),
    );
  }

  /**
   * Runs a synchronous kafkajs call that throws while the consumer restarts after a crash
   * (no consumer group then); the next GROUP_JOIN pauses and the handler seeks again anyway.
   */
  private client(what: string, call: () => void): void {
    try {
      call();
    } catch (e) {
      this.log.warn({ err: e }, `kafkajs ${what} failed`);
    }
  }

  /**
   * Commits with retries on transient errors (within 30 s while running, 8 s once stopping);
   * rejects with a KiceError('KAFKA') the caller logs as a warning: the table's offsets are
   * the truth, and the next commit covers this one.
   */
  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    const owned = offsets.filter((o) => this.tracker.owns(o));
    if (owned.length < offsets.length) {
      this.log.info(
        { skipped: offsets.length - owned.length },
        'not committing offsets of partitions no longer owned',
      );
    }
    if (owned.length === 0 || !this.running) return;
    const rows = owned.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      offset: o.offset.toString(),
    }));
    const budget = this.stopping ? STOP_STEP_MS : COMMIT_BUDGET_MS;
    const commit = withRetry(
      'committing offsets to Kafka',
      () => this.consumer.commitOffsets(rows),
      {
        policy: {
          ...this.options.retry,
          timeoutMs: Math.min(budget, this.options.retry.timeoutMs),
        },
        signal: this.closing.signal,
        log: this.log,
      },
    );
    // kafkajs's own retries inside one attempt are not ours to cut short: bound the wait.
    const done = await within(commit, budget + 1_000);
    if (!done) {
      throw new KiceError(
        'KAFKA',
        `committing offsets to Kafka failed: no answer within ${budget} ms`,
        {
          retryable: true,
        },
      );
    }
  }

  /** The Source's admin client (connected, retried, closed by stop()), for other cluster
   * look-ups of the engine at start, so the process holds one admin connection. */
  get clusterAdmin(): KafkaAdmin {
    return this.admin;
  }

  fetchEndOffsets(topics: string[]): Promise<Map<string, bigint>> {
    return this.admin.fetchEndOffsets(topics);
  }

  fetchBeginningOffsets(topics: string[]): Promise<Map<string, bigint>> {
    return this.admin.fetchBeginningOffsets(topics);
  }

  fetchCommittedOffsets(groupId: string, topics: string[]): Promise<Map<string, bigint>> {
    return this.admin.fetchCommittedOffsets(groupId, topics);
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  /** The engine is about to flush for the last time: restart nothing, commit briefly. */
  prepareStop(): void {
    this.stopping = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  stop(): Promise<void> {
    this.stopped ??= this.stopNow();
    return this.stopped;
  }

  private async stopNow(): Promise<void> {
    this.prepareStop();
    this.closing.abort();
    const gaveUp: string[] = [];
    // No record is fetched once stopping: the fetcher goes first.
    if (this.fetcher && !(await within(this.fetcher.stop(), STOP_STEP_MS)))
      gaveUp.push('the raw fetcher did not stop');
    // A start under way ends first (a first attempt runs even when aborted): the
    // disconnect below then leaves the group it may just have joined.
    if (
      this.starting &&
      !(await within(
        this.starting.catch(() => {}),
        STOP_STEP_MS,
      ))
    )
      gaveUp.push('the consumer start under way did not end');
    if (this.restarting && !(await within(this.restarting, RESTART_SETTLE_MS)))
      gaveUp.push('a consumer restart did not end');
    const pending = this.kafkajsRestart;
    if (pending) {
      this.log.info({}, 'stopping: waiting for the consumer restart under way to end');
      if (await within(pending.done, RESTART_SETTLE_MS)) {
        // GROUP_JOIN is emitted just before the runner marks itself running.
        await new Promise((r) => setImmediate(r));
      } else {
        gaveUp.push('a kafkajs consumer restart did not end');
      }
    }
    this.running = false;
    const left = await within(this.consumer.disconnect(), STOP_STEP_MS).catch((e: unknown) => {
      gaveUp.push(`leaving the group failed: ${rootMessage(e)}`);
      return { value: undefined };
    });
    if (!left) gaveUp.push(`leaving the group and disconnecting took over ${STOP_STEP_MS} ms`);
    const closed = await within(this.admin.close(), STOP_STEP_MS).catch(() => undefined);
    if (!closed) gaveUp.push('the admin client did not disconnect');
    if (gaveUp.length > 0)
      this.log.warn({ gaveUp }, 'Kafka source stopped without finishing every step');
  }

  /** Runs `call`, retrying transient errors within the retry budget (aborted by stop()). */
  private retried<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return withRetry(operation, call, {
      policy: this.options.retry,
      signal: this.closing.signal,
      log: this.log,
    });
  }

  private runConfig(): ConsumerRunConfig {
    return {
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        try {
          this.onFetched(payload);
        } catch (e) {
          this.fail(e);
        }
        return Promise.resolve();
      },
    };
  }

  private async subscribeAndRun(): Promise<void> {
    const { topics } = this.options;
    if (topics instanceof RegExp) {
      this.subscribed = new Set((await this.admin.listTopics()).filter((t) => topics.test(t)));
      await this.consumer.subscribe({ topics: [topics] });
    } else {
      this.subscribed = new Set(topics);
      await this.consumer.subscribe({ topics: [...topics] });
    }
    // GROUP_JOIN fires inside run(), and onAssign may seek synchronously: mark running first.
    this.running = true;
    try {
      await this.consumer.run(this.runConfig());
    } catch (e) {
      this.running = false;
      throw e;
    }
  }

  /** With a pattern: restart the subscription when a new topic matches. */
  private async refreshPatternTopics(): Promise<void> {
    const { topics } = this.options;
    if (!(topics instanceof RegExp) || this.restarting || !this.running) return;
    let fresh: string[];
    try {
      fresh = (await this.admin.listTopics()).filter(
        (t) => topics.test(t) && !this.subscribed.has(t),
      );
    } catch (e) {
      this.log.warn({ err: e }, 'topic refresh failed');
      return;
    }
    if (fresh.length === 0 || !this.running) return;
    this.log.info({ topics: fresh }, 'new topics match the pattern: restarting the subscription');
    this.restarting = (async () => {
      this.running = false;
      await this.consumer.stop();
      this.revokeAll();
      await this.retried('restarting the Kafka consumer', () => this.subscribeAndRun());
    })()
      .catch((e) => this.fail(e))
      .finally(() => {
        this.restarting = undefined;
      });
  }

  private onGroupJoin(memberId: string, memberAssignment: Record<string, number[]>): void {
    this.kafkajsRestart?.settle();
    const next = flattenAssignment(memberAssignment);
    const lostAll = this.lostAll || (this.memberId !== undefined && this.memberId !== memberId);
    const { revoked } = diffAssignments(this.assigned, next, lostAll);
    this.assigned = next;
    this.memberId = memberId;
    this.lostAll = false;
    this.generation += 1;
    // Forget every position and pause everything before the first fetch of this generation:
    // kafkajs restarts every partition from the Kafka-committed offset.
    this.tracker.assign(next);
    this.fetcher?.assign(next);
    if (next.length > 0) this.consumer.pause(groupByTopic(next));
    this.log.info(
      {
        generation: this.generation,
        memberId,
        assigned: next.length,
        revoked: revoked.length,
        lostAll,
      },
      'group joined',
    );
    const handlers = this.handlers;
    if (!handlers) return;
    try {
      if (revoked.length > 0) handlers.onRevoke(revoked);
      const done = handlers.onAssign(next, { generation: this.generation, memberId, lostAll });
      if (done) done.catch((e: unknown) => this.fail(e));
    } catch (e) {
      this.fail(e);
    }
  }

  private onFetched(payload: EachBatchPayload): void {
    // Raw fetch: kafkajs keeps every partition paused; a batch it fetched anyway is dropped.
    if (this.fetcher) return;
    const batch: Batch = payload.batch;
    const n = batch.messages.length;
    if (n === 0) return;
    const tp = { topic: batch.topic, partition: batch.partition };
    const fetched =
      (batch as Batch & { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset() ?? '0';
    const nextOffset = BigInt(batch.lastOffset()) + 1n;
    const verdict = this.tracker.onBatch(tp, {
      fetchedOffset: BigInt(fetched),
      nextOffset,
      stale: payload.isStale(),
    });
    if (!verdict.accept) {
      if (verdict.reseek !== undefined) {
        this.consumer.seek({
          topic: tp.topic,
          partition: tp.partition,
          offset: verdict.reseek.toString(),
        });
      }
      this.log.debug(
        {
          ...tp,
          fetchedOffset: fetched,
          reason: verdict.reason,
          reseek: verdict.reseek?.toString(),
        },
        'batch dropped',
      );
      return;
    }
    const packed = packBatch(batch.messages, {
      ...tp,
      nextOffset,
      epoch: verdict.epoch,
      keepKeys: keepFor(this.options.keepKeys, tp.topic),
      keepHeaders: keepFor(this.options.keepHeaders, tp.topic),
    });
    this.handlers?.onBatch(packed);
  }

  private onSkipped(topic: string, partition: number, first: string | null, last: string): void {
    if (this.fetcher) return;
    const tp = { topic, partition };
    const next = this.tracker.onSkipped(tp, first === null ? null : BigInt(first), BigInt(last));
    if (next === undefined) return;
    try {
      this.handlers?.onProgress?.(tp, next);
    } catch (e) {
      this.fail(e);
    }
  }

  private onCrash(error: Error, restart: boolean): void {
    this.kafkajsRestart?.settle();
    if (restart) {
      let settle = (): void => {};
      const done = new Promise<void>((r) => {
        settle = r;
      });
      this.kafkajsRestart = {
        done,
        settle: () => {
          this.kafkajsRestart = undefined;
          settle();
        },
      };
      this.log.warn(
        { reason: rootMessage(error) },
        'Kafka consumer crashed and restarts: revoking every partition',
      );
      this.revokeAll();
      return;
    }
    this.running = false;
    if (this.stopping) {
      this.log.debug({ reason: rootMessage(error) }, 'Kafka consumer stopped while stopping');
      return;
    }
    if (isTransientKafkaError(error) && !this.restarting) {
      this.log.warn(
        { reason: rootMessage(error) },
        'Kafka consumer crashed on a transient error: restarting it',
      );
      this.revokeAll();
      this.restarting = this.retried('restarting the Kafka consumer', async () => {
        await this.consumer.connect();
        await this.subscribeAndRun();
      })
        .catch((e) => {
          if (!this.stopping) this.fail(e);
        })
        .finally(() => {
          this.restarting = undefined;
        });
      return;
    }
    this.fail(
      new KiceError('KAFKA', `Kafka consumer crashed: ${rootMessage(error)}`, { cause: error }),
    );
  }

  /** Everything owned is lost (crash, subscription restart): the next join assigns afresh. */
  private revokeAll(): void {
    const all = this.assigned;
    this.assigned = [];
    this.lostAll = true;
    this.tracker.clear();
    this.fetcher?.assign([]);
    if (all.length === 0) return;
    try {
      this.handlers?.onRevoke(all);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.closing.signal.aborted) {
      // stop() cut retries short: what failed for it is not an error of the engine.
      this.log.debug({ reason: rootMessage(err) }, 'Kafka source: given up while stopping');
      return;
    }
    this.log.error({ err }, 'Kafka source error');
    try {
      this.handlers?.onError(err);
    } catch (inner) {
      this.log.error({ err: inner }, 'onError handler threw');
    }
  }
}

/** Whether a topic's batches keep keys (or headers): a flag, or a per-topic decision. */
function keepFor(keep: boolean | ((topic: string) => boolean), topic: string): boolean {
  return typeof keep === 'function' ? keep(topic) : keep;
}
