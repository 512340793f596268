/**
 * Parquet column chunk statistics → ./expressions.ts ColumnStats of the read schema's field
 * IDs, so that `mightMatch` can skip row groups that cannot hold a matching row.
 *
 * Spec: https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 * (Statistics, ColumnOrder) and https://github.com/apache/parquet-format/blob/master/LogicalTypes.md
 * (sort orders). Rules, chosen so that a bound is only used when it is certainly a bound:
 * - `min_value`/`max_value` are used when the footer has no column_orders or says
 *   TypeDefinedOrder for the column. The deprecated `min`/`max` were ordered by signed
 *   comparison, which is only right for BOOLEAN, INT32, INT64, FLOAT and DOUBLE: they are
 *   used for those physical types only, and never for unsigned integer annotations.
 * - Values are decoded by the read schema's type from the file's physical type: int → long
 *   and float → double promotion; timestamps and times only when the file's unit is µs
 *   (never a different unit silently); decimals only when the file's scale is the same;
 *   strings only when the bytes are valid UTF-8 (a bound truncated inside a code point is
 *   dropped); a float bound that is NaN drops both bounds; ±0 bounds are widened to -0/+0.
 * - null_count gives mayHaveNull / allNull (null_count = rows of the row group).
 * - A page's column index entry (./page-index.ts) is read by the same rules, per page
 *   (`forPage`); a page of nulls only is allNull.
 * - Leaves under a repeated field (list, map) give nothing: filters cannot reference them.
 * - A field ID the file does not have at all reads as null in every row (allNull).
 */
import { decimalParams, fixedLength, type PrimitiveType } from '../spec/types.ts';
import { bigIntFromBytes } from '../spec/values.ts';
import type { ColumnStats } from './expressions.ts';
import type { ColumnIndex } from './page-index.ts';
import type { FileMetaData, SchemaElement, Statistics } from './parquet-footer.ts';

const BOOLEAN = 0;
const INT32 = 1;
const INT64 = 2;
const FLOAT = 4;
const DOUBLE = 5;
const BYTE_ARRAY = 6;
const FIXED = 7;
const REPEATED = 2;
const MICROS = 2;
// ConvertedType values.
const TIME_MICROS = 8;
const TIMESTAMP_MICROS = 10;
const UINT_8 = 11;
const UINT_64 = 14;

interface Leaf {
  readonly column: number;
  readonly element: SchemaElement;
}

/** Statistics of one file, per row group, for the given field types. */
export class RowGroupStats {
  /** Field id → leaf column (only leaves with no repeated ancestor). */
  private readonly leaves = new Map<number, Leaf>();
  /** Every field id anywhere in the file's schema. */
  private readonly ids = new Set<number>();

  constructor(
    private readonly meta: FileMetaData,
    private readonly types: ReadonlyMap<number, PrimitiveType>,
  ) {
    let column = 0;
    const walk = (i: number, repeated: boolean): number => {
      const el = meta.schema[i];
      if (!el) return i + 1;
      if (el.fieldId !== undefined) this.ids.add(el.fieldId);
      const rep = repeated || el.repetition === REPEATED;
      if (el.numChildren === undefined) {
        if (!rep && el.fieldId !== undefined) this.leaves.set(el.fieldId, { column, element: el });
        column++;
        return i + 1;
      }
      let next = i + 1;
      for (let k = 0; k < el.numChildren; k++) next = walk(next, rep);
      return next;
    };
    const root = meta.schema[0];
    let next = 1;
    for (let k = 0; k < (root?.numChildren ?? 0); k++) next = walk(next, false);
  }

  /** The stats lookup `mightMatch` takes, for row group `rg`. */
  forRowGroup(rg: number): (id: number) => ColumnStats | undefined {
    const group = this.meta.rowGroups[rg];
    return (id) => {
      const type = this.types.get(id);
      if (!type || !group) return undefined;
      const leaf = this.leaves.get(id);
      if (!leaf) return this.ids.has(id) ? undefined : { mayHaveNull: true, allNull: true };
      const chunk = group.columns[leaf.column];
      if (!chunk?.statistics) return undefined;
      return this.toColumnStats(type, leaf, chunk.statistics, group.numRows);
    };
  }

  /** The leaf column (index among the file's leaves) that field `id` is read from, when
   * it has no repeated ancestor and its type is known; undefined otherwise. */
  leafColumn(id: number): number | undefined {
    return this.types.has(id) ? this.leaves.get(id)?.column : undefined;
  }

  /** What one page's entry of a column index says of field `id` (a leaf: `leafColumn`),
   * for a page of `rows` rows. */
  forPage(id: number, index: ColumnIndex, page: number, rows: number): ColumnStats | undefined {
    const type = this.types.get(id);
    const leaf = this.leaves.get(id);
    if (!type || !leaf) return undefined;
    if (index.nullPages[page]) return { mayHaveNull: true, allNull: true };
    const min = index.minValues[page];
    const max = index.maxValues[page];
    const nullCount = index.nullCounts?.[page];
    // The index's values are ordered by the column order, like min_value/max_value; with
    // no column_orders in the footer, only where signed order is the type's order (as the
    // deprecated min/max are used: see decodeBounds).
    const order = this.meta.typeDefinedOrder?.[leaf.column];
    const s: Statistics = {
      ...(min && max ? { min, max, minValue: min, maxValue: max } : {}),
      ...(nullCount !== undefined ? { nullCount } : {}),
    };
    return this.toColumnStats(type, leaf, s, rows, order === true);
  }

  private toColumnStats(
    type: PrimitiveType,
    leaf: Leaf,
    s: Statistics,
    rows: number,
    typeDefined = this.meta.typeDefinedOrder?.[leaf.column] !== false,
  ): ColumnStats {
    const out: { lower?: unknown; upper?: unknown; mayHaveNull?: boolean; allNull?: boolean } = {};
    if (s.nullCount !== undefined) {
      out.mayHaveNull = s.nullCount > 0;
      out.allNull = rows > 0 && s.nullCount === rows;
    }
    const bounds = decodeBounds(type, leaf.element, s, typeDefined);
    if (bounds) {
      out.lower = bounds[0];
      out.upper = bounds[1];
    }
    return out;
  }
}

function decodeBounds(
  type: PrimitiveType,
  el: SchemaElement,
  s: Statistics,
  typeDefined: boolean,
): [unknown, unknown] | undefined {
  const p = el.physicalType;
  const unsigned =
    (el.convertedType !== undefined && el.convertedType >= UINT_8 && el.convertedType <= UINT_64) ||
    (el.logical?.kind === 10 && el.logical.signed === false);
  if (unsigned) return undefined;
  let lo: Uint8Array | undefined;
  let hi: Uint8Array | undefined;
  if (typeDefined && s.minValue && s.maxValue) {
    lo = s.minValue;
    hi = s.maxValue;
  } else if (
    s.min &&
    s.max &&
    (p === BOOLEAN || p === INT32 || p === INT64 || p === FLOAT || p === DOUBLE)
  ) {
    lo = s.min;
    hi = s.max;
  }
  if (!lo || !hi) return undefined;
  const a = decodeValue(type, el, lo);
  const b = decodeValue(type, el, hi);
  if (a === undefined || b === undefined) return undefined;
  if (typeof a === 'number' && (type === 'float' || type === 'double')) {
    if (Number.isNaN(a) || Number.isNaN(b as number)) return undefined;
    return [a === 0 ? -0 : a, b === 0 ? 0 : b];
  }
  return [a, b];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function isMicros(el: SchemaElement, converted: number): boolean {
  if (el.logical) return el.logical.unit === MICROS;
  return el.convertedType === converted;
}

/** One PLAIN-encoded statistics value as the read type's in-memory value, or undefined when
 * the file's physical/logical type does not give a certain value of that type. */
function decodeValue(type: PrimitiveType, el: SchemaElement, b: Uint8Array): unknown {
  const p = el.physicalType;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const int32 = () => (p === INT32 && b.length === 4 ? view.getInt32(0, true) : undefined);
  const int64 = () => (p === INT64 && b.length === 8 ? view.getBigInt64(0, true) : undefined);
  switch (type) {
    case 'boolean':
      return p === BOOLEAN && b.length >= 1 ? (b[0] as number) !== 0 : undefined;
    case 'int':
    case 'date':
      return int32();
    case 'long': {
      const v = int32();
      return v === undefined ? int64() : BigInt(v);
    }
    case 'float':
      return p === FLOAT && b.length === 4 ? view.getFloat32(0, true) : undefined;
    case 'double':
      if (p === FLOAT && b.length === 4) return view.getFloat32(0, true);
      return p === DOUBLE && b.length === 8 ? view.getFloat64(0, true) : undefined;
    case 'time':
      return isMicros(el, TIME_MICROS) ? int64() : undefined;
    case 'timestamp':
    case 'timestamptz':
      return isMicros(el, TIMESTAMP_MICROS) ? int64() : undefined;
    case 'string':
      if (p !== BYTE_ARRAY) return undefined;
      try {
        return UTF8.decode(b);
      } catch {
        return undefined;
      }
    case 'binary':
      return p === BYTE_ARRAY ? b.slice() : undefined;
    case 'uuid':
      return undefined;
  }
  const dec = decimalParams(type);
  if (dec) {
    const scale = el.logical?.kind === 5 ? el.logical.scale : el.scale;
    if (scale !== dec.scale) return undefined;
    if (p === INT32) return int32() === undefined ? undefined : BigInt(view.getInt32(0, true));
    if (p === INT64) return int64();
    return p === FIXED || p === BYTE_ARRAY ? bigIntFromBytes(b) : undefined;
  }
  const len = fixedLength(type);
  if (len !== undefined && p === FIXED && b.length === len) return b.slice();
  return undefined;
}
