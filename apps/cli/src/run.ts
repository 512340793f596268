/**
 * `kice run -c kice.yaml [--once]`: the daemon (until SIGINT/SIGTERM: stop fetching,
 * flush, commit, leave the group, exit 0) or the batch mode.
 *
 * Stopping is bounded: from the signal (or a fatal error) on, a deadline of
 * `shutdown.timeoutMs` runs; past it kice prints what is still open (the event loop's
 * active resources) and exits 1, whether the engine's stop is still running or something
 * it left behind keeps the process alive. A second signal exits 1 at once.
 *
 * With `http:` set, the operations endpoint (health, readiness, metrics, tables) listens
 * from before the engine starts (readiness answers 503 until the group is joined) until
 * the engine has stopped (readiness 503 from the signal on).
 */
import {
  createEngine,
  createLogger,
  type HttpServer,
  loadConfigFile,
  redactSecrets,
  startHttpServer,
} from '@kice/core';

/** "TCPWRAP ×2, Timeout ×3": what keeps the event loop alive. */
function openResources(): string {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${r} ×${n}`).join(', ') || 'nothing';
}

export async function runCommand(configPath: string, options: { once: boolean }): Promise<number> {
  const config = await loadConfigFile(configPath);
  const log = createLogger(config);
  const engine = createEngine(config, { logger: log });
  const http: HttpServer | undefined = config.http
    ? await startHttpServer(engine, config.http, log)
    : undefined;
  try {
    return await runEngine(engine, config, options);
  } finally {
    await http?.close();
  }
}

async function runEngine(
  engine: ReturnType<typeof createEngine>,
  config: Awaited<ReturnType<typeof loadConfigFile>>,
  options: { once: boolean },
): Promise<number> {
  if (options.once) {
    await engine.runOnce();
    return 0;
  }
  let failed: Error | undefined;
  let stopFinished = false;
  let deadline: NodeJS.Timeout | undefined;
  const armDeadline = (why: string): void => {
    if (deadline) return;
    const ms = config.shutdown.timeoutMs;
    deadline = setTimeout(() => {
      const what = stopFinished
        ? 'the engine stopped, but the process did not exit'
        : 'the engine did not finish stopping';
      process.stderr.write(
        `kice: ${why}: ${what} within ${ms} ms (shutdown.timeoutMs); still open: ${openResources()}; exiting 1\n`,
      );
      process.exit(1);
    }, ms);
    // Only a process that something else keeps alive waits for it.
    deadline.unref();
  };
  const done = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`kice: ${signal}: flushing, committing and leaving the group…\n`);
      armDeadline(signal);
      process.once(signal, () => {
        process.stderr.write(`kice: second ${signal}: exiting now\n`);
        process.exit(1);
      });
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    engine.on('error', (e) => {
      failed = e;
      armDeadline('fatal error');
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
  stopFinished = true;
  if (failed) {
    process.stderr.write(`kice: stopped after a fatal error: ${redactSecrets(failed.message)}\n`);
    return 1;
  }
  return 0;
}
