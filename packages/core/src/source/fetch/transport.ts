/**
 * Sending kice's own Fetch v11 (request.ts, response.ts) over kafkajs's broker connections,
 * so that every connection setting — TLS, SASL, socket factory, timeouts — works as it does
 * for the consumer (https://kafka.apache.org/protocol#The_Messages_Fetch).
 *
 * This relies on kafkajs 2.2.4 internals, read from its source, and checked by a test that
 * pins the version (test/source/fetch/transport.test.ts):
 * - a `Kafka` instance keeps its cluster factory under a private Symbol described as
 *   'private:Kafka:createCluster'; calling it gives a Cluster of its own (own metadata,
 *   own connections; the consumer's are untouched);
 * - `cluster.connect()`, `addMultipleTargetTopics()`, `refreshMetadata()`,
 *   `findTopicPartitionMetadata(topic)` (partitionId, leader, and leaderEpoch when the
 *   metadata has it), `fetchTopicsOffset()` and `findBroker({ nodeId })`, which connects
 *   (and authenticates) the broker;
 * - `broker.connectionPool.send({ request, response, requestTimeout })`: Fetch requests go
 *   on the pool's fetch connection; `request` is `{ apiKey, apiVersion, apiName, encode }`
 *   where encode() resolves to an object with `buf` (a Buffer) and `buffer` (the bytes):
 *   kafkajs's createRequest (protocol/request.js) writes the header and appends `buffer`;
 *   `response` is `{ decode(body), parse(decoded) }`, `body` being the bytes after the
 *   correlation id; a decoded `clientSideThrottleTime` (the broker's throttle_time_ms)
 *   holds the connection's next requests back that long (KIP-219, as for kafkajs's
 *   Fetch). A connection error, a closed connection and a request timeout reject with
 *   kafkajs's KafkaJSConnectionError / KafkaJSConnectionClosedError /
 *   KafkaJSRequestTimeoutError (retry.ts calls them transient).
 */
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import { KiceError } from '../../errors.ts';
import type { IsolationLevel } from '../batches/parse.ts';
import { encodeFetchRequest, type FetchRequest } from './request.ts';
import { decodeFetchResponse, type FetchResponse } from './response.ts';
import type { SharedSlabs } from './shared-slabs.ts';

/** The kafkajs version whose internals this module was written against. */
export const KAFKAJS_VERSION = '2.2.4';

const FETCH_API_KEY = 1;
const FETCH_API_VERSION = 11;
const CREATE_CLUSTER = 'private:Kafka:createCluster';

/** Where a partition's leader is, by the transport's metadata. */
export interface LeaderInfo {
  readonly nodeId: number;
  /** The leader epoch the metadata names, or -1 when it names none. */
  readonly leaderEpoch: number;
}

/** What the fetcher needs of a cluster connection. */
export interface FetchTransport {
  connect(): Promise<void>;
  /** Keeps metadata of these topics (loads it when they are new). */
  track(topics: readonly string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  /** The partition's leader, or undefined when the metadata names none (or has no such partition). */
  leader(topic: string, partition: number): LeaderInfo | undefined;
  /** Log start and end (last stable offset under read_committed) of one partition. */
  offsets(topic: string, partition: number): Promise<{ logStart: bigint; end: bigint }>;
  fetch(nodeId: number, request: FetchRequest, timeoutMs: number): Promise<FetchResponse>;
  disconnect(): Promise<void>;
}

interface PartitionMetadata {
  readonly partitionId: number;
  readonly leader: number | null | undefined;
  readonly leaderEpoch?: number;
}

interface KafkajsBroker {
  readonly connectionPool: {
    send(protocol: {
      request: unknown;
      response: unknown;
      requestTimeout?: number | null;
    }): Promise<unknown>;
  };
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(q: { nodeId: number }): Promise<KafkajsBroker>;
  fetchTopicsOffset(
    topics: { topic: string; partitions: { partition: number }[]; fromBeginning: boolean }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

type ClusterFactory = (o: {
  metadataMaxAge?: number;
  allowAutoTopicCreation: boolean;
  maxInFlightRequests: number | null;
  instrumentationEmitter: null;
  isolationLevel: number;
}) => KafkajsCluster;

/** The installed kafkajs version (from its package.json). */
export function installedKafkajsVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('kafkajs/package.json') as { version: string }).version;
}

/** A kafkajs Cluster of its own, built by the Kafka instance's private cluster factory. */
export function createKafkajsCluster(kafka: Kafka, isolation: IsolationLevel): KafkajsCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const factory =
    symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') {
    throw new KiceError(
      'INTERNAL',
      `the raw fetch path needs kafkajs ${KAFKAJS_VERSION} (its Kafka object has no '${CREATE_CLUSTER}' cluster factory; installed: kafkajs ${installedKafkajsVersion()}): use source fetch 'kafkajs'`,
    );
  }
  return (factory as ClusterFactory)({
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    instrumentationEmitter: null,
    isolationLevel: isolation === 'read_committed' ? 1 : 0,
  });
}

/** The request object kafkajs's connection sends. */
function fetchRequest(r: FetchRequest) {
  return {
    apiKey: FETCH_API_KEY,
    apiVersion: FETCH_API_VERSION,
    apiName: 'Fetch',
    encode: async () => {
      const buf = encodeFetchRequest(r);
      return { buf, buffer: buf };
    },
  };
}

/**
 * The response object kafkajs's connection decodes with; it throttles its next requests
 * by `clientSideThrottleTime` (KIP-219). Batches go into slabs of `slabs` when given.
 */
function fetchResponse(slabs: SharedSlabs | undefined) {
  return {
    decode: async (body: Buffer) => {
      const decoded = decodeFetchResponse(body, slabs);
      return { ...decoded, clientSideThrottleTime: decoded.throttleTimeMs };
    },
    parse: async (
      decoded: FetchResponse & { clientSideThrottleTime: number },
    ): Promise<FetchResponse> => {
      const { clientSideThrottleTime: _, ...response } = decoded;
      return response;
    },
  };
}

/** FetchTransport over a kafkajs Cluster. */
export class KafkajsFetchTransport implements FetchTransport {
  private readonly cluster: KafkajsCluster;
  private readonly response: ReturnType<typeof fetchResponse>;

  /** `slabs`: where fetched batches are copied (each partition's `release` gives its slab back). */
  constructor(kafka: Kafka, isolation: IsolationLevel, slabs?: SharedSlabs) {
    this.cluster = createKafkajsCluster(kafka, isolation);
    this.response = fetchResponse(slabs);
  }

  connect(): Promise<void> {
    return this.cluster.connect();
  }

  track(topics: readonly string[]): Promise<void> {
    return this.cluster.addMultipleTargetTopics([...topics]);
  }

  refreshMetadata(): Promise<void> {
    return this.cluster.refreshMetadata();
  }

  leader(topic: string, partition: number): LeaderInfo | undefined {
    let meta: PartitionMetadata[];
    try {
      meta = this.cluster.findTopicPartitionMetadata(topic);
    } catch {
      return undefined; // no metadata loaded yet
    }
    const p = meta.find((m) => m.partitionId === partition);
    if (!p || typeof p.leader !== 'number' || p.leader < 0) return undefined;
    return {
      nodeId: p.leader,
      leaderEpoch: typeof p.leaderEpoch === 'number' ? p.leaderEpoch : -1,
    };
  }

  async offsets(topic: string, partition: number): Promise<{ logStart: bigint; end: bigint }> {
    const one = async (fromBeginning: boolean): Promise<bigint> => {
      const res = await this.cluster.fetchTopicsOffset([
        { topic, partitions: [{ partition }], fromBeginning },
      ]);
      const o = res
        .find((t) => t.topic === topic)
        ?.partitions.find((p) => p.partition === partition);
      if (!o)
        throw new KiceError('KAFKA', `no offsets listed for ${topic}/${partition}`, {
          retryable: true,
        });
      return BigInt(o.offset);
    };
    const [logStart, end] = await Promise.all([one(true), one(false)]);
    return { logStart, end };
  }

  async fetch(nodeId: number, request: FetchRequest, timeoutMs: number): Promise<FetchResponse> {
    const broker = await this.cluster.findBroker({ nodeId });
    return (await broker.connectionPool.send({
      request: fetchRequest(request),
      response: this.response,
      requestTimeout: timeoutMs,
    })) as FetchResponse;
  }

  disconnect(): Promise<void> {
    return this.cluster.disconnect();
  }
}
