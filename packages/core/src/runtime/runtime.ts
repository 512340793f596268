/**
 * `createRuntime(options)`: threads and memory shared by many engines in one process (a
 * service running one engine per tenant). A runtime holds
 * - one Piscina pool (decode and flush tasks of every engine, first come first served),
 * - one committer thread hosting one Committer per engine (../commit/committer-client.ts
 *   startCommitterHost): each engine keeps its own catalog, storage and offset group, and
 *   its commits stay in order exactly as on a thread of its own,
 * - one in-flight memory budget all its engines draw from (./shared-budget.ts: fair share
 *   under pressure).
 *
 *   const runtime = createRuntime({ threads: 4, maxInFlightBytes: 512 * 2 ** 20 });
 *   const a = createEngine(configA, { runtime, name: 'tenant-a' });
 *   const b = createEngine(configB, { runtime, name: 'tenant-b' });
 *   …
 *   await Promise.all([a.stop(), b.stop()]);   // stopping an engine leaves the runtime running
 *   await runtime.close();                     // then the threads end
 *
 * Threads start when the first engine starts. The per-engine settings the runtime owns
 * (workers.threads, memory.maxInFlightBytes) are refused in the config of an engine that
 * uses a runtime (see ./attach.ts).
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { type CommitterHost, startCommitterHost } from '../commit/committer-client.ts';
import { ConfigError } from '../config/load.ts';
import { threadLimits } from '../config/memory-plan.ts';
import { workerBundle } from '../workers/bundle.ts';
import { type SharedBudgetStats, SharedMemoryBudget } from './shared-budget.ts';

export interface RuntimeOptions {
  /** Worker threads of the shared pool; default: the number of cores. */
  readonly threads?: number;
  /** The one in-flight budget of all engines (bytes); default 256 MiB. */
  readonly maxInFlightBytes?: number;
}

export interface RuntimeStats {
  /** Names of the engines using the runtime (created and not yet stopped). */
  readonly engines: readonly string[];
  readonly memory: SharedBudgetStats;
  /** Worker threads of the pool (0 before the first engine started). */
  readonly poolThreads: number;
  /** Committer threads (0 or 1). */
  readonly committerThreads: number;
}

export interface Runtime {
  readonly threads: number;
  readonly maxInFlightBytes: number;
  stats(): RuntimeStats;
  /**
   * Ends the pool and the committer thread. Rejects (naming them) while engines still use
   * the runtime: stop them first. Idempotent.
   */
  close(): Promise<void>;
}

/** What an engine gets from the runtime (./attach.ts); not part of the public API. */
export interface RuntimeParts {
  readonly budget: SharedMemoryBudget;
  pool(): Promise<Piscina>;
  committerHost(): Promise<CommitterHost>;
  /** Reserves `name` for an engine; throws if another engine of the runtime has it. */
  claim(name: string): void;
  /** Frees the name of a stopped engine. */
  free(name: string): void;
}

const parts = new WeakMap<Runtime, RuntimeParts>();

/** @internal: the shared parts of a runtime made by createRuntime. */
export function runtimeParts(runtime: Runtime): RuntimeParts {
  const p = parts.get(runtime);
  if (!p) throw new TypeError('options.runtime: not a runtime made by createRuntime()');
  return p;
}

const DEFAULT_BUDGET = 256 * 1024 * 1024;

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const bad: string[] = [];
  const positive = (path: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      bad.push(`runtime.${path}: must be a positive integer (got ${String(v)})`);
  };
  positive('threads', options.threads);
  positive('maxInFlightBytes', options.maxInFlightBytes);
  if (bad.length > 0) throw new ConfigError(bad);

  const threads = options.threads ?? availableParallelism();
  const maxInFlightBytes = options.maxInFlightBytes ?? DEFAULT_BUDGET;
  const budget = new SharedMemoryBudget(maxInFlightBytes);
  const names = new Set<string>();
  let pool: Piscina | undefined;
  let poolStarting: Promise<Piscina> | undefined;
  let host: CommitterHost | undefined;
  let hostStarting: Promise<CommitterHost> | undefined;
  let closed: Promise<void> | undefined;

  const open = (): void => {
    if (closed) throw new Error('the runtime is closed');
  };

  const runtime: Runtime = {
    threads,
    maxInFlightBytes,
    stats: () => ({
      engines: [...names],
      memory: budget.stats(),
      poolThreads: pool?.threads.length ?? 0,
      committerThreads: host ? 1 : 0,
    }),
    close() {
      if (names.size > 0 && !closed) {
        return Promise.reject(
          new Error(
            `runtime.close(): engines still use the runtime, stop them first: ${[...names].join(', ')}`,
          ),
        );
      }
      closed ??= (async () => {
        const [p, h] = await Promise.allSettled([poolStarting, hostStarting]);
        await Promise.allSettled([
          p.status === 'fulfilled' ? p.value?.destroy() : undefined,
          h.status === 'fulfilled' ? h.value?.close() : undefined,
        ]);
      })();
      return closed;
    },
  };

  parts.set(runtime, {
    budget,
    pool() {
      open();
      poolStarting ??= (async () => {
        const bundle = await workerBundle();
        pool = new Piscina({
          filename: pathToFileURL(bundle.poolTasks).href,
          minThreads: threads,
          maxThreads: threads,
          idleTimeout: 60 * 60_000,
          // As an engine's own pool (../engine.ts), from the shared budget.
          resourceLimits: threadLimits({ maxInFlightBytes }).worker,
        });
        return pool;
      })();
      return poolStarting;
    },
    committerHost() {
      open();
      hostStarting ??= (async () => {
        host = startCommitterHost((await workerBundle()).committerThread);
        return host;
      })();
      return hostStarting;
    },
    claim(name) {
      open();
      if (names.has(name))
        throw new ConfigError([
          `options.name: another engine of this runtime is named "${name}" (names must be unique)`,
        ]);
      names.add(name);
    },
    free(name) {
      names.delete(name);
    },
  });
  return runtime;
}
