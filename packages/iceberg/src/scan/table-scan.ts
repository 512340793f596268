/**
 * Reading a table: plan the files, read each Parquet file into rows (columns matched to
 * the read schema by field ID; columns added later read as null), drop the rows the
 * file's position delete files delete (./deletes.ts), and apply the filter exactly.
 */
import type { Table } from '../catalog/catalog.ts';
import type { StructType } from '../spec/types.ts';
import { PositionDeleteReader } from './deletes.ts';
import { evalRow } from './expressions.ts';
import { planFiles, type ScanOptions } from './planner.ts';
import { arrowTableToRows, readParquet } from './read-parquet.ts';

export type Row = Record<string, unknown>;

/** Every row of the selected snapshot matching `options.filter`, as plain objects keyed by
 * top-level column name, values in the in-memory conventions of ../spec/types.ts. */
export async function scanRows(table: Table, options: ScanOptions = {}): Promise<Row[]> {
  const plan = await planFiles(table, options);
  const paths = structPaths(plan.schema);
  const out: Row[] = [];
  const deleteReader = new PositionDeleteReader(table.io);
  for (const { file: f, deletes } of plan.tasks) {
    const rows = arrowTableToRows(
      plan.schema,
      readParquet(await table.io.read(f.filePath), plan.schema),
    );
    const deleted = await deleteReader.positions(f.filePath, deletes);
    rows.forEach((row, pos) => {
      if (deleted.has(pos)) return;
      if (plan.filter.op === 'true' || evalRow(plan.filter, (id) => valueAt(row, paths.get(id))))
        out.push(row);
    });
  }
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
