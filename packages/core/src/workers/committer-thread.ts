/**
 * The committer thread: ONE worker_thread per process, exposing a Committer over comlink.
 * All Iceberg commits of the process are serialized here. The crash-test hook
 * (KICE_TEST_COMMIT_PAUSE_AT / _MS, ../commit/test-pause.ts) is read here and nowhere else.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { createCatalog } from '../catalog/create-catalog.ts';
import { Committer } from '../commit/committer.ts';
import { nodeEndpoint } from '../commit/node-endpoint.ts';
import { commitPauseFromEnv } from '../commit/test-pause.ts';
import type { CatalogConfig, StorageConfig } from '../config/schema.ts';
import { createFileIO, sharedFileIO } from '../storage/file-io.ts';
import { tableStorage } from '../storage/table-storage.ts';

export interface CommitterThreadData {
  readonly catalog: CatalogConfig;
  readonly groupId: string;
  readonly storage?: StorageConfig;
}

const data = workerData as CommitterThreadData;
if (!parentPort) throw new Error('committer-thread must run in a worker thread');
const pause = commitPauseFromEnv(process.env);
const storage = data.storage;
const catalog = createCatalog(data.catalog, createFileIO(storage), {
  ...(pause ? { observer: pause } : {}),
  // A REST table's own FileIO properties (vended credentials) over the storage config.
  ...(storage ? { ioFactory: (props) => sharedFileIO(tableStorage(storage, props)) } : {}),
});
Comlink.expose(
  new Committer(catalog, data.groupId, undefined, pause, storage),
  nodeEndpoint(parentPort),
);
