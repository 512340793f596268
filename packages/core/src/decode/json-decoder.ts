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
 */
import {
  arrowFieldFor as arrowField,
  maxFieldId,
  type PrimitiveType,
  type StructType,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { type AppendContext, appendObject } from './append.ts';
import { jsonKind } from './infer.ts';
import { appendRecordFast } from './scan.ts';
import { dataOf, fieldOf, removeLastChild, rootNode, truncate } from './tree.ts';

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
}

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
}

let fastScan = true;

/** Switches the byte-level fast path (scan.ts) on (default) or off, for tests. */
export function useFastScan(on: boolean): void {
  fastScan = on;
}

/** Undoes the schema changes logged while appending the current record. */
function rollback(cx: AppendContext): void {
  for (let u = cx.undo.length - 1; u >= 0; u--) {
    const c = cx.undo[u];
    if (c?.op === 'add') removeLastChild(c.parent);
    else if (c?.op === 'widen') c.node.kind = c.from;
  }
  cx.undo.length = 0;
}

/**
 * Decodes a batch of JSON object records into one Arrow RecordBatch, inferring and adding
 * optional columns for unknown fields and promoting int → long, float → double as needed.
 */
export function decodeJsonBatch(input: DecodeInput): DecodeResult {
  const { bytes, offsets } = input;
  const n = Math.max(0, offsets.length - 1);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const root = rootNode(input.schema);
  const firstNewId = maxFieldId(input.schema) + 1;
  const relaxed = new Set(input.relaxedFieldIds ?? []);
  const cx: AppendContext = {
    ids: { next: firstNewId },
    relaxed: (id) => id >= firstNewId || relaxed.has(id),
    hints: input.hints,
    undo: [],
    stamp: 0,
  };
  const accepted = new Int32Array(n);
  const errors: DecodeError[] = [];
  let rows = 0;
  let changed = false;

  for (let i = 0; i < n; i++) {
    const start = offsets[i] as number;
    const end = offsets[i + 1] as number;
    if (end <= start) {
      errors.push({ index: i, reason: 'empty value' });
      continue;
    }
    if (fastScan) {
      // Straight from the bytes when the record fits the columns as they are (scan.ts);
      // otherwise undo what it appended and take the general path below.
      cx.undo.length = 0;
      if (appendRecordFast(bytes, start, end, root, cx)) {
        accepted[rows++] = i;
        continue;
      }
      rollback(cx);
      truncate(root, rows);
    }
    let value: unknown;
    try {
      value = JSON.parse(text.toString('utf8', start, end));
    } catch (e) {
      errors.push({ index: i, reason: `invalid JSON: ${(e as Error).message}` });
      continue;
    }
    const kind = jsonKind(value);
    if (kind !== 'object') {
      errors.push({ index: i, reason: `expected a JSON object, got ${kind}` });
      continue;
    }
    const idMark = cx.ids.next;
    cx.undo.length = 0;
    const reason = appendObject(root, value as Record<string, unknown>, cx);
    if (reason === undefined) {
      accepted[rows++] = i;
      if (cx.undo.length > 0) changed = true;
      continue;
    }
    rollback(cx);
    truncate(root, rows);
    cx.ids.next = idMark;
    errors.push({ index: i, reason });
  }

  const fields = root.children.map(fieldOf);
  const arrowFields = fields.map(arrowField);
  const struct = new arrow.Struct(arrowFields);
  const data = arrow.makeData({
    type: struct,
    length: rows,
    nullCount: 0,
    children: root.children.map((c, k) => dataOf(c, arrowFields[k]?.type)),
  });
  const batch = new arrow.RecordBatch(new arrow.Schema(arrowFields), data);
  const ipc = arrow.tableToIPC(new arrow.Table([batch]), 'stream');
  return {
    ipc,
    rows,
    accepted: accepted.slice(0, rows),
    errors,
    schema: { type: 'struct', fields },
    changed,
  };
}
