/**
 * The committer thread: a worker_thread exposing Committers over comlink. All Iceberg
 * commits of an engine are serialized here. The crash-test hook
 * (KICE_TEST_COMMIT_PAUSE_AT / _MS, ../commit/test-pause.ts) is read here and nowhere else.
 *
 * Two ways to host (the Committer itself is the same in both):
 * - one engine (workerData = CommitterThreadData): one Committer, exposed on parentPort;
 * - a shared runtime (workerData = { host: true }, ../runtime/runtime.ts): every
 *   `{ open }` message on parentPort carries one engine's CommitterThreadData and a
 *   MessagePort; a Committer of its own (catalog, storage, group) is exposed on that port
 *   and dropped when the port closes. Engines never share a Committer, so each engine's
 *   calls reach only its own catalog and offsets.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
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

/** workerData of a thread hosting the committers of many engines. */
export interface CommitterHostData {
  readonly host: true;
}

/** The message that opens one engine's committer on a hosting thread. */
export interface OpenCommitterMessage {
  readonly open: number;
  readonly data: CommitterThreadData;
  readonly port: MessagePort;
}

const pause = commitPauseFromEnv(process.env);

function newCommitter(data: CommitterThreadData): Committer {
  const storage = data.storage;
  const catalog = createCatalog(data.catalog, createFileIO(storage), {
    ...(pause ? { observer: pause } : {}),
    // A REST table's own FileIO properties (vended credentials) over the storage config.
    ...(storage ? { ioFactory: (props) => sharedFileIO(tableStorage(storage, props)) } : {}),
  });
  return new Committer(catalog, data.groupId, undefined, pause, storage);
}

/** What a port serves when its committer could not be made: every call rejects with why. */
function failing(error: unknown): object {
  return new Proxy({}, { get: () => () => Promise.reject(error) });
}

const parent = parentPort;
if (!parent) throw new Error('committer-thread must run in a worker thread');
const data = workerData as CommitterThreadData | CommitterHostData;
if ('host' in data) {
  parent.on('message', (m: OpenCommitterMessage) => {
    let target: object;
    try {
      target = newCommitter(m.data);
    } catch (e) {
      target = failing(e);
    }
    Comlink.expose(target, nodeEndpoint(m.port));
    // The engine closed its end: nothing references the committer any more.
    m.port.once('close', () => m.port.removeAllListeners());
  });
} else {
  Comlink.expose(newCommitter(data), nodeEndpoint(parent));
}
