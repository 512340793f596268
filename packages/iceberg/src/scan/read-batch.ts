/**
 * A batch decoded from a data file (the file's Arrow schema: its names, its types) → a
 * RecordBatch of the read schema (`arrowSchemaFor(readSchema)`), columns matched by field
 * ID at every level.
 *
 * Spec: https://iceberg.apache.org/spec/#column-projection and
 * https://iceberg.apache.org/spec/#schema-evolution. Buffers are reused where the layout
 * is the same (same type, renamed fields, decimal precision widening, fixed[16] read as
 * uuid); int → long and float → double are widened on the typed arrays; a field the file
 * lacks is all null. Any other pairing goes through the in-memory values
 * (./read-parquet.ts `project`), which also names the mismatch when there is one.
 */
import * as arrow from 'apache-arrow';
import {
  arrowSchemaFor,
  arrowTypeFor,
  FIELD_ID_KEY,
  icebergTypeOfArrowField,
} from '../arrow/schema.ts';
import { arrowDataValue, icebergValuesToArrowData } from '../arrow/values.ts';
import type { IcebergType, NestedField, Schema } from '../spec/types.ts';
import { project } from './read-parquet.ts';
import type { ColumnBatch } from './vector-filter.ts';

function idOf(f: arrow.Field): number | undefined {
  const raw = f.metadata.get(FIELD_ID_KEY);
  return raw === undefined ? undefined : Number(raw);
}

/** The batch's columns in the read schema. */
export function toReadBatch(
  batch: ColumnBatch,
  schema: Schema,
  arrowSchema: arrow.Schema = arrowSchemaFor(schema),
): arrow.RecordBatch {
  const children = schema.fields.map((f) =>
    fieldData(batch.fields, batch.children, f, batch.length),
  );
  const data = arrow.makeData({
    type: new arrow.Struct(arrowSchema.fields),
    length: batch.length,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(arrowSchema, data);
}

function fieldData(
  fields: readonly arrow.Field[],
  children: readonly arrow.Data[],
  target: NestedField,
  n: number,
): arrow.Data {
  const k = fields.findIndex((f) => idOf(f) === target.id);
  const field = fields[k];
  const d = children[k];
  if (!field || !d) return icebergValuesToArrowData(target.type, new Array<unknown>(n).fill(null));
  return convert(field, d, target.type);
}

function same(a: IcebergType, b: IcebergType): boolean {
  return typeof a === 'string' && a === b;
}

/** Whether data of Arrow type `a` can be relabelled as `b` (same buffers, same meaning):
 * not LargeUtf8 as Utf8 (64-bit offsets), nor a date in ms as one in days. */
function sameBuffers(a: arrow.DataType, b: arrow.DataType): boolean {
  if (a.typeId !== b.typeId) return false;
  if (arrow.DataType.isDate(a) && arrow.DataType.isDate(b)) return a.unit === b.unit;
  return true;
}

function convert(field: arrow.Field, d: arrow.Data, to: IcebergType): arrow.Data {
  const from = icebergTypeOfArrowField(field);
  const type = arrowTypeFor(to);
  if (typeof to === 'string' && typeof from === 'string') {
    const layoutSame =
      (same(from, to) ||
        (to.startsWith('decimal') && from.startsWith('decimal')) ||
        (to === 'uuid' && from === 'fixed[16]')) &&
      sameBuffers(field.type as arrow.DataType, type);
    if (layoutSame) return d.clone(type);
    if (d.offset === 0 && to === 'long' && from === 'int') {
      const src = d.values as Int32Array;
      const out = new BigInt64Array(d.length);
      for (let i = 0; i < d.length; i++) out[i] = BigInt(src[i] as number);
      return arrow.makeData({
        type: type as arrow.Int64,
        length: d.length,
        nullCount: d.nullCount,
        nullBitmap: d.nullBitmap,
        data: out,
      });
    }
    if (d.offset === 0 && to === 'double' && from === 'float') {
      const out = Float64Array.from(d.values as Float32Array);
      return arrow.makeData({
        type: type as arrow.Float64,
        length: d.length,
        nullCount: d.nullCount,
        nullBitmap: d.nullBitmap,
        data: out,
      });
    }
  } else if (typeof to !== 'string' && typeof from !== 'string' && to.type === from.type) {
    const t = field.type as arrow.DataType;
    if (to.type === 'struct' && arrow.DataType.isStruct(t)) {
      const kids = to.fields.map((f) => fieldData(t.children, d.children, f, d.length));
      return d.clone(type, d.offset, d.length, d.nullCount, undefined, kids);
    }
    if (to.type === 'list' && arrow.DataType.isList(t) && from.type === 'list') {
      const el = t.children[0] as arrow.Field;
      const child = convert(el, d.children[0] as arrow.Data, to.element);
      return d.clone(type, d.offset, d.length, d.nullCount, undefined, [child]);
    }
    if (to.type === 'map' && arrow.DataType.isMap(t) && from.type === 'map') {
      const entriesField = t.children[0] as arrow.Field;
      const entries = d.children[0] as arrow.Data;
      const [kf, vf] = (entriesField.type as arrow.Struct).children as [arrow.Field, arrow.Field];
      const key = convert(kf, entries.children[0] as arrow.Data, to.key);
      const value = convert(vf, entries.children[1] as arrow.Data, to.value);
      const entriesType = (type as arrow.Map_).children[0]?.type as arrow.DataType;
      const newEntries = entries.clone(
        entriesType,
        entries.offset,
        entries.length,
        entries.nullCount,
        undefined,
        [key, value],
      );
      return d.clone(type, d.offset, d.length, d.nullCount, undefined, [newEntries]);
    }
  }
  const values: unknown[] = new Array(d.length);
  for (let i = 0; i < d.length; i++) values[i] = project(from, to, arrowDataValue(from, d, i));
  return icebergValuesToArrowData(to, values);
}
