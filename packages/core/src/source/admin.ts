/**
 * Cluster look-ups the coordinator and the tests need, over one lazily connected kafkajs admin:
 * end offsets, a group's committed offsets, the topic list, topic creation, topic and
 * broker configs.
 */
import kafkajs, { type Admin } from 'kafkajs';
import { KiceError } from '../errors.ts';
import { createKafka, type KafkaClientOptions } from './client.ts';
import { tpKey } from './types.ts';

const { ConfigResourceTypes } = kafkajs;

/** A topic to create. */
export interface NewTopic {
  readonly topic: string;
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
  /** Topic configs, e.g. `{ 'compression.type': 'zstd' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

function kafkaError(what: string, e: unknown): KiceError {
  const retryable = Boolean((e as { retriable?: unknown }).retriable);
  return new KiceError('KAFKA', `${what}: ${(e as Error).message}`, { retryable, cause: e });
}

/** A kafkajs admin client that connects on first use. */
export class KafkaAdmin {
  private readonly admin: Admin;
  private connecting: Promise<void> | undefined;

  constructor(options: KafkaClientOptions) {
    this.admin = createKafka(options).admin();
  }

  private async ready(): Promise<Admin> {
    this.connecting ??= this.admin.connect();
    try {
      await this.connecting;
    } catch (e) {
      this.connecting = undefined;
      throw kafkaError('admin connect failed', e);
    }
    return this.admin;
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
    const admin = await this.ready();
    const out = new Map<string, bigint>();
    for (const topic of topics) {
      try {
        for (const p of await admin.fetchTopicOffsets(topic))
          out.set(tpKey(topic, p.partition), BigInt(which === 'end' ? p.offset : p.low));
      } catch (e) {
        throw kafkaError(`fetching ${which} offsets of ${topic} failed`, e);
      }
    }
    return out;
  }

  /** The group's committed next offsets, keyed "topic:partition"; partitions without one are absent. */
  async fetchCommittedOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<Map<string, bigint>> {
    const admin = await this.ready();
    const out = new Map<string, bigint>();
    let rows: Awaited<ReturnType<Admin['fetchOffsets']>>;
    try {
      rows = await admin.fetchOffsets({ groupId, topics: [...topics] });
    } catch (e) {
      throw kafkaError(`fetching committed offsets of group ${groupId} failed`, e);
    }
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
    const admin = await this.ready();
    try {
      return (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
    } catch (e) {
      throw kafkaError('listing topics failed', e);
    }
  }

  /** Creates topics and waits for their leaders; existing topics are left as they are. */
  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    const admin = await this.ready();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions ?? 1,
          replicationFactor: t.replicationFactor ?? 1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (e) {
      throw kafkaError('creating topics failed', e);
    }
  }

  /** Disconnects (safe to call when never connected). */
  async close(): Promise<void> {
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
    const admin = await this.ready();
    let id: number | undefined;
    try {
      id = (await admin.describeCluster()).brokers[0]?.nodeId;
    } catch (e) {
      throw kafkaError('describing the cluster failed', e);
    }
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
    const admin = await this.ready();
    const out = new Map<string, string>();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type, name, configNames: [...names] }],
      });
      for (const r of resources) {
        for (const c of r.configEntries) {
          if (c.configValue != null) out.set(c.configName, c.configValue);
        }
      }
    } catch (e) {
      throw kafkaError(`reading the configs of ${what} failed`, e);
    }
    return out;
  }
}
