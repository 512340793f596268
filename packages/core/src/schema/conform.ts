/**
 * Aligns decoded Arrow batches to the table schema before they are written to Parquet, so
 * batches decoded under older schemas (or with provisional field IDs) concatenate into one
 * file: columns matched BY NAME (struct children too), missing ones all-null, int → Int64
 * and float → Float64 widened, `PARQUET:field_id` set to the table's IDs, schema order.
 * A column that became a string column after this batch was decoded (a type conflict,
 * typeConflicts asString) is written as each value's JSON text: integers with all their
 * digits, doubles as JavaScript writes them (-0 as "-0"), strings as themselves, lists
 * and maps as JSON, structs as JSON objects without their null fields (a decoded struct
 * cannot tell an absent field from a null one). A column with no values at all (a
 * placeholder of [] / {} that gave way to another batch's type: schema/evolve.ts) takes the
 * table's type: its empty lists and maps stay empty, a map of {} only becomes structs.
 *
 * Spec: https://iceberg.apache.org/spec/#schema-evolution (promotions) and
 * https://iceberg.apache.org/spec/#column-projection (columns missing from a file read as null).
 * Arrow types per Iceberg type: @kice/iceberg's arrowFieldFor.
 */
import type { IcebergType, NestedField, Schema } from '@kice/iceberg';
import { arrowFieldFor as arrowField } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { KiceError } from '../errors.ts';

/** A Data of `type` and `length` whose every row is null (buffers sized as readers expect). */
export function nullData(type: arrow.DataType, length: number): arrow.Data {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  const base = { length, nullCount: length, nullBitmap };
  if (arrow.DataType.isStruct(type)) {
    const children = type.children.map((f) => nullData(f.type, length));
    return arrow.makeData({ ...base, type, children });
  }
  if (arrow.DataType.isList(type) || arrow.DataType.isMap(type)) {
    const child = nullData((type.children[0] as arrow.Field).type, 0);
    const valueOffsets = new Int32Array(length + 1);
    return arrow.makeData({ ...base, type: type as arrow.List, valueOffsets, child });
  }
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type)) {
    const valueOffsets = new Int32Array(length + 1);
    return arrow.makeData({
      ...base,
      type: type as arrow.Utf8,
      valueOffsets,
      data: new Uint8Array(0),
    });
  }
  if (arrow.DataType.isBool(type)) {
    return arrow.makeData({ ...base, type, data: new Uint8Array((length + 7) >> 3) });
  }
  if (arrow.DataType.isFixedSizeBinary(type)) {
    return arrow.makeData({ ...base, type, data: new Uint8Array(type.byteWidth * length) });
  }
  if (arrow.DataType.isDecimal(type)) {
    return arrow.makeData({ ...base, type, data: new Uint32Array(4 * length) });
  }
  const Ctor = (type as { ArrayType: new (n: number) => ArrayBufferView }).ArrayType;
  return arrow.makeData({
    ...base,
    type: type as arrow.Int32,
    data: new Ctor(length) as Int32Array,
  });
}

function fail(path: string, from: arrow.DataType, to: IcebergType): never {
  const want = typeof to === 'string' ? to : to.type;
  throw new KiceError(
    'SCHEMA_INCOMPATIBLE',
    `field "${path}": cannot read Arrow ${from} as ${want}`,
    {
      context: { path },
    },
  );
}

/**
 * What a column that cannot be read as the table's type becomes: all null when it holds no
 * value at all (a placeholder column of [] / {} that gave way to the type another batch
 * found: its lists and maps are empty, its leaves null), else an error naming the field.
 */
function misfit(
  d: arrow.Data,
  target: arrow.DataType,
  path: string,
  from: arrow.DataType,
  to: IcebergType,
): arrow.Data {
  if (d.nullCount === d.length) return nullData(target, d.length);
  return fail(path, from, to);
}

/** The validity bitmap of `d` re-based to offset 0. */
function bitmapOf(d: arrow.Data): Uint8Array {
  const out = new Uint8Array((d.length + 7) >> 3);
  for (let i = 0; i < d.length; i++)
    if (d.getValid(i)) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  return out;
}

function sameShape(a: arrow.DataType, b: arrow.DataType): boolean {
  if (a.typeId !== b.typeId) return false;
  if (arrow.DataType.isDecimal(a) && arrow.DataType.isDecimal(b)) {
    return a.scale === b.scale && a.bitWidth === b.bitWidth && a.precision <= b.precision;
  }
  return String(a) === String(b);
}

/** A decoded value (apache-arrow's get()) as JSON text; strings plain at the top. */
function textOf(v: unknown, top: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return top ? v : JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Map) {
    const parts = [...v].map(([k, x]) => `${JSON.stringify(String(k))}:${textOf(x, false)}`);
    return `{${parts.join(',')}}`;
  }
  if (v instanceof arrow.Vector || Array.isArray(v)) {
    const items = Array.from(v as Iterable<unknown>, (x) => textOf(x, false));
    if (v instanceof arrow.Vector && arrow.DataType.isStruct(v.type)) return `{${items.join(',')}}`;
    return `[${items.join(',')}]`;
  }
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
  const o = (v as { toJSON?: () => Record<string, unknown> }).toJSON?.() ?? (v as object);
  const parts: string[] = [];
  for (const [k, x] of Object.entries(o)) {
    if (x === null || x === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${textOf(x, false)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Any column as a string column of its values' JSON text (see the module comment). */
function asText(d: arrow.Data, target: arrow.DataType): arrow.Data {
  const vector = arrow.makeVector(d);
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets = new Int32Array(d.length + 1);
  let total = 0;
  for (let i = 0; i < d.length; i++) {
    if (d.getValid(i)) {
      const b = enc.encode(textOf(vector.get(i), true));
      parts.push(b);
      total += b.byteLength;
    }
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.byteLength;
  }
  const props = { length: d.length, nullCount: d.nullCount, nullBitmap: bitmapOf(d) };
  return arrow.makeData({ ...props, type: target as arrow.Utf8, valueOffsets: offsets, data });
}

function conformData(
  d: arrow.Data,
  t: IcebergType,
  target: arrow.DataType,
  path: string,
): arrow.Data {
  const src = d.type as arrow.DataType;
  if (t === 'string' && !arrow.DataType.isUtf8(src)) return asText(d, target);
  if (typeof t === 'string') {
    if (t === 'long' && arrow.DataType.isInt(src) && src.bitWidth === 32 && src.isSigned) {
      const pairs = new Int32Array(2 * d.length);
      const from = d.values as Int32Array;
      for (let i = 0; i < d.length; i++) {
        const v = from[i] as number;
        pairs[2 * i] = v;
        pairs[2 * i + 1] = v < 0 ? -1 : 0;
      }
      const values = new BigInt64Array(pairs.buffer);
      const props = { length: d.length, nullCount: d.nullCount, nullBitmap: bitmapOf(d) };
      return arrow.makeData({ ...props, type: target as arrow.Int64, data: values });
    }
    if (t === 'double' && arrow.DataType.isFloat(src) && src.precision === arrow.Precision.SINGLE) {
      const values = Float64Array.from((d.values as Float32Array).subarray(0, d.length));
      const props = { length: d.length, nullCount: d.nullCount, nullBitmap: bitmapOf(d) };
      return arrow.makeData({ ...props, type: target as arrow.Float64, data: values });
    }
    if (t === 'double' && arrow.DataType.isInt(src) && src.isSigned) {
      // An integer column decoded before the column became double (see evolveSchema's
      // allowLongToDouble): exact for |v| < 2^53, which is all JSON.parse gives us anyway.
      const from = d.values as BigInt64Array | Int32Array;
      const values = new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) values[i] = Number(from[i]);
      const props = { length: d.length, nullCount: d.nullCount, nullBitmap: bitmapOf(d) };
      return arrow.makeData({ ...props, type: target as arrow.Float64, data: values });
    }
    if (!sameShape(src, target)) return misfit(d, target, path, src, t);
    return d.clone(target);
  }
  if (t.type === 'struct') {
    const st = target as arrow.Struct;
    if (arrow.DataType.isMap(src) && (d.children[0] as arrow.Data).length === 0) {
      // A placeholder map of {} only: each {} is a struct whose fields are all null.
      const children = st.children.map((f) => nullData(f.type, d.length));
      const props = { length: d.length, nullCount: d.nullCount, nullBitmap: bitmapOf(d) };
      return arrow.makeData({ ...props, type: st, children });
    }
    if (!arrow.DataType.isStruct(src)) return misfit(d, target, path, src, t);
    const children = conformChildren(d, src.children, t.fields, st.children, path);
    return d.clone(st, d.offset, d.length, d.nullCount, d.buffers, children);
  }
  if (t.type === 'list') {
    if (!arrow.DataType.isList(src)) return misfit(d, target, path, src, t);
    const el = (target as arrow.List).children[0] as arrow.Field;
    const child = conformData(d.children[0] as arrow.Data, t.element, el.type, `${path}[]`);
    return d.clone(target, d.offset, d.length, d.nullCount, d.buffers, [child]);
  }
  if (!arrow.DataType.isMap(src)) return misfit(d, target, path, src, t);
  const entries = d.children[0] as arrow.Data;
  const tEntries = (target as arrow.Map_).children[0] as arrow.Field<arrow.Struct>;
  const [tk, tv] = tEntries.type.children as [arrow.Field, arrow.Field];
  const key = conformData(entries.children[0] as arrow.Data, t.key, tk.type, `${path}.key`);
  const value = conformData(entries.children[1] as arrow.Data, t.value, tv.type, `${path}.value`);
  const kv = entries.clone(
    tEntries.type,
    entries.offset,
    entries.length,
    entries.nullCount,
    entries.buffers,
    [key, value],
  );
  return d.clone(target, d.offset, d.length, d.nullCount, d.buffers, [kv]);
}

function conformChildren(
  d: arrow.Data,
  srcFields: readonly arrow.Field[],
  fields: readonly NestedField[],
  targets: readonly arrow.Field[],
  path: string,
): arrow.Data[] {
  const index = new Map(srcFields.map((f, i) => [f.name, i]));
  return fields.map((f, k) => {
    const target = (targets[k] as arrow.Field).type;
    const at = index.get(f.name);
    const childPath = path === '' ? f.name : `${path}.${f.name}`;
    if (at === undefined) return nullData(target, d.length);
    return conformData(d.children[at] as arrow.Data, f.type, target, childPath);
  });
}

/**
 * Aligns a decoded batch (a Table, or its IPC bytes) to the table schema by name. Throws
 * KiceError('SCHEMA_INCOMPATIBLE') naming the field when a column cannot be read as the
 * table's type.
 */
export function conformToSchema(ipcOrTable: arrow.Table | Uint8Array, schema: Schema): arrow.Table {
  const table = ipcOrTable instanceof Uint8Array ? arrow.tableFromIPC(ipcOrTable) : ipcOrTable;
  const fields = schema.fields.map(arrowField);
  const out = new arrow.Schema(fields);
  const struct = new arrow.Struct(fields);
  const batches = table.batches.map((b) => {
    const children = conformChildren(b.data, b.schema.fields, schema.fields, fields, '');
    const data = arrow.makeData({ type: struct, length: b.numRows, nullCount: 0, children });
    return new arrow.RecordBatch(out, data);
  });
  return batches.length > 0 ? new arrow.Table(batches) : new arrow.Table(out);
}
