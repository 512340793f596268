/**
 * The cold scans of `engine.query` and `engine.get` decode their row groups in the
 * engine's worker pool (the `readRowGroup` task, ../workers/pool-tasks.ts) instead of on
 * the main thread: the files a scan reads at once decode at once, one per pool thread, and
 * the coordinator's thread is not held by parquet-wasm while a query reads. The tasks queue
 * behind ingestion's own in the pool (first come, first served): a query waits, ingestion
 * does not. A decode that fails is the query's error (a KiceError with the worker's
 * message), never the pipeline's.
 */
import type { RowGroupDecoder, RowGroupRequest } from '@kice/iceberg';
import { fromPlainError, KiceError } from '../errors.ts';
import type { TaskPool } from '../pipeline/decode-stage.ts';
import type { ReadRowGroupResult, ReadRowGroupTask } from '../workers/tasks.ts';

export function poolDecoder(pool: () => TaskPool | undefined): RowGroupDecoder {
  return async (request: RowGroupRequest) => {
    const p = pool();
    if (!p) throw new KiceError('INTERNAL', 'query: the engine is not running (no worker pool)');
    const task: ReadRowGroupTask = { kind: 'readRowGroup', ...request };
    const r = (await p.run(task)) as ReadRowGroupResult;
    if (!r.ok) throw fromPlainError(r.error);
    return r.ipc;
  };
}
