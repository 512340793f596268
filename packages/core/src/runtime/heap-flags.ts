/**
 * V8's heap-size flags (`--max-old-space-size`, `--max-semi-space-size`) are process-wide
 * and, when set, override the heap caps a worker thread is given (worker_threads
 * `resourceLimits`: https://nodejs.org/api/worker_threads.html#new-workerfilename-options).
 * The `kice` launcher sets them for the main thread. Under `memory.limit` the engine
 * clears them before it starts its threads, so that the caps derived from the limit
 * (../config/memory-plan.ts) apply; the main thread keeps the heap it started with.
 * Threads started later by anyone get V8's defaults or their own resourceLimits.
 */
import { setFlagsFromString } from 'node:v8';

export function clearHeapSizeFlags(): void {
  setFlagsFromString('--max-old-space-size=0');
  setFlagsFromString('--max-semi-space-size=0');
}
