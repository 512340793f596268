/**
 * `pnpm chaos [--faults N] [--seconds S] [--seed N] [--rate EVENTS_PER_S]`: the
 * multi-process fault loop of test/chaos/fault-loop.ts for longer runs (default 200
 * faults; with --seconds alone, faults until that time is up; with both, whichever comes
 * first). Uses the local broker (test/infra/kafka.sh, started if needed) and PyIceberg.
 * Prints the faults survived and the rows checked, writes the whole result as JSON to
 * .state/chaos/results-<date>.json, keeps the members' logs and the warehouse under
 * .state/chaos/run-<date>/, and exits 0 only if every check passed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startKafka } from '../support/kafka.ts';
import { REPO_ROOT } from '../support/readers.ts';
import { failures, randomSeed, runChaos, summarize } from './fault-loop.ts';

const { values } = parseArgs({
  options: {
    faults: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    rate: { type: 'string' },
  },
});
const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`pnpm chaos: --${name} must be a non-negative integer, got "${v}"\n`);
    process.exit(2);
  }
  return n;
};
const seconds = num('seconds', values.seconds);
const faults = num('faults', values.faults) ?? (seconds === undefined ? 200 : undefined);
const seed = num('seed', values.seed) ?? randomSeed();
const rate = num('rate', values.rate);

const stamp = new Date()
  .toISOString()
  .replaceAll(':', '-')
  .replace(/\.\d+Z$/, 'Z');
const base = join(REPO_ROOT, '.state', 'chaos');
const workDir = join(base, `run-${stamp}`);
await mkdir(workDir, { recursive: true });
console.log(
  `chaos: seed ${seed}; ${faults ?? 'unlimited'} faults${seconds !== undefined ? `, at most ${seconds} s` : ''}; work folder ${workDir}`,
);
const brokers = [await startKafka()];
const t0 = Date.now();
const result = await runChaos({
  brokers,
  workDir,
  seed,
  ...(faults !== undefined ? { faults } : {}),
  ...(seconds !== undefined ? { seconds } : {}),
  ...(rate !== undefined ? { rate } : {}),
  log: (line) => console.log(`chaos: ${line}`),
});
const failed = failures(result);
const file = join(base, `results-${stamp}.json`);
await writeFile(
  file,
  `${JSON.stringify(
    {
      date: new Date(t0).toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryBytes: totalmem() },
      passed: failed.length === 0,
      failures: failed,
      ...result,
    },
    null,
    2,
  )}\n`,
);
console.log(summarize(result));
for (const f of failed) console.log(`chaos: FAILED: ${f}`);
console.log(`chaos: results in ${file}`);
process.exit(failed.length === 0 ? 0 : 1);
