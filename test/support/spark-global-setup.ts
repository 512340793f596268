/**
 * vitest global setup of the integration project: nothing at start (the Spark server of
 * test/infra/spark.sh starts lazily, on the first request a test file makes, see
 * ./spark.ts); at the end of the run it is stopped, so that its JVM does not outlive the
 * run. KICE_SPARK_KEEP=1 leaves it running for the next run (faster local iterations).
 */
import { sparkScript } from './spark.ts';

export default function setup(): () => Promise<void> {
  return async () => {
    if (process.env.KICE_SPARK_KEEP === '1') return;
    await sparkScript('stop');
  };
}
