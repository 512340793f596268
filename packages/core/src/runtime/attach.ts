/**
 * An engine's use of a shared runtime (./runtime.ts): its name reserved, its worker tasks
 * on the shared pool, its own committer on the shared committer thread, its bytes in the
 * shared budget. `release` (engine stop) gives all of it back and leaves the runtime
 * running.
 *
 * The runtime owns the pool size and the in-flight budget: an engine config that sets
 * `workers.threads`, or a `memory.maxInFlightBytes` other than the default, is refused
 * (ConfigError naming each path) instead of silently ignored. Sizes the engine derives
 * from the budget (a fetch's byte limit, parquet.rowGroupBytes' default) derive from the
 * runtime's.
 */
import type { Piscina } from 'piscina';
import type { CommitterClient } from '../commit/committer-client.ts';
import { ConfigError } from '../config/load.ts';
import { DEFAULT_MAX_IN_FLIGHT, type KiceConfig } from '../config/schema.ts';
import type { BudgetFactory } from '../pipeline/memory-budget.ts';
import type { CommitterThreadData } from '../workers/committer-thread.ts';
import { type Runtime, runtimeParts } from './runtime.ts';
import type { BudgetMember } from './shared-budget.ts';

export interface EngineLease {
  readonly threads: number;
  /** The engine's config with the runtime's budget in memory.maxInFlightBytes. */
  readonly config: KiceConfig;
  pool(): Promise<Piscina>;
  committer(data: CommitterThreadData): Promise<CommitterClient>;
  /** Joins the shared budget (once per engine start). */
  readonly budget: BudgetFactory;
  /** Leaves the budget and frees the name. Idempotent. */
  release(): void;
}

export function attachEngine(runtime: Runtime, name: string, config: KiceConfig): EngineLease {
  const problems: string[] = [];
  if (config.workers.threads !== undefined)
    problems.push(
      'workers.threads: the shared runtime sizes the pool (createRuntime({ threads })); remove it from an engine that uses a runtime',
    );
  if (config.memory.limit !== undefined)
    problems.push(
      'memory.limit: the shared runtime holds the memory of all its engines (createRuntime({ maxInFlightBytes, threads })); remove it from an engine that uses a runtime',
    );
  else if (config.memory.maxInFlightBytes !== DEFAULT_MAX_IN_FLIGHT)
    problems.push(
      'memory.maxInFlightBytes: the shared runtime holds the budget (createRuntime({ maxInFlightBytes })); remove it from an engine that uses a runtime',
    );
  if (problems.length > 0) throw new ConfigError(problems);
  const parts = runtimeParts(runtime);
  parts.claim(name);
  let member: BudgetMember | undefined;
  let released = false;
  return {
    threads: runtime.threads,
    config: { ...config, memory: { ...config.memory, maxInFlightBytes: runtime.maxInFlightBytes } },
    pool: () => parts.pool(),
    committer: async (data) => (await parts.committerHost()).open(data),
    budget: (metrics, onPause, onResume) => {
      member?.leave();
      member = parts.budget.join(metrics, onPause, onResume);
      return member;
    },
    release() {
      if (released) return;
      released = true;
      member?.leave();
      parts.free(name);
    },
  };
}
