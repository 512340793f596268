// A worker thread of the cold scan benchmark's pooled variant (./cold-scan-query.ts): runs
// the engine's own pool task module (packages/core/bundles/pool-tasks.mjs, `readRowGroup`)
// on each task posted to it, as the engine's Piscina pool does for engine.query.
import { parentPort, workerData } from 'node:worker_threads';

const { default: run } = await import(workerData.poolTasks);
parentPort.on('message', async ({ id, task }) => {
  parentPort.postMessage({ id, result: await run(task) });
});
