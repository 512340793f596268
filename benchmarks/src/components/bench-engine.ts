/**
 * What the query benchmarks (./freshness.ts, ./key-lookup.ts) share: a fresh topic on the
 * bench broker, and one engine from a config with its HTTP endpoint on a loopback port,
 * the engine's errors collected (a run that saw one throws it).
 */
import {
  createEngine,
  createLogger,
  type Engine,
  type HttpServer,
  type KiceConfig,
  startHttpServer,
  validateConfig,
} from '@kice/core';
import * as kafkajs from 'kafkajs';

export function benchKafka(broker: string, clientId: string): kafkajs.Kafka {
  return new kafkajs.Kafka({ clientId, brokers: [broker], logLevel: kafkajs.logLevel.NOTHING });
}

export async function createBenchTopic(
  kafka: kafkajs.Kafka,
  topic: string,
  partitions: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    });
  } finally {
    await admin.disconnect();
  }
}

export interface BenchEngine {
  readonly engine: Engine;
  readonly server: HttpServer;
  readonly errors: Error[];
  /** The HTTP server, then the engine (its last flush and commit). */
  close(): Promise<void>;
}

/** Starts an engine from `raw` (a kice.yaml as an object; `http` is set here) and its server. */
export async function startBenchEngine(raw: Record<string, unknown>): Promise<BenchEngine> {
  const config = validateConfig({ ...raw, http: { listen: '127.0.0.1:0' } });
  const engine = createEngine(config);
  const errors: Error[] = [];
  engine.on('error', (e: Error) => errors.push(e));
  await engine.start();
  const server = await startHttpServer(
    engine,
    config.http as NonNullable<KiceConfig['http']>,
    createLogger(config),
  );
  return {
    engine,
    server,
    errors,
    close: async () => {
      await server.close();
      await engine.stop();
    },
  };
}
