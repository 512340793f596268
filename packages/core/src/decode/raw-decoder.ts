/**
 * `format: raw` (docs/config.md "Raw values"): each record's value, exactly its bytes, as
 * one optional `binary` column (`valueColumn`, default `value`), with the table's Kafka
 * metadata and key columns (record-meta.ts) beside it. A tombstone (null value) is a row
 * whose value is null; an empty value is empty bytes. Nothing about the bytes can be wrong,
 * so a record is refused only for its key (`key.format`), for being left out as too large
 * (`oversized`: the coordinator names the limit), or when the table already has a column of
 * that name that is not `binary` (CONFIG_INVALID, the whole batch).
 *
 * Same result shape as json-decoder.ts (one Arrow RecordBatch as IPC stream bytes, the
 * output schema with provisional IDs for new columns). Other value columns the table has
 * (made by another format earlier) read null.
 *
 * Types: https://iceberg.apache.org/spec/#schemas-and-data-types
 */
import { maxFieldId, type NestedField, type PrimitiveType, type StructType } from '@kice/iceberg';
import { KiceError } from '../errors.ts';
import type { AppendContext } from './append.ts';
import type { DecodeError, DecodeResult } from './json-decoder.ts';
import { DEFAULT_MAX_COLUMNS, DEFAULT_MAX_NESTING_DEPTH, rollback } from './json-decoder.ts';
import { MetaColumns, type MetaSpec, type RecordMeta, valueSchema } from './record-meta.ts';
import {
  addChild,
  appendNull,
  type BytesNode,
  columnsToIpc,
  Kind,
  makeNode,
  rootNode,
  truncate,
} from './tree.ts';

export interface RawDecodeInput {
  /** Record i's value is bytes[offsets[i], offsets[i+1]), or null when nulls[i] === 1. */
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  readonly nulls: Uint8Array;
  /** Records left out of `bytes` as too large: refused, not empty. */
  readonly oversized?: readonly number[];
  /** The value column's name. */
  readonly column: string;
  /** The table schema (or the last one this worker evolved to). */
  readonly schema: StructType;
  readonly options?: { readonly maxNestingDepth?: number; readonly maxColumns?: number };
  /** Column types for a json key's fields (`columns`, schema/hints.ts). */
  readonly hints?: Readonly<Record<string, PrimitiveType>>;
  readonly metadata?: { readonly spec: MetaSpec; readonly records: RecordMeta };
}

export function decodeRawBatch(input: RawDecodeInput): Omit<DecodeResult, 'accepted'> {
  const { bytes, offsets, nulls, schema, column } = input;
  const n = Math.max(0, offsets.length - 1);
  const root = rootNode(input.metadata ? valueSchema(schema, input.metadata.spec) : schema);
  const cx: AppendContext = {
    ids: { next: maxFieldId(schema) + 1 },
    relaxed: () => false,
    hints: input.hints,
    undo: [],
    stamp: 0,
    asString: true,
    columns: { count: 0, max: input.options?.maxColumns ?? DEFAULT_MAX_COLUMNS },
  };
  let value = root.byName.get(column);
  if (value === undefined) {
    const field: NestedField = { id: cx.ids.next++, name: column, required: false, type: 'binary' };
    value = makeNode(field, column);
    addChild(root, value);
  } else if (value.kind !== Kind.Binary) {
    throw new KiceError(
      'CONFIG_INVALID',
      `the table has a column "${column}" that is not binary; set valueColumn to another name for format raw`,
      { context: { column } },
    );
  }
  const valueNode = value as BytesNode;
  const others = root.children.filter((c) => c !== valueNode);
  const meta = input.metadata
    ? new MetaColumns(
        input.metadata.spec,
        schema,
        input.metadata.records,
        cx,
        input.options?.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH,
      )
    : undefined;
  const refused = new Set(input.oversized ?? []);
  const errors: DecodeError[] = [];
  let rows = 0;
  for (let i = 0; i < n; i++) {
    if (refused.has(i)) {
      errors.push({ index: i, reason: 'value too large' });
      continue;
    }
    if (nulls[i] === 1) valueNode.col.appendNull();
    else valueNode.col.appendBytes(bytes.subarray(offsets[i] as number, offsets[i + 1] as number));
    for (const c of others) appendNull(c);
    if (meta !== undefined) {
      const mark = cx.ids.next;
      cx.undo.length = 0;
      const reason = meta.append(i, cx);
      if (reason !== undefined) {
        rollback(cx); // a key column this record made is in the undo log
        truncate(root, rows);
        meta.truncate(rows);
        cx.ids.next = mark;
        errors.push({ index: i, reason });
        continue;
      }
    }
    rows++;
  }
  const children = meta ? meta.children(root.children, schema, rows) : root.children;
  const { ipc, fields } = columnsToIpc(children, rows);
  const out: StructType = { type: 'struct', fields };
  const changed = JSON.stringify(out) !== JSON.stringify(schema);
  return { ipc, rows, errors, schema: out, changed, placeholders: [] };
}
