/**
 * Main-thread handles on committer threads (comlink proxies). Errors thrown in the
 * thread arrive as plain Errors (message kept).
 *
 * - `startCommitterThread`: a thread of its own for one engine (an engine without a
 *   runtime).
 * - `startCommitterHost`: one thread for many engines (a shared runtime); `open` gives an
 *   engine a Committer of its own in that thread, over a MessageChannel of its own, so
 *   one engine's calls stay in order among themselves exactly as on a thread of its own
 *   while other engines' calls interleave with them.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { type ThreadLimits, threadLimits } from '../config/memory-plan.ts';
import { DEFAULT_MAX_IN_FLIGHT } from '../config/schema.ts';
import type {
  CommitterHostData,
  CommitterThreadData,
  OpenCommitterMessage,
} from '../workers/committer-thread.ts';
import type { Committer } from './committer.ts';
import { nodeEndpoint } from './node-endpoint.ts';

export interface CommitterClient {
  readonly api: Comlink.Remote<Committer>;
  close(): Promise<void>;
}

/** The committer thread's V8 heap caps (config/memory-plan.ts threadLimits). */
export type CommitterLimits = ThreadLimits['committer'];

// The committer handles metadata (manifests, manifest lists, table metadata JSON), never
// data: a small young generation keeps its idle heap small.
const RESOURCE_LIMITS: CommitterLimits = threadLimits({
  maxInFlightBytes: DEFAULT_MAX_IN_FLIGHT,
}).committer;

/** Starts the committer thread from `file`: the bundled committer-thread module
 * (../workers/bundle.ts). */
export function startCommitterThread(
  file: string,
  options: CommitterThreadData,
  resourceLimits: CommitterLimits = RESOURCE_LIMITS,
): CommitterClient {
  const worker = new Worker(file, { workerData: options, resourceLimits });
  const api = Comlink.wrap<Committer>(nodeEndpoint(worker));
  return {
    api,
    async close() {
      api[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}

/** One committer thread hosting the committers of many engines. */
export interface CommitterHost {
  /** The hosting thread's id (worker_threads threadId). */
  readonly threadId: number;
  /** A committer of the engine's own (catalog, storage, group) in the hosting thread;
   * closing it leaves the thread running. */
  open(options: CommitterThreadData): CommitterClient;
  /** Ends the thread (every committer opened on it with it). */
  close(): Promise<void>;
}

export function startCommitterHost(file: string): CommitterHost {
  const data: CommitterHostData = { host: true };
  const worker = new Worker(file, { workerData: data, resourceLimits: RESOURCE_LIMITS });
  let next = 0;
  return {
    threadId: worker.threadId,
    open(options) {
      const { port1, port2 } = new MessageChannel();
      const message: OpenCommitterMessage = { open: next++, data: options, port: port2 };
      // Calls made on port1 before the thread listens on port2 wait in the channel.
      worker.postMessage(message, [port2]);
      const api = Comlink.wrap<Committer>(nodeEndpoint(port1));
      return {
        api,
        async close() {
          api[Comlink.releaseProxy]();
          port1.close();
        },
      };
    },
    async close() {
      await worker.terminate();
    },
  };
}
