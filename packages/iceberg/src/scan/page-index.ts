/**
 * The Parquet page index of a column chunk: its OffsetIndex (where each data page is and
 * the first row it holds) and its ColumnIndex (each data page's min/max values, whether it
 * holds only nulls, and its null count), decoded from the Thrift compact protocol.
 *
 * Spec: https://github.com/apache/parquet-format/blob/master/PageIndex.md
 * Structures (OffsetIndex, PageLocation, ColumnIndex):
 * https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 *
 * The page index sits between the last row group and the footer; the footer's column
 * chunks give each structure's offset and length (./parquet-footer.ts `offsetIndex`,
 * `columnIndex`). Min/max values are PLAIN-encoded like chunk statistics (no length
 * prefix for byte arrays) and ordered by the column's ColumnOrder; for a page of nulls
 * only they are empty. Page rows are counted from `first_row_index`: a page holds the rows
 * up to the next page's first row (the last one, up to the row group's end).
 */
import { IcebergError } from '../errors.ts';
import { T_I32, T_I64, T_LIST, ThriftReader } from './thrift-compact.ts';

export interface PageLocation {
  /** File offset of the page (its header). */
  readonly offset: number;
  /** Header and compressed data, in bytes. */
  readonly compressedSize: number;
  /** Index, within the row group, of the page's first row. */
  readonly firstRowIndex: number;
}

export interface ColumnIndex {
  /** Per page: true when every value in it is null (its min/max are then empty). */
  readonly nullPages: readonly boolean[];
  readonly minValues: readonly Uint8Array[];
  readonly maxValues: readonly Uint8Array[];
  /** Per page, where written. */
  readonly nullCounts: readonly number[] | undefined;
}

const WHAT_OFFSETS = 'Parquet offset index';
const WHAT_COLUMNS = 'Parquet column index';

/** Decodes an OffsetIndex: its page locations, in page order. */
export function parseOffsetIndex(bytes: Uint8Array): PageLocation[] {
  const r = new ThriftReader(bytes, WHAT_OFFSETS);
  let pages: PageLocation[] | undefined;
  r.struct((id, type) => {
    if (id !== 1 || type !== T_LIST) return false;
    pages = r.list(() => {
      const p = { offset: -1, compressedSize: -1, firstRowIndex: -1 };
      r.struct((pid, t) => {
        if (pid === 1 && t === T_I64) p.offset = r.int();
        else if (pid === 2 && t === T_I32) p.compressedSize = r.int();
        else if (pid === 3 && t === T_I64) p.firstRowIndex = r.int();
        else return false;
        return true;
      });
      if (p.offset < 0 || p.compressedSize < 0 || p.firstRowIndex < 0)
        throw new IcebergError(
          'INVALID_PARQUET',
          `${WHAT_OFFSETS} has an incomplete page location`,
        );
      return p;
    });
    return true;
  });
  if (!pages) throw new IcebergError('INVALID_PARQUET', `${WHAT_OFFSETS} has no page locations`);
  for (let i = 1; i < pages.length; i++)
    if ((pages[i] as PageLocation).firstRowIndex < (pages[i - 1] as PageLocation).firstRowIndex)
      throw new IcebergError('INVALID_PARQUET', `${WHAT_OFFSETS}: first_row_index decreases`);
  return pages;
}

/** Decodes a ColumnIndex. */
export function parseColumnIndex(bytes: Uint8Array): ColumnIndex {
  const r = new ThriftReader(bytes, WHAT_COLUMNS);
  let nullPages: boolean[] | undefined;
  let minValues: Uint8Array[] | undefined;
  let maxValues: Uint8Array[] | undefined;
  let nullCounts: number[] | undefined;
  r.struct((id, type) => {
    if (type !== T_LIST) return false;
    if (id === 1) nullPages = r.boolList();
    else if (id === 2) minValues = r.list(() => r.binary());
    else if (id === 3) maxValues = r.list(() => r.binary());
    else if (id === 5) nullCounts = r.list(() => r.int());
    else return false;
    return true;
  });
  if (!nullPages || !minValues || !maxValues)
    throw new IcebergError(
      'INVALID_PARQUET',
      `${WHAT_COLUMNS} lacks null_pages, min_values or max_values`,
    );
  const n = nullPages.length;
  if (minValues.length !== n || maxValues.length !== n || (nullCounts && nullCounts.length !== n))
    throw new IcebergError('INVALID_PARQUET', `${WHAT_COLUMNS}: its lists differ in length`);
  return { nullPages, minValues, maxValues, nullCounts };
}

/** The page index of one column chunk (both parts), or undefined without one. */
export interface ChunkPageIndex {
  readonly pages: readonly PageLocation[];
  /** Absent when the chunk has an offset index only. */
  readonly columns: ColumnIndex | undefined;
}
