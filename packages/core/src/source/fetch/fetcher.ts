/**
 * kice's own fetch loop (https://kafka.apache.org/protocol#The_Messages_Fetch): Fetch v11
 * requests over kafkajs's connections (transport.ts), one loop per leader broker that has
 * fetchable partitions, each partition's whole record batches handed on as a RawFetch
 * (source/types.ts) without reading a record.
 *
 * Contract:
 * - assign(tps) forgets every position: each partition is paused and unpositioned until
 *   seek(); seek bumps the partition's epoch. pause/resume take effect for every response
 *   that arrives after them; resume (and seek, assign) starts the broker's loop at once if
 *   it is idle. A response is dropped for a partition whose epoch changed, whose position
 *   moved or that was paused while the request was in flight: its records are fetched
 *   again later, nothing is skipped.
 * - A partition with at least one whole batch is delivered (onFetch) and its position
 *   moves to the response's nextOffset; one with none waits for the next fetch. A
 *   partition that returns only a batch cut short is put first in the next request (the
 *   broker returns the first partition's first batch whole, however large); cut short
 *   while first, it is reported (onError) with a hint at maxBytesPerPartition.
 * - Leadership moving (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
 *   UNKNOWN_TOPIC_OR_PARTITION, REPLICA_NOT_AVAILABLE, FENCED/UNKNOWN_LEADER_EPOCH,
 *   KAFKA_STORAGE_ERROR, NOT_ENOUGH_REPLICAS, ...): metadata refreshed, the partition
 *   re-routed to the new leader after a back-off; never fatal. A connection error or a
 *   timeout backs off the broker's partitions, refreshes metadata and retries; only an
 *   error that retrying cannot fix (a failed authentication, an untrusted certificate) is
 *   also reported, once per streak.
 * - OFFSET_OUT_OF_RANGE: before the log start the position moves to the log start with a
 *   warning naming the records lost (the next RawFetch then starts past what the reader
 *   expects: a gap it accepts); past the end it warns and retries later, never skipping.
 * - currentLeaderEpoch is the metadata's leader epoch when it has one, else -1.
 * - stop() ends every loop (waiting for requests in flight at most the request timeout)
 *   and disconnects.
 */
import { KiceError } from '../../errors.ts';
import type { IsolationLevel } from '../batches/parse.ts';
import { isTransientKafkaError, rootMessage } from '../retry.ts';
import type { RawFetch, SourceLogger, TopicPartition } from '../types.ts';
import { fetchErrorAction, fetchErrorName } from './errors.ts';
import { type PartitionPosition, Positions } from './positions.ts';
import type { FetchTopicRequest } from './request.ts';
import { FetchDecodeError, type FetchedPartition, type FetchResponse } from './response.ts';
import type { FetchTransport } from './transport.ts';

export interface RawFetcherOptions {
  readonly transport: FetchTransport;
  readonly maxWaitTimeInMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
  /** Default read_committed. */
  readonly isolation?: IsolationLevel;
  /** Added to maxWaitTimeInMs for a Fetch's timeout (default 30000). */
  readonly requestTimeoutMs?: number;
  /** Back-off after a failed fetch: initialDelayMs doubling up to maxDelayMs, jittered. */
  readonly backoff: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly keepKeys: (topic: string) => boolean;
  readonly keepHeaders: (topic: string) => boolean;
  readonly log?: SourceLogger;
  /** Must not block; a throw goes to onError. */
  readonly onFetch: (fetch: RawFetch) => void;
  readonly onError: (e: Error) => void;
}

const silent: SourceLogger = { info() {}, warn() {}, error() {}, debug() {} };

interface Sent {
  readonly s: PartitionPosition;
  readonly offset: bigint;
  readonly epoch: number;
}

/** Fetches record batches of the assigned partitions; see the module comment. */
export class RawFetcher {
  private readonly o: RawFetcherOptions;
  private readonly log: SourceLogger;
  private readonly isolation: IsolationLevel;
  private readonly positions = new Positions();
  /** Node ids with a running loop. */
  private readonly loops = new Set<number>();
  private readonly loopDone = new Map<number, Promise<void>>();
  private started = false;
  private stopped = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTime = Number.POSITIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private rotation = 0;
  /** The position past the log end last warned about, per partition (one warning each). */
  private readonly pastEnd = new Map<string, bigint>();

  constructor(options: RawFetcherOptions) {
    this.o = options;
    this.log = options.log ?? silent;
    this.isolation = options.isolation ?? 'read_committed';
  }

  /** Connects the transport; fetching starts once partitions are seeked and resumed. */
  async start(): Promise<void> {
    await this.o.transport.connect();
    this.started = true;
    this.ensureLoops();
  }

  /** Replaces the assignment: all paused and unpositioned, epochs bumped. */
  assign(tps: readonly TopicPartition[]): void {
    this.positions.assign(tps);
    const topics = [...new Set(tps.map((t) => t.topic))];
    // Stopped: loading metadata would connect the cluster again (and keep the process alive).
    if (topics.length === 0 || this.stopped) return;
    this.o.transport.track(topics).then(
      () => this.ensureLoops(),
      (e: unknown) => {
        this.log.warn(
          { topics, reason: rootMessage(e) },
          'raw fetch: loading topic metadata failed',
        );
        this.requestRefresh();
      },
    );
  }

  /** Positions a partition (bumps its epoch); false when it is not assigned. */
  seek(tp: TopicPartition, offset: bigint): boolean {
    if (!this.positions.seek(tp, offset)) return false;
    this.ensureLoops();
    return true;
  }

  pause(tps: readonly TopicPartition[]): TopicPartition[] {
    return this.positions.setPaused(tps, true);
  }

  resume(tps: readonly TopicPartition[]): TopicPartition[] {
    const owned = this.positions.setPaused(tps, false);
    if (owned.length > 0) this.ensureLoops();
    return owned;
  }

  owns(tp: TopicPartition): boolean {
    return this.positions.get(tp) !== undefined;
  }

  /** The next offset to fetch, or undefined (unpositioned or not assigned). */
  position(tp: TopicPartition): bigint | undefined {
    return this.positions.get(tp)?.offset;
  }

  epoch(tp: TopicPartition): number | undefined {
    return this.positions.get(tp)?.epoch;
  }

  /** Ends every loop and disconnects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    // A request in flight ends within maxWait; disconnecting rejects one that hangs.
    const limit = this.o.maxWaitTimeInMs + 2_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.loopDone.values()),
      new Promise<void>((r) => {
        timer = setTimeout(r, limit);
      }),
    ]);
    clearTimeout(timer);
    await this.o.transport.disconnect().catch((e: unknown) => {
      this.log.debug({ reason: rootMessage(e) }, 'raw fetch: disconnect failed');
    });
  }

  /** Starts a loop for every broker leading a fetchable partition; schedules back-offs. */
  private ensureLoops(): void {
    if (this.stopped || !this.started) return;
    const now = Date.now();
    let nextRetry = Number.POSITIVE_INFINITY;
    let noLeader = false;
    const nodes = new Set<number>();
    for (const s of this.positions.all()) {
      if (!Positions.wanted(s)) continue;
      if (s.retryAt > now) {
        nextRetry = Math.min(nextRetry, s.retryAt);
        continue;
      }
      const leader = this.o.transport.leader(s.topic, s.partition);
      if (leader === undefined) {
        this.backOff(s, now);
        nextRetry = Math.min(nextRetry, s.retryAt);
        noLeader = true;
        continue;
      }
      nodes.add(leader.nodeId);
    }
    for (const n of nodes) {
      if (this.loops.has(n)) continue;
      this.loops.add(n);
      this.loopDone.set(n, this.loop(n));
    }
    if (noLeader) this.requestRefresh();
    if (nextRetry < Number.POSITIVE_INFINITY) this.wakeAt(nextRetry);
  }

  private wakeAt(t: number): void {
    if (this.wakeTimer && this.wakeTime <= t) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTime = t;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeTime = Number.POSITIVE_INFINITY;
        this.ensureLoops();
      },
      Math.max(0, t - Date.now()),
    );
    this.wakeTimer.unref();
  }

  private requestRefresh(): void {
    if (this.refreshing || this.stopped) return;
    this.refreshing = this.o.transport
      .refreshMetadata()
      .catch((e: unknown) => {
        this.log.debug({ reason: rootMessage(e) }, 'raw fetch: metadata refresh failed');
      })
      .finally(() => {
        this.refreshing = undefined;
        this.ensureLoops();
      });
  }

  private backOff(s: PartitionPosition, now = Date.now()): void {
    s.failures += 1;
    const { initialDelayMs, maxDelayMs } = this.o.backoff;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(20, s.failures - 1));
    s.retryAt = now + delay * (0.5 + Math.random() / 2);
    this.wakeAt(s.retryAt);
  }

  /** The partitions this broker leads that can be fetched now, `first` ones first. */
  private fetchable(nodeId: number): { s: PartitionPosition; leaderEpoch: number }[] {
    const now = Date.now();
    const out: { s: PartitionPosition; leaderEpoch: number }[] = [];
    for (const s of this.positions.all()) {
      if (!Positions.wanted(s) || s.retryAt > now) continue;
      const leader = this.o.transport.leader(s.topic, s.partition);
      if (leader?.nodeId === nodeId) out.push({ s, leaderEpoch: leader.leaderEpoch });
    }
    // Rotate so that no partition is always last (the broker fills partitions in order).
    const k = out.length > 0 ? this.rotation++ % out.length : 0;
    const rotated = [...out.slice(k), ...out.slice(0, k)];
    return [...rotated.filter((p) => p.s.first), ...rotated.filter((p) => !p.s.first)];
  }

  private async loop(nodeId: number): Promise<void> {
    let failures = 0;
    try {
      while (!this.stopped) {
        const parts = this.fetchable(nodeId);
        if (parts.length === 0) return;
        const sent: Sent[] = [];
        const byTopic = new Map<string, FetchTopicRequest['partitions'][number][]>();
        const order: string[] = [];
        for (const { s, leaderEpoch } of parts) {
          const offset = s.offset as bigint;
          sent.push({ s, offset, epoch: s.epoch });
          s.inFlight = true;
          let list = byTopic.get(s.topic);
          if (!list) {
            list = [];
            byTopic.set(s.topic, list);
            order.push(s.topic);
          }
          list.push({
            partition: s.partition,
            currentLeaderEpoch: leaderEpoch,
            fetchOffset: offset,
            partitionMaxBytes: this.o.maxBytesPerPartition,
          });
        }
        let res: FetchResponse;
        try {
          res = await this.o.transport.fetch(
            nodeId,
            {
              maxWaitTimeMs: this.o.maxWaitTimeInMs,
              minBytes: this.o.minBytes,
              maxBytes: this.o.maxBytes,
              isolation: this.isolation,
              topics: order.map((topic) => ({ topic, partitions: byTopic.get(topic) ?? [] })),
            },
            this.o.maxWaitTimeInMs + (this.o.requestTimeoutMs ?? 30_000),
          );
        } catch (e) {
          for (const x of sent) x.s.inFlight = false;
          if (this.stopped) return;
          failures += 1;
          this.onRequestFailed(nodeId, sent, e, failures);
          continue;
        }
        for (const x of sent) x.s.inFlight = false;
        if (this.stopped) return;
        failures = 0;
        this.onResponse(res, sent);
      }
    } finally {
      this.loops.delete(nodeId);
      this.loopDone.delete(nodeId);
      if (!this.stopped) queueMicrotask(() => this.ensureLoops());
    }
  }

  private onRequestFailed(nodeId: number, sent: Sent[], e: unknown, failures: number): void {
    if (e instanceof FetchDecodeError) {
      // A batch kice cannot read: that partition stops; the others go on.
      const { topic, partition } = e.context as { topic?: string; partition?: number };
      for (const x of sent) {
        if (x.s.topic === topic && x.s.partition === partition) x.s.failed = true;
      }
      this.fail(e);
      return;
    }
    const now = Date.now();
    for (const x of sent) this.backOff(x.s, now);
    const reason = rootMessage(e);
    const transient = isTransientKafkaError(e);
    if (!transient && failures === 1) {
      this.fail(
        new KiceError('KAFKA', `fetching from broker ${nodeId} failed: ${reason}`, { cause: e }),
      );
    } else if (failures === 1) {
      this.log.warn({ broker: nodeId, reason }, 'raw fetch: fetch failed, retrying');
    } else {
      this.log.debug({ broker: nodeId, reason, failures }, 'raw fetch: fetch failed again');
    }
    this.requestRefresh();
  }

  private onResponse(res: FetchResponse, sent: Sent[]): void {
    const byKey = new Map<string, Sent>();
    for (const x of sent) byKey.set(`${x.s.topic}:${x.s.partition}`, x);
    let firstWithRecords = true;
    let reroute = false;
    for (const t of res.topics) {
      for (const p of t.partitions) {
        // A partition not delivered gives its shared memory back at once.
        let delivered = false;
        try {
          const x = byKey.get(`${t.topic}:${p.partition}`);
          if (!x) continue;
          const wasFirst = firstWithRecords && (p.batches > 0 || p.truncatedBytes > 0);
          if (p.batches > 0 || p.truncatedBytes > 0) firstWithRecords = false;
          // The same object still assigned, at the same epoch and position, not paused.
          const live = this.positions.get(x.s) === x.s && x.s.epoch === x.epoch;
          if (!live || x.s.offset !== x.offset) continue;
          if (p.errorCode !== 0) {
            if (this.onPartitionError(t.topic, x, p)) reroute = true;
            continue;
          }
          if (x.s.paused) continue;
          x.s.failures = 0;
          x.s.retryAt = 0;
          if (p.batches === 0 || p.nextOffset === undefined) {
            if (p.truncatedBytes > 0) this.onOnlyCut(t.topic, x, p, wasFirst);
            continue;
          }
          x.s.first = false;
          if (p.nextOffset <= x.offset) {
            this.log.warn(
              { topic: t.topic, partition: p.partition, offset: String(x.offset) },
              'raw fetch: batches that end before the position fetched; fetching again',
            );
            this.backOff(x.s); // not at once: a broker answering so every time would spin
            continue;
          }
          const skippedFrom = x.s.skippedFrom;
          x.s.skippedFrom = undefined;
          x.s.offset = p.nextOffset;
          delivered = true;
          this.deliver(t.topic, x, p, skippedFrom);
        } finally {
          if (!delivered) p.release?.();
        }
      }
    }
    if (reroute) this.requestRefresh();
  }

  private deliver(topic: string, x: Sent, p: FetchedPartition, skippedFrom?: bigint): void {
    const raw: RawFetch = {
      topic,
      partition: p.partition,
      fetchOffset: x.offset,
      nextOffset: p.nextOffset as bigint,
      data: p.data,
      abortedTransactions: p.abortedTransactions,
      isolation: this.isolation,
      highWatermark: p.highWatermark,
      lastStableOffset: p.lastStableOffset,
      keepKeys: this.o.keepKeys(topic),
      keepHeaders: this.o.keepHeaders(topic),
      epoch: x.epoch,
      ...(skippedFrom === undefined ? {} : { skippedFrom }),
      ...(p.release === undefined ? {} : { release: p.release }),
    };
    try {
      this.o.onFetch(raw);
    } catch (e) {
      this.fail(e);
    }
  }

  private onOnlyCut(topic: string, x: Sent, p: FetchedPartition, wasFirst: boolean): void {
    if (!wasFirst) {
      x.s.first = true;
      return;
    }
    x.s.failed = true;
    this.fail(
      new KiceError(
        'KAFKA',
        `fetching ${topic}/${p.partition} at offset ${x.offset} returned only a record batch cut short (${p.truncatedBytes} bytes): a batch larger than the fetch allows; raise options.maxBytesPerPartition (now ${this.o.maxBytesPerPartition}) and options.maxBytes (now ${this.o.maxBytes})`,
        { context: { topic, partition: p.partition, offset: String(x.offset) } },
      ),
    );
  }

  /** Handles a partition's error code; true when metadata should be refreshed. */
  private onPartitionError(topic: string, x: Sent, p: FetchedPartition): boolean {
    const tp = { topic, partition: p.partition };
    const name = fetchErrorName(p.errorCode);
    switch (fetchErrorAction(p.errorCode)) {
      case 'reroute':
        this.log.info({ ...tp, error: name }, 'raw fetch: partition moving, re-routing');
        this.backOff(x.s);
        return true;
      case 'retry':
        this.log.info({ ...tp, error: name }, 'raw fetch: partition error, retrying');
        this.backOff(x.s);
        return false;
      case 'out_of_range':
        this.backOff(x.s);
        void this.outOfRange(topic, x);
        return false;
      default:
        x.s.failed = true;
        this.fail(
          new KiceError('KAFKA', `fetching ${topic}/${p.partition} failed: ${name}`, {
            context: { ...tp, errorCode: p.errorCode },
          }),
        );
        return false;
    }
  }

  /** OFFSET_OUT_OF_RANGE: to the log start when the records are gone, else wait. */
  private async outOfRange(topic: string, x: Sent): Promise<void> {
    const tp = { topic, partition: x.s.partition };
    if (this.stopped) return;
    let bounds: { logStart: bigint; end: bigint };
    try {
      bounds = await this.o.transport.offsets(topic, x.s.partition);
    } catch (e) {
      this.log.warn({ ...tp, reason: rootMessage(e) }, 'raw fetch: listing offsets failed');
      return;
    }
    const s = x.s;
    if (this.positions.get(s) !== s || s.epoch !== x.epoch || s.offset !== x.offset) return;
    if (x.offset < bounds.logStart) {
      this.log.warn(
        {
          ...tp,
          lost: `${x.offset}..${bounds.logStart - 1n}`,
          count: String(bounds.logStart - x.offset),
        },
        `raw fetch: offsets ${x.offset} to ${bounds.logStart - 1n} of ${topic}/${x.s.partition} are gone from the log (retention): continuing at the log start ${bounds.logStart}`,
      );
      // The first move keeps the position the reader expects (a later one, before any
      // delivery, only moves further: the gap still starts there).
      s.skippedFrom ??= x.offset;
      s.offset = bounds.logStart;
      s.failures = 0;
      s.retryAt = 0;
      this.ensureLoops();
    } else if (x.offset > bounds.end) {
      const key = `${topic}:${x.s.partition}`;
      if (this.pastEnd.get(key) === x.offset) return;
      this.pastEnd.set(key, x.offset);
      this.log.warn(
        { ...tp, position: String(x.offset), end: String(bounds.end) },
        `raw fetch: position ${x.offset} of ${topic}/${x.s.partition} is past the log end ${bounds.end}; retrying later`,
      );
    }
  }

  private fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.stopped) return;
    try {
      this.o.onError(err);
    } catch (inner) {
      this.log.error({ err: inner }, 'raw fetch: onError threw');
    }
  }
}
