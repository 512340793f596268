/**
 * The completeness watermark (src/commit/watermark.ts) through the real Committer on an
 * in-memory filesystem catalog, with the candidates the flusher computes from real
 * PartitionLanes: exact summary values for out-of-order timestamps, an idle partition, a
 * partition not in the commit (carried), another group, and values never lowered.
 */
import { currentSnapshot, FilesystemCatalog, MemoryFileIO, schemaFromJson } from '@kice/iceberg';
import { describe, expect, it } from 'vitest';
import { Committer } from '../../src/commit/committer.ts';
import {
  mergeWatermarks,
  parseWatermarks,
  readWatermark,
  tableWatermark,
  writeWatermarks,
} from '../../src/commit/watermark.ts';
import { PartitionLane } from '../../src/pipeline/partition-lane.ts';
import type { TableRuntime } from '../../src/pipeline/routing.ts';
import { watermarkCandidates } from '../../src/pipeline/table-flusher.ts';

const observed = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [{ id: 1, name: 'id', required: false, type: 'long' }],
});
const T = 1_700_000_000_000;
const setupTable = { table: 'ns.t', partitionBy: [], properties: {} };

async function setup(group = 'g') {
  const io = new MemoryFileIO();
  const catalog = new FilesystemCatalog({ warehouse: 'memory://wh', io });
  const committer = new Committer(catalog, group);
  await committer.ensureTable(setupTable, observed);
  return { catalog, committer };
}

/** A lane that claimed `batches` (each [from, to, timestamps]) from offset `start`. */
function lane(partition: number, start: bigint, batches: [bigint, bigint, number[]][]) {
  const l = new PartitionLane<TableRuntime>('t', partition, {} as TableRuntime, start, undefined);
  for (const [from, to, ts] of batches) {
    expect(l.claim(from, to)).toEqual({ from, to });
    l.noteTimestamps(to, Math.min(...ts));
  }
  return l;
}

async function summary(catalog: FilesystemCatalog) {
  const t = await catalog.loadTable({ namespace: ['ns'], name: 't' });
  return { s: currentSnapshot(t.metadata)?.summary ?? {}, w: readWatermark(t.metadata) };
}

describe('watermark properties', () => {
  it('round-trips sorted, merges by max over held partitions, minimum over all groups', () => {
    const w = new Map([
      ['b:1', T + 5],
      ['a:10', T + 7],
      ['a:2', T],
    ]);
    const text = writeWatermarks(w);
    expect(text).toBe(`{"a":{"2":"${T}","10":"${T + 7}"},"b":{"1":"${T + 5}"}}`);
    expect(parseWatermarks(text)).toEqual(w);
    expect(parseWatermarks('{not json').size).toBe(0);
    const merged = mergeWatermarks(
      w,
      new Map([
        ['a:2', T - 100],
        ['b:1', T + 9],
        ['c:0', T + 1],
      ]),
      ['a:2', 'b:1', 'c:0', 'd:0'],
    );
    expect([...merged]).toEqual([
      ['a:2', T],
      ['b:1', T + 9],
      ['c:0', T + 1],
    ]);
    const groups = new Map([['g', { held: ['a:2', 'b:1'], watermarks: merged }]]);
    expect(tableWatermark(groups)).toBe(T);
    groups.set('h', { held: ['x:0'], watermarks: new Map() });
    expect(tableWatermark(groups)).toBeUndefined();
  });
});

describe('watermark in commits', () => {
  it('records min(check time, smallest uncommitted timestamp − 1) per partition, carried forward, never lowered', async () => {
    const { catalog, committer } = await setup();
    // Partition 0 fetched to its end offset 4 with timestamps out of order: the commit
    // covers [0, 3); the record at offset 3 (fetched, not committed) is older than the
    // ones committed. Partition 1 fetched to its end, all committed. Partition 2 has a
    // backlog (end offset 10, fetched to 2).
    const p0 = lane(0, 0n, [
      [0n, 3n, [T + 5000, T + 1000, T + 3000]],
      [3n, 4n, [T + 2000]],
    ]);
    const p1 = lane(1, 0n, [[0n, 2n, [T + 2500, T + 2400]]]);
    const p2 = lane(2, 0n, [[0n, 2n, [T + 100, T + 200]]]);
    const checkedAt = T + 10_000;
    const ends = new Map([
      ['t:0', 4n],
      ['t:1', 2n],
      ['t:2', 10n],
    ]);
    const commitEnds = new Map([
      ['t:0', 3n],
      ['t:1', 2n],
      ['t:2', 2n],
    ]);
    const c1 = watermarkCandidates([p0, p1, p2], commitEnds, { at: checkedAt, ends });
    expect(c1).toEqual([
      ['t:0', T + 1999],
      ['t:1', checkedAt],
    ]);
    const ranges = [0, 1, 2].map((p) => ({
      topic: 't',
      partition: p,
      from: 0n,
      to: commitEnds.get(`t:${p}`) as bigint,
    }));
    const r1 = await committer.append('ns.t', [], ranges, undefined, c1);
    // Partition 2 has none yet: the table-wide watermark is not known.
    expect(r1).toMatchObject({ status: 'committed' });
    expect(r1.status === 'committed' && r1.watermarkMs).toBeUndefined();
    let { s, w } = await summary(catalog);
    expect(s['kice.watermarks.g']).toBe(`{"t":{"0":"${T + 1999}","1":"${checkedAt}"}}`);
    expect(s['kice.watermark']).toBeUndefined();
    expect(w).toEqual({
      watermarkMs: undefined,
      groups: { g: { 't:0': T + 1999, 't:1': checkedAt } },
    });

    // Next commit: partition 0 commits [3, 4) (caught up), partition 2 catches up to 10 and
    // commits [2, 10); partition 1 is idle (no range: it advances to the check time from
    // its committed offset). A candidate lower than the carried value is ignored.
    p0.committed = 3n;
    p0.forgetTimestampsBelow(3n);
    p1.committed = 2n;
    p2.committed = 2n;
    p2.forgetTimestampsBelow(2n);
    expect(p2.claim(2n, 10n)).toEqual({ from: 2n, to: 10n });
    p2.noteTimestamps(10n, T + 50);
    const at2 = T + 20_000;
    const c2 = watermarkCandidates(
      [p0, p1, p2],
      new Map([
        ['t:0', 4n],
        ['t:2', 10n],
      ]),
      { at: at2, ends: new Map([...ends, ['t:2', 10n]]) },
    );
    expect(c2).toEqual([
      ['t:0', at2],
      ['t:1', at2],
      ['t:2', at2],
    ]);
    const r2 = await committer.append(
      'ns.t',
      [],
      [
        { topic: 't', partition: 0, from: 3n, to: 4n },
        { topic: 't', partition: 2, from: 2n, to: 10n },
      ],
      undefined,
      [...c2.filter(([k]) => k !== 't:1'), ['t:1', T]],
    );
    expect(r2.status === 'committed' && r2.watermarkMs).toBe(checkedAt);
    ({ s } = await summary(catalog));
    expect(s['kice.watermarks.g']).toBe(`{"t":{"0":"${at2}","1":"${checkedAt}","2":"${at2}"}}`);
    expect(s['kice.watermark']).toBe(String(checkedAt));

    // A commit with no candidates (end offsets unreadable) carries every value.
    const r3 = await committer.append('ns.t', [], [{ topic: 't', partition: 0, from: 4n, to: 5n }]);
    expect(r3.status === 'committed' && r3.watermarkMs).toBe(checkedAt);
    ({ s, w } = await summary(catalog));
    expect(s['kice.watermarks.g']).toBe(`{"t":{"0":"${at2}","1":"${checkedAt}","2":"${at2}"}}`);
    expect(w.watermarkMs).toBe(checkedAt);
    expect((await committer.tableState('ns.t'))?.watermarkMs).toBe(checkedAt);
  });

  it('a refused commit records nothing; another group is carried and counts in the minimum', async () => {
    const { catalog, committer } = await setup('g');
    await committer.append(
      'ns.t',
      [],
      [{ topic: 't', partition: 0, from: 0n, to: 5n }],
      undefined,
      [['t:0', T + 10]],
    );
    const refused = await committer.append(
      'ns.t',
      [],
      [{ topic: 't', partition: 0, from: 0n, to: 9n }],
      undefined,
      [['t:0', T + 99]],
    );
    expect(refused.status).toBe('refused');
    expect((await summary(catalog)).s['kice.watermarks.g']).toBe(`{"t":{"0":"${T + 10}"}}`);

    const other = new Committer(catalog, 'h');
    const r = await other.append(
      'ns.t',
      [],
      [{ topic: 'u', partition: 0, from: 0n, to: 1n }],
      undefined,
      [['u:0', T + 3]],
    );
    expect(r.status === 'committed' && r.watermarkMs).toBe(T + 3);
    const { s, w } = await summary(catalog);
    expect(s['kice.watermarks.g']).toBe(`{"t":{"0":"${T + 10}"}}`);
    expect(s['kice.watermarks.h']).toBe(`{"u":{"0":"${T + 3}"}}`);
    expect(s['kice.watermark']).toBe(String(T + 3));
    expect(w).toEqual({
      watermarkMs: T + 3,
      groups: { g: { 't:0': T + 10 }, h: { 'u:0': T + 3 } },
    });
  });
});
