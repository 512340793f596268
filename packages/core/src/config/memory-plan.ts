/**
 * `memory.limit`: one cap on the whole process (its resident set), and what kice derives
 * from it: the in-flight budget (memory.maxInFlightBytes), the Parquet row-group byte cap
 * (which bounds parquet-wasm's memory in each worker: it grows to the largest row group
 * encoded and never shrinks), and the V8 heap caps of the worker threads and of the
 * committer thread (worker_threads resourceLimits:
 * https://nodejs.org/api/worker_threads.html#new-workerfilename-options).
 *
 * The model, fitted to measured peak RSS (docs/config.md, "Memory"), W = workers.threads:
 *
 *   limit ≥ PROCESS_BASE + W × (WORKER_BASE + wasm(rowGroupBytes)) + IN_FLIGHT_COST × budget
 *   wasm(r) = WASM_BASE + WASM_PER_ROW_GROUP_BYTE × r
 *
 * PROCESS_BASE: Node and V8, the main thread (its heap is capped by the launcher's
 * --max-old-space-size), kafkajs, the committer thread. WORKER_BASE: one worker's isolate
 * (code, heap, stacks). IN_FLIGHT_COST: each budgeted byte is held where it is counted
 * (fetched, buffered, flushing), again in the worker encoding it (Arrow slices copied to
 * WebAssembly, Parquet output), and as garbage not yet collected. The budget is what is
 * left of the limit once the fixed parts are taken: a limit too small to leave MIN_BUDGET
 * for the worker count is refused, naming the minimum.
 *
 * Without memory.limit nothing here applies but `threadLimits` (the heap caps derived
 * from the budget, as before).
 */

const MiB = 2 ** 20;

/** Main thread, Node/V8, kafkajs, committer thread. This and WORKER_BASE are fitted
 * together to peak RSS with 2 workers (not measured apart), with margin for the
 * run-to-run spread (±30 MiB: when V8 gets to collect dead ArrayBuffers). */
export const PROCESS_BASE = 216 * MiB;
/** One worker isolate without its parquet-wasm memory (heap measured 20–30 MiB). */
export const WORKER_BASE = 64 * MiB;
/** parquet-wasm's memory, code and first pages (measured 12 MiB + 2.7 × row group). */
export const WASM_BASE = 12 * MiB;
export const WASM_PER_ROW_GROUP_BYTE = 3;
/** Resident bytes per in-flight byte (peak RSS grew ~1.7 per budget byte; margin). */
export const IN_FLIGHT_COST = 2.5;
/** The smallest budget a limit must leave: below it flushes get too small to be useful. */
export const MIN_BUDGET = 16 * MiB;
/** Row groups under a limit: limit / 128, between 1 MiB and 16 MiB. */
const ROW_GROUP_SHARE = 128;
const MIN_ROW_GROUP = MiB;
const MAX_ROW_GROUP = 16 * MiB;

/** "512 MiB", "1.5 GiB" (for messages). */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30 && n % 2 ** 28 === 0) return `${n / 2 ** 30} GiB`;
  if (n >= MiB) return `${Number((n / MiB).toFixed(1))} MiB`;
  return `${n} bytes`;
}

/** The row-group byte cap a limit implies (when parquet.rowGroupBytes is not set). */
export function rowGroupBytesFor(limit: number): number {
  return Math.min(MAX_ROW_GROUP, Math.max(MIN_ROW_GROUP, Math.floor(limit / ROW_GROUP_SHARE)));
}

/** What the fixed parts of the process take of a limit, W workers. */
export function fixedBytes(workers: number, rowGroupBytes: number): number {
  return (
    PROCESS_BASE + workers * (WORKER_BASE + WASM_BASE + WASM_PER_ROW_GROUP_BYTE * rowGroupBytes)
  );
}

/** The largest in-flight budget that fits in `limit` (may be below MIN_BUDGET). */
export function budgetFor(limit: number, workers: number, rowGroupBytes: number): number {
  return Math.floor((limit - fixedBytes(workers, rowGroupBytes)) / IN_FLIGHT_COST);
}

/** The smallest limit that leaves MIN_BUDGET with `workers` workers. */
export function minimumLimit(workers: number, rowGroupBytes?: number): number {
  // The derived row group grows with the limit: find the fixed point from below.
  let limit = fixedBytes(workers, rowGroupBytes ?? MIN_ROW_GROUP) + IN_FLIGHT_COST * MIN_BUDGET;
  for (let i = 0; i < 8; i++) {
    const rg = rowGroupBytes ?? rowGroupBytesFor(limit);
    const next = fixedBytes(workers, rg) + IN_FLIGHT_COST * MIN_BUDGET;
    if (next <= limit) break;
    limit = next;
  }
  return Math.ceil(limit / MiB) * MiB;
}

/** V8 heap caps of the threads kice starts (worker_threads resourceLimits). */
export interface ThreadLimits {
  readonly worker: {
    readonly maxOldGenerationSizeMb: number;
    readonly maxYoungGenerationSizeMb: number;
  };
  readonly committer: {
    readonly maxOldGenerationSizeMb: number;
    readonly maxYoungGenerationSizeMb: number;
  };
}

/**
 * Heap caps for the pool's workers and the committer thread. Under a limit the workers
 * get limit / 8 (64–256 MiB; measured use: ~30 MiB, the data lives in ArrayBuffers outside
 * the heap), the committer 64–128 MiB; the cap makes V8 collect early rather than grow.
 * Without one, as before: a worker twice the budget (at least 128 MiB), the committer 384
 * MiB (what the launcher's flag gave every thread).
 */
export function threadLimits(memory: { limit?: number; maxInFlightBytes: number }): ThreadLimits {
  if (memory.limit === undefined)
    return {
      worker: {
        maxYoungGenerationSizeMb: 16,
        maxOldGenerationSizeMb: Math.max(128, Math.ceil((memory.maxInFlightBytes * 2) / MiB)),
      },
      committer: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 384 },
    };
  const mb = memory.limit / MiB;
  return {
    worker: {
      maxYoungGenerationSizeMb: 12,
      maxOldGenerationSizeMb: Math.round(Math.min(256, Math.max(64, mb / 8))),
    },
    committer: {
      maxYoungGenerationSizeMb: 4,
      maxOldGenerationSizeMb: Math.round(Math.min(128, Math.max(64, mb / 16))),
    },
  };
}

export interface MemoryLimitInput {
  readonly limit: number;
  readonly workers: number;
  /** memory.maxInFlightBytes when set explicitly. */
  readonly maxInFlightBytes?: number;
  /** parquet.rowGroupBytes when set explicitly. */
  readonly rowGroupBytes?: number;
}

/** The settings a limit implies, or the problems (path: message) it has. */
export function planMemoryLimit(
  input: MemoryLimitInput,
):
  | { ok: true; maxInFlightBytes: number; rowGroupBytes: number }
  | { ok: false; path: (string | number)[]; message: string } {
  const { limit, workers } = input;
  const rg = input.rowGroupBytes ?? rowGroupBytesFor(limit);
  const budget = budgetFor(limit, workers, rg);
  const w = `${workers} worker${workers === 1 ? '' : 's'} (workers.threads)`;
  if (budget < MIN_BUDGET) {
    const min = minimumLimit(workers, input.rowGroupBytes);
    return {
      ok: false,
      path: ['memory', 'limit'],
      message: `${formatBytes(limit)} is too small for ${w}: at least ${formatBytes(min)} (${min})${input.rowGroupBytes === undefined ? '' : ` with parquet.rowGroupBytes ${input.rowGroupBytes}`}`,
    };
  }
  if (input.maxInFlightBytes !== undefined && input.maxInFlightBytes > budget)
    return {
      ok: false,
      path: ['memory', 'maxInFlightBytes'],
      message: `${formatBytes(input.maxInFlightBytes)} does not fit in memory.limit ${formatBytes(limit)} with ${w}: at most ${budget}; lower it, raise memory.limit, or leave memory.maxInFlightBytes out to derive it`,
    };
  return { ok: true, maxInFlightBytes: input.maxInFlightBytes ?? budget, rowGroupBytes: rg };
}
