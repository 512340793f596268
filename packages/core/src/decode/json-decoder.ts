/**
 * JSON message values → one Arrow RecordBatch (IPC stream bytes), with schema inference and
 * evolution. Pure and synchronous: the worker pool calls it on a batch of Kafka values the
 * coordinator packed into (possibly SharedArrayBuffer-backed) bytes + offsets.
 *
 * Types and promotions: https://iceberg.apache.org/spec/#schemas-and-data-types,
 * https://iceberg.apache.org/spec/#schema-evolution
 *
 * Output columns = every field of the evolved schema in order, each Arrow field carrying
 * `PARQUET:field_id`. New fields get provisional IDs above the input schema's highest ID
 * (the committer assigns the table's IDs with evolveSchema). A rejected record adds no row
 * and no schema change.
 *
 * Values exactly as written: records whose numbers a double could round are parsed by
 * exact.ts instead of JSON.parse (64-bit integers, decimal digits). Invalid UTF-8, lone
 * surrogates (UTF-8 cannot store them), nesting past `maxNestingDepth` and columns past
 * `maxColumns` are refused with a reason; a leading byte order mark is skipped.
 *
 * A batch may be decoded more than once (at most MAX_PASSES): again when a column first seen
 * as [] / {} got its type later in the batch (so the earlier rows hold empty values, not
 * null), again when a field was only ever [] / {} in the whole batch (it then gets a
 * placeholder column, list<string> / map<string, string>: infer.ts), and, with typeConflicts asString, when an uncommitted column met a value of another
 * JSON kind (the column is then a string column from the batch's first row; append.ts).
 */

import { isUtf8 } from 'node:buffer';
import { type IcebergType, maxFieldId, type PrimitiveType, type StructType } from '@kice/iceberg';
import { columnPaths } from '../schema/paths.ts';
import { type AppendContext, appendObject } from './append.ts';
import { loneSurrogate, Malformed, parseErrorOf, parseExact, preScan } from './exact.ts';
import { childPath, elementPath, jsonKind } from './infer.ts';
import { MetaColumns, type MetaSpec, type RecordMeta, valueSchema } from './record-meta.ts';
import { appendRecordFast } from './scan.ts';
import {
  columnsToIpc,
  Kind,
  type Node,
  removeLastChild,
  reserveRows,
  rootNode,
  truncate,
} from './tree.ts';

/** Input of decodeJsonBatch: record i is bytes[offsets[i], offsets[i+1]). */
export interface DecodeInput {
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  /** The table schema (or the last one this worker evolved to). */
  readonly schema: StructType;
  /** Column path → forced type for columns created here (see schema/hints.ts). */
  readonly hints?: Readonly<Record<string, PrimitiveType>>;
  /** IDs of long columns not committed to the table yet: a fraction turns them into double
   * instead of failing. Columns created by this batch are always treated so. */
  readonly relaxedFieldIds?: readonly number[];
  readonly options?: DecodeOptions;
  /** Kafka metadata and key columns the table wants, with the batch's metadata (record-meta.ts). */
  readonly metadata?: { readonly spec: MetaSpec; readonly records: RecordMeta };
  /** Where record i's JSON starts, when not at offsets[i] (after a Schema Registry frame
   * header); a negative start: the record is not decoded here (the caller reports it). */
  readonly starts?: Int32Array;
  /** The value columns are declared (a registry JSON Schema, registry/json-schema.ts), not
   * inferred: no new value columns (fields the schema lacks are skipped), no promotions, a
   * value that does not fit its column's type refuses the record. */
  readonly declared?: DeclaredColumns;
}

/** What a declared schema says beyond its Iceberg types, by decoder path. */
export interface DeclaredColumns {
  /** String columns that take any JSON value as its text. */
  readonly anyPaths: readonly string[];
  /** Struct columns that are unions (members named by JSON type). */
  readonly unionPaths: readonly string[];
}

/** Marks a declared value tree: every struct closed, the union ones as unions. */
export function declare(n: Node, unions: ReadonlySet<string>): void {
  if (n.kind === Kind.Struct) {
    n.closed = true;
    if (unions.has(n.path)) n.union = true;
    for (const c of n.children) declare(c, unions);
  } else if (n.kind === Kind.List) declare(n.element, unions);
  else if (n.kind === Kind.Map) declare(n.value, unions);
}

/** Per-table decoding settings (docs/config.md). */
export interface DecodeOptions {
  /** What a value of another JSON kind than its column does (default asString). */
  readonly typeConflicts?: 'asString' | 'deadLetter';
  /** limits.maxNestingDepth: deeper records are refused (default 32). */
  readonly maxNestingDepth?: number;
  /** limits.maxColumns: a record that would make more fields is refused (default 1000). */
  readonly maxColumns?: number;
}

export const DEFAULT_MAX_NESTING_DEPTH = 32;
export const DEFAULT_MAX_COLUMNS = 1000;
const MAX_PASSES = 4;

/** A record that produced no row, and why. */
export interface DecodeError {
  readonly index: number;
  readonly reason: string;
}

export interface DecodeResult {
  /** One RecordBatch as an Arrow IPC stream. */
  readonly ipc: Uint8Array;
  readonly rows: number;
  /** Source record index of each output row. */
  readonly accepted: Int32Array;
  readonly errors: DecodeError[];
  /** The output schema: input fields (promotions applied) + new fields with provisional IDs. */
  readonly schema: StructType;
  /** True when `schema` differs from the input schema. */
  readonly changed: boolean;
  /** Paths of the placeholder columns this batch made (fields only ever [] / {} in it). */
  readonly placeholders: readonly string[];
}

let fastScan = true;

/** Switches the byte-level fast path (scan.ts) on (default) or off, for tests. */
export function useFastScan(on: boolean): void {
  fastScan = on;
}

/** Undoes the schema changes logged while appending the current record. */
export function rollback(cx: AppendContext): void {
  for (let u = cx.undo.length - 1; u >= 0; u--) {
    const c = cx.undo[u];
    if (c?.op === 'add') {
      removeLastChild(c.parent);
      if (cx.columns) cx.columns.count -= c.fields;
    } else if (c?.op === 'widen') c.node.kind = c.from;
  }
  cx.undo.length = 0;
}

/**
 * Decodes a batch of JSON object records into one Arrow RecordBatch, inferring and adding
 * optional columns for unknown fields and promoting int → long, float → double as needed.
 */
export function decodeJsonBatch(input: DecodeInput): DecodeResult {
  const firstNewId = maxFieldId(input.schema) + 1;
  let schema = input.schema;
  const forced = new Set<string>();
  const empties = new Set<string>();
  for (let pass = 1; ; pass++) {
    const last = pass >= MAX_PASSES;
    const r = decodePass(input, schema, firstNewId, forced, empties, last);
    // Fields the whole batch saw only as [] / {}: placeholder columns on the next pass.
    let placeholders = false;
    if (r.emptied.size > 0) {
      const have = columnPaths(r.schema);
      for (const p of r.emptied) {
        if (have.has(p) || empties.has(p)) continue;
        empties.add(p);
        placeholders = true;
      }
    }
    if (last || (r.conflicts.size === 0 && !r.refill && !placeholders)) {
      const changed = JSON.stringify(r.schema) !== JSON.stringify(input.schema);
      const have = empties.size > 0 ? columnPaths(r.schema) : new Set<string>();
      return { ...r.result, changed, placeholders: [...empties].filter((p) => have.has(p)) };
    }
    // Again, from the first row: with the columns this pass found (typed, so earlier [] / {}
    // land as empty values) and the conflicting ones as strings.
    for (const p of r.conflicts) forced.add(p);
    schema = forceString(r.schema, forced);
  }
}

/** Number of fields in a struct (nested ones included). */
function countFields(t: StructType): number {
  let n = 0;
  const walk = (x: IcebergType): void => {
    if (typeof x === 'string') return;
    if (x.type === 'struct') {
      for (const f of x.fields) {
        n++;
        walk(f.type);
      }
    } else if (x.type === 'list') {
      n++;
      walk(x.element);
    } else {
      n += 2;
      walk(x.key);
      walk(x.value);
    }
  };
  walk(t);
  return n;
}

/** `schema` with the fields at `paths` (decoder paths, see infer.ts) turned into strings. */
function forceString(schema: StructType, paths: ReadonlySet<string>): StructType {
  const type = (t: IcebergType, path: string): IcebergType => {
    if (paths.has(path)) return 'string';
    if (typeof t === 'string') return t;
    if (t.type === 'struct') return struct(t, path);
    if (t.type === 'list') return { ...t, element: type(t.element, elementPath(path)) };
    return { ...t, value: type(t.value, `${path}.value`) };
  };
  const struct = (t: StructType, path: string): StructType => ({
    type: 'struct',
    fields: t.fields.map((f) => ({ ...f, type: type(f.type, childPath(path, f.name)) })),
  });
  return struct(schema, '');
}

interface Pass {
  readonly result: Omit<DecodeResult, 'changed' | 'placeholders'>;
  readonly schema: StructType;
  readonly conflicts: ReadonlySet<string>;
  readonly refill: boolean;
  readonly emptied: ReadonlySet<string>;
}

function decodePass(
  input: DecodeInput,
  schema: StructType,
  firstNewId: number,
  forced: ReadonlySet<string>,
  empties: ReadonlySet<string>,
  last: boolean,
): Pass {
  const { bytes, offsets } = input;
  const options = input.options ?? {};
  const maxDepth = options.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH;
  const n = Math.max(0, offsets.length - 1);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const root = rootNode(input.metadata ? valueSchema(schema, input.metadata.spec) : schema);
  reserveRows(root, n, bytes.byteLength);
  const relaxed = new Set(input.relaxedFieldIds ?? []);
  const declared = input.declared;
  if (declared) declare(root, new Set(declared.unionPaths));
  const asString = !declared && (options.typeConflicts ?? 'asString') === 'asString';
  const cx: AppendContext = {
    ids: { next: maxFieldId(schema) + 1 },
    // Declared: only columns made here (an inferred key column) may still become double.
    relaxed: declared ? (id) => id >= firstNewId : (id) => id >= firstNewId || relaxed.has(id),
    hints: declared
      ? Object.fromEntries(declared.anyPaths.map((p) => [p, 'string' as const]))
      : input.hints,
    declared: declared !== undefined,
    undo: [],
    stamp: 0,
    asString,
    forced,
    empties,
    conflicts: asString && !last ? new Set() : undefined,
    emptied: last ? undefined : new Set(),
    refill: false,
    columns: { count: countFields(schema), max: options.maxColumns ?? DEFAULT_MAX_COLUMNS },
  };
  const meta = input.metadata
    ? new MetaColumns(input.metadata.spec, schema, input.metadata.records, cx, maxDepth)
    : undefined;
  /** After record i's value was appended: its metadata, or the reason it is refused. */
  const withMeta = (i: number, idMark: number): boolean => {
    if (meta === undefined) return true;
    const reason = meta.collision(root) ?? meta.append(i, cx);
    if (reason === undefined) return true;
    rollback(cx);
    truncate(root, rows);
    meta.truncate(rows);
    cx.ids.next = idMark;
    errors.push({ index: i, reason });
    return false;
  };
  const accepted = new Int32Array(n);
  const errors: DecodeError[] = [];
  let rows = 0;

  for (let i = 0; i < n; i++) {
    let start = (input.starts ?? offsets)[i] as number;
    const end = offsets[i + 1] as number;
    if (start < 0) continue;
    if (end <= start) {
      errors.push({ index: i, reason: 'empty value' });
      continue;
    }
    if (fastScan) {
      // Straight from the bytes when the record fits the columns as they are (scan.ts);
      // otherwise undo what it appended and take the general path below.
      cx.undo.length = 0;
      const mark = cx.ids.next;
      if (appendRecordFast(bytes, start, end, root, cx)) {
        if (withMeta(i, mark)) accepted[rows++] = i;
        continue;
      }
      rollback(cx);
      truncate(root, rows);
    }
    const pre = preScan(bytes, start, end, maxDepth);
    if (pre.tooDeep) {
      errors.push({ index: i, reason: `nested deeper than limits.maxNestingDepth (${maxDepth})` });
      continue;
    }
    if (!isUtf8(bytes.subarray(start, end))) {
      errors.push({ index: i, reason: 'not valid UTF-8' });
      continue;
    }
    if (pre.bom) start += 3;
    const json = text.toString('utf8', start, end);
    let value: unknown;
    try {
      value = pre.exactNumbers ? parseExact(json) : JSON.parse(json);
    } catch (e) {
      const message = e instanceof Malformed ? parseErrorOf(json, e.message) : (e as Error).message;
      errors.push({ index: i, reason: `invalid JSON: ${message}` });
      continue;
    }
    const kind = jsonKind(value);
    if (kind !== 'object') {
      errors.push({ index: i, reason: `expected a JSON object, got ${kind}` });
      continue;
    }
    const lone = pre.surrogateEscapes ? loneSurrogate(value) : undefined;
    if (lone !== undefined) {
      const shown = JSON.stringify(lone.length > 40 ? `${lone.slice(0, 37)}...` : lone);
      errors.push({
        index: i,
        reason: `the string ${shown} has a lone surrogate escape, which UTF-8 cannot store`,
      });
      continue;
    }
    const idMark = cx.ids.next;
    cx.undo.length = 0;
    const reason = appendObject(root, value as Record<string, unknown>, cx);
    if (reason === undefined) {
      if (withMeta(i, idMark)) accepted[rows++] = i;
      continue;
    }
    rollback(cx);
    truncate(root, rows);
    cx.ids.next = idMark;
    errors.push({ index: i, reason });
  }

  const children = meta ? meta.children(root.children, schema, rows) : root.children;
  const { ipc, fields } = columnsToIpc(children, rows);
  const out: StructType = { type: 'struct', fields };
  return {
    result: { ipc, rows, accepted: accepted.slice(0, rows), errors, schema: out },
    schema: out,
    conflicts: cx.conflicts ?? new Set(),
    refill: cx.refill === true,
    emptied: cx.emptied ?? new Set(),
  };
}
