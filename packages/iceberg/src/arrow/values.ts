/**
 * Arrow columns ↔ values in the library's in-memory conventions (see ../spec/types.ts):
 * boolean; int/date → number; long → bigint; float/double → number; decimal → bigint
 * (unscaled); time/timestamp(tz) → bigint µs; string; uuid → canonical lowercase string;
 * fixed/binary → Uint8Array; struct → plain object keyed by field name; list → array;
 * map → Map.
 *
 * Both directions work on the raw Arrow buffers: apache-arrow's own getters turn µs
 * timestamps into ms numbers and decimals into lossy objects, so they are never used.
 */
import * as arrow from 'apache-arrow';
import { IcebergError } from '../errors.ts';
import { decimalParams, fixedLength, type IcebergType, type Schema } from '../spec/types.ts';
import { uuidFromBytes, uuidToBytes } from '../spec/values.ts';
import { arrowSchemaFor, arrowTypeFor } from './schema.ts';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

function invalid(msg: string, value: unknown): never {
  throw new IcebergError('INVALID_ARGUMENT', msg, { context: { value: String(value) } });
}

// ---------------------------------------------------------------- decimal helpers

const MASK32 = 0xffffffffn;

function writeI128(out: Uint32Array, at: number, v: bigint): void {
  const u = BigInt.asUintN(128, v);
  for (let w = 0; w < 4; w++) out[at + w] = Number((u >> BigInt(32 * w)) & MASK32);
}

function readI128(words: Uint32Array, at: number): bigint {
  let u = 0n;
  for (let w = 3; w >= 0; w--) u = (u << 32n) | BigInt(words[at + w] ?? 0);
  return BigInt.asIntN(128, u);
}

// ---------------------------------------------------------------- Arrow → values

/**
 * Offset `i` of a variable-width Data (Utf8/Binary/List/Map: Int32Array offsets;
 * LargeUtf8/LargeBinary/LargeList, which pyarrow and PyIceberg write: BigInt64Array).
 */
function offsetAt(d: arrow.Data, i: number): number {
  return Number((d.valueOffsets as Int32Array | BigInt64Array)[i] ?? 0);
}

/** Value at logical index `i` of an Arrow Data, in the in-memory conventions. */
export function arrowDataValue(t: IcebergType, d: arrow.Data, i: number): unknown {
  if (!d.getValid(i)) return null;
  if (typeof t !== 'string') {
    switch (t.type) {
      case 'struct': {
        const out: Record<string, unknown> = {};
        t.fields.forEach((f, k) => {
          out[f.name] = arrowDataValue(f.type, d.children[k] as arrow.Data, i);
        });
        return out;
      }
      case 'list': {
        const child = d.children[0] as arrow.Data;
        const out: unknown[] = [];
        for (let j = offsetAt(d, i), end = offsetAt(d, i + 1); j < end; j++)
          out.push(arrowDataValue(t.element, child, j));
        return out;
      }
      case 'map': {
        const entries = d.children[0] as arrow.Data;
        const keys = entries.children[0] as arrow.Data;
        const vals = entries.children[1] as arrow.Data;
        const out = new Map<unknown, unknown>();
        for (let j = offsetAt(d, i), end = offsetAt(d, i + 1); j < end; j++)
          out.set(arrowDataValue(t.key, keys, j), arrowDataValue(t.value, vals, j));
        return out;
      }
    }
  }
  const values = d.values as ArrayLike<number | bigint>;
  switch (t) {
    case 'boolean': {
      const bit = d.offset + i;
      return (((d.values as Uint8Array)[bit >> 3] ?? 0) & (1 << (bit & 7))) !== 0;
    }
    case 'int':
    case 'date':
    case 'float':
    case 'double':
      return values[i];
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return BigInt(values[i] ?? 0);
    case 'string':
    case 'binary': {
      const bytes = (d.values as Uint8Array).subarray(offsetAt(d, i), offsetAt(d, i + 1));
      return t === 'string' ? dec.decode(bytes) : bytes.slice();
    }
    case 'uuid':
      return uuidFromBytes((d.values as Uint8Array).subarray(i * 16, i * 16 + 16));
  }
  if (decimalParams(t)) return readI128(d.values as Uint32Array, i * 4);
  const len = fixedLength(t);
  if (len !== undefined) return (d.values as Uint8Array).slice(i * len, i * len + len);
  return invalid(`unsupported type ${t}`, t);
}

/** All values of one Arrow column (every chunk), in the in-memory conventions. */
export function arrowColumnToIceberg(type: IcebergType, vector: arrow.Vector): unknown[] {
  const out: unknown[] = [];
  for (const d of vector.data)
    for (let i = 0; i < d.length; i++) out.push(arrowDataValue(type, d, i));
  return out;
}

/**
 * Converts one value as apache-arrow's `Vector.get()` returns it into the in-memory
 * conventions. Prefer {@link arrowColumnToIceberg}: `get()` has already lost precision for
 * timestamps (it returns milliseconds as a number); those are converted back to µs here,
 * which is exact only for whole milliseconds.
 */
export function arrowValueToIceberg(type: IcebergType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof type !== 'string') {
    switch (type.type) {
      case 'struct': {
        const src = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const f of type.fields) out[f.name] = arrowValueToIceberg(f.type, src[f.name]);
        return out;
      }
      case 'list':
        return [...(v as Iterable<unknown>)].map((e) => arrowValueToIceberg(type.element, e));
      case 'map': {
        const out = new Map<unknown, unknown>();
        for (const [k, val] of v as Iterable<[unknown, unknown]>)
          out.set(arrowValueToIceberg(type.key, k), arrowValueToIceberg(type.value, val));
        return out;
      }
    }
  }
  switch (type) {
    case 'long':
    case 'time':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'timestamp':
    case 'timestamptz':
      return typeof v === 'bigint' ? v : BigInt(Math.round((v as number) * 1000));
    case 'uuid':
      return uuidFromBytes(v as Uint8Array);
    case 'binary':
      return (v as Uint8Array).slice();
  }
  if (decimalParams(type)) {
    if (typeof v === 'bigint') return v;
    if (v instanceof Uint32Array) return readI128(v, 0);
    return invalid('unsupported decimal value from Arrow', v);
  }
  if (fixedLength(type) !== undefined) return (v as Uint8Array).slice();
  return v;
}

// ---------------------------------------------------------------- values → Arrow

function validity(values: readonly unknown[]): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nulls = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nulls++;
    else bitmap[i >> 3] = (bitmap[i >> 3] ?? 0) | (1 << (i & 7));
  });
  return { bitmap, nulls };
}

function varBytes(values: readonly unknown[], toBytes: (v: unknown) => Uint8Array) {
  const offsets = new Int32Array(values.length + 1);
  const parts: Uint8Array[] = [];
  let pos = 0;
  values.forEach((v, i) => {
    if (v !== null && v !== undefined) {
      const b = toBytes(v);
      parts.push(b);
      pos += b.length;
    }
    offsets[i + 1] = pos;
  });
  const data = new Uint8Array(pos);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { offsets, data };
}

function mapEntries(v: unknown): [unknown, unknown][] {
  if (v instanceof Map) return [...v.entries()];
  if (Array.isArray(v)) return v as [unknown, unknown][];
  return Object.entries(v as Record<string, unknown>);
}

function bytesOf(v: unknown, width?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) invalid('expected a Uint8Array', v);
  if (width !== undefined && v.length !== width)
    invalid(`expected ${width} bytes, got ${v.length}`, v);
  return v;
}

/** Builds the Arrow Data of one column from values in the in-memory conventions. */
export function icebergValuesToArrowData(t: IcebergType, values: readonly unknown[]): arrow.Data {
  const type = arrowTypeFor(t);
  const length = values.length;
  const { bitmap, nulls } = validity(values);
  const base = { type, length, nullCount: nulls, nullBitmap: nulls > 0 ? bitmap : null };
  const present = (v: unknown): boolean => v !== null && v !== undefined;
  if (typeof t !== 'string') {
    switch (t.type) {
      case 'struct': {
        const children = t.fields.map((f) =>
          icebergValuesToArrowData(
            f.type,
            values.map((v) => (present(v) ? (v as Record<string, unknown>)[f.name] : null)),
          ),
        );
        return arrow.makeData({ ...base, type: type as arrow.Struct, children });
      }
      case 'list': {
        const flat: unknown[] = [];
        const valueOffsets = new Int32Array(length + 1);
        values.forEach((v, i) => {
          if (present(v)) for (const e of v as Iterable<unknown>) flat.push(e);
          valueOffsets[i + 1] = flat.length;
        });
        const child = icebergValuesToArrowData(t.element, flat);
        return arrow.makeData({ ...base, type: type as arrow.List, valueOffsets, child });
      }
      case 'map': {
        const keys: unknown[] = [];
        const vals: unknown[] = [];
        const valueOffsets = new Int32Array(length + 1);
        values.forEach((v, i) => {
          if (present(v))
            for (const [k, val] of mapEntries(v)) {
              if (!present(k)) invalid('map keys must not be null', v);
              keys.push(k);
              vals.push(val);
            }
          valueOffsets[i + 1] = keys.length;
        });
        const mapType = type as arrow.Map_;
        const entriesType = (mapType.children[0] as arrow.Field).type as arrow.Struct;
        const entries = arrow.makeData({
          type: entriesType,
          length: keys.length,
          nullCount: 0,
          children: [
            icebergValuesToArrowData(t.key, keys),
            icebergValuesToArrowData(t.value, vals),
          ],
        });
        return arrow.makeData({ ...base, type: mapType, valueOffsets, child: entries });
      }
    }
  }
  const fill = <A extends { [i: number]: number | bigint }>(
    arr: A,
    conv: (v: unknown) => number | bigint,
  ): A => {
    values.forEach((v, i) => {
      if (present(v)) arr[i] = conv(v);
    });
    return arr;
  };
  const num = (v: unknown): number => {
    if (typeof v !== 'number') invalid(`expected a number for ${t}`, v);
    return v;
  };
  const big = (v: unknown): bigint => {
    if (typeof v !== 'bigint') invalid(`expected a bigint for ${t}`, v);
    return v;
  };
  switch (t) {
    case 'boolean': {
      const data = new Uint8Array((length + 7) >> 3);
      values.forEach((v, i) => {
        if (v === true) data[i >> 3] = (data[i >> 3] ?? 0) | (1 << (i & 7));
      });
      return arrow.makeData({ ...base, type: type as arrow.Bool, data });
    }
    case 'int':
      return arrow.makeData({
        ...base,
        type: type as arrow.Int32,
        data: fill(new Int32Array(length), num),
      });
    case 'date':
      return arrow.makeData({
        ...base,
        type: type as arrow.DateDay,
        data: fill(new Int32Array(length), num),
      });
    case 'float':
      return arrow.makeData({
        ...base,
        type: type as arrow.Float32,
        data: fill(new Float32Array(length), num),
      });
    case 'double':
      return arrow.makeData({
        ...base,
        type: type as arrow.Float64,
        data: fill(new Float64Array(length), num),
      });
    case 'long':
      return arrow.makeData({
        ...base,
        type: type as arrow.Int64,
        data: fill(new BigInt64Array(length), big),
      });
    case 'time':
      return arrow.makeData({
        ...base,
        type: type as arrow.TimeMicrosecond,
        data: fill(new BigInt64Array(length), big) as unknown as Int32Array,
      });
    case 'timestamp':
    case 'timestamptz':
      return arrow.makeData({
        ...base,
        type: type as arrow.TimestampMicrosecond,
        data: fill(new BigInt64Array(length), big),
      });
    case 'string':
    case 'binary': {
      const { offsets, data } = varBytes(values, (v) => {
        if (t === 'binary') return bytesOf(v);
        if (typeof v !== 'string') invalid('expected a string', v);
        return enc.encode(v);
      });
      return arrow.makeData({ ...base, type: type as arrow.Utf8, valueOffsets: offsets, data });
    }
    case 'uuid': {
      const data = new Uint8Array(length * 16);
      values.forEach((v, i) => {
        if (!present(v)) return;
        data.set(v instanceof Uint8Array ? bytesOf(v, 16) : uuidToBytes(String(v)), i * 16);
      });
      return arrow.makeData({ ...base, type: type as arrow.FixedSizeBinary, data });
    }
  }
  if (decimalParams(t)) {
    const data = new Uint32Array(length * 4);
    values.forEach((v, i) => {
      if (present(v)) writeI128(data, i * 4, big(v));
    });
    return arrow.makeData({ ...base, type: type as arrow.Decimal, data });
  }
  const len = fixedLength(t);
  if (len !== undefined) {
    const data = new Uint8Array(length * len);
    values.forEach((v, i) => {
      if (present(v)) data.set(bytesOf(v, len), i * len);
    });
    return arrow.makeData({ ...base, type: type as arrow.FixedSizeBinary, data });
  }
  return invalid(`unsupported type ${t}`, t);
}

/**
 * Builds an Arrow table (schema from {@link arrowSchemaFor}, field IDs included) from rows
 * keyed by top-level field name, holding values in the in-memory conventions. A missing
 * key is null. Throws INVALID_ARGUMENT on a value of the wrong kind or a null in a required
 * top-level field.
 */
export function icebergRowsToArrow(
  schema: Schema,
  rows: readonly Record<string, unknown>[],
): arrow.Table {
  const children = schema.fields.map((f) => {
    const col = rows.map((r) => r[f.name] ?? null);
    if (f.required && col.some((v) => v === null))
      invalid(`required field "${f.name}" has a null value`, f.name);
    return icebergValuesToArrowData(f.type, col);
  });
  return tableFromColumns(schema, children, rows.length);
}

/** An Arrow table of one record batch with the schema's columns (Data in field order). */
export function tableFromColumns(
  schema: Schema,
  columns: readonly arrow.Data[],
  numRows: number,
): arrow.Table {
  const arrowSchema = arrowSchemaFor(schema);
  const structType = new arrow.Struct(arrowSchema.fields);
  const data = arrow.makeData({
    type: structType,
    length: numRows,
    nullCount: 0,
    children: [...columns],
  });
  return new arrow.Table(arrowSchema, [new arrow.RecordBatch(arrowSchema, data)]);
}
