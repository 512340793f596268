/**
 * engine.start() starts the pool and the committer thread first, so that they load while
 * the topics are checked and the group is joined. A start that then fails (here: an input
 * topic that does not exist) rejects with that error and ends the threads it started, even
 * when nobody calls stop(). Threads are counted as the process's OS threads
 * (/proc/self/task: every worker_threads Worker is one), sampled while start() runs.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, validateConfig } from '../../packages/core/src/index.ts';
import { startKafka } from '../support/kafka.ts';

const RUN = randomBytes(4).toString('hex');
const MISSING = `kice-e2e-start-fail-missing-${RUN}`;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-start-fail-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const osThreads = (): number => readdirSync('/proc/self/task').length;

describe('engine.start() that fails', () => {
  it('rejects with its error and leaves none of the threads it started', async () => {
    const engine = createEngine(
      validateConfig({
        kafka: { brokers, groupId: `kice-e2e-start-fail-${RUN}` },
        catalog: { type: 'filesystem', warehouse: join(dir, 'warehouse') },
        tables: [{ topic: MISSING, table: 'e2e.events' }],
        deadLetter: { topic: `kice-e2e-start-fail-dlq-${RUN}` },
        workers: { threads: 2 },
        log: { level: 'silent' },
      }),
    );
    const before = osThreads();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, osThreads());
    }, 1);
    const failed = await engine.start().then(
      () => 'started',
      (e: Error) => e.message,
    );
    clearInterval(sampler);
    expect(failed).toBe(
      `invalid configuration:\n  - tables[0].topic: topic "${MISSING}" does not exist on ${brokers.join(',')}`,
    );
    expect(peak).toBeGreaterThanOrEqual(before + 3); // two pool workers and the committer
    expect(osThreads()).toBe(before);
    await engine.stop();
  });
});
