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
 *
 * Logs go to stdout (`log.format`: JSON, or pretty on a terminal). `--once` shows its
 * progress on stderr (./progress.ts); the daemon logs a one-line `status` every
 * `log.statusIntervalMs`.
 */
import { Writable } from 'node:stream';
import {
  createEngine,
  createLogger,
  type Engine,
  type HttpServer,
  type KiceConfig,
  type Logger,
  loadConfigFile,
  redactSecrets,
  startHttpServer,
} from '@kice/core';
import { ProgressReporter, type ProgressSample } from './progress.ts';

/** "TCPWRAP ×2, Timeout ×3": what keeps the event loop alive. */
function openResources(): string {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${r} ×${n}`).join(', ') || 'nothing';
}

/**
 * The progress of `--once` from the engine: offsets consumed of the end offsets it reported
 * at start, per partition from where this member began. The last positions seen are kept
 * (sampled on every tick and commit): stopping releases the partitions.
 */
function onceProgress(engine: Engine): { sample: () => ProgressSample } {
  let ends: ReadonlyMap<string, bigint> | undefined;
  const seen = new Map<string, { start: bigint; expected: bigint }>();
  const look = (): void => {
    for (const p of engine.positions()) seen.set(p.key, { start: p.start, expected: p.expected });
  };
  engine.on('endOffsets', (e) => {
    ends = e;
  });
  engine.on('commit', look);
  return {
    sample: () => {
      look();
      let consumed = 0n;
      let total = 0n;
      for (const [key, p] of seen) {
        const end = ends?.get(key);
        if (end === undefined || end <= p.start) continue;
        total += end - p.start;
        // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min takes numbers)
        consumed += (p.expected < end ? p.expected : end) - p.start;
      }
      const m = engine.metrics();
      return {
        consumed: Number(consumed),
        total: Number(total),
        rowsCommitted: m.rowsCommitted ?? 0,
        deadLetters: m.deadLetters ?? 0,
      };
    },
  };
}

/** `run --once` with its progress: a bar on a terminal, plain lines otherwise. */
async function runOnceWithProgress(config: KiceConfig): Promise<number> {
  const stderr = process.stderr;
  let reporter: ProgressReporter | undefined;
  // Bar and logs share the terminal: log lines take the bar away while they are written.
  const shared = stderr.isTTY === true && process.stdout.isTTY === true;
  const destination = shared
    ? Object.assign(
        new Writable({
          write(chunk, _encoding, done) {
            const write = () => process.stdout.write(chunk);
            if (reporter) reporter.around(write);
            else write();
            done();
          },
        }),
        { isTTY: true },
      )
    : undefined;
  const logger = createLogger(config, destination ? { destination } : {});
  const engine = createEngine(config, { logger });
  const http = await serve(engine, config, logger);
  const progress = onceProgress(engine);
  reporter = new ProgressReporter(stderr, progress.sample, config.log.statusIntervalMs);
  reporter.start();
  let done = false;
  try {
    await engine.runOnce();
    done = true;
  } finally {
    reporter.stop(done);
    await http?.close();
  }
  return 0;
}

/** The daemon's status line, every `log.statusIntervalMs`. */
function statusLines(engine: Engine, log: Logger, intervalMs: number): () => void {
  let last = { at: Date.now(), records: 0 };
  const timer = setInterval(() => {
    const m = engine.metrics();
    const at = Date.now();
    const records = m.recordsConsumed ?? 0;
    log.info(
      {
        recordsConsumed: records,
        recordsPerSec: Math.round(((records - last.records) * 1000) / Math.max(1, at - last.at)),
        rowsCommitted: m.rowsCommitted ?? 0,
        deadLetters: m.deadLetters ?? 0,
        commits: m.commits ?? 0,
        partitions: engine.positions().length,
        inFlightBytes: m.inFlightBytes ?? 0,
        watermarkMs: m.watermarkMs,
      },
      'status',
    );
    last = { at, records };
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export async function runCommand(configPath: string, options: { once: boolean }): Promise<number> {
  const config = await loadConfigFile(configPath);
  if (options.once) return runOnceWithProgress(config);
  const log = createLogger(config);
  const engine = createEngine(config, { logger: log });
  const http = await serve(engine, config, log);
  try {
    return await runDaemon(engine, config, log);
  } finally {
    await http?.close();
  }
}

/** The operations endpoint, when `http:` is set (before the engine starts: readiness
 * answers 503 until the group is joined). */
function serve(engine: Engine, config: KiceConfig, log: Logger): Promise<HttpServer | undefined> {
  return config.http ? startHttpServer(engine, config.http, log) : Promise.resolve(undefined);
}

async function runDaemon(engine: Engine, config: KiceConfig, log: Logger): Promise<number> {
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
  const stopStatus = statusLines(engine, log, config.log.statusIntervalMs);
  await done;
  stopStatus();
  await engine.stop();
  stopFinished = true;
  if (failed) {
    process.stderr.write(`kice: stopped after a fatal error: ${redactSecrets(failed.message)}\n`);
    return 1;
  }
  return 0;
}
