/**
 * Summarizes the V8 CPU profiles of a `pnpm bench --profile` run (one .cpuprofile per
 * thread: the coordinator's main thread, each pool worker, the committer thread): per
 * profile, the total sampled time and the functions and files with the most self time.
 *
 * Usage: node --import tsx src/profile-summary.ts <profile-dir> [top=15]
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}

interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Self time per node id in milliseconds. */
function selfTimes(p: Profile): Map<number, number> {
  const out = new Map<number, number>();
  p.samples.forEach((id, i) => {
    out.set(id, (out.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

function shortUrl(url: string): string {
  const m = /(packages\/[^?]+|apps\/[^?]+|node_modules\/(?:\.pnpm\/)?(?:@[^/]+\/)?[^/@]+)/.exec(
    url,
  );
  return m?.[1] ?? (url === '' ? '(native/V8)' : url.replace(/^file:\/\//, ''));
}

/** One profile's summary as text lines. */
export function summarize(name: string, p: Profile, top: number): string[] {
  const self = selfTimes(p);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    total += ms;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') {
      if (fn === '(idle)') idle += ms;
    }
    const key = `${fn} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + ms);
    const file = shortUrl(n.callFrame.url);
    files.set(file, (files.get(file) ?? 0) + ms);
  }
  const pct = (ms: number) => `${((100 * ms) / total).toFixed(1)}%`;
  const lines = [
    `== ${name}: ${(total / 1000).toFixed(2)} s sampled, busy ${((total - idle) / 1000).toFixed(2)} s (idle ${pct(idle)})`,
    '  top files (self time):',
  ];
  for (const [f, ms] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(ms).padStart(6)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${f}`);
  lines.push('  top functions (self time):');
  for (const [f, ms] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(ms).padStart(6)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${f}`);
  return lines;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const top = Number(process.argv[3] ?? 15);
  if (!dir) throw new Error('usage: profile-summary.ts <profile-dir> [top]');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile')).sort();
  for (const n of names) {
    const p = JSON.parse(await readFile(join(dir, n), 'utf8')) as Profile;
    process.stdout.write(`${summarize(n, p, top).join('\n')}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
