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

function leafMetrics(leaf: Leaf, width: number, m: FileMetrics): void {
  const isFloat = leaf.type === 'float' || leaf.type === 'double';
  let values = 0;
  let nulls = 0;
  let nans = 0;
  let lower: unknown;
  let upper: unknown;
  let seen = false;
  leaf.data.forEach((d, b) => {
    const parents = leaf.parents[b] ?? [];
    for (let i = 0; i < d.length; i++) {
      const ancestorsValid = parents.every((p) => p.getValid(i));
      if (!ancestorsValid) {
        if (!isFloat) {
          values++;
          nulls++;
        }
        continue;
      }
      values++;
      const v = arrowDataValue(leaf.type, d, i);
      if (v === null) {
        nulls++;
        continue;
      }
      if (isFloat && Number.isNaN(v)) {
        nans++;
        continue;
      }
      if (!seen || compareValues(leaf.type, v, lower) < 0) lower = v;
      if (!seen || compareValues(leaf.type, v, upper) > 0) upper = v;
      seen = true;
    }
  });
  m.valueCounts.set(leaf.id, values);
  m.nullValueCounts.set(leaf.id, nulls);
  if (isFloat) m.nanValueCounts.set(leaf.id, nans);
  if (!seen) return;
  m.lowerBounds.set(leaf.id, toBytes(leaf.type, truncateLowerBound(leaf.type, lower, width)));
  const up = truncateUpperBound(leaf.type, upper, width);
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
    leafMetrics(leaf, width, m);
  }
  footerMetrics(parquet, allowed, m);
  return m;
}
