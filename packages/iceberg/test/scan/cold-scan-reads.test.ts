import { describe, expect, test } from 'vitest';
import { coldScan, collectTable, scanTable } from '../../src/scan/cold-scan.ts';
import { eq, gtEq, lt } from '../../src/scan/expressions.ts';
import { readFooter, TAIL_BYTES } from '../../src/scan/ranged-read.ts';
import { arrowTableToRows } from '../../src/scan/read-parquet.ts';
import type { DataFile } from '../../src/spec/manifest.ts';
import {
  append,
  type CountingIO,
  ID_CAT_PAD,
  type RangeRead,
  tableOf,
} from './cold-scan-support.ts';

const schema = ID_CAT_PAD;

/** Incompressible text, so that each `pad` chunk is far larger than the coalescing gap. */
function noise(seed: number, length: number): string {
  // xorshift32 from a distinct (bijective) start per seed.
  let x = Math.imul(seed + 1, 2654435761) >>> 0 || 1;
  let out = '';
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += String.fromCharCode(33 + (x % 90));
  }
  return out;
}

const ROWS_PER_GROUP = 1000;
const GROUPS = 6;
const rows = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: BigInt(from + i),
    cat: `c${(from + i) % 3}`,
    pad: noise(from + i, 120),
  }));

/** Which "row group:column" chunks of `file` the reads outside its footer tail touched. */
async function chunksRead(io: CountingIO, file: DataFile, reads: readonly RangeRead[]) {
  const { meta } = await readFooter(io, file.filePath, file.fileSizeInBytes);
  const tailStart = file.fileSizeInBytes - TAIL_BYTES;
  const hit = new Set<string>();
  for (const r of reads) {
    if (r.path !== file.filePath || r.start >= tailStart) continue;
    meta.rowGroups.forEach((rg, g) => {
      for (const c of rg.columns)
        if (r.start < c.start + c.length && c.start < r.start + r.length)
          hit.add(`${g}:${c.path.join('.')}`);
    });
  }
  return [...hit].sort();
}

const setup = (async () => {
  const { io, table } = await tableOf(schema);
  const { table: t, files } = await append(table, rows(0, ROWS_PER_GROUP * GROUPS), ROWS_PER_GROUP);
  return { io, table: t, file: files[0] as DataFile };
})();

describe('coldScan reads only what the query needs', () => {
  test('a point filter reads the footer and the filter column chunk of one row group', async () => {
    const { io, table, file } = await setup;
    expect(file.fileSizeInBytes).toBeGreaterThan(10 * TAIL_BYTES);
    io.reset();
    const scan = await coldScan(table, { filter: eq('id', 4321n), select: ['id'] });
    const t = await scanTable(table, { filter: eq('id', 4321n), select: ['id'] });
    expect(arrowTableToRows(scan.schema, t)).toEqual([{ id: 4321n }]);
    const reads = [...io.ranges];
    expect(await chunksRead(io, file, reads)).toEqual(['4:id']);
    expect(io.wholeParquet).toEqual([]);
    for await (const _ of scan.batches());
    expect(scan.stats).toMatchObject({
      filesPlanned: 1,
      filesOpened: 1,
      rowGroupsTotal: GROUPS,
      rowGroupsSkipped: GROUPS - 1,
      rowGroupsRead: 1,
      rowsDecoded: ROWS_PER_GROUP,
      rowsReturned: 1,
    });
  });

  test('the selected column is read with the filter column, other chunks are not', async () => {
    const { io, table, file } = await setup;
    io.reset();
    const t = await scanTable(table, { filter: gtEq('id', 4998n), select: ['cat'] });
    // 4998, 4999 from row group 4, then all of row group 5.
    expect(t.toArray().map((r) => r.toJSON())).toEqual(
      rows(4998, 1002).map((r) => ({ cat: r.cat })),
    );
    expect(t.getChild('cat')?.get(0)).toBe('c0');
    expect(await chunksRead(io, file, io.ranges)).toEqual(['4:cat', '4:id', '5:cat', '5:id']);
  });

  test('output columns are read only for row groups where the filter matched', async () => {
    const { io, table, file } = await setup;
    io.reset();
    // pad is random: its statistics cannot skip any row group.
    const filter = eq('pad', noise(3042, 120));
    const scan = await coldScan(table, { filter, select: ['id', 'cat'] });
    const t = await collectTable(scan.arrowSchema, scan.batches());
    expect(arrowTableToRows(scan.schema, t)).toEqual([{ id: 3042n, cat: 'c0' }]);
    expect(await chunksRead(io, file, io.ranges)).toEqual([
      '0:pad',
      '1:pad',
      '2:pad',
      '3:cat',
      '3:id',
      '3:pad',
      '4:pad',
      '5:pad',
    ]);
    expect(scan.stats).toMatchObject({ rowGroupsRead: GROUPS, rowGroupsLateSkipped: GROUPS - 1 });
  });

  test('a scan without filter reads the selected column of every row group only', async () => {
    const { io, table, file } = await setup;
    io.reset();
    const t = await scanTable(table, { select: ['cat'] });
    expect(t.numRows).toBe(ROWS_PER_GROUP * GROUPS);
    expect(await chunksRead(io, file, io.ranges)).toEqual(
      Array.from({ length: GROUPS }, (_, g) => `${g}:cat`),
    );
  });

  test('a full scan reads every byte of the file at most once', async () => {
    const { io, table, file } = await setup;
    io.reset();
    const t = await scanTable(table, {});
    expect(t.numRows).toBe(ROWS_PER_GROUP * GROUPS);
    const reads = io.ranges
      .filter((r) => r.path === file.filePath)
      .sort((a, b) => a.start - b.start);
    for (let k = 1; k < reads.length; k++) {
      const prev = reads[k - 1] as RangeRead;
      expect((reads[k] as RangeRead).start).toBeGreaterThanOrEqual(prev.start + prev.length);
    }
    expect(reads.reduce((n, r) => n + r.length, 0)).toBeLessThanOrEqual(file.fileSizeInBytes);
  });

  test('batches stream file by file: the last file is untouched when the first batch comes', async () => {
    const { io, table: empty } = await tableOf(schema);
    let table = empty;
    const files: DataFile[] = [];
    for (let k = 0; k < 6; k++) {
      const r = await append(table, rows(k * 100, 100), 50);
      table = r.table;
      files.push(...r.files);
    }
    io.reset();
    const scan = await coldScan(table, { filter: lt('id', 10_000n), concurrency: 2 });
    const it = scan.batches();
    const first = await it.next();
    expect(first.done).toBe(false);
    const touched = new Set(io.ranges.map((r) => r.path));
    const order = scan.plan.tasks.map((t) => t.file.filePath);
    expect(order.length).toBe(6);
    // Files 1 and 2 run; 3 starts once file 1 is consumed; file 6 waits for file 4.
    expect(touched.has(order[5] as string)).toBe(false);
    expect(touched.has(order[2] as string)).toBe(false);
    let n = first.value?.numRows ?? 0;
    for (let r = await it.next(); !r.done; r = await it.next()) n += r.value.numRows;
    expect(n).toBe(600);
    expect(new Set(io.ranges.map((r) => r.path))).toEqual(new Set(order));
  });
});
