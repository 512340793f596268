/**
 * `scripts/demo.sh --seconds 10` with the local Schema Registry running (docs: README "Quick
 * start"; `--avro` would start it, and without the flag the demo adds the Avro topic because
 * the registry runs): the demo with its Avro topic through the registry exits 0, its results say that every table, the Avro
 * one (`demo.payments`, `format: avro`) included, holds exactly the produced events, and
 * PyIceberg reads the Avro table with the schema's columns and that many rows. The demo
 * reuses the suite's broker and registry (it starts them only when none runs).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata } from '../support/kice-process.ts';
import { pyicebergRows, REPO_ROOT } from '../support/readers.ts';
import { startRegistry } from '../support/schema-registry.ts';

beforeAll(async () => {
  await Promise.all([startKafka(), startRegistry()]);
});

it('scripts/demo.sh --seconds 10 with a registry running lands every produced event, the Avro topic too', async () => {
  const { code, stdout, stderr } = await new Promise<{
    code: number;
    stdout: string;
    stderr: string;
  }>((resolve, reject) =>
    execFile(
      'bash',
      [join(REPO_ROOT, 'scripts/demo.sh'), '--seconds', '10', '--rate', '2000'],
      { cwd: REPO_ROOT, env: process.env, maxBuffer: 16 * 1024 * 1024 },
      (e, out, err) => {
        if (e && typeof e.code !== 'number') reject(e);
        else resolve({ code: e ? (e.code as number) : 0, stdout: out, stderr: err });
      },
    ),
  );
  expect(code, `${stdout}\n${stderr}`).toBe(0);
  expect(stdout).toMatch(
    /^kice demo: Schema Registry at http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/m,
  );
  const results = [
    ...stdout.matchAll(/^ {2}(demo\.\S+): produced (\d+), table holds (\d+) → (\S+)$/gm),
  ];
  expect(results.map((m) => m[1])).toEqual([
    'demo.orders',
    'demo.clicks',
    'demo.demo_views_web',
    'demo.payments',
  ]);
  for (const m of results) {
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(m[3]).toBe(m[2]);
    expect(m[4]).toBe('ok');
  }
  const payments = Number(results[3]?.[2]);
  const meta = await latestMetadata(join(REPO_ROOT, '.state/demo/warehouse'), 'demo.payments');
  const rows = await pyicebergRows(meta);
  expect(rows.length).toBe(payments);
  expect(Object.keys(rows[0] ?? {})).toEqual([
    'payment_id',
    'order_id',
    'user_id',
    'amount',
    'currency',
    'method',
    'ts',
    'note',
  ]);
  expect(new Set(rows.map((r) => r.payment_id)).size).toBe(payments);
  expect(rows.filter((r) => r.note === 'gift').length).toBe(
    rows.filter((r) => Number(String(r.payment_id).slice(2)) % 10 === 0).length,
  );
});
