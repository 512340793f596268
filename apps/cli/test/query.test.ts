import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/main.ts';
import { parseQueryFlags } from '../src/query.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

async function stderrOf(argv: string[]): Promise<[number, string]> {
  const err: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  const code = await main(argv);
  return [code, err.join('').split('\n')[0] as string];
}

describe('kice query flags', () => {
  it('parses select, where, as-of (id or ISO time), limit and format', () => {
    expect(
      parseQueryFlags({
        table: 'a.b',
        select: 'id, user.tier',
        where: 'id > 5',
        asOf: '2024-03-01T00:00:00Z',
        limit: '10',
        format: 'csv',
      }),
    ).toEqual({
      format: 'csv',
      select: ['id', 'user.tier'],
      where: { op: 'gt', ref: 'id', value: 5 },
      asOf: { timestampMs: Date.UTC(2024, 2, 1) },
      limit: 10,
    });
    expect(parseQueryFlags({ table: 'a.b', asOf: '4611686018427387904' })).toEqual({
      format: 'table',
      asOf: { snapshotId: '4611686018427387904' },
    });
  });

  it('exits 2 naming the bad flag, before any I/O', async () => {
    expect(await stderrOf(['query', 'a.b', '-c', 'x.yaml', '--format', 'xml'])).toEqual([
      2,
      'kice: query --format: "xml" is not one of table, json, csv',
    ]);
    expect(await stderrOf(['query', 'a.b', '-c', 'x.yaml', '--as-of', 'yesterday'])).toEqual([
      2,
      'kice: query --as-of: "yesterday" is neither a snapshot id nor an ISO 8601 time',
    ]);
    expect(await stderrOf(['query', 'a.b', '-c', 'x.yaml', '--select', 'a,,b'])).toEqual([
      2,
      'kice: query --select: "a,,b" has an empty column name',
    ]);
    expect(await stderrOf(['query', 'a.b', '-c', 'x.yaml', '--where', "k IN ('a'"])).toEqual([
      2,
      "kice: query --where: expected ',' or ')' at 9, got the end",
    ]);
    expect(await stderrOf(['query', '-c', 'x.yaml'])).toEqual([
      2,
      'kice: query needs a table name',
    ]);
    expect(await stderrOf(['query', 'a.b', 'c.d', '-c', 'x.yaml'])).toEqual([
      2,
      'kice: query takes one table name, got 2: a.b c.d',
    ]);
    expect(await stderrOf(['query', 'a.b', '--url', 'not a url'])).toEqual([
      2,
      'kice: query --url: "not a url" is not a URL',
    ]);
    expect((await stderrOf(['query', 'a.b', '--bogus']))[0]).toBe(2);
  });
});
