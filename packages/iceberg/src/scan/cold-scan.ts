/**
 * The cold read path for queries: the rows of one snapshot that match a filter, as Arrow
 * RecordBatches in the read schema, streamed row group by row group.
 *
 * Spec: https://iceberg.apache.org/spec/#scan-planning, #column-projection,
 * #position-delete-files; Parquet: https://parquet.apache.org/docs/file-format/.
 *
 * 1. Plan (./planner.ts): the snapshot (current, by id, or as of a timestamp; time travel
 *    reads with that snapshot's schema), manifests and files pruned by partition values and
 *    column bounds, position delete files attached to each data file.
 * 2. Per data file: the footer is read by range (./ranged-read.ts), row groups whose
 *    column statistics cannot match the filter are skipped (./row-group-stats.ts), and for
 *    each remaining row group only the column chunks of the projected and filtered columns
 *    are read (ranges coalesced, the next row group's prefetched while one is decoded) and
 *    decoded by parquet-wasm (`ParquetFile.read({ rowGroups: [i], columns })`). With a
 *    filter, a row group's filter columns are read and evaluated first, and its other
 *    output columns are read only when some row matched (late materialization).
 * 3. Per decoded batch: the filter is evaluated on the Arrow columns into a selection
 *    mask (./vector-filter.ts), rows deleted by position delete files are cleared from it,
 *    the kept rows are gathered (../arrow/take.ts) and converted to the read schema by field
 *    ID (./read-batch.ts).
 * 4. Up to `concurrency` files are read at once (and decoded at once when a `decoder`
 *    runs the decodes on other threads: ./row-group-decoder.ts); batches come out in plan order (file by
 *    file, row order within a file), each file at most one batch ahead of the consumer.
 *    `limit` stops reading once that many rows were yielded.
 *
 * Equality delete files are not supported (planning fails on one, as in ./planner.ts).
 */
import * as arrow from 'apache-arrow';
import { arrowSchemaFor } from '../arrow/schema.ts';
import { maskIndices, takeData } from '../arrow/take.ts';
import type { Table } from '../catalog/catalog.ts';
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import type { Snapshot } from '../spec/snapshot.ts';
import {
  findFieldByName,
  type IcebergType,
  indexById,
  type NestedField,
  type PrimitiveType,
  type Schema,
  type StructType,
} from '../spec/types.ts';
import { parquetWasm } from '../writer/wasm.ts';
import { PositionDeleteReader } from './deletes.ts';
import { type Bound, type Expr, mightMatch } from './expressions.ts';
import { orderedMerge } from './ordered-merge.ts';
import { type PageLocation, parseColumnIndex, parseOffsetIndex } from './page-index.ts';
import {
  chunkPageRanges,
  type IndexedColumn,
  mergeRanges,
  type RowRange,
  rowsIn,
  selectRows,
} from './page-selection.ts';
import type { FileMetaData } from './parquet-footer.ts';
import { type FileScanTask, planFiles, type ScanPlan } from './planner.ts';
import {
  BlobReads,
  type ByteRange,
  COALESCE_GAP,
  coalesce,
  type Fetched,
  fromFetched,
  rangeBlob,
  readFooter,
} from './ranged-read.ts';
import { toReadBatch } from './read-batch.ts';
import type { RowGroupDecoder } from './row-group-decoder.ts';
import { RowGroupStats } from './row-group-stats.ts';
import { type ColumnBatch, evalBatch } from './vector-filter.ts';

export interface ColdScanOptions {
  /** Read this snapshot (time travel). */
  readonly snapshotId?: bigint;
  /** Read the snapshot current at this time (ms since epoch; time travel). */
  readonly asOfTimestampMs?: number;
  /** Columns to return, in this order; a dotted name selects a field inside a struct
   * ("a.b"), returned inside its (pruned) struct. Default: every column. */
  readonly select?: readonly string[];
  /** Rows to return (./expressions.ts); default all. */
  readonly filter?: Expr;
  /** Stop after this many rows. */
  readonly limit?: number;
  /** Data files read at once (default 4). */
  readonly concurrency?: number;
  /** Decodes the row groups, e.g. in a worker pool so that the files read at once also
   * decode at once (./row-group-decoder.ts); default: parquet-wasm on this thread. */
  readonly decoder?: RowGroupDecoder;
}

/** What a scan read and skipped, updated while its batches are consumed. */
export interface ColdScanStats {
  /** Data files in the plan (after manifest and file pruning). */
  filesPlanned: number;
  /** Data files whose footer was read. */
  filesOpened: number;
  rowGroupsTotal: number;
  rowGroupsSkipped: number;
  rowGroupsRead: number;
  /** Row groups read whose filter columns matched no row: their other columns were not
   * read. */
  rowGroupsLateSkipped: number;
  /** Rows of the row groups read that their filter columns' page indexes ruled out: their
   * pages were neither read nor decoded (a row group with no page left counts as skipped). */
  rowsPageSkipped: number;
  /** Rows decoded from the row groups read. */
  rowsDecoded: number;
  rowsReturned: number;
  /** Bytes of data files read through FileIO.readRange. */
  bytesRead: number;
}

export interface ColdScan {
  /** The snapshot read; undefined for a table without snapshots (no rows). Its summary
   * holds the source offsets the snapshot covers. */
  readonly snapshot: Snapshot | undefined;
  /** The table schema the scan reads with, and the read schema the batches have. */
  readonly tableSchema: Schema;
  readonly schema: Schema;
  readonly arrowSchema: arrow.Schema;
  readonly plan: ScanPlan;
  readonly stats: ColdScanStats;
  /** The matching rows, batch by batch; call once. */
  batches(): AsyncGenerator<arrow.RecordBatch>;
}

const DEFAULT_CONCURRENCY = 4;

/** Plans a scan; reading starts when `batches()` is iterated. */
export async function coldScan(table: Table, options: ColdScanOptions = {}): Promise<ColdScan> {
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0))
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `limit must be a non-negative integer, got ${options.limit}`,
    );
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `concurrency must be a positive integer, got ${concurrency}`,
    );
  const plan = await planFiles(table, {
    ...(options.snapshotId !== undefined ? { snapshotId: options.snapshotId } : {}),
    ...(options.asOfTimestampMs !== undefined ? { asOfTimestampMs: options.asOfTimestampMs } : {}),
    ...(options.filter ? { filter: options.filter } : {}),
  });
  const schema = selectSchema(plan.schema, options.select);
  const arrowSchema = arrowSchemaFor(schema);
  const stats: ColdScanStats = {
    filesPlanned: plan.tasks.length,
    filesOpened: 0,
    rowGroupsTotal: 0,
    rowGroupsSkipped: 0,
    rowGroupsRead: 0,
    rowGroupsLateSkipped: 0,
    rowsPageSkipped: 0,
    rowsDecoded: 0,
    rowsReturned: 0,
    bytesRead: 0,
  };
  const types = new Map<number, PrimitiveType>();
  for (const [id, f] of indexById(plan.schema))
    if (typeof f.type === 'string') types.set(id, f.type);
  const neededIds = [...outputIds(schema), ...boundIds(plan.filter)];
  const ctx: FileContext = {
    io: countingIO(table.io, stats),
    filter: plan.filter,
    schema,
    arrowSchema,
    types,
    neededIds,
    stats,
    deletes: new PositionDeleteReader(table.io),
    decoder: options.decoder,
  };
  let started = false;
  return {
    snapshot: plan.snapshot,
    tableSchema: plan.schema,
    schema,
    arrowSchema,
    plan,
    stats,
    async *batches() {
      if (started) throw new IcebergError('INVALID_ARGUMENT', 'a cold scan can be iterated once');
      started = true;
      let left = options.limit ?? Number.POSITIVE_INFINITY;
      if (left === 0) return;
      const sources = plan.tasks.map((t) => () => readFile(ctx, t));
      for await (const batch of orderedMerge(sources, concurrency)) {
        const out = batch.numRows > left ? batch.slice(0, left) : batch;
        left -= out.numRows;
        stats.rowsReturned += out.numRows;
        yield out;
        if (left <= 0) return;
      }
    },
  };
}

/** The matching rows as RecordBatches (see {@link coldScan}). */
export async function* scanBatches(
  table: Table,
  options: ColdScanOptions = {},
): AsyncGenerator<arrow.RecordBatch> {
  yield* (await coldScan(table, options)).batches();
}

/** Collects batches into one Arrow table of `schema` (empty when no batch came). */
export async function collectTable(
  schema: arrow.Schema,
  batches: AsyncIterable<arrow.RecordBatch>,
): Promise<arrow.Table> {
  const all: arrow.RecordBatch[] = [];
  for await (const b of batches) all.push(b);
  return all.length === 0 ? new arrow.Table(schema) : new arrow.Table(schema, all);
}

/** The matching rows as one Arrow table in the read schema. */
export async function scanTable(table: Table, options: ColdScanOptions = {}): Promise<arrow.Table> {
  const scan = await coldScan(table, options);
  return collectTable(scan.arrowSchema, scan.batches());
}

// ---------------------------------------------------------------- read schema

/**
 * The read schema for `select`: top-level columns in select order; a dotted name keeps
 * only that field of its struct (several names of one struct merge, in schema order).
 */
export function selectSchema(schema: Schema, select: readonly string[] | undefined): Schema {
  if (!select) return schema;
  const chosen = new Set<number>();
  const tops: string[] = [];
  for (const name of select) {
    const field = findFieldByName(schema, name);
    if (!field)
      throw new IcebergError('INVALID_ARGUMENT', `select: no column named ${JSON.stringify(name)}`);
    chosen.add(field.id);
    const top = name.split('.')[0] as string;
    if (!tops.includes(top)) tops.push(top);
  }
  const prune = (f: NestedField): NestedField | undefined => {
    if (chosen.has(f.id)) return f;
    if (typeof f.type === 'string' || f.type.type !== 'struct') return undefined;
    const fields = f.type.fields.map(prune).filter((x): x is NestedField => x !== undefined);
    return fields.length ? { ...f, type: { type: 'struct', fields } } : undefined;
  };
  const fields = tops.map((n) => prune(schema.fields.find((f) => f.name === n) as NestedField));
  return { ...schema, fields: fields.filter((f): f is NestedField => f !== undefined) };
}

/** Field ids whose file columns the output needs: leaves through structs; lists and maps
 * whole. */
function outputIds(struct: StructType): number[] {
  const out: number[] = [];
  for (const f of struct.fields) {
    const t: IcebergType = f.type;
    if (typeof t !== 'string' && t.type === 'struct') out.push(...outputIds(t));
    else out.push(f.id);
  }
  return out;
}

function boundIds(b: Bound): number[] {
  if ('left' in b) return [...boundIds(b.left), ...boundIds(b.right)];
  return 'id' in b ? [b.id] : [];
}

// ---------------------------------------------------------------- one data file

interface FileContext {
  readonly io: FileIO;
  readonly filter: Bound;
  readonly schema: Schema;
  readonly arrowSchema: arrow.Schema;
  readonly types: ReadonlyMap<number, PrimitiveType>;
  readonly neededIds: readonly number[];
  readonly stats: ColdScanStats;
  readonly deletes: PositionDeleteReader;
  readonly decoder: RowGroupDecoder | undefined;
}

/** `io` with the bytes of its ranged reads added to `stats.bytesRead`. */
function countingIO(io: FileIO, stats: ColdScanStats): FileIO {
  return {
    read: (p) => io.read(p),
    readRange: async (p, o, l) => {
      const bytes = await io.readRange(p, o, l);
      stats.bytesRead += bytes.length;
      return bytes;
    },
    write: (p, d, o) => io.write(p, d, o),
    create: (p) => io.create(p),
    exists: (p) => io.exists(p),
    delete: (p) => io.delete(p),
    deleteMany: (ps) => io.deleteMany(ps),
    list: (p) => io.list(p),
  };
}

/** Paths (as parquet-wasm column names) of the file's schema elements with these ids. */
function fileColumns(meta: FileMetaData, ids: readonly number[]): string[][] {
  const want = new Set(ids);
  const out: string[][] = [];
  const walk = (i: number, path: string[]): number => {
    const el = meta.schema[i];
    if (!el) return i + 1;
    const p = [...path, el.name];
    if (el.fieldId !== undefined && want.has(el.fieldId)) {
      out.push(p);
      want.delete(el.fieldId);
    }
    let next = i + 1;
    for (let k = 0; k < (el.numChildren ?? 0); k++) next = walk(next, p);
    return next;
  };
  const root = meta.schema[0];
  let next = 1;
  for (let k = 0; k < (root?.numChildren ?? 0); k++) next = walk(next, []);
  // A column selected whole also covers its descendants.
  return out.filter((p) => !out.some((q) => q.length < p.length && q.every((s, i) => p[i] === s)));
}

function under(path: readonly string[], columns: readonly string[][]): boolean {
  return columns.some((c) => c.length <= path.length && c.every((s, i) => path[i] === s));
}

async function* readFile(ctx: FileContext, task: FileScanTask): AsyncGenerator<arrow.RecordBatch> {
  const f = task.file;
  if (f.fileFormat !== 'PARQUET')
    throw new IcebergError(
      'UNSUPPORTED',
      `${f.fileFormat} data files are not supported: ${f.filePath}`,
    );
  const { io, stats } = ctx;
  const path = f.filePath;
  const size = f.fileSizeInBytes;
  const { meta, tail } = await readFooter(io, path, size);
  stats.filesOpened++;
  stats.rowGroupsTotal += meta.rowGroups.length;
  const rgStats = new RowGroupStats(meta, ctx.types);
  const candidates: number[] = [];
  meta.rowGroups.forEach((_, index) => {
    if (ctx.filter.op === 'true' || mightMatch(ctx.filter, rgStats.forRowGroup(index)))
      candidates.push(index);
    else stats.rowGroupsSkipped++;
  });
  if (candidates.length === 0) return;
  const deleted = [...(await ctx.deletes.positions(path, task.deletes))].sort((a, b) => a - b);
  const columns = fileColumns(meta, ctx.neededIds);
  // Late materialization: with a filter, its columns are read and evaluated first; the
  // other output columns of a row group are read only when some row of it matches.
  const filterColumns = ctx.filter.op === 'true' ? [] : fileColumns(meta, boundIds(ctx.filter));
  const outputColumns = fileColumns(meta, outputIds(ctx.schema));
  const late = filterColumns.length > 0 && outputColumns.some((c) => !under(c, filterColumns));
  const firstRows: number[] = [];
  let nextFirst = 0;
  for (const rg of meta.rowGroups) {
    firstRows.push(nextFirst);
    nextFirst += rg.numRows;
  }

  /** The selection mask of a decoded batch whose first row is file row `firstRow`. */
  const select = (batch: ColumnBatch, firstRow: number): Uint8Array => {
    stats.rowsDecoded += batch.length;
    const mask = evalBatch(ctx.filter, batch);
    clearDeleted(mask, deleted, firstRow);
    return mask;
  };
  const output = (batch: ColumnBatch, mask: Uint8Array): arrow.RecordBatch | undefined => {
    const idx = maskIndices(mask);
    if (idx.length === 0) return undefined;
    const kept: ColumnBatch =
      idx.length === batch.length
        ? batch
        : {
            length: idx.length,
            fields: batch.fields,
            children: batch.children.map((c) => takeData(c, idx)),
          };
    return toReadBatch(kept, ctx.schema, ctx.arrowSchema);
  };

  if (columns.length === 0) {
    // No needed column is in the file: every value is null; only row counts matter.
    for (const index of candidates) {
      stats.rowGroupsRead++;
      const n = meta.rowGroups[index]?.numRows ?? 0;
      const batch = { length: n, fields: [], children: [] };
      const out = output(batch, select(batch, firstRows[index] as number));
      if (out) yield out;
    }
    return;
  }

  const tailStart = size - tail.length;
  const fetched: Fetched[] = [{ start: tailStart, bytes: tail }];
  const fetch = async (ranges: readonly ByteRange[]): Promise<Fetched[]> =>
    Promise.all(
      ranges
        .map((r) => ({ start: r.start, length: Math.min(r.start + r.length, tailStart) - r.start }))
        .filter((r) => r.length > 0)
        .map(async (r) => ({ start: r.start, bytes: await io.readRange(path, r.start, r.length) })),
    );
  // parquet-wasm loads the page index of every column when the file has one: fetch those
  // (small, next to the footer) before it opens the file. They also select pages below.
  const indexes = meta.rowGroups.flatMap((rg) => rg.columns.flatMap((c) => c.indexes));
  fetched.push(...(await fetch(coalesce(indexes, COALESCE_GAP))));
  const pageIndex = new PageIndexes(meta, fetched);
  const groups: Group[] = [];
  for (const index of candidates) {
    const numRows = meta.rowGroups[index]?.numRows ?? 0;
    const parts =
      ctx.filter.op === 'true' ? undefined : pageIndex.select(ctx.filter, index, rgStats);
    if (parts && parts.length === 0) {
      stats.rowGroupsSkipped++;
      stats.rowsPageSkipped += numRows;
      continue;
    }
    if (parts) stats.rowsPageSkipped += numRows - rowsIn(parts);
    groups.push({ index, first: firstRows[index] as number, numRows, parts });
  }
  if (groups.length === 0) return;
  /** Pages that page selection left out of the row groups being read (the reader may
   * ask for them inside a coalesced read, and skips them: they read as zeros); like
   * `fetched`, entries leave with their row group. */
  const skipped: ByteRange[] = [];
  /** Fetches the chunks of row group `g` under `cols` and not under `skip`: whole chunks,
   * or with page-selected rows the pages holding `parts` (./page-selection.ts), whose
   * left-out pages join `skipped` until `release`. */
  const fetchChunks = (
    g: Group,
    parts: readonly RowRange[] | undefined,
    cols: readonly string[][],
    skip: readonly string[][] = [],
  ): Promise<Held> => {
    const left: ByteRange[] = [];
    const needed = (meta.rowGroups[g.index]?.columns ?? []).flatMap((c, column) => {
      if (!under(c.path, cols) || under(c.path, skip)) return [];
      if (!parts) return [{ start: c.start, length: c.length }];
      const r = chunkPageRanges(c, pageIndex.pages(g.index, column), g.numRows, parts);
      left.push(...r.skipped);
      return r.needed;
    });
    skipped.push(...left);
    return fetch(coalesce(needed, COALESCE_GAP)).then((chunks) => ({ chunks, skipped: left }));
  };
  const hold = (h: Held) => fetched.push(...h.chunks);
  const release = (h: Held) => {
    for (const c of h.chunks) fetched.splice(fetched.indexOf(c), 1);
    for (const r of h.skipped) skipped.splice(skipped.indexOf(r), 1);
  };
  const names = (cols: readonly string[][]) => cols.map((c) => c.join('.'));
  const firstPass = late ? filterColumns : columns;
  // Decoded here, the file is opened once; a decoder gets each row group's bytes.
  const reads = new BlobReads();
  const file = ctx.decoder
    ? undefined
    : await reads.run(() =>
        parquetWasm().ParquetFile.fromFile(rangeBlob(io, path, size, fetched, reads, skipped)),
      );
  const toIpc = (index: number, columns: string[], part: RowRange | undefined) => {
    const rows = part ? { offset: part.start, limit: part.end - part.start } : {};
    return file
      ? reads.run(async () =>
          (await file.read({ rowGroups: [index], columns, ...rows })).intoIPCStream(),
        )
      : (ctx.decoder as RowGroupDecoder)({
          size,
          ranges: [...fetched],
          rowGroup: index,
          columns,
          ...rows,
          ...(part ? { skipped: [...skipped] } : {}),
        });
  };
  const decode = async (
    index: number,
    cols: readonly string[][],
    part: RowRange | undefined,
  ): Promise<ColumnBatch[]> => {
    const ipc = await toIpc(index, names(cols), part);
    return arrow.tableFromIPC(ipc).batches.map((b) => ({
      length: b.numRows,
      fields: b.schema.fields,
      children: b.data.children,
    }));
  };
  /** The parts of `g` to decode: its page-selected row ranges, or the whole row group. */
  const partsOf = (g: Group): readonly (RowRange | undefined)[] => g.parts ?? [undefined];
  let pending: Promise<Held> | undefined;
  try {
    const head = groups[0] as Group;
    pending = fetchChunks(head, head.parts, firstPass);
    for (let k = 0; k < groups.length; k++) {
      const g = groups[k] as Group;
      const chunks = await (pending as Promise<Held>);
      const nextGroup = groups[k + 1];
      pending = nextGroup ? fetchChunks(nextGroup, nextGroup.parts, firstPass) : undefined;
      hold(chunks);
      stats.rowGroupsRead++;
      let matched = false;
      for (const part of partsOf(g)) {
        const batches = await decode(g.index, firstPass, part);
        const partFirst = g.first + (part?.start ?? 0);
        let row = partFirst;
        if (!late) {
          for (const b of batches) {
            const out = output(b, select(b, row));
            row += b.length;
            if (out) yield out;
          }
          continue;
        }
        // One mask for the part, then its output columns where it has a match.
        const mask = new Uint8Array(part ? part.end - part.start : g.numRows);
        for (const b of batches) {
          mask.set(select(b, row), row - partFirst);
          row += b.length;
        }
        if (!mask.includes(1)) continue;
        matched = true;
        const more = await fetchChunks(g, part && [part], outputColumns, filterColumns);
        hold(more);
        let at = 0;
        for (const b of await decode(g.index, outputColumns, part)) {
          const out = output(b, mask.subarray(at, at + b.length));
          at += b.length;
          if (out) yield out;
        }
        release(more);
      }
      if (late && !matched) stats.rowGroupsLateSkipped++;
      // This row group's chunks are no longer needed once decoded.
      release(chunks);
    }
  } finally {
    // Closed early: a prefetch still in flight is not awaited (nor reported).
    pending?.catch(() => undefined);
    file?.free();
  }
}

/** Bytes fetched for a decode, and the pages it leaves out. */
interface Held {
  readonly chunks: readonly Fetched[];
  readonly skipped: readonly ByteRange[];
}

interface Group {
  readonly index: number;
  /** File row of its first row. */
  readonly first: number;
  readonly numRows: number;
  /** The rows its filter columns' page indexes leave (undefined: every row). */
  readonly parts: readonly RowRange[] | undefined;
}

/** Row ranges closer than this many rows are read as one (each range is a decode call). */
const PART_GAP_ROWS = 1024;
/** At most this many decode calls per row group and column set. */
const MAX_PARTS = 16;

/** The page indexes of a file's column chunks, decoded from the bytes fetched for them
 * when first asked for. */
class PageIndexes {
  private readonly offsets = new Map<string, PageLocation[] | undefined>();

  constructor(
    private readonly meta: FileMetaData,
    private readonly fetched: readonly Fetched[],
  ) {}

  /** The offset index of column `column` of row group `rg`, when the file has one. */
  pages(rg: number, column: number): PageLocation[] | undefined {
    const key = `${rg}/${column}`;
    if (!this.offsets.has(key)) {
      const range = this.meta.rowGroups[rg]?.columns[column]?.offsetIndex;
      const bytes = range && fromFetched(this.fetched, range.start, range.start + range.length);
      this.offsets.set(key, bytes ? parseOffsetIndex(bytes) : undefined);
    }
    return this.offsets.get(key);
  }

  /** The row ranges of row group `rg` that might match `filter` by the page indexes of
   * its columns; undefined when they rule out no row (or the file has none). */
  select(filter: Bound, rg: number, stats: RowGroupStats): RowRange[] | undefined {
    const group = this.meta.rowGroups[rg];
    if (!group) return undefined;
    const indexed: IndexedColumn[] = [];
    for (const id of new Set(boundIds(filter))) {
      const column = stats.leafColumn(id);
      if (column === undefined) continue;
      const range = group.columns[column]?.columnIndex;
      const bytes = range && fromFetched(this.fetched, range.start, range.start + range.length);
      const pages = this.pages(rg, column);
      if (bytes && pages) indexed.push({ id, pages, columns: parseColumnIndex(bytes) });
    }
    const ranges = selectRows(filter, group.numRows, indexed, stats, stats.forRowGroup(rg));
    if (!ranges || rowsIn(ranges) === group.numRows) return undefined;
    return mergeRanges(ranges, PART_GAP_ROWS, MAX_PARTS);
  }
}

/** Clears the mask at deleted positions (sorted, file positions) of rows first.. . */
function clearDeleted(mask: Uint8Array, deleted: readonly number[], first: number): void {
  if (deleted.length === 0) return;
  let lo = 0;
  let hi = deleted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((deleted[mid] as number) < first) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < deleted.length; i++) {
    const at = (deleted[i] as number) - first;
    if (at >= mask.length) break;
    mask[at] = 0;
  }
}
