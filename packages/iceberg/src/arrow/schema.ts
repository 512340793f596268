/**
 * Iceberg schema ↔ Arrow schema.
 *
 * Spec: https://iceberg.apache.org/spec/#parquet (type mapping) and
 * https://iceberg.apache.org/spec/#schemas-and-data-types
 *
 * Every Arrow field carries the Iceberg field ID as metadata `PARQUET:field_id`, which the
 * Parquet writer turns into the Parquet schema's `field_id` (struct children, the list
 * `element` field and the map `key`/`value` fields included):
 *
 *   boolean → Bool            int → Int32              long → Int64
 *   float → Float32           double → Float64         decimal(P,S) → Decimal(S,P,128)
 *   date → DateDay            time → TimeMicrosecond   timestamp → Timestamp(µs)
 *   timestamptz → Timestamp(µs,'UTC')                  string → Utf8
 *   uuid → FixedSizeBinary(16) + `ARROW:extension:name`=`arrow.uuid`
 *   fixed[L] → FixedSizeBinary(L)                      binary → Binary
 *   struct → Struct   list → List<element>   map → Map<key_value: Struct<key, value>>
 *
 * Required fields are non-nullable Arrow fields.
 *
 * Arrow → Iceberg also accepts the 64-bit-offset types that PyIceberg's
 * `schema_to_pyarrow` (pyiceberg/io/pyarrow.py) writes and pyarrow stores in the Parquet
 * footer's `ARROW:schema`, so they come back from Parquet files PyIceberg wrote:
 *
 *   LargeUtf8 → string      LargeBinary → binary      LargeList → list
 *
 * (PyIceberg also writes map → Map with 32-bit offsets, uuid → the `arrow.uuid`
 * extension, fixed[L] → FixedSizeBinary(L), both covered above.)
 */
import * as arrow from 'apache-arrow';
import { IcebergError } from '../errors.ts';
import {
  decimal,
  decimalParams,
  fixed,
  fixedLength,
  type IcebergType,
  type NestedField,
  type PrimitiveType,
  type Schema,
  type StructType,
} from '../spec/types.ts';

/** Arrow field metadata key holding the Iceberg field ID. */
export const FIELD_ID_KEY = 'PARQUET:field_id';
/** Arrow extension-type metadata key; `arrow.uuid` marks uuid columns. */
export const EXTENSION_NAME_KEY = 'ARROW:extension:name';
export const UUID_EXTENSION = 'arrow.uuid';

function fieldMeta(id: number, type: IcebergType): Map<string, string> {
  const m = new Map<string, string>([[FIELD_ID_KEY, String(id)]]);
  if (type === 'uuid') m.set(EXTENSION_NAME_KEY, UUID_EXTENSION);
  return m;
}

/** Arrow type of one Iceberg primitive type. */
export function arrowPrimitiveType(t: PrimitiveType): arrow.DataType {
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
  const len = fixedLength(t);
  if (len !== undefined) return new arrow.FixedSizeBinary(len);
  throw new IcebergError('UNSUPPORTED', `no Arrow type for Iceberg type ${t}`);
}

/** Arrow type of any Iceberg type (nested fields carry their field IDs). */
export function arrowTypeFor(t: IcebergType): arrow.DataType {
  if (typeof t === 'string') return arrowPrimitiveType(t);
  switch (t.type) {
    case 'struct':
      return new arrow.Struct(t.fields.map(arrowFieldFor));
    case 'list':
      return new arrow.List(
        new arrow.Field(
          'element',
          arrowTypeFor(t.element),
          !t.elementRequired,
          fieldMeta(t.elementId, t.element),
        ),
      );
    case 'map': {
      const key = new arrow.Field('key', arrowTypeFor(t.key), false, fieldMeta(t.keyId, t.key));
      const value = new arrow.Field(
        'value',
        arrowTypeFor(t.value),
        !t.valueRequired,
        fieldMeta(t.valueId, t.value),
      );
      const entries = new arrow.Struct<{ key: arrow.DataType; value: arrow.DataType }>([
        key,
        value,
      ] as arrow.Field[]);
      const entriesField = new arrow.Field('key_value', entries, false);
      const map = new arrow.Map_(entriesField as never);
      // apache-arrow renames the entries field to "entries"; Iceberg's Parquet layout
      // names the repeated group "key_value", and parquet-rs takes the Arrow name.
      (entriesField as { name: string }).name = 'key_value';
      return map;
    }
  }
}

/** Arrow field for one Iceberg field. */
export function arrowFieldFor(f: NestedField): arrow.Field {
  return new arrow.Field(f.name, arrowTypeFor(f.type), !f.required, fieldMeta(f.id, f.type));
}

/** The Arrow schema of an Iceberg schema; every field carries `PARQUET:field_id`. */
export function arrowSchemaFor(schema: Schema | StructType): arrow.Schema {
  return new arrow.Schema(schema.fields.map(arrowFieldFor));
}

// ---------------------------------------------------------------- Arrow → Iceberg

function fieldId(f: arrow.Field, path: string): number {
  const raw = f.metadata.get(FIELD_ID_KEY);
  const id = raw === undefined ? Number.NaN : Number(raw);
  if (!Number.isInteger(id)) {
    throw new IcebergError('INVALID_SCHEMA', `${path}: Arrow field has no ${FIELD_ID_KEY}`, {
      context: { path },
    });
  }
  return id;
}

function primitiveFromArrow(f: arrow.Field, path: string): PrimitiveType {
  const t = f.type as arrow.DataType;
  if (arrow.DataType.isBool(t)) return 'boolean';
  if (arrow.DataType.isInt(t)) {
    if (t.bitWidth === 64) return 'long';
    if (t.bitWidth <= 32) return 'int';
  } else if (arrow.DataType.isFloat(t)) {
    if (t.precision === arrow.Precision.DOUBLE) return 'double';
    return 'float';
  } else if (arrow.DataType.isDecimal(t)) {
    return decimal(t.precision, t.scale);
  } else if (arrow.DataType.isDate(t)) {
    return 'date';
  } else if (arrow.DataType.isTime(t)) {
    if (t.unit === arrow.TimeUnit.MICROSECOND) return 'time';
  } else if (arrow.DataType.isTimestamp(t)) {
    if (t.unit === arrow.TimeUnit.MICROSECOND) return t.timezone ? 'timestamptz' : 'timestamp';
  } else if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t)) {
    return 'string';
  } else if (arrow.DataType.isBinary(t) || arrow.DataType.isLargeBinary(t)) {
    return 'binary';
  } else if (arrow.DataType.isFixedSizeBinary(t)) {
    if (t.byteWidth === 16 && f.metadata.get(EXTENSION_NAME_KEY) === UUID_EXTENSION) return 'uuid';
    return fixed(t.byteWidth);
  }
  throw new IcebergError('UNSUPPORTED', `${path}: no Iceberg type for Arrow type ${t}`, {
    context: { path },
  });
}

function typeFromArrow(f: arrow.Field, path: string): IcebergType {
  const t = f.type as arrow.DataType;
  if (arrow.DataType.isStruct(t)) {
    return {
      type: 'struct',
      fields: t.children.map((c) => fieldFromArrow(c, `${path}.${c.name}`)),
    };
  }
  if (arrow.DataType.isList(t) || arrow.DataType.isLargeList(t)) {
    const el = t.children[0] as arrow.Field;
    return {
      type: 'list',
      elementId: fieldId(el, `${path}.element`),
      element: typeFromArrow(el, `${path}.element`),
      elementRequired: !el.nullable,
    };
  }
  if (arrow.DataType.isMap(t)) {
    const entries = (t.children[0] as arrow.Field).type as arrow.Struct;
    const k = entries.children[0] as arrow.Field;
    const v = entries.children[1] as arrow.Field;
    return {
      type: 'map',
      keyId: fieldId(k, `${path}.key`),
      key: typeFromArrow(k, `${path}.key`),
      valueId: fieldId(v, `${path}.value`),
      value: typeFromArrow(v, `${path}.value`),
      valueRequired: !v.nullable,
    };
  }
  return primitiveFromArrow(f, path);
}

/** The Iceberg type of one Arrow field (nested fields must carry `PARQUET:field_id`). */
export function icebergTypeOfArrowField(f: arrow.Field): IcebergType {
  return typeFromArrow(f, f.name);
}

function fieldFromArrow(f: arrow.Field, path: string): NestedField {
  return {
    id: fieldId(f, path),
    name: f.name,
    required: !f.nullable,
    type: typeFromArrow(f, path),
  };
}

/**
 * The Iceberg schema described by an Arrow schema whose fields all carry
 * `PARQUET:field_id` metadata (as written by {@link arrowSchemaFor} or read back from a
 * Parquet file with field IDs). Throws INVALID_SCHEMA when a field has no ID.
 */
export function icebergSchemaFromArrow(arrowSchema: arrow.Schema, schemaId = 0): Schema {
  return {
    type: 'struct',
    schemaId,
    fields: arrowSchema.fields.map((f) => fieldFromArrow(f, f.name)),
  };
}
