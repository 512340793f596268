/**
 * Reading a table: plan the files, read each Parquet file into rows (columns matched to
 * the read schema by field ID; columns added later read as null), drop the rows the
 * file's position delete files delete (./deletes.ts), and apply the filter exactly.
 * Data files are read by byte ranges (./ranged-read.ts): the footer, then only the chunks
 * of the selected columns and of the columns the filter references.
 */
import type { Table } from '../catalog/catalog.ts';
import { IcebergError } from '../errors.ts';
import type { Schema, StructType } from '../spec/types.ts';
import { PositionDeleteReader } from './deletes.ts';
import { type Bound, evalRow } from './expressions.ts';
import { planFiles, type ScanOptions } from './planner.ts';
import { readParquetRanged } from './ranged-read.ts';
import { arrowTableToRows } from './read-parquet.ts';

export type Row = Record<string, unknown>;

/** Every row of the selected snapshot matching `options.filter`, as plain objects keyed by
 * top-level column name, values in the in-memory conventions of ../spec/types.ts. */
export async function scanRows(table: Table, options: ScanOptions = {}): Promise<Row[]> {
  const plan = await planFiles(table, options);
  const paths = structPaths(plan.schema);
  const selected = selectedNames(plan.schema, options.select);
  const needed = new Set(selected);
  for (const id of boundIds(plan.filter)) {
    const top = paths.get(id)?.[0];
    if (top !== undefined) needed.add(top);
  }
  const readSchema: Schema = {
    ...plan.schema,
    fields: plan.schema.fields.filter((f) => needed.has(f.name)),
  };
  const trim = selected.length < needed.size;
  const out: Row[] = [];
  const deleteReader = new PositionDeleteReader(table.io);
  for (const { file: f, deletes } of plan.tasks) {
    const rows = arrowTableToRows(
      readSchema,
      await readParquetRanged(table.io, f.filePath, f.fileSizeInBytes, readSchema),
    );
    const deleted = await deleteReader.positions(f.filePath, deletes);
    rows.forEach((row, pos) => {
      if (deleted.has(pos)) return;
      if (plan.filter.op === 'true' || evalRow(plan.filter, (id) => valueAt(row, paths.get(id))))
        out.push(trim ? pick(row, selected) : row);
    });
  }
  return out;
}

function selectedNames(schema: Schema, select: readonly string[] | undefined): string[] {
  const all = schema.fields.map((f) => f.name);
  if (!select) return all;
  for (const name of select)
    if (!all.includes(name))
      throw new IcebergError('INVALID_ARGUMENT', `select: no column named ${JSON.stringify(name)}`);
  return all.filter((n) => select.includes(n));
}

function boundIds(b: Bound): number[] {
  if ('left' in b) return [...boundIds(b.left), ...boundIds(b.right)];
  return 'id' in b ? [b.id] : [];
}

function pick(row: Row, names: readonly string[]): Row {
  const out: Row = {};
  for (const n of names) out[n] = row[n];
  return out;
}

/** Field id → its name path through structs (fields inside lists/maps have none). */
export function structPaths(
  struct: StructType,
  prefix: string[] = [],
  out = new Map<number, string[]>(),
): Map<number, string[]> {
  for (const f of struct.fields) {
    const path = [...prefix, f.name];
    out.set(f.id, path);
    if (typeof f.type !== 'string' && f.type.type === 'struct') structPaths(f.type, path, out);
  }
  return out;
}

function valueAt(row: Row, path: string[] | undefined): unknown {
  if (!path) return undefined;
  let cur: unknown = row;
  for (const p of path) {
    if (cur === null || cur === undefined) return null;
    cur = (cur as Row)[p];
  }
  return cur;
}
