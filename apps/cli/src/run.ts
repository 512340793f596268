/**
 * `kice run -c kice.yaml [--once]`: the daemon (until SIGINT/SIGTERM: stop fetching,
 * flush, commit, leave the group, exit 0) or the batch mode.
 */
import { createEngine, loadConfigFile } from '@kice/core';

export async function runCommand(configPath: string, options: { once: boolean }): Promise<number> {
  const config = await loadConfigFile(configPath);
  const engine = createEngine(config);
  if (options.once) {
    await engine.runOnce();
    return 0;
  }
  let failed: Error | undefined;
  const done = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`kice: ${signal}: flushing, committing and leaving the group…\n`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    engine.on('error', (e) => {
      failed = e;
      resolve();
    });
  });
  try {
    await engine.start();
  } catch (e) {
    await engine.stop().catch(() => {});
    throw e;
  }
  await done;
  await engine.stop();
  if (failed) {
    process.stderr.write(`kice: stopped after a fatal error: ${failed.message}\n`);
    return 1;
  }
  return 0;
}
