/**
 * Parquet bytes → Arrow table → rows, matching columns to an Iceberg schema by field ID.
 *
 * Spec: https://iceberg.apache.org/spec/#column-projection (columns are found by field ID;
 * a field the file does not have reads as null) and
 * https://iceberg.apache.org/spec/#schema-evolution (int → long, float → double and
 * decimal precision widening are read as the newer type).
 *
 * Field IDs come from the Arrow field metadata `PARQUET:field_id` that parquet-rs fills from
 * the Parquet schema's `field_id`.
 */
import * as arrow from 'apache-arrow';
import { FIELD_ID_KEY, icebergTypeOfArrowField } from '../arrow/schema.ts';
import {
  arrowColumnToIceberg,
  icebergValuesToArrowData,
  tableFromColumns,
} from '../arrow/values.ts';
import { IcebergError } from '../errors.ts';
import type { IcebergType, Schema } from '../spec/types.ts';
import { uuidFromBytes } from '../spec/values.ts';
import { parquetWasm } from '../writer/wasm.ts';

/**
 * Reads a whole Parquet file into an Arrow table. Without `schema`, the table is the file's
 * own Arrow schema. With `schema`, the result has exactly the schema's columns (built with
 * `arrowSchemaFor`), each taken from the file column with the same field ID, converted to
 * the schema's type; columns the file lacks are all null.
 */
export function readParquet(bytes: Uint8Array, schema?: Schema): arrow.Table {
  const wasmTable = parquetWasm().readParquet(bytes);
  const table = arrow.tableFromIPC(wasmTable.intoIPCStream());
  return schema ? toReadSchema(table, schema) : table;
}

/** A table read from a file, converted to exactly `schema`'s columns (matched by field ID,
 * promoted; columns the table lacks are null). `rows` overrides the row count, for a table
 * read with no column at all. */
export function toReadSchema(
  table: arrow.Table,
  schema: Schema,
  rows = table.numRows,
): arrow.Table {
  const columns = schema.fields.map((f) =>
    icebergValuesToArrowData(f.type, projectColumn(table, f.id, f.type, rows)),
  );
  return tableFromColumns(schema, columns, rows);
}

/**
 * Rows of an Arrow table in the in-memory conventions (see ../spec/types.ts), one object per
 * row keyed by the schema's field names. Columns are matched BY FIELD ID (nested fields
 * too); a field missing from the table is null in every row.
 */
export function arrowTableToRows(schema: Schema, table: arrow.Table): Record<string, unknown>[] {
  const n = table.numRows;
  const cols = schema.fields.map((f) => projectColumn(table, f.id, f.type, n));
  const out: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    schema.fields.forEach((f, k) => {
      row[f.name] = (cols[k] as unknown[])[i];
    });
    out[i] = row;
  }
  return out;
}

function idOf(f: arrow.Field): number | undefined {
  const raw = f.metadata.get(FIELD_ID_KEY);
  return raw === undefined ? undefined : Number(raw);
}

function projectColumn(table: arrow.Table, id: number, type: IcebergType, n: number): unknown[] {
  const idx = table.schema.fields.findIndex((f) => idOf(f) === id);
  const field = table.schema.fields[idx];
  const vector = table.getChildAt(idx);
  if (idx < 0 || !field || !vector) return new Array<unknown>(n).fill(null);
  const fileType = icebergTypeOfArrowField(field);
  return arrowColumnToIceberg(fileType, vector).map((v) => project(fileType, type, v));
}

function mismatch(from: IcebergType, to: IcebergType): never {
  throw new IcebergError(
    'INVALID_SCHEMA',
    `cannot read a ${JSON.stringify(from)} column as ${JSON.stringify(to)}`,
  );
}

/**
 * Converts a value read with the file's type into the read schema's type: nested fields are
 * matched by ID (missing → null), primitives promoted as schema evolution allows.
 */
export function project(from: IcebergType, to: IcebergType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof to === 'string') {
    if (typeof from !== 'string') return mismatch(from, to);
    if (from === to) return v;
    if (to === 'long' && from === 'int') return BigInt(v as number);
    if (to === 'double' && from === 'float') return v;
    if (to.startsWith('decimal') && from.startsWith('decimal')) return v;
    // Parquet has no UUID annotation from parquet-rs: without the Arrow schema hint a
    // uuid column reads back as fixed[16].
    if (to === 'uuid' && from === 'fixed[16]') return uuidFromBytes(v as Uint8Array);
    return mismatch(from, to);
  }
  if (typeof from === 'string' || from.type !== to.type) return mismatch(from, to);
  if (to.type === 'struct' && from.type === 'struct') {
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const f of to.fields) {
      const ff = from.fields.find((x) => x.id === f.id);
      out[f.name] = ff ? project(ff.type, f.type, src[ff.name]) : null;
    }
    return out;
  }
  if (to.type === 'list' && from.type === 'list') {
    return (v as unknown[]).map((e) => project(from.element, to.element, e));
  }
  if (to.type === 'map' && from.type === 'map') {
    const out = new Map<unknown, unknown>();
    for (const [k, val] of v as Map<unknown, unknown>)
      out.set(project(from.key, to.key, k), project(from.value, to.value, val));
    return out;
  }
  return mismatch(from, to);
}
