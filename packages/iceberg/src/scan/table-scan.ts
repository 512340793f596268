/**
 * Reading a table as rows: the cold scan (./cold-scan.ts: snapshot, pruning by partition,
 * file and row-group statistics, ranged reads of the needed column chunks, position
 * deletes, the filter applied exactly on Arrow columns), its batches turned into plain
 * objects. Columns are matched to the read schema by field ID; columns added later read as
 * null.
 */
import * as arrow from 'apache-arrow';
import type { Table } from '../catalog/catalog.ts';
import type { StructType } from '../spec/types.ts';
import { coldScan } from './cold-scan.ts';
import type { ScanOptions } from './planner.ts';
import { arrowTableToRows } from './read-parquet.ts';

export type Row = Record<string, unknown>;

/** Every row of the selected snapshot matching `options.filter`, as plain objects keyed by
 * top-level column name, values in the in-memory conventions of ../spec/types.ts. */
export async function scanRows(table: Table, options: ScanOptions = {}): Promise<Row[]> {
  const scan = await coldScan(table, options);
  const out: Row[] = [];
  for await (const batch of scan.batches())
    for (const row of arrowTableToRows(scan.schema, new arrow.Table([batch]))) out.push(row);
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
