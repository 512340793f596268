/**
 * The Source seam implemented with kafkajs 2.2.4, following the ten rules of KAFKAJS-NOTES.md:
 * - autoCommit off, eachBatchAutoResolve on; eachBatch validates, copies the values into a
 *   fresh buffer, hands the batch on and returns at once (rules 1, 7); kafkajs heartbeats after
 *   every batch, so a handler that never blocks keeps the session alive;
 * - on every GROUP_JOIN: diff with the previous assignment (all lost when the member id
 *   changed or after a crash), pause every assigned partition synchronously, forget their
 *   positions, then call onRevoke and onAssign; the handler seeks (numbers only) and resumes
 *   (rules 3, 4);
 * - a batch is delivered only if it was fetched at the partition's expected next offset;
 *   a live batch that is dropped re-seeks kafkajs to that offset so nothing is skipped; each
 *   batch carries the partition's epoch, bumped on every seek and assignment (rule 5);
 * - batches with only markers/aborted records advance the position through END_BATCH_PROCESS
 *   and onProgress (rule 5); CRASH with restart:false → onError, restart:true → revoke all (rule 9);
 * - codecs are registered before the client is built (rule 10, client.ts).
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
import {
  type KafkaSourceOptions,
  type ResolvedSourceOptions,
  resolveSourceOptions,
} from './options.ts';
import { packBatch } from './pack.ts';
import { PartitionTracker } from './partition-state.ts';
import type {
  Source,
  SourceHandlers,
  SourceLogger,
  TopicPartition,
  TopicPartitionOffset,
} from './types.ts';

const INT64_MAX = (1n << 63n) - 1n;

const silent: SourceLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** A Source over a kafkajs consumer group. */
export class KafkajsSource implements Source {
  private readonly options: ResolvedSourceOptions;
  private readonly consumer: Consumer;
  private readonly admin: KafkaAdmin;
  private readonly log: SourceLogger;
  private readonly tracker = new PartitionTracker();
  private handlers: SourceHandlers | undefined;
  private assigned: TopicPartition[] = [];
  private memberId: string | undefined;
  private lostAll = false;
  private generation = 0;
  private running = false;
  private subscribed = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;

  /** Validates the options (throws CONFIG_INVALID) and builds the client; nothing connects yet. */
  constructor(options: KafkaSourceOptions) {
    this.options = resolveSourceOptions(options);
    this.log = options.logger ?? silent;
    const o = this.options;
    this.consumer = createKafka(o).consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeout,
      heartbeatInterval: o.heartbeatInterval,
      rebalanceTimeout: o.rebalanceTimeout,
      maxBytesPerPartition: o.maxBytesPerPartition,
      maxBytes: o.maxBytes,
      minBytes: o.minBytes,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      allowAutoTopicCreation: false,
    });
    this.admin = new KafkaAdmin(o);
  }

  async start(handlers: SourceHandlers): Promise<void> {
    if (this.handlers) throw new KiceError('INTERNAL', 'KafkajsSource.start called twice');
    this.handlers = handlers;
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
    try {
      await this.consumer.connect();
      await this.subscribeAndRun();
    } catch (e) {
      throw new KiceError('KAFKA', `starting the Kafka source failed: ${(e as Error).message}`, {
        retryable: Boolean((e as { retriable?: unknown }).retriable),
        cause: e,
      });
    }
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
    if (owned.length > 0 && this.running)
      this.client('pause', () => this.consumer.pause(groupByTopic(owned)));
  }

  resume(tps: TopicPartition[]): void {
    const owned = this.tracker.setPaused(tps, false);
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

  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    const owned = offsets.filter((o) => this.tracker.owns(o));
    if (owned.length < offsets.length) {
      this.log.info(
        { skipped: offsets.length - owned.length },
        'not committing offsets of partitions no longer owned',
      );
    }
    if (owned.length === 0 || !this.running) return;
    try {
      await this.consumer.commitOffsets(
        owned.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset.toString() })),
      );
    } catch (e) {
      throw new KiceError('KAFKA', `committing offsets to Kafka failed: ${(e as Error).message}`, {
        retryable: true,
        cause: e,
      });
    }
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

  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    await this.restarting?.catch(() => {});
    this.running = false;
    await this.consumer.disconnect();
    await this.admin.close();
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
      await this.subscribeAndRun();
    })()
      .catch((e) => this.fail(e))
      .finally(() => {
        this.restarting = undefined;
      });
  }

  private onGroupJoin(memberId: string, memberAssignment: Record<string, number[]>): void {
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
      keepKeys: this.options.keepKeys,
      keepHeaders: this.options.keepHeaders,
    });
    this.handlers?.onBatch(packed);
  }

  private onSkipped(topic: string, partition: number, first: string | null, last: string): void {
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
    if (restart) {
      this.log.warn(
        { err: error },
        'Kafka consumer crashed and restarts: revoking every partition',
      );
      this.revokeAll();
      return;
    }
    this.running = false;
    this.fail(new KiceError('KAFKA', `Kafka consumer crashed: ${error.message}`, { cause: error }));
  }

  /** Everything owned is lost (crash, subscription restart): the next join assigns afresh. */
  private revokeAll(): void {
    const all = this.assigned;
    this.assigned = [];
    this.lostAll = true;
    this.tracker.clear();
    if (all.length === 0) return;
    try {
      this.handlers?.onRevoke(all);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.log.error({ err }, 'Kafka source error');
    try {
      this.handlers?.onError(err);
    } catch (inner) {
      this.log.error({ err: inner }, 'onError handler threw');
    }
  }
}
