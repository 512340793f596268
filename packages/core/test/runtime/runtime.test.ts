/**
 * The shared runtime's lifecycle and its committer thread (real threads, a real
 * filesystem warehouse; no Kafka: engines are created and stopped, never started).
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaFromJson } from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { createEngine } from '../../src/engine.ts';
import { createRuntime, runtimeParts } from '../../src/runtime/runtime.ts';

const observed = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [{ id: 1, name: 'id', required: false, type: 'long' }],
});

/** OS threads of this process now. */
const osThreads = (): number => readdirSync('/proc/self/task').length;

async function untilThreads(want: number): Promise<void> {
  while (osThreads() > want) await new Promise((r) => setTimeout(r, 20));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kice-runtime-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (group: string, extra: Record<string, unknown> = {}) =>
  validateConfig({
    kafka: { brokers: ['127.0.0.1:1'], groupId: group },
    catalog: { type: 'filesystem', warehouse: join(dir, group) },
    tables: [{ topic: `t-${group}`, table: 'db.events' }],
    deadLetter: { topic: `${group}-dlq` },
    log: { level: 'silent' },
    ...extra,
  });

describe('createRuntime', () => {
  it('refuses bad options, naming each', () => {
    expect(() => createRuntime({ threads: 0, maxInFlightBytes: 1.5 })).toThrow(ConfigError);
    try {
      createRuntime({ threads: 0, maxInFlightBytes: 1.5 });
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([
        'runtime.threads: must be a positive integer (got 0)',
        'runtime.maxInFlightBytes: must be a positive integer (got 1.5)',
      ]);
    }
  });

  it('refuses engine configs that set what the runtime owns', async () => {
    const runtime = createRuntime({ threads: 1, maxInFlightBytes: 1 << 20 });
    let error: unknown;
    try {
      createEngine(config('g0', { workers: { threads: 2 }, memory: { maxInFlightBytes: 1000 } }), {
        runtime,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual([
      'workers.threads',
      'memory.maxInFlightBytes',
    ]);
    let limited: unknown;
    try {
      createEngine(config('g0', { memory: { limit: 2 ** 30 }, workers: { threads: 1 } }), {
        runtime,
      });
    } catch (e) {
      limited = e;
    }
    expect((limited as ConfigError).problems).toEqual([
      'workers.threads: the shared runtime sizes the pool (createRuntime({ threads })); remove it from an engine that uses a runtime',
      'memory.limit: the shared runtime holds the memory of all its engines (createRuntime({ maxInFlightBytes, threads })); remove it from an engine that uses a runtime',
    ]);
    // Nothing was attached: the runtime closes.
    await runtime.close();
  });

  it('keeps engine names unique; close is refused until every engine stopped', async () => {
    const runtime = createRuntime({ threads: 1, maxInFlightBytes: 1 << 20 });
    const a = createEngine(config('g1'), { runtime, name: 'tenant-a' });
    expect(a.name).toBe('tenant-a');
    expect(() => createEngine(config('g2'), { runtime, name: 'tenant-a' })).toThrow(
      /options\.name: another engine of this runtime is named "tenant-a"/,
    );
    const b = createEngine(config('g2'), { runtime });
    expect(b.name).toBe('g2'); // default: the group id
    expect(runtime.stats().engines).toEqual(['tenant-a', 'g2']);
    await expect(runtime.close()).rejects.toThrow(
      'runtime.close(): engines still use the runtime, stop them first: tenant-a, g2',
    );
    await a.stop();
    expect(runtime.stats().engines).toEqual(['g2']);
    // The name is free again once its engine stopped.
    const a2 = createEngine(config('g3'), { runtime, name: 'tenant-a' });
    await Promise.all([a2.stop(), b.stop()]);
    await runtime.close();
    await runtime.close(); // idempotent
    expect(() => createEngine(config('g4'), { runtime })).toThrow('the runtime is closed');
  });

  it('hosts one committer per engine on one thread; closing one leaves the others; close ends the threads', async () => {
    const before = osThreads();
    const runtime = createRuntime({ threads: 2, maxInFlightBytes: 1 << 20 });
    const parts = runtimeParts(runtime);
    const [pool, host] = await Promise.all([parts.pool(), parts.committerHost()]);
    expect(pool.threads.length).toBe(2);
    expect(await parts.committerHost()).toBe(host); // one thread for all
    expect(runtime.stats()).toMatchObject({ poolThreads: 2, committerThreads: 1 });
    const open = (group: string) =>
      host.open({
        catalog: { type: 'filesystem', warehouse: join(dir, `w-${group}`) },
        groupId: group,
      });
    const a = open('ga');
    const b = open('gb');
    const setup = { table: 'db.t', partitionBy: [], properties: {} };
    const [sa, sb] = await Promise.all([
      a.api.ensureTable({ ...setup, table: 'db.a' }, observed),
      b.api.ensureTable({ ...setup, table: 'db.b' }, observed),
    ]);
    // Each committer has its own catalog: its table is in its warehouse only.
    expect(sa.location).toContain(join(dir, 'w-ga'));
    expect(sb.location).toContain(join(dir, 'w-gb'));
    expect(await a.api.tableState('db.b')).toBeUndefined();
    expect(await b.api.tableState('db.a')).toBeUndefined();
    await a.close();
    // b still works on the same thread.
    expect((await b.api.tableState('db.b'))?.location).toBe(sb.location);
    const c = open('ga'); // a new committer for a's warehouse sees a's table
    expect((await c.api.tableState('db.a'))?.location).toBe(sa.location);
    expect(osThreads()).toBeGreaterThanOrEqual(before + 3);
    await runtime.close();
    expect(pool.threads.length).toBe(0);
    // Every thread the runtime started has ended (the OS reaps them just after exit).
    await untilThreads(before);
    expect(osThreads()).toBeLessThanOrEqual(before);
  });
});
