/**
 * Cluster look-ups the coordinator and the tests need, over one lazily connected kafkajs admin:
 * end offsets, a group's committed offsets, the topic list, topic creation, topic and
 * broker configs.
 *
 * Every look-up (connecting included) retries transient errors — metadata not loaded yet,
 * leader or coordinator moving, a broker restarting — with backoff within the retry policy
 * (retry.ts); a permanent error or an exhausted budget rejects with a KiceError('KAFKA')
 * naming the look-up. `close()` aborts retries still waiting, then disconnects.
 */
import kafkajs, { type Admin } from 'kafkajs';
import { KiceError } from '../errors.ts';
import { createKafka, type KafkaClientOptions } from './client.ts';
import { DEFAULT_RETRY, type RetryClock, type RetryPolicy, withRetry } from './retry.ts';
import { type SourceLogger, tpKey } from './types.ts';

const { ConfigResourceTypes } = kafkajs;

/** A topic to create. */
export interface NewTopic {
  readonly topic: string;
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
  /** Topic configs, e.g. `{ 'compression.type': 'zstd' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

/** Options of a KafkaAdmin beyond the connection. */
export interface KafkaAdminOptions extends KafkaClientOptions {
  /** Retries of every look-up (default DEFAULT_RETRY). */
  readonly retry?: RetryPolicy;
  /** Tests inject time here. */
  readonly clock?: RetryClock;
  /** Aborting it stops every retry, as close() does. */
  readonly signal?: AbortSignal;
}

/** A kafkajs admin client that connects on first use. */
export class KafkaAdmin {
  private readonly admin: Admin;
  private readonly retry: RetryPolicy;
  private readonly clock: RetryClock | undefined;
  private readonly log: SourceLogger | undefined;
  private readonly closing = new AbortController();
  private connecting: Promise<void> | undefined;

  constructor(options: KafkaAdminOptions) {
    this.admin = createKafka(options).admin();
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.clock = options.clock;
    this.log = options.logger;
    options.signal?.addEventListener('abort', () => this.closing.abort(), { once: true });
  }

  private async ready(): Promise<Admin> {
    if (this.closing.signal.aborted) throw new KiceError('KAFKA', 'the admin client is closed');
    this.connecting ??= this.admin.connect();
    try {
      await this.connecting;
    } catch (e) {
      this.connecting = undefined;
      throw e;
    }
    return this.admin;
  }

  /** Connects if needed and runs `call`, both retried as one operation. */
  private run<T>(operation: string, call: (admin: Admin) => Promise<T>): Promise<T> {
    return withRetry(operation, async () => call(await this.ready()), {
      policy: this.retry,
      signal: this.closing.signal,
      ...(this.log ? { log: this.log } : {}),
      ...(this.clock ? { clock: this.clock } : {}),
    });
  }

  /** Next offset at the end of every partition (last stable offset), keyed "topic:partition". */
  fetchEndOffsets(topics: readonly string[]): Promise<Map<string, bigint>> {
    return this.fetchOffsets(topics, 'end');
  }

  /** First offset still in every partition (log start), keyed "topic:partition". */
  fetchBeginningOffsets(topics: readonly string[]): Promise<Map<string, bigint>> {
    return this.fetchOffsets(topics, 'beginning');
  }

  private async fetchOffsets(
    topics: readonly string[],
    which: 'beginning' | 'end',
  ): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    for (const topic of topics) {
      const parts = await this.run(`fetching ${which} offsets of ${topic}`, (admin) =>
        admin.fetchTopicOffsets(topic),
      );
      for (const p of parts)
        out.set(tpKey(topic, p.partition), BigInt(which === 'end' ? p.offset : p.low));
    }
    return out;
  }

  /** The group's committed next offsets, keyed "topic:partition"; partitions without one are absent. */
  async fetchCommittedOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const rows = await this.run(`fetching committed offsets of group ${groupId}`, (admin) =>
      admin.fetchOffsets({ groupId, topics: [...topics] }),
    );
    for (const { topic, partitions } of rows) {
      for (const p of partitions) {
        const offset = BigInt(p.offset);
        if (offset >= 0n) out.set(tpKey(topic, p.partition), offset);
      }
    }
    return out;
  }

  /** Names of the cluster's topics, sorted, internal ones ("__…") left out. */
  async listTopics(): Promise<string[]> {
    const all = await this.run('listing topics', (admin) => admin.listTopics());
    return all.filter((t) => !t.startsWith('__')).sort();
  }

  /** Creates topics and waits for their leaders; existing topics are left as they are. */
  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    await this.run('creating topics', (admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions ?? 1,
          replicationFactor: t.replicationFactor ?? 1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      }),
    );
  }

  /** Stops retrying, then disconnects (safe to call when never connected). */
  async close(): Promise<void> {
    this.closing.abort();
    if (this.connecting === undefined) return;
    this.connecting = undefined;
    await this.admin.disconnect();
  }

  /** The topic's configs among `names` (absent when not set); rejects when the topic is unknown. */
  async describeTopicConfig(topic: string, names: readonly string[]): Promise<Map<string, string>> {
    return this.describeConfigs(ConfigResourceTypes.TOPIC, topic, names, `topic ${topic}`);
  }

  /** A broker's configs among `names` (the first broker of the cluster's metadata). */
  async describeBrokerConfig(names: readonly string[]): Promise<Map<string, string>> {
    const cluster = await this.run('describing the cluster', (admin) => admin.describeCluster());
    const id = cluster.brokers[0]?.nodeId;
    if (id === undefined)
      throw new KiceError('KAFKA', 'the cluster has no brokers', { retryable: true });
    return this.describeConfigs(ConfigResourceTypes.BROKER, String(id), names, `broker ${id}`);
  }

  private async describeConfigs(
    type: number,
    name: string,
    names: readonly string[],
    what: string,
  ): Promise<Map<string, string>> {
    const { resources } = await this.run(`reading the configs of ${what}`, (admin) =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type, name, configNames: [...names] }],
      }),
    );
    const out = new Map<string, string>();
    for (const r of resources) {
      for (const c of r.configEntries) {
        if (c.configValue != null) out.set(c.configName, c.configValue);
      }
    }
    return out;
  }
}
