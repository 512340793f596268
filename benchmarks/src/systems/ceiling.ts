/**
 * The client ceilings: a consumer process that fetches all N records and does nothing
 * else (ceilings/kafkajs-consume.ts, ceilings/platformatic-consume.ts), measured from
 * spawn to exit like kice.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { spawnMeasured } from '../proc.ts';
import { type RunContext, type SystemResult, tail, toResult } from './common.ts';

/** Runs one ceiling consumer on the context's topic. */
export async function runCeiling(
  client: 'kafkajs' | 'platformatic',
  ctx: RunContext,
): Promise<SystemResult> {
  const script = fileURLToPath(new URL(`../ceilings/${client}-consume.ts`, import.meta.url));
  const group = `kice-bench-ceiling-${randomUUID()}`;
  const p = spawnMeasured(process.execPath, [
    '--import',
    'tsx',
    script,
    ctx.broker,
    ctx.data.topic,
    String(ctx.data.events),
    group,
  ]);
  const m = await p.done;
  let failure: string | null = null;
  if (m.code !== 0) failure = `exit ${m.code ?? m.signal}: ${tail(m.stderr)}`;
  else {
    const got = JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '{}') as { events?: number };
    if (got.events !== ctx.data.events)
      failure = `consumed ${got.events} records, expected ${ctx.data.events}`;
  }
  return toResult(`ceiling-${client}`, {}, ctx, m, failure, null, false);
}
