/**
 * Gathering rows of Arrow data by index ("take"), buffer to buffer: the rows a selection
 * mask keeps, copied into new Data of the same type without going through JavaScript
 * values. Covers the types kice's Parquet files decode to: null, boolean, fixed-width
 * (ints, floats, dates, times, timestamps, decimals, fixed-size binary), variable-width
 * binary/utf8 (32- and 64-bit offsets), struct, list / large list / map, fixed-size list and
 * dictionary.
 *
 * Arrow layout: https://arrow.apache.org/docs/format/Columnar.html. apache-arrow's Data
 * keeps `values`/`valueOffsets` already sliced to its offset (booleans and validity
 * bitmaps count bits from `offset`), and a list's child is not sliced.
 */
import * as arrow from 'apache-arrow';
import { IcebergError } from '../errors.ts';

/** Indices of the 1s of a selection mask. */
export function maskIndices(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i] as number;
  const out = new Int32Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i]) out[k++] = i;
  return out;
}

function bitAt(bits: Uint8Array, i: number): number {
  return ((bits[i >> 3] ?? 0) >> (i & 7)) & 1;
}

/** The validity bitmap of the taken rows and its null count (none when all valid). */
function takeValidity(d: arrow.Data, idx: Int32Array): [Uint8Array | undefined, number] {
  if (d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0) return [undefined, 0];
  const out = new Uint8Array((idx.length + 7) >> 3);
  let nulls = 0;
  for (let k = 0; k < idx.length; k++) {
    if (bitAt(d.nullBitmap, d.offset + (idx[k] as number)))
      out[k >> 3] = (out[k >> 3] ?? 0) | (1 << (k & 7));
    else nulls++;
  }
  return [out, nulls];
}

/** The rows `idx` of `d`, in that order, as new Data of the same type. */
export function takeData(d: arrow.Data, idx: Int32Array): arrow.Data {
  const type = d.type as arrow.DataType;
  const n = idx.length;
  if (arrow.DataType.isNull(type)) return arrow.makeData({ type, length: n });
  const [nullBitmap, nullCount] = takeValidity(d, idx);
  const base = { type, length: n, nullCount, nullBitmap } as const;
  if (arrow.DataType.isBool(type)) {
    const src = d.values as Uint8Array;
    const out = new Uint8Array((n + 7) >> 3);
    for (let k = 0; k < n; k++)
      if (bitAt(src, d.offset + (idx[k] as number)))
        out[k >> 3] = (out[k >> 3] ?? 0) | (1 << (k & 7));
    return arrow.makeData({ ...base, type, data: out } as never);
  }
  if (
    arrow.DataType.isUtf8(type) ||
    arrow.DataType.isBinary(type) ||
    arrow.DataType.isLargeUtf8(type) ||
    arrow.DataType.isLargeBinary(type)
  ) {
    const large = arrow.DataType.isLargeUtf8(type) || arrow.DataType.isLargeBinary(type);
    const offs = d.valueOffsets as Int32Array | BigInt64Array;
    const src = d.values as Uint8Array;
    const at = (i: number) => Number(offs[i] as number | bigint);
    let total = 0;
    for (let k = 0; k < n; k++) total += at((idx[k] as number) + 1) - at(idx[k] as number);
    const bytes = new Uint8Array(total);
    const o32 = large ? undefined : new Int32Array(n + 1);
    const o64 = large ? new BigInt64Array(n + 1) : undefined;
    let pos = 0;
    for (let k = 0; k < n; k++) {
      const i = idx[k] as number;
      const s = at(i);
      const e = at(i + 1);
      bytes.set(src.subarray(s, e), pos);
      pos += e - s;
      if (o32) o32[k + 1] = pos;
      else (o64 as BigInt64Array)[k + 1] = BigInt(pos);
    }
    return arrow.makeData({ ...base, data: bytes, valueOffsets: o32 ?? o64 } as never);
  }
  if (arrow.DataType.isStruct(type)) {
    return arrow.makeData({
      ...base,
      type,
      children: d.children.map((c) => takeData(c, idx)),
    } as never);
  }
  if (
    arrow.DataType.isList(type) ||
    arrow.DataType.isLargeList(type) ||
    arrow.DataType.isMap(type)
  ) {
    const large = arrow.DataType.isLargeList(type);
    const offs = d.valueOffsets as Int32Array | BigInt64Array;
    const at = (i: number) => Number(offs[i] as number | bigint);
    let total = 0;
    for (let k = 0; k < n; k++) total += at((idx[k] as number) + 1) - at(idx[k] as number);
    const childIdx = new Int32Array(total);
    const o32 = large ? undefined : new Int32Array(n + 1);
    const o64 = large ? new BigInt64Array(n + 1) : undefined;
    let pos = 0;
    for (let k = 0; k < n; k++) {
      const i = idx[k] as number;
      for (let j = at(i), e = at(i + 1); j < e; j++) childIdx[pos++] = j;
      if (o32) o32[k + 1] = pos;
      else (o64 as BigInt64Array)[k + 1] = BigInt(pos);
    }
    const child = takeData(d.children[0] as arrow.Data, childIdx);
    return arrow.makeData({ ...base, valueOffsets: o32 ?? o64, child } as never);
  }
  if (arrow.DataType.isFixedSizeList(type)) {
    const size = type.listSize;
    const childIdx = new Int32Array(n * size);
    for (let k = 0; k < n; k++)
      for (let j = 0; j < size; j++)
        childIdx[k * size + j] = ((idx[k] as number) + d.offset) * size + j;
    const child = takeData(d.children[0] as arrow.Data, childIdx);
    return arrow.makeData({ ...base, child } as never);
  }
  if (arrow.DataType.isDictionary(type)) {
    const keys = takeFixed(d, idx);
    return arrow.makeData({ ...base, data: keys, dictionary: d.dictionary } as never);
  }
  if (
    arrow.DataType.isInt(type) ||
    arrow.DataType.isFloat(type) ||
    arrow.DataType.isDate(type) ||
    arrow.DataType.isTime(type) ||
    arrow.DataType.isTimestamp(type) ||
    arrow.DataType.isDecimal(type) ||
    arrow.DataType.isFixedSizeBinary(type) ||
    arrow.DataType.isInterval(type) ||
    arrow.DataType.isDuration(type)
  ) {
    return arrow.makeData({ ...base, data: takeFixed(d, idx) } as never);
  }
  throw new IcebergError('UNSUPPORTED', `cannot select rows of Arrow type ${type}`);
}

function takeFixed(d: arrow.Data, idx: Int32Array): ArrayLike<number | bigint> {
  const src = d.values as unknown as { length: number; [i: number]: number | bigint };
  const stride = d.stride;
  const Ctor = (d.values as unknown as { constructor: new (n: number) => typeof src }).constructor;
  const out = new Ctor(idx.length * stride);
  if (stride === 1) for (let k = 0; k < idx.length; k++) out[k] = src[idx[k] as number] as never;
  else
    for (let k = 0; k < idx.length; k++) {
      const s = (idx[k] as number) * stride;
      for (let j = 0; j < stride; j++) out[k * stride + j] = src[s + j] as never;
    }
  return out as ArrayLike<number | bigint>;
}
