/**
 * Column metrics of a data file, as Java Iceberg's Parquet writer computes them
 * (`ParquetMetrics` / `ParquetUtil`, default metrics mode `truncate(16)`).
 *
 * Spec: https://iceberg.apache.org/spec/#manifests (data_file fields) and
 * https://iceberg.apache.org/spec/#appendix-d-single-value-serialization (bounds)
 *
 *   108 column_sizes      map<117 int, 118 long>   leaf ID → Σ compressed chunk size
 *   109 value_counts      map<119 int, 120 long>   values incl. nulls and NaNs
 *   110 null_value_counts map<121 int, 122 long>
 *   137 nan_value_counts  map<138 int, 139 long>   float/double only
 *   125 lower_bounds      map<126 int, 127 binary> single-value serialization
 *   128 upper_bounds      map<129 int, 130 binary>
 *   132 split_offsets     list<133 long>           row-group start offsets, sorted
 *
 * Java's rules, followed here:
 * - Leaves under a list or a map get no counts and no bounds (only column_sizes); struct
 *   children get full metrics.
 * - Counts for non-float leaves come from the Parquet chunk: every slot counts, a null
 *   ancestor struct makes the slot null. float/double counts come from the value writer,
 *   which is never called under a null ancestor struct: those slots are not counted.
 * - Bounds are over non-null, non-NaN values (−0.0 sorts before +0.0); none when there is
 *   no such value. string/binary bounds are truncated to 16 code points/bytes, the upper
 *   one incremented (no upper bound when that is impossible).
 * - With more than 100 top-level columns, only the first 100 (and their nested fields) get
 *   metrics; the others get none, not even column_sizes.
 *
 * Counts and bounds are computed from the Arrow data (exact for every type); sizes and split
 * offsets from the Parquet footer (read with hyparquet).
 */
import type * as arrow from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { arrowDataValue } from '../arrow/values.ts';
import type { IcebergType, PrimitiveType, Schema } from '../spec/types.ts';
import { compareValues, toBytes, truncateLowerBound, truncateUpperBound } from '../spec/values.ts';

/** Metrics of one data file, ready for a DataFile. */
export interface FileMetrics {
  readonly recordCount: number;
  readonly columnSizes: Map<number, number>;
  readonly valueCounts: Map<number, number>;
  readonly nullValueCounts: Map<number, number>;
  readonly nanValueCounts: Map<number, number>;
  readonly lowerBounds: Map<number, Uint8Array>;
  readonly upperBounds: Map<number, Uint8Array>;
  readonly splitOffsets: number[];
}

export interface MetricsOptions {
  /** Truncation length of string/binary bounds (Java default 16). */
  readonly truncateLength?: number;
  /** `write.metadata.metrics.max-inferred-column-defaults` (Java default 100). */
  readonly maxInferredColumnDefaults?: number;
  /**
   * Compute every leaf value by value (as Iceberg values), skipping the typed-array fast
   * paths. Same results, slower; for tests that check the fast paths against it.
   */
  readonly valueByValue?: boolean;
}

/** Field IDs that get metrics: every ID under the first N top-level columns. */
function metricFieldIds(schema: Schema, limit: number): Set<number> | undefined {
  if (schema.fields.length <= limit) return undefined;
  const ids = new Set<number>();
  const visit = (t: IcebergType): void => {
    if (typeof t === 'string') return;
    if (t.type === 'struct')
      for (const f of t.fields) {
        ids.add(f.id);
        visit(f.type);
      }
    else if (t.type === 'list') {
      ids.add(t.elementId);
      visit(t.element);
    } else {
      ids.add(t.keyId);
      ids.add(t.valueId);
      visit(t.key);
      visit(t.value);
    }
  };
  visit({ type: 'struct', fields: schema.fields.slice(0, limit) });
  return ids;
}

interface Leaf {
  id: number;
  type: PrimitiveType;
  /** The Data of the leaf in each record batch. */
  data: arrow.Data[];
  /** Validity of the enclosing structs, per batch (undefined: all valid). */
  parents: arrow.Data[][];
}

/** Primitive leaves reachable through structs only (list/map subtrees are skipped). */
function structLeaves(schema: Schema, table: arrow.Table): Leaf[] {
  const out: Leaf[] = [];
  const batches = table.batches.map((b) => b.data);
  const walk = (t: IcebergType, id: number, data: arrow.Data[], parents: arrow.Data[][]): void => {
    if (typeof t === 'string') {
      out.push({ id, type: t, data, parents });
      return;
    }
    if (t.type !== 'struct') return;
    t.fields.forEach((f, k) => {
      walk(
        f.type,
        f.id,
        data.map((d) => d.children[k] as arrow.Data),
        parents.map((p, b) => [...p, data[b] as arrow.Data]),
      );
    });
  };
  schema.fields.forEach((f, k) => {
    walk(
      f.type,
      f.id,
      batches.map((d) => d.children[k] as arrow.Data),
      batches.map(() => []),
    );
  });
  return out;
}

/** Unsigned byte order of a[as, ae) and b[bs, be) (UTF-8 order = code point order). */
function compareByteRanges(
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number,
): number {
  const n = Math.min(ae - as, be - bs);
  for (let k = 0; k < n; k++) {
    const x = a[as + k] as number;
    const y = b[bs + k] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return ae - as - (be - bs);
}

/** What one pass over a leaf found: counts, and the bounds as Iceberg values. */
interface LeafScan {
  values: number;
  nulls: number;
  nans: number;
  seen: boolean;
  lower: unknown;
  upper: unknown;
}

const textDecoder = new TextDecoder();

/**
 * Validity of the enclosing structs, combined per slot (1 = every ancestor valid), or
 * undefined when no ancestor of this batch has a null.
 */
function ancestorMask(parents: readonly arrow.Data[], n: number): Uint8Array | undefined {
  const withNulls = parents.filter((p) => p.nullCount !== 0);
  if (withNulls.length === 0) return undefined;
  const mask = new Uint8Array(n).fill(1);
  for (const p of withNulls) {
    const bitmap = p.nullBitmap;
    if (!bitmap || bitmap.length === 0) continue;
    for (let i = 0; i < n; i++) {
      const bit = p.offset + i;
      if (((bitmap[bit >> 3] as number) & (1 << (bit & 7))) === 0) mask[i] = 0;
    }
  }
  return mask;
}

/** The null bitmap of `d` when it has nulls, else undefined (every slot valid). */
function nullsOf(d: arrow.Data): Uint8Array | undefined {
  if (d.nullCount === 0) return undefined;
  const bitmap = d.nullBitmap;
  return bitmap && bitmap.length > 0 ? bitmap : undefined;
}

/**
 * Per-batch state of a fast pass: `valid(i)` counts slot i (values and nulls, Java's rules
 * for floats under a null ancestor) and says whether it holds a value to bound.
 */
function slotCounter(
  d: arrow.Data,
  mask: Uint8Array | undefined,
  isFloat: boolean,
  out: LeafScan,
): ((i: number) => boolean) | undefined {
  const bitmap = nullsOf(d);
  if (mask === undefined && bitmap === undefined) {
    out.values += d.length;
    return undefined;
  }
  const off = d.offset;
  return (i) => {
    if (mask !== undefined && mask[i] === 0) {
      if (!isFloat) {
        out.values++;
        out.nulls++;
      }
      return false;
    }
    out.values++;
    if (bitmap !== undefined) {
      const bit = off + i;
      if (((bitmap[bit >> 3] as number) & (1 << (bit & 7))) === 0) {
        out.nulls++;
        return false;
      }
    }
    return true;
  };
}

/** int/date/float/double: bounds straight from the typed array. */
function scanNumbers(leaf: Leaf, isFloat: boolean, out: LeafScan): void {
  let lo = 0;
  let hi = 0;
  leaf.data.forEach((d, b) => {
    const vals = d.values as Float64Array | Float32Array | Int32Array;
    const n = d.length;
    const valid = slotCounter(d, ancestorMask(leaf.parents[b] ?? [], n), isFloat, out);
    for (let i = 0; i < n; i++) {
      if (valid !== undefined && !valid(i)) continue;
      const v = vals[i] as number;
      if (isFloat) {
        if (Number.isNaN(v)) {
          out.nans++;
          continue;
        }
        if (!out.seen) {
          lo = v;
          hi = v;
          out.seen = true;
          continue;
        }
        // Iceberg orders -0.0 before +0.0.
        if (v < lo || (v === 0 && lo === 0 && 1 / v < 0)) lo = v;
        if (v > hi || (v === 0 && hi === 0 && 1 / hi < 0)) hi = v;
        continue;
      }
      if (!out.seen) {
        lo = v;
        hi = v;
        out.seen = true;
        continue;
      }
      if (v < lo) lo = v;
      else if (v > hi) hi = v;
    }
  });
  if (out.seen) {
    out.lower = lo;
    out.upper = hi;
  }
}

/**
 * long/time/timestamp(tz): compared as (signed high word, unsigned low word) pairs read
 * through an Int32Array over the same bytes, so no BigInt is made per value; only the two
 * winning slots are read as bigints at the end.
 */
function scanInt64(leaf: Leaf, out: LeafScan): void {
  let loHi = 0;
  let loLo = 0;
  let hiHi = 0;
  let hiLo = 0;
  let lower: bigint | undefined;
  let upper: bigint | undefined;
  leaf.data.forEach((d, b) => {
    const vals = d.values as BigInt64Array;
    const words = new Int32Array(vals.buffer, vals.byteOffset, vals.length * 2);
    const n = d.length;
    const valid = slotCounter(d, ancestorMask(leaf.parents[b] ?? [], n), false, out);
    let loAt = -1;
    let hiAt = -1;
    for (let i = 0; i < n; i++) {
      if (valid !== undefined && !valid(i)) continue;
      // Little-endian: the low word first.
      const l = (words[2 * i] as number) >>> 0;
      const h = words[2 * i + 1] as number;
      if (!out.seen) {
        loHi = hiHi = h;
        loLo = hiLo = l;
        loAt = hiAt = i;
        out.seen = true;
        continue;
      }
      if (h < loHi || (h === loHi && l < loLo)) {
        loHi = h;
        loLo = l;
        loAt = i;
      } else if (h > hiHi || (h === hiHi && l > hiLo)) {
        hiHi = h;
        hiLo = l;
        hiAt = i;
      }
    }
    if (loAt >= 0) lower = vals[loAt] as bigint;
    if (hiAt >= 0) upper = vals[hiAt] as bigint;
  });
  if (out.seen) {
    out.lower = lower;
    out.upper = upper;
  }
}

/** string: bounds kept as byte ranges of the winning slots, decoded once at the end. */
function scanStrings(leaf: Leaf, out: LeafScan): void {
  let loBytes: Uint8Array | undefined;
  let loS = 0;
  let loE = 0;
  let hiBytes: Uint8Array | undefined;
  let hiS = 0;
  let hiE = 0;
  leaf.data.forEach((d, b) => {
    const offs = d.valueOffsets as Int32Array;
    const bytes = d.values as Uint8Array;
    const n = d.length;
    const valid = slotCounter(d, ancestorMask(leaf.parents[b] ?? [], n), false, out);
    for (let i = 0; i < n; i++) {
      if (valid !== undefined && !valid(i)) continue;
      const s0 = offs[i] as number;
      const s1 = offs[i + 1] as number;
      if (!out.seen) {
        loBytes = hiBytes = bytes;
        loS = hiS = s0;
        loE = hiE = s1;
        out.seen = true;
        continue;
      }
      if (compareByteRanges(bytes, s0, s1, loBytes as Uint8Array, loS, loE) < 0) {
        loBytes = bytes;
        loS = s0;
        loE = s1;
      } else if (compareByteRanges(bytes, s0, s1, hiBytes as Uint8Array, hiS, hiE) > 0) {
        hiBytes = bytes;
        hiS = s0;
        hiE = s1;
      }
    }
  });
  if (out.seen) {
    out.lower = textDecoder.decode((loBytes as Uint8Array).subarray(loS, loE));
    out.upper = textDecoder.decode((hiBytes as Uint8Array).subarray(hiS, hiE));
  }
}

/** boolean: false is the lower bound when any value is false, true the upper when any is true. */
function scanBooleans(leaf: Leaf, out: LeafScan): void {
  let anyFalse = false;
  let anyTrue = false;
  leaf.data.forEach((d, b) => {
    const bits = d.values as Uint8Array;
    const n = d.length;
    const off = d.offset;
    const valid = slotCounter(d, ancestorMask(leaf.parents[b] ?? [], n), false, out);
    let i = 0;
    for (; i < n && !(anyFalse && anyTrue); i++) {
      if (valid !== undefined && !valid(i)) continue;
      const bit = off + i;
      if (((bits[bit >> 3] as number) & (1 << (bit & 7))) === 0) anyFalse = true;
      else anyTrue = true;
    }
    // Once both values are seen the bounds are final; the remaining slots are only counted.
    if (valid !== undefined) for (; i < n; i++) valid(i);
  });
  if (anyFalse || anyTrue) {
    out.seen = true;
    out.lower = !anyFalse;
    out.upper = anyTrue;
  }
}

/**
 * Typed-array passes for the common leaf types (booleans, numbers, 64-bit integers and
 * timestamps, strings), reading Arrow buffers in place instead of building a value per
 * cell. Returns false for the other types (the caller then goes value by value).
 */
function scanFast(leaf: Leaf, isFloat: boolean, out: LeafScan): boolean {
  switch (leaf.type) {
    case 'int':
    case 'date':
    case 'float':
    case 'double':
      scanNumbers(leaf, isFloat, out);
      return true;
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      scanInt64(leaf, out);
      return true;
    case 'string':
      scanStrings(leaf, out);
      return true;
    case 'boolean':
      scanBooleans(leaf, out);
      return true;
    default:
      return false;
  }
}

/** The general pass: every slot as an Iceberg value, compared with compareValues. */
function scanValueByValue(leaf: Leaf, isFloat: boolean, out: LeafScan): void {
  leaf.data.forEach((d, b) => {
    const parents = leaf.parents[b] ?? [];
    for (let i = 0; i < d.length; i++) {
      const ancestorsValid = parents.every((p) => p.getValid(i));
      if (!ancestorsValid) {
        if (!isFloat) {
          out.values++;
          out.nulls++;
        }
        continue;
      }
      out.values++;
      const v = arrowDataValue(leaf.type, d, i);
      if (v === null) {
        out.nulls++;
        continue;
      }
      if (isFloat && Number.isNaN(v)) {
        out.nans++;
        continue;
      }
      if (!out.seen || compareValues(leaf.type, v, out.lower) < 0) out.lower = v;
      if (!out.seen || compareValues(leaf.type, v, out.upper) > 0) out.upper = v;
      out.seen = true;
    }
  });
}

function leafMetrics(leaf: Leaf, width: number, m: FileMetrics, valueByValue: boolean): void {
  const isFloat = leaf.type === 'float' || leaf.type === 'double';
  const r: LeafScan = {
    values: 0,
    nulls: 0,
    nans: 0,
    seen: false,
    lower: undefined,
    upper: undefined,
  };
  if (valueByValue || !scanFast(leaf, isFloat, r)) scanValueByValue(leaf, isFloat, r);
  m.valueCounts.set(leaf.id, r.values);
  m.nullValueCounts.set(leaf.id, r.nulls);
  if (isFloat) m.nanValueCounts.set(leaf.id, r.nans);
  if (!r.seen) return;
  m.lowerBounds.set(leaf.id, toBytes(leaf.type, truncateLowerBound(leaf.type, r.lower, width)));
  const up = truncateUpperBound(leaf.type, r.upper, width);
  if (up !== undefined) m.upperBounds.set(leaf.id, toBytes(leaf.type, up));
}

/** Column sizes per leaf field ID and sorted row-group start offsets, from the footer. */
function footerMetrics(
  parquet: Uint8Array,
  allowed: Set<number> | undefined,
  m: FileMetrics,
): void {
  const meta = parquetMetadata(parquet);
  // Leaf path (names below the root, joined) → field ID.
  const idByPath = new Map<string, number>();
  let pos = 1;
  const walk = (prefix: string[], count: number): void => {
    for (let c = 0; c < count; c++) {
      const el = meta.schema[pos++];
      if (!el) return;
      const path = [...prefix, el.name];
      if (el.num_children) walk(path, el.num_children);
      else if (el.field_id !== undefined) idByPath.set(path.join('\u0000'), el.field_id);
    }
  };
  walk([], meta.schema[0]?.num_children ?? 0);
  for (const rg of meta.row_groups) {
    const first = rg.columns[0]?.meta_data;
    if (first) {
      const data = Number(first.data_page_offset);
      const dict =
        first.dictionary_page_offset === undefined ? 0 : Number(first.dictionary_page_offset);
      m.splitOffsets.push(dict > 0 && dict < data ? dict : data);
    }
    for (const col of rg.columns) {
      const md = col.meta_data;
      if (!md) continue;
      const id = idByPath.get(md.path_in_schema.join('\u0000'));
      if (id === undefined || (allowed && !allowed.has(id))) continue;
      m.columnSizes.set(id, (m.columnSizes.get(id) ?? 0) + Number(md.total_compressed_size));
    }
  }
  m.splitOffsets.sort((a, b) => a - b);
}

/**
 * Computes a data file's metrics from the Arrow table that was written and the Parquet
 * bytes it became. `schema` must describe the table's columns in order (as built by
 * `arrowSchemaFor`).
 */
export function computeMetrics(
  schema: Schema,
  table: arrow.Table,
  parquet: Uint8Array,
  opts: MetricsOptions = {},
): FileMetrics {
  const width = opts.truncateLength ?? 16;
  const allowed = metricFieldIds(schema, opts.maxInferredColumnDefaults ?? 100);
  const m: FileMetrics = {
    recordCount: table.numRows,
    columnSizes: new Map(),
    valueCounts: new Map(),
    nullValueCounts: new Map(),
    nanValueCounts: new Map(),
    lowerBounds: new Map(),
    upperBounds: new Map(),
    splitOffsets: [],
  };
  for (const leaf of structLeaves(schema, table)) {
    if (allowed && !allowed.has(leaf.id)) continue;
    leafMetrics(leaf, width, m, opts.valueByValue ?? false);
  }
  footerMetrics(parquet, allowed, m);
  return m;
}
