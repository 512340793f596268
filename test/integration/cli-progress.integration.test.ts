/**
 * What `kice run` shows while it works, on the real broker (42 records over 2 partitions,
 * 2 of them invalid JSON):
 *
 * - `run --once` with stderr not a terminal: plain progress lines every
 *   `log.statusIntervalMs` and a final line with the exact counts; stdout is pino JSON.
 * - `log.format: pretty`: stdout is human-readable lines, not JSON.
 * - `run --once` in a pseudo-terminal (util-linux `script`): the bar is drawn in place and
 *   the logs are pretty (auto).
 * - The daemon logs a one-line `status` every interval, with the counts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import {
  KICE_BIN,
  KICE_ENV,
  KICE_NODE_FLAGS,
  runOnce,
  spawnKice,
  writeConfig,
} from '../support/kice-process.ts';
import { createTopic, exactProducer } from '../support/produce.ts';
import { REPO_ROOT } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-progress-${RUN}`;
const GOOD = 40;
const BAD = 2;
const TOTAL = GOOD + BAD;

let brokers: string[];
let dir: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-progress-'));
  await createTopic(brokers, TOPIC, 2);
  const producer = exactProducer(brokers);
  await producer.connect();
  const messages = Array.from({ length: TOTAL }, (_, i) => ({
    partition: i % 2,
    value: i < BAD ? `{not json ${i}` : JSON.stringify({ id: i }),
  }));
  await producer.send({ topic: TOPIC, messages });
  await producer.disconnect();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A config of its own group and warehouse (each run reads the topic from the start). */
function config(name: string, log: Record<string, unknown>, extra: object = {}): Promise<string> {
  const group = `kice-e2e-progress-${name}-${RUN}`;
  return writeConfig(
    dir,
    {
      kafka: { brokers, groupId: group },
      catalog: { type: 'filesystem', warehouse: join(dir, name) },
      tables: [{ topic: TOPIC, table: 'e2e.progress' }],
      deadLetter: { topic: `${group}-dlq` },
      log,
      ...extra,
    },
    `${name}.yaml`,
  );
}

const FINAL = new RegExp(
  `^kice run --once: done: ${TOTAL}/${TOTAL} \\(100%\\) \\d+/s ETA 0s rows ${GOOD} dead letters ${BAD}$`,
);

describe('kice run progress and logs', () => {
  it('run --once, not a terminal: periodic plain lines, exact final counts, JSON logs', async () => {
    const { process: p } = await runOnce(await config('plain', { statusIntervalMs: 100 }));
    const lines = p.stderr.trimEnd().split('\n');
    const periodic = lines.filter((l) => /^kice run --once: \d+\/\d+ \(\d+%\) /.test(l));
    expect(periodic.length).toBeGreaterThan(0);
    for (const l of periodic)
      expect(l).toMatch(
        /^kice run --once: \d+\/\d+ \(\d+%\) \d+\/s ETA \S+ rows \d+ dead letters \d+$/,
      );
    expect(lines.at(-1)).toMatch(FINAL);
    expect(p.stderr).not.toContain('\x1b');
    expect(p.text).toEqual([]);
    expect(p.lines.some((l) => l.msg === 'committed' && l.rows === GOOD)).toBe(true);
  }, 60_000);

  it('log.format pretty: human-readable lines on stdout', async () => {
    const { process: p } = await runOnce(await config('pretty', { format: 'pretty' }));
    expect(p.lines).toEqual([]);
    const committed = p.text.filter((l) => l.includes('committed'));
    expect(committed.length).toBeGreaterThan(0);
    expect(committed[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: committed /);
    expect(p.text.join('\n')).not.toContain('\x1b'); // no colors off a terminal
  }, 60_000);

  it('run --once in a pseudo-terminal: the bar, then pretty logs (auto)', async () => {
    const cfg = await config('tty', {});
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, ...KICE_NODE_FLAGS, KICE_BIN, 'run', '-c', cfg, '--once']
      .map(quote)
      .join(' ');
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...KICE_ENV, COLUMNS: '100' },
      maxBuffer: 16 * 2 ** 20,
    });
    // The bar: drawn in place (carriage return, erase line "ESC [2K") with its figures.
    const shown = stdout.replaceAll('\x1b[2K', '<erase>');
    expect(shown).toMatch(/\r<erase>\[[#-]{10,40}\] \d+\/\d+ \(\d+%\) /);
    expect(shown).toContain(`\r<erase>[${'#'.repeat(10)}`);
    const lines = stdout.split(/\r?\n/).map((l) => l.replace(/\r/g, ''));
    expect(lines.some((l) => FINAL.test(l))).toBe(true);
    // Pretty (colored) logs, no JSON line.
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
    expect(lines.some((l) => l.includes('committed') && l.includes('\x1b['))).toBe(true);
  }, 60_000);

  it('the daemon logs a status line every interval', async () => {
    const p = spawnKice(
      await config('daemon', { statusIntervalMs: 200 }, { commit: { intervalMs: 500 } }),
    );
    try {
      const status = await p.waitForLine(
        (l) => l.msg === 'status' && l.rowsCommitted === GOOD,
        60_000,
      );
      expect(status).toMatchObject({
        recordsConsumed: TOTAL,
        rowsCommitted: GOOD,
        deadLetters: BAD,
        partitions: 2,
      });
      expect(Object.keys(status.watermarkMs as object)).toEqual(['e2e.progress']);
    } finally {
      await p.terminate();
    }
  }, 60_000);
});
