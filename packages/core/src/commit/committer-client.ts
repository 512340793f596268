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
 *
 * A thread that dies (an uncaught error, running out of its heap, exiting) fails every
 * call pending on it and every later one with an error naming the cause, for each engine
 * it serves: comlink alone would leave those calls waiting forever, and an 'error' event
 * without a listener would take the whole process down.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { type ThreadLimits, threadLimits } from '../config/memory-plan.ts';
import { DEFAULT_MAX_IN_FLIGHT } from '../config/schema.ts';
import { KiceError } from '../errors.ts';
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

/** Settles once `worker` dies on its own (not when `closing()` says it is being closed). */
function deathOf(worker: Worker, closing: () => boolean): Promise<never> {
  const died = new Promise<never>((_, reject) => {
    let failed: KiceError | undefined;
    worker.on('error', (e: Error) => {
      failed = new KiceError('INTERNAL', `committer thread failed: ${e.message}`, { cause: e });
      reject(failed);
    });
    worker.on('exit', (code) => {
      if (failed || closing()) return;
      reject(new KiceError('INTERNAL', `committer thread exited with code ${code}`));
    });
  });
  died.catch(() => {}); // observed by every call through `guarded`
  return died;
}

/** `api` with every call failing as soon as the thread dies (see the module comment). */
function guarded<T>(api: Comlink.Remote<T>, died: Promise<never>): Comlink.Remote<T> {
  return new Proxy(api, {
    get(target, prop) {
      const member = (target as Record<PropertyKey, unknown>)[prop];
      if (typeof prop === 'symbol' || typeof member !== 'function') return member;
      return (...args: unknown[]) =>
        Promise.race([(member as (...a: unknown[]) => Promise<unknown>)(...args), died]);
    },
  });
}

/** Starts the committer thread from `file`: the bundled committer-thread module
 * (../workers/bundle.ts). */
export function startCommitterThread(
  file: string,
  options: CommitterThreadData,
  resourceLimits: CommitterLimits = RESOURCE_LIMITS,
): CommitterClient {
  const worker = new Worker(file, { workerData: options, resourceLimits });
  let closing = false;
  const remote = Comlink.wrap<Committer>(nodeEndpoint(worker));
  const api = guarded(
    remote,
    deathOf(worker, () => closing),
  );
  return {
    api,
    async close() {
      closing = true;
      remote[Comlink.releaseProxy]();
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
  let closing = false;
  const died = deathOf(worker, () => closing);
  let next = 0;
  return {
    threadId: worker.threadId,
    open(options) {
      const { port1, port2 } = new MessageChannel();
      const message: OpenCommitterMessage = { open: next++, data: options, port: port2 };
      // Calls made on port1 before the thread listens on port2 wait in the channel.
      worker.postMessage(message, [port2]);
      const remote = Comlink.wrap<Committer>(nodeEndpoint(port1));
      return {
        api: guarded(remote, died),
        async close() {
          remote[Comlink.releaseProxy]();
          port1.close();
        },
      };
    },
    async close() {
      closing = true;
      await worker.terminate();
    },
  };
}
