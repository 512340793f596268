/**
 * Page skipping by the Parquet page index (src/scan/page-index.ts, page-selection.ts and
 * the cold scan's use of them): the index decoded from files parquet-rs wrote, rows
 * outside the pages a filter can match neither read nor decoded, and every scan giving the
 * rows a scan without page skipping gives — on this thread, through a decoder that may
 * read only the bytes it was handed, with late materialization, OR filters, null pages,
 * position deletes and a limit.
 */
import { describe, expect, test } from 'vitest';
import { type ColdScanOptions, coldScan, collectTable } from '../../src/scan/cold-scan.ts';
import {
  and,
  eq,
  gtEq,
  isIn,
  isNull,
  lt,
  ltEq,
  not,
  notNull,
  or,
} from '../../src/scan/expressions.ts';
import { parseColumnIndex, parseOffsetIndex } from '../../src/scan/page-index.ts';
import { mergeRanges } from '../../src/scan/page-selection.ts';
import { readFooter } from '../../src/scan/ranged-read.ts';
import { arrowTableToRows } from '../../src/scan/read-parquet.ts';
import { decodeRowGroup, type RowGroupRequest } from '../../src/scan/row-group-decoder.ts';
import type { DataFile } from '../../src/spec/manifest.ts';
import { schemaFromJson } from '../../src/spec/types.ts';
import { append, tableOf } from './cold-scan-support.ts';

/** id ascending (so its pages have narrow, disjoint ranges), cat cycling, note null on ids
 * 20000..29999, opt null below 25000. parquet-rs closes a page at 1024-row steps at the
 * earliest (and a page of nulls, which takes no bytes, at its 20000-row limit), so the row
 * groups are large enough for many pages each. */
const schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'cat', required: false, type: 'string' },
    { id: 3, name: 'note', required: false, type: 'int' },
    { id: 4, name: 'pad', required: false, type: 'string' },
    { id: 5, name: 'opt', required: false, type: 'long' },
  ],
});
const N = 60_000;
const GROUP = 30_000;
const all = Array.from({ length: N }, (_, i) => ({
  id: BigInt(i),
  cat: `c${i % 3}`,
  note: i >= 20_000 && i < 30_000 ? null : i * 2,
  pad: `p${(i * 7919) % 10007}-${'z'.repeat(i % 20)}`,
  opt: i < 25_000 ? null : BigInt(i),
}));

async function tableWith(pages: boolean) {
  const { io, table: empty } = await tableOf(schema);
  const { table, files } = await append(
    empty,
    all,
    GROUP,
    pages ? { dataPageBytes: 1024 } : undefined,
  );
  return { io, table, file: files[0] as DataFile };
}
const indexed = tableWith(true);
const plain = tableWith(false);

async function scan(t: Awaited<typeof indexed>, options: ColdScanOptions) {
  t.io.reset();
  const s = await coldScan(t.table, options);
  const rows = arrowTableToRows(s.schema, await collectTable(s.arrowSchema, s.batches()));
  return { rows, stats: s.stats, bytes: t.io.ranges.reduce((n, r) => n + r.length, 0) };
}

const ids = (rows: readonly Record<string, unknown>[]) => rows.map((r) => Number(r.id));

describe('the page index of a file parquet-rs wrote with one', () => {
  test('decodes to pages that tile each chunk, with min/max per page', async () => {
    const { io, file } = await indexed;
    const { meta, tail } = await readFooter(io, file.filePath, file.fileSizeInBytes);
    const bytes = async (r: { start: number; length: number }) =>
      io.readRange(file.filePath, r.start, r.length);
    expect(meta.rowGroups.length).toBe(N / GROUP);
    expect(tail.length).toBeGreaterThan(0);
    for (const [g, rg] of meta.rowGroups.entries()) {
      const id = rg.columns[0];
      if (!id?.offsetIndex || !id.columnIndex) throw new Error('no page index written');
      const pages = parseOffsetIndex(await bytes(id.offsetIndex));
      expect(pages.length).toBeGreaterThan(4);
      expect(pages[0]?.firstRowIndex).toBe(0);
      // Data pages follow one another to the end of the chunk.
      for (let p = 1; p < pages.length; p++) {
        const prev = pages[p - 1] as (typeof pages)[number];
        expect(pages[p]?.offset).toBe(prev.offset + prev.compressedSize);
        expect(pages[p]?.firstRowIndex).toBeGreaterThan(prev.firstRowIndex);
      }
      const last = pages.at(-1) as (typeof pages)[number];
      expect(last.offset + last.compressedSize).toBe(id.start + id.length);
      const index = parseColumnIndex(await bytes(id.columnIndex));
      expect(index.nullPages).toEqual(pages.map(() => false));
      expect(index.nullCounts).toEqual(pages.map(() => 0));
      // ids ascend: page p holds exactly ids first..next-1 of its row group.
      const long = (b: Uint8Array | undefined) =>
        Number(
          new DataView((b as Uint8Array).buffer, (b as Uint8Array).byteOffset).getBigInt64(0, true),
        );
      pages.forEach((p, k) => {
        const end = pages[k + 1]?.firstRowIndex ?? GROUP;
        expect(long(index.minValues[k])).toBe(g * GROUP + p.firstRowIndex);
        expect(long(index.maxValues[k])).toBe(g * GROUP + end - 1);
      });
      // The null rows of `note` (20000..29999) are counted per page; the first 20000 null
      // rows of `opt` make a page of nulls (no min/max).
      const [note, opt] = [rg.columns[2], rg.columns[4]];
      if (!note?.columnIndex || !opt?.columnIndex) throw new Error('no column index');
      const notes = parseColumnIndex(await bytes(note.columnIndex));
      expect((notes.nullCounts ?? []).reduce((a, b) => a + b, 0)).toBe(g === 0 ? 10_000 : 0);
      const opts = parseColumnIndex(await bytes(opt.columnIndex));
      expect(opts.nullPages[0]).toBe(g === 0);
      if (g === 0) expect(opts.minValues[0]?.length).toBe(0);
    }
  });

  test('a truncated or incomplete index is an INVALID_PARQUET error naming the structure', () => {
    expect(() => parseOffsetIndex(new Uint8Array([0x19, 0x1c]))).toThrow(
      /Parquet offset index is truncated/,
    );
    // A list of one PageLocation holding only its offset.
    expect(() => parseOffsetIndex(new Uint8Array([0x19, 0x1c, 0x16, 0x02, 0x00, 0x00]))).toThrow(
      /Parquet offset index has an incomplete page location/,
    );
    expect(() => parseColumnIndex(new Uint8Array([0x00]))).toThrow(
      /Parquet column index lacks null_pages, min_values or max_values/,
    );
  });
});

describe('a cold scan skips the pages a filter rules out', () => {
  const cases: [string, ColdScanOptions][] = [
    ['id range inside a row group', { filter: and(gtEq('id', 12_345n), lt('id', 13_000n)) }],
    ['id point', { filter: eq('id', 42_424n) }],
    ['ids at both ends (OR: two ranges)', { filter: or(lt('id', 400n), gtEq('id', 59_500n)) }],
    ['id IN across row groups', { filter: isIn('id', [7n, 29_999n, 30_000n, 59_999n]) }],
    ['negated range', { filter: not(and(gtEq('id', 1000n), ltEq('id', 59_000n))) }],
    ['nulls of note', { filter: isNull('note') }],
    ['page of nulls (opt)', { filter: and(notNull('opt'), lt('opt', 27_000n)) }],
    ['only the page of nulls (opt)', { filter: and(isNull('opt'), lt('id', 30_000n)) }],
    ['note range beside nulls', { filter: and(notNull('note'), lt('note', 5000)) }],
    ['two indexed columns (AND)', { filter: and(gtEq('id', 25_000n), lt('note', 70_000)) }],
    ['projection: late materialization', { filter: lt('id', 7777n), select: ['pad', 'cat'] }],
    ['limit', { filter: gtEq('id', 45_000n), limit: 17 }],
    ['unsorted column: nothing skipped, same rows', { filter: eq('cat', 'c1') }],
  ];

  for (const [name, options] of cases)
    test(name, async () => {
      const withIndex = await scan(await indexed, options);
      const without = await scan(await plain, options);
      expect(withIndex.rows).toEqual(without.rows);
      expect(without.stats.rowsPageSkipped).toBe(0);
      if (name.startsWith('unsorted')) expect(withIndex.stats.rowsPageSkipped).toBe(0);
      else {
        expect(withIndex.stats.rowsPageSkipped).toBeGreaterThan(0);
        expect(withIndex.stats.rowsDecoded).toBeLessThan(without.stats.rowsDecoded);
        expect(withIndex.stats.rowsDecoded + withIndex.stats.rowsPageSkipped).toBeLessThanOrEqual(
          N,
        );
      }
      // The same rows through a decoder that may read only the bytes it was handed: the
      // page ranges fetched are exactly those the reader asks for.
      const requests: RowGroupRequest[] = [];
      const decoded = await scan(await indexed, {
        ...options,
        decoder: (r) => {
          requests.push(r);
          return decodeRowGroup(r);
        },
      });
      expect(decoded.rows).toEqual(without.rows);
      expect(decoded.stats.rowsPageSkipped).toBe(withIndex.stats.rowsPageSkipped);
      if (withIndex.stats.rowsPageSkipped > 0)
        expect(requests.some((r) => r.limit !== undefined)).toBe(true);
    });

  test('a point filter reads a fraction of the bytes and the exact row', async () => {
    const filter = eq('id', 42_424n);
    const withIndex = await scan(await indexed, { filter });
    const without = await scan(await plain, { filter });
    expect(ids(withIndex.rows)).toEqual([42_424]);
    expect(withIndex.stats.rowGroupsSkipped).toBe(1);
    expect(withIndex.stats.rowsPageSkipped).toBeGreaterThan(GROUP * 0.8);
    expect(withIndex.stats.rowsDecoded).toBeLessThan(GROUP * 0.2);
    // Row group pruning alone already skips the other row group; pages cut the rest
    // (each column's dictionary page is still read).
    expect(withIndex.bytes).toBeLessThan(without.bytes * 0.75);
  });

  test('a filter no page can match skips the row group without reading it', async () => {
    // Row group 0 (ids 0..29999, note 0..39998 then nulls) passes its chunk statistics for
    // both halves, but the ids below 1000 and the notes from 36000 (ids 18000..19999) are
    // in different pages; row group 1 fails its id statistics.
    const filter = and(lt('id', 1000n), gtEq('note', 36_000));
    const withIndex = await scan(await indexed, { filter });
    const without = await scan(await plain, { filter });
    expect(withIndex.rows).toEqual([]);
    expect(without.stats.rowGroupsRead).toBe(1);
    expect(withIndex.stats.rowGroupsRead).toBe(0);
    expect(withIndex.stats.rowGroupsSkipped).toBe(2);
    expect(withIndex.stats.rowsPageSkipped).toBe(GROUP);
    expect(withIndex.stats.rowsDecoded).toBe(0);
  });
});

describe('mergeRanges', () => {
  test('joins ranges closer than the gap, then the closest until at most max remain', () => {
    const r = (start: number, end: number) => ({ start, end });
    expect(mergeRanges([r(0, 10), r(15, 20), r(100, 110)], 10, 8)).toEqual([r(0, 20), r(100, 110)]);
    expect(mergeRanges([r(0, 1), r(50, 51), r(60, 61), r(200, 201)], 1, 2)).toEqual([
      r(0, 61),
      r(200, 201),
    ]);
  });
});
