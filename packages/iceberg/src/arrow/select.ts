/**
 * Row selection on Arrow tables built for an Iceberg schema: gather rows into a new table,
 * and read one (possibly struct-nested) column by field ID, in the in-memory conventions.
 */
import type * as arrow from 'apache-arrow';
import type { IcebergType, Schema } from '../spec/types.ts';
import { arrowDataValue, icebergValuesToArrowData, tableFromColumns } from './values.ts';

/** Locates global row `g` of a table as (record batch data, index inside it). */
function rowLocator(table: arrow.Table): (g: number) => [arrow.Data, number] {
  const batches = table.batches.map((b) => b.data);
  const starts: number[] = [];
  let acc = 0;
  for (const d of batches) {
    starts.push(acc);
    acc += d.length;
  }
  return (g) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= g) lo = mid;
      else hi = mid - 1;
    }
    return [batches[lo] as arrow.Data, g - (starts[lo] ?? 0)];
  };
}

/**
 * A new single-batch table holding the given rows (global indices, in that order) of a table
 * built for `schema` (columns in schema order). Values are copied exactly.
 */
export function takeRows(
  schema: Schema,
  table: arrow.Table,
  indices: readonly number[],
): arrow.Table {
  const locate = rowLocator(table);
  const where = indices.map(locate);
  const columns = schema.fields.map((f, k) =>
    icebergValuesToArrowData(
      f.type,
      where.map(([d, i]) => arrowDataValue(f.type, d.children[k] as arrow.Data, i)),
    ),
  );
  return tableFromColumns(schema, columns, indices.length);
}

/**
 * Values of the field with ID `id` for every row, reached through structs (a null enclosing
 * struct gives null). Undefined when the field is not a struct-reachable field of `schema`.
 */
export function columnValuesById(
  schema: Schema,
  table: arrow.Table,
  id: number,
): unknown[] | undefined {
  const path: number[] = [];
  let type: IcebergType | undefined;
  const find = (fields: Schema['fields']): boolean => {
    for (let k = 0; k < fields.length; k++) {
      const f = fields[k];
      if (!f) continue;
      path.push(k);
      if (f.id === id) {
        type = f.type;
        return true;
      }
      if (typeof f.type !== 'string' && f.type.type === 'struct' && find(f.type.fields))
        return true;
      path.pop();
    }
    return false;
  };
  if (!find(schema.fields) || type === undefined) return undefined;
  const leafType = type;
  const out: unknown[] = [];
  for (const batch of table.batches) {
    for (let i = 0; i < batch.numRows; i++) {
      let d: arrow.Data = batch.data;
      let v: unknown;
      for (let p = 0; p < path.length; p++) {
        d = d.children[path[p] as number] as arrow.Data;
        if (p < path.length - 1 && !d.getValid(i)) {
          v = null;
          break;
        }
      }
      out.push(v === null ? null : arrowDataValue(leafType, d, i));
    }
  }
  return out;
}
