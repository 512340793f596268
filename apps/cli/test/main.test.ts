import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/main.ts';

function capture() {
  const err: string[] = [];
  const out: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  return { err: () => err.join(''), out: () => out.join('') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('kice CLI', () => {
  it('exits 2 with usage on a missing config flag and an unknown command', async () => {
    const c = capture();
    expect(await main(['run'])).toBe(2);
    expect(c.err()).toContain('kice: run needs -c <kice.yaml>');
    expect(await main(['frobnicate'])).toBe(2);
    expect(c.err()).toContain('kice: unknown command "frobnicate"');
  });

  it('exits 2 and names every bad setting by path before connecting to anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kice-cli-'));
    const file = join(dir, 'kice.yaml');
    await writeFile(
      file,
      'kafka: { brokers: [localhost], groupId: g }\ncatalog: { type: filesystem, warehouse: ./w }\ntables: [{ table: a.b }]\n',
    );
    const c = capture();
    expect(await main(['run', '-c', file])).toBe(2);
    expect(c.err()).toBe(
      `kice: invalid configuration in ${file}:\n` +
        '  - kafka.brokers[0]: expected host:port\n' +
        '  - tables[0].topic: set exactly one of topic or topicPattern\n' +
        '  - deadLetter: required\n',
    );
  });

  it('lists tables of an empty warehouse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kice-cli-'));
    const file = join(dir, 'kice.yaml');
    await writeFile(
      file,
      'kafka: { brokers: [127.0.0.1:1], groupId: g }\ncatalog: { type: filesystem, warehouse: ./w }\ntables: [{ topic: t, table: a.b }]\ndeadLetter: { topic: dlq }\n',
    );
    const c = capture();
    expect(await main(['tables', '-c', file])).toBe(0);
    expect(c.out()).toBe('no tables yet\n');
  });

  it('reports a missing config file', async () => {
    const c = capture();
    expect(await main(['tables', '-c', '/nonexistent/kice.yaml'])).toBe(2);
    expect(c.err()).toContain("ENOENT: no such file or directory, open '/nonexistent/kice.yaml'");
  });
});
