/**
 * Known defects of the independent readers, applied to EXPECTED rows so that a comparison
 * stays exact everywhere else. Each one names the upstream issue; none hides a type.
 */
import type { IcebergType, Schema } from '@kice/iceberg';
import type { Row } from '../support/readers.ts';

/**
 * PyIceberg 0.12 reads a null `list<struct<…>>` as an empty list: its Arrow projection
 * rebuilds such lists with `pa.LargeListArray.from_arrays(offsets, values)` and drops
 * the validity bitmap (pyiceberg/io/pyarrow.py `ArrowProjectionVisitor.list`;
 * apache/iceberg-python#251, #3833). Its writer has the same defect: it stores [] for a
 * null list<struct>. DuckDB, Spark (Iceberg Java, the reference) and our own reader see
 * the null.
 */
export function asPyicebergReads(schema: Schema, row: Row): Row {
  return convertStruct(schema.fields, row) as Row;
}

function convert(t: IcebergType, v: unknown): unknown {
  if (typeof t === 'string') return v;
  switch (t.type) {
    case 'struct':
      return v === null ? null : convertStruct(t.fields, v as Row);
    case 'list': {
      if (v === null)
        return typeof t.element !== 'string' && t.element.type === 'struct' ? [] : null;
      return (v as unknown[]).map((e) => convert(t.element, e));
    }
    case 'map':
      return v === null
        ? null
        : new Map(
            [...(v as Map<unknown, unknown>)].map(([k, x]) => [
              convert(t.key, k),
              convert(t.value, x),
            ]),
          );
  }
}

function convertStruct(fields: Schema['fields'], row: Row): Row {
  const out: Row = {};
  for (const f of fields) out[f.name] = convert(f.type, row[f.name]);
  return out;
}
