/**
 * An engine of a shared runtime stopped while it is still starting (a service that
 * reconfigures a tenant at once): stop() wins. start() rejects instead of going on to
 * open a committer, join the runtime's budget and start a Kafka consumer after stop()
 * released the engine's name and budget (an engine nobody can stop any more, consuming
 * in the group beside the tenant's next engine). Stop is made to arrive while start
 * waits for the runtime's worker pool (the runtime's own pool() call, wrapped).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, createRuntime, validateConfig } from '../../packages/core/src/index.ts';
import { runtimeParts } from '../../packages/core/src/runtime/runtime.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, kafkaClient } from '../support/produce.ts';

const RUN = randomBytes(4).toString('hex');
const NAME = `kice-e2e-rt-stop-${RUN}`;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-rt-stop-'));
  await createTopic(brokers, NAME, 1);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('shared runtime: stop while starting', () => {
  it('start rejects; nothing of the engine is left in the runtime or the group', async () => {
    const runtime = createRuntime({ threads: 1, maxInFlightBytes: 1 << 20 });
    const config = validateConfig({
      kafka: { brokers, groupId: NAME },
      catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
      tables: [{ topic: NAME, table: 'e2e.events' }],
      deadLetter: { topic: `${NAME}-dlq` },
      log: { level: 'silent' },
    });
    const engine = createEngine(config, { runtime, name: 'tenant' });
    const parts = runtimeParts(runtime) as { pool: () => Promise<unknown> };
    const pool = parts.pool.bind(parts);
    let stopping: Promise<void> | undefined;
    parts.pool = () => {
      stopping ??= engine.stop();
      return pool();
    };
    const started = await engine.start().then(
      () => 'started',
      (e: Error) => e.message,
    );
    await stopping;
    expect(started).toBe('engine.start(): the engine was stopped while it started');
    expect(runtime.stats()).toMatchObject({ engines: [], memory: { engines: 0 } });
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const [group] = (await admin.describeGroups([NAME])).groups;
      expect(group?.members).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    await runtime.close();
  });
});
