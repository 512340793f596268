/**
 * Which rows of a row group a filter can match, by the page index of the columns it
 * references: the rows of pages whose min/max/null facts rule the filter out are skipped
 * (neither read nor decoded). Spec: https://github.com/apache/parquet-format/blob/master/PageIndex.md
 *
 * Pages of different columns start at different rows, so the row group is cut at every
 * page start of every filter column that has a column index; on each piece, each such
 * column is known by the page holding it (./row-group-stats.ts `forPage`), every other
 * column by its row group statistics, and the filter is evaluated inclusively
 * (./expressions.ts `mightMatch`). Consecutive pieces that might match are merged.
 *
 * Also here: the byte ranges of a column chunk that a read of some row ranges needs, by
 * its offset index: the dictionary page (the bytes before the first data page) and every
 * data page holding a selected row. These are the ranges parquet-wasm's reader asks for
 * when given a row range (`offset`/`limit`) in a file with an offset index.
 */
import { type Bound, type ColumnStats, mightMatch } from './expressions.ts';
import type { ColumnIndex, PageLocation } from './page-index.ts';
import type { ColumnChunk } from './parquet-footer.ts';
import type { ByteRange } from './ranged-read.ts';
import type { RowGroupStats } from './row-group-stats.ts';

/** Rows start..end (exclusive) of a row group. */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

/** One filter column's page index. */
export interface IndexedColumn {
  readonly id: number;
  readonly pages: readonly PageLocation[];
  readonly columns: ColumnIndex;
}

/**
 * The row ranges of a row group of `numRows` rows that might match `filter`, given the
 * page indexes of (some of) its columns and the row group's own lookup for the others;
 * undefined when `indexed` is empty (nothing to cut by: every row might match).
 */
export function selectRows(
  filter: Bound,
  numRows: number,
  indexed: readonly IndexedColumn[],
  stats: RowGroupStats,
  rowGroup: (id: number) => ColumnStats | undefined,
): RowRange[] | undefined {
  if (indexed.length === 0) return undefined;
  const cuts = new Set<number>([0]);
  for (const c of indexed)
    for (const p of c.pages) if (p.firstRowIndex < numRows) cuts.add(p.firstRowIndex);
  const starts = [...cuts].sort((a, b) => a - b);
  const at = indexed.map(() => -1); // per column: the page holding the current piece
  const out: { start: number; end: number }[] = [];
  for (let k = 0; k < starts.length; k++) {
    const start = starts[k] as number;
    const end = starts[k + 1] ?? numRows;
    const known = new Map<number, ColumnStats | undefined>();
    indexed.forEach((c, i) => {
      let p = at[i] as number;
      while (p + 1 < c.pages.length && (c.pages[p + 1] as PageLocation).firstRowIndex <= start) p++;
      at[i] = p;
      if (p < 0) return; // rows before the column's first page: nothing known from pages
      const pageEnd = c.pages[p + 1]?.firstRowIndex ?? numRows;
      const first = (c.pages[p] as PageLocation).firstRowIndex;
      known.set(c.id, stats.forPage(c.id, c.columns, p, Math.min(pageEnd, numRows) - first));
    });
    const lookup = (id: number) => (known.has(id) ? known.get(id) : rowGroup(id));
    if (!mightMatch(filter, lookup)) continue;
    const last = out[out.length - 1];
    if (last && last.end === start) last.end = end;
    else out.push({ start, end });
  }
  return out;
}

/** Rows in `ranges`. */
export function rowsIn(ranges: readonly RowRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

/**
 * Merges ranges whose gap is under `gap` rows and, past `max` ranges, the closest ones:
 * each range costs one decode call, which decodes the dictionary page again.
 */
export function mergeRanges(ranges: readonly RowRange[], gap: number, max: number): RowRange[] {
  const out: { start: number; end: number }[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r.start - last.end < gap) last.end = r.end;
    else out.push({ ...r });
  }
  while (out.length > max) {
    let best = 1;
    for (let i = 2; i < out.length; i++) {
      const g = (out[i] as RowRange).start - (out[i - 1] as RowRange).end;
      if (g < (out[best] as RowRange).start - (out[best - 1] as RowRange).end) best = i;
    }
    const prev = out[best - 1] as { start: number; end: number };
    prev.end = (out[best] as RowRange).end;
    out.splice(best, 1);
  }
  return out;
}

/**
 * The byte ranges of `chunk` that reading rows `ranges` needs, and those it skips: with its
 * offset index (`pages`), the bytes before the first data page (the dictionary page, if
 * any) and each data page holding a row of `ranges` are needed, the other data pages
 * skipped; without one, the whole chunk is needed.
 */
export function chunkPageRanges(
  chunk: ColumnChunk,
  pages: readonly PageLocation[] | undefined,
  numRows: number,
  ranges: readonly RowRange[],
): { needed: ByteRange[]; skipped: ByteRange[] } {
  const first = pages?.[0];
  if (!pages || !first)
    return { needed: [{ start: chunk.start, length: chunk.length }], skipped: [] };
  const needed: ByteRange[] = [];
  const skipped: ByteRange[] = [];
  if (first.offset > chunk.start)
    needed.push({ start: chunk.start, length: first.offset - chunk.start });
  let r = 0;
  for (let p = 0; p < pages.length; p++) {
    const page = pages[p] as PageLocation;
    const end = pages[p + 1]?.firstRowIndex ?? numRows;
    while (r < ranges.length && (ranges[r] as RowRange).end <= page.firstRowIndex) r++;
    const range = ranges[r];
    (range && range.start < end ? needed : skipped).push({
      start: page.offset,
      length: page.compressedSize,
    });
  }
  return { needed, skipped };
}
