/**
 * Main-thread handle on the committer thread (comlink proxy). Errors thrown in the
 * thread arrive as plain Errors (message kept).
 */
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { CommitterThreadData } from '../workers/committer-thread.ts';
import type { Committer } from './committer.ts';
import { nodeEndpoint } from './node-endpoint.ts';

export interface CommitterClient {
  readonly api: Comlink.Remote<Committer>;
  close(): Promise<void>;
}

/** Starts the committer thread from `file`: the bundled committer-thread module
 * (../workers/bundle.ts). */
export function startCommitterThread(file: string, options: CommitterThreadData): CommitterClient {
  // The committer handles metadata (manifests, manifest lists, table metadata JSON), never
  // data: a small young generation keeps its idle heap small.
  const worker = new Worker(file, {
    workerData: options,
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  const api = Comlink.wrap<Committer>(nodeEndpoint(worker));
  return {
    api,
    async close() {
      api[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}
