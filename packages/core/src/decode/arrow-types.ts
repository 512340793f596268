/**
 * Iceberg type → Arrow type, for the columns the JSON decoder builds and the conformer
 * aligns. Mirrors @kice/iceberg's Arrow mapping (packages/iceberg/src/arrow/schema.ts,
 * not yet exported from its index) so decoded batches go straight into its Parquet writer.
 *
 * Spec: https://iceberg.apache.org/spec/#schemas-and-data-types
 *
 *   boolean → Bool   int → Int32   long → Int64   float → Float32   double → Float64
 *   decimal(P,S) → Decimal(S,P,128)   date → DateDay   time → TimeMicrosecond
 *   timestamp → Timestamp(µs)   timestamptz → Timestamp(µs,'UTC')   string → Utf8
 *   uuid → FixedSizeBinary(16) (+ ARROW:extension:name = arrow.uuid)   fixed[L] → FixedSizeBinary(L)
 *   binary → Binary   struct → Struct   list → List<"element">   map → Map<"key_value"{key,value}>
 *
 * Every Arrow field carries `PARQUET:field_id` = the Iceberg field ID; required fields are
 * non-nullable.
 */
import {
  decimalParams,
  fixedLength,
  type IcebergType,
  type NestedField,
  type PrimitiveType,
  type StructType,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';

/** Arrow field metadata key holding the Iceberg field ID. */
export const FIELD_ID_KEY = 'PARQUET:field_id';

function meta(id: number, type: IcebergType): Map<string, string> {
  const m = new Map<string, string>([[FIELD_ID_KEY, String(id)]]);
  if (type === 'uuid') m.set('ARROW:extension:name', 'arrow.uuid');
  return m;
}

/** Arrow type of an Iceberg primitive type. */
export function arrowPrimitive(t: PrimitiveType): arrow.DataType {
  switch (t) {
    case 'boolean':
      return new arrow.Bool();
    case 'int':
      return new arrow.Int32();
    case 'long':
      return new arrow.Int64();
    case 'float':
      return new arrow.Float32();
    case 'double':
      return new arrow.Float64();
    case 'date':
      return new arrow.DateDay();
    case 'time':
      return new arrow.TimeMicrosecond();
    case 'timestamp':
      return new arrow.TimestampMicrosecond(null);
    case 'timestamptz':
      return new arrow.TimestampMicrosecond('UTC');
    case 'string':
      return new arrow.Utf8();
    case 'uuid':
      return new arrow.FixedSizeBinary(16);
    case 'binary':
      return new arrow.Binary();
  }
  const d = decimalParams(t);
  if (d) return new arrow.Decimal(d.scale, d.precision, 128);
  return new arrow.FixedSizeBinary(fixedLength(t) ?? 1);
}

/** Arrow type of any Iceberg type; nested fields carry their IDs. */
export function arrowType(t: IcebergType): arrow.DataType {
  if (typeof t === 'string') return arrowPrimitive(t);
  if (t.type === 'struct') return new arrow.Struct(t.fields.map(arrowField));
  if (t.type === 'list') {
    const el = new arrow.Field(
      'element',
      arrowType(t.element),
      !t.elementRequired,
      meta(t.elementId, t.element),
    );
    return new arrow.List(el);
  }
  const key = new arrow.Field('key', arrowType(t.key), false, meta(t.keyId, t.key));
  const value = new arrow.Field(
    'value',
    arrowType(t.value),
    !t.valueRequired,
    meta(t.valueId, t.value),
  );
  const entries = new arrow.Field('key_value', new arrow.Struct([key, value]), false);
  const map = new arrow.Map_(entries as never);
  // apache-arrow renames the entries field to "entries"; Iceberg's Parquet layout says "key_value".
  (map.children[0] as { name: string }).name = 'key_value';
  return map;
}

/** Arrow field of an Iceberg field, with `PARQUET:field_id`. */
export function arrowField(f: NestedField): arrow.Field {
  return new arrow.Field(f.name, arrowType(f.type), !f.required, meta(f.id, f.type));
}

/** Arrow schema of an Iceberg struct/schema. */
export function arrowSchema(s: StructType): arrow.Schema {
  return new arrow.Schema(s.fields.map(arrowField));
}
