/**
 * Exact evaluation of a bound filter (./expressions.ts) on Arrow column data: one selection
 * mask (1 = the row matches) per batch, computed column-wise on the typed arrays, never by
 * building a JavaScript object per row.
 *
 * The result is the same as `evalRow` on the row (the reference semantics): a comparison
 * with a null is false (so `not (x = 1)`, bound as `x != 1`, is false for a null x); a
 * comparison involving NaN is false except `!=`; `in` compares with Iceberg's order
 * (../spec/values.ts compareValues: NaN equals NaN, -0 is below +0); strings compare by
 * their UTF-8 bytes. A field inside a null struct is null. A field the batch does not have
 * (added to the table after the file was written) is null in every row.
 *
 * Columns are found by field ID (`PARQUET:field_id` on the Arrow fields, through structs),
 * so the batch may be in the file's own schema (older names, narrower types: an int column
 * read for a long field compares as numbers).
 */
import * as arrow from 'apache-arrow';
import { FIELD_ID_KEY, icebergTypeOfArrowField } from '../arrow/schema.ts';
import { arrowDataValue } from '../arrow/values.ts';
import type { IcebergType, PrimitiveType } from '../spec/types.ts';
import { compareValues } from '../spec/values.ts';
import type { Bound, CompareOp } from './expressions.ts';
import { project } from './read-parquet.ts';

/** Columns of one batch: top-level Arrow fields and their data, all `length` rows long. */
export interface ColumnBatch {
  readonly length: number;
  readonly fields: readonly arrow.Field[];
  readonly children: readonly arrow.Data[];
}

interface Column {
  readonly data: arrow.Data;
  readonly field: arrow.Field;
  /** 1 where the value and every enclosing struct are non-null; undefined = all valid. */
  readonly valid: Uint8Array | undefined;
}

/** 1 per valid row of `d` (offset applied), or undefined when none is null. */
export function validity(d: arrow.Data): Uint8Array | undefined {
  if (d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0) return undefined;
  const out = new Uint8Array(d.length);
  const bits = d.nullBitmap;
  for (let i = 0, b = d.offset; i < d.length; i++, b++)
    out[i] = ((bits[b >> 3] as number) >> (b & 7)) & 1;
  return out;
}

function andValid(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array | undefined {
  if (!a) return b;
  if (!b) return a;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) & (b[i] as number);
  return out;
}

function fieldIdOf(f: arrow.Field): number | undefined {
  const raw = f.metadata.get(FIELD_ID_KEY);
  return raw === undefined ? undefined : Number(raw);
}

/** The column with field ID `id`, reached through structs. */
function findColumn(
  fields: readonly arrow.Field[],
  children: readonly arrow.Data[],
  id: number,
  outer: Uint8Array | undefined,
): Column | undefined {
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k] as arrow.Field;
    const d = children[k] as arrow.Data;
    if (fieldIdOf(f) === id) return { data: d, field: f, valid: andValid(outer, validity(d)) };
    if (arrow.DataType.isStruct(f.type)) {
      const hit = findColumn(f.type.children, d.children, id, undefined);
      if (hit) return { ...hit, valid: andValid(andValid(outer, validity(d)), hit.valid) };
    }
  }
  return undefined;
}

/** The selection mask of `b` over `batch`. */
export function evalBatch(b: Bound, batch: ColumnBatch): Uint8Array {
  const n = batch.length;
  switch (b.op) {
    case 'true':
      return new Uint8Array(n).fill(1);
    case 'false':
      return new Uint8Array(n);
    case 'and':
    case 'or': {
      const l = evalBatch(b.left, batch);
      const r = evalBatch(b.right, batch);
      if (b.op === 'and') for (let i = 0; i < n; i++) l[i] = (l[i] as number) & (r[i] as number);
      else for (let i = 0; i < n; i++) l[i] = (l[i] as number) | (r[i] as number);
      return l;
    }
  }
  const col = findColumn(batch.fields, batch.children, b.id, undefined);
  const out = new Uint8Array(n);
  if (b.op === 'isNull' || b.op === 'notNull') {
    const want = b.op === 'isNull' ? 0 : 1;
    if (!col) return b.op === 'isNull' ? out.fill(1) : out;
    const v = col.valid;
    if (!v) return want === 1 ? out.fill(1) : out;
    for (let i = 0; i < n; i++) out[i] = (v[i] as number) === want ? 1 : 0;
    return out;
  }
  if (!col) return out;
  if (b.op === 'in' || b.op === 'notIn') {
    const tests = b.values.map((x) => comparator(col, b.type, x));
    const hit = b.op === 'in' ? 1 : 0;
    for (let i = 0; i < n; i++) {
      if (col.valid && col.valid[i] === 0) continue;
      let found = 0;
      for (const t of tests)
        if (t.cmp(i) === 0) {
          found = 1;
          break;
        }
      out[i] = found === hit ? 1 : 0;
    }
    return out;
  }
  const c = b as { op: CompareOp; type: PrimitiveType; value: unknown };
  const op = c.op;
  const outcome = OUTCOME[op];
  const valid = col.valid;
  const halves = int64Halves(col, c.value);
  if (halves) {
    // The common case (long / timestamp columns) in one tight loop.
    const { words, xh, xl } = halves;
    const [below, equal, above] = outcome;
    for (let i = 0; i < n; i++) {
      if (valid && valid[i] === 0) continue;
      const h = words[2 * i + 1] as number;
      if (h !== xh) out[i] = h < xh ? below : above;
      else {
        const l = (words[2 * i] as number) >>> 0;
        out[i] = l < xl ? below : l > xl ? above : equal;
      }
    }
    return out;
  }
  const { cmp, isNaN: nan } = comparator(col, c.type, c.value);
  const literalNaN = typeof c.value === 'number' && Number.isNaN(c.value);
  for (let i = 0; i < n; i++) {
    if (valid && valid[i] === 0) continue;
    if (literalNaN || nan?.(i)) out[i] = op === 'notEq' ? 1 : 0;
    else out[i] = outcome[cmp(i) + 1] as number;
  }
  return out;
}

/** Per comparison: the mask value when the row's value is below, equal to, above the literal. */
const OUTCOME: Record<CompareOp, readonly [number, number, number]> = {
  eq: [0, 1, 0],
  notEq: [1, 0, 1],
  lt: [1, 0, 0],
  ltEq: [1, 1, 0],
  gt: [0, 0, 1],
  gtEq: [0, 1, 1],
};

/** A 64-bit column (long, µs timestamp or time) as 32-bit words, and the literal split the
 * same way; undefined when the column is another type or the literal is not a 64-bit
 * integer. */
function int64Halves(
  col: Column,
  literal: unknown,
): { words: Int32Array; xh: number; xl: number } | undefined {
  const t = col.field.type as arrow.DataType;
  const wide =
    (arrow.DataType.isInt(t) && t.bitWidth === 64 && t.isSigned) ||
    (arrow.DataType.isTimestamp(t) && t.unit === arrow.TimeUnit.MICROSECOND) ||
    (arrow.DataType.isTime(t) && t.unit === arrow.TimeUnit.MICROSECOND);
  if (!wide || !LITTLE_ENDIAN) return undefined;
  if (typeof literal !== 'bigint' && !Number.isInteger(literal)) return undefined;
  const x = BigInt(literal as bigint | number);
  if (BigInt.asIntN(64, x) !== x) return undefined;
  const values = col.data.values as BigInt64Array;
  return {
    words: new Int32Array(values.buffer, values.byteOffset, values.length * 2),
    xh: Number(x >> 32n),
    xl: Number(BigInt.asUintN(32, x)),
  };
}

interface Comparator {
  /** Order of row i's (non-null) value against the literal: -1, 0 or 1. */
  readonly cmp: (i: number) => number;
  /** Whether row i's value is NaN (float columns only). */
  readonly isNaN?: (i: number) => boolean;
}

const enc = new TextEncoder();
/** Typed arrays use the platform's byte order; the 64-bit fast path reads 32-bit halves. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Iceberg's float order (Java Double.compare) for two non-NaN-checked numbers. */
function floatOrder(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) {
    if (a !== 0) return 0;
    const an = Object.is(a, -0);
    const bn = Object.is(b, -0);
    return an === bn ? 0 : an ? -1 : 1;
  }
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  return an === bn ? 0 : an ? 1 : -1;
}

function comparator(col: Column, readType: PrimitiveType, literal: unknown): Comparator {
  const t = col.field.type as arrow.DataType;
  const d = col.data;
  const numeric =
    (arrow.DataType.isInt(t) && t.bitWidth === 32 && t.isSigned) ||
    (arrow.DataType.isDate(t) && t.unit === arrow.DateUnit.DAY);
  if (numeric && (typeof literal === 'number' || typeof literal === 'bigint')) {
    const values = d.values as Int32Array;
    const x = Number(literal);
    return { cmp: (i) => ((values[i] as number) < x ? -1 : (values[i] as number) > x ? 1 : 0) };
  }
  if (arrow.DataType.isFloat(t) && t.precision !== arrow.Precision.HALF) {
    if (typeof literal === 'number') {
      const values = d.values as Float32Array | Float64Array;
      return {
        cmp: (i) => floatOrder(values[i] as number, literal),
        isNaN: (i) => Number.isNaN(values[i] as number),
      };
    }
  }
  const wide =
    (arrow.DataType.isInt(t) && t.bitWidth === 64 && t.isSigned) ||
    (arrow.DataType.isTimestamp(t) && t.unit === arrow.TimeUnit.MICROSECOND) ||
    (arrow.DataType.isTime(t) && t.unit === arrow.TimeUnit.MICROSECOND);
  if (wide && LITTLE_ENDIAN && (typeof literal === 'bigint' || Number.isInteger(literal))) {
    // Compared as (signed high, unsigned low) 32-bit halves: no BigInt per row.
    const values = d.values as BigInt64Array;
    const halves = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const big = BigInt(literal as bigint | number);
    const x = BigInt.asIntN(64, big);
    // Beyond the 64-bit range: every value is on one side of the literal.
    if (x !== big) return { cmp: big < 0n ? () => 1 : () => -1 };
    const xh = Number(x >> 32n);
    const xl = Number(BigInt.asUintN(32, x));
    return {
      cmp: (i) => {
        const h = halves[2 * i + 1] as number;
        if (h !== xh) return h < xh ? -1 : 1;
        const l = (halves[2 * i] as number) >>> 0;
        return l < xl ? -1 : l > xl ? 1 : 0;
      },
    };
  }
  if (arrow.DataType.isUtf8(t) && typeof literal === 'string') {
    const offsets = d.valueOffsets as Int32Array;
    const bytes = d.values as Uint8Array;
    const x = enc.encode(literal);
    return {
      cmp: (i) => {
        const start = offsets[i] as number;
        const len = (offsets[i + 1] as number) - start;
        const m = Math.min(len, x.length);
        for (let k = 0; k < m; k++) {
          const diff = (bytes[start + k] as number) - (x[k] as number);
          if (diff !== 0) return diff < 0 ? -1 : 1;
        }
        return len < x.length ? -1 : len > x.length ? 1 : 0;
      },
    };
  }
  // Any other type: the value in the in-memory conventions, promoted to the read type.
  const fileType: IcebergType = icebergTypeOfArrowField(col.field);
  const floaty = readType === 'float' || readType === 'double';
  const value = (i: number) => project(fileType, readType, arrowDataValue(fileType, d, i));
  return {
    cmp: (i) => compareValues(readType, value(i), literal),
    ...(floaty ? { isNaN: (i: number) => Number.isNaN(value(i) as number) } : {}),
  };
}
