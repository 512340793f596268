/**
 * `engine.get(table, key)`: the latest row for a record key. The key is the table's key
 * column (`tables[].key`, docs/config.md: the Kafka record key decoded into `key.column`).
 *
 * 1. A hash index over the hot view (pipeline/table-buffer.ts `view()`): key → the newest
 *    buffered row with that key (batches in view order, rows in offset order: later
 *    wins). It is brought up to date at each lookup: batches that left the view are
 *    forgotten, new ones are indexed (their key column read from the IPC in place). Its
 *    entries' memory is reserved in the engine's in-flight budget and released when their
 *    batch leaves the index.
 * 2. Not found there: a cold scan of the current snapshot with an equality filter on the
 *    key (files and row groups pruned by bounds); the matching row of the newest data
 *    file (highest sequence number), last in file order, wins.
 *
 * Keys compare by value (`keyValue`): a string, the key's bytes, or an object for a struct
 * key (JSON keys), whose fields compare as their Iceberg values (integers as integers
 * whether given as number or bigint).
 */
import {
  and,
  arrowTableToRows,
  coldScan,
  type Expr,
  eq,
  isNull,
  type RowGroupDecoder,
  type Schema,
  type Table,
  takeData,
  toReadBatch,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { KiceError } from '../errors.ts';
import type { InFlightBudget } from '../pipeline/memory-budget.ts';
import type { BufferedBatch } from '../pipeline/table-buffer.ts';
import { byName } from './hot-view.ts';

export type RecordKey = string | Uint8Array | Record<string, unknown>;

/** Bytes one index entry is counted as, beyond its key's characters (two bytes each). */
export const ENTRY_OVERHEAD_BYTES = 96;

const utf8 = new TextDecoder();

/** A key value's canonical text (equal values, equal text). */
export function canonicalKey(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `s${JSON.stringify(v)}`;
  if (typeof v === 'bigint') return `n${v}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `n${v}` : `f${v}`;
  if (typeof v === 'boolean') return `b${v}`;
  if (v instanceof Uint8Array) return `x${Buffer.from(v).toString('hex')}`;
  if (v instanceof Date) return `d${v.getTime()}`;
  if (typeof v === 'object') {
    const o = (
      typeof (v as { toJSON?: unknown }).toJSON === 'function'
        ? (v as { toJSON(): unknown }).toJSON()
        : v
    ) as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalKey(o[k])}`).join(',')}}`;
  }
  return `?${String(v)}`;
}

interface Entry {
  readonly batch: BufferedBatch;
  readonly row: number;
}

export class KeyIndex {
  private readonly entries = new Map<string, Entry>();
  /** Per indexed batch: its keys and the bytes they were counted as. */
  private readonly indexed = new Map<BufferedBatch, { keys: string[]; bytes: number }>();
  private heldBytes = 0;

  constructor(
    private readonly column: string,
    private readonly budget: InFlightBudget,
  ) {}

  /** Bytes reserved in the budget for the index now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Forgets batches not in `view`, indexes the new ones. */
  sync(view: readonly BufferedBatch[]): void {
    const live = new Set(view);
    for (const [b, info] of this.indexed) {
      if (live.has(b)) continue;
      for (const k of info.keys) if (this.entries.get(k)?.batch === b) this.entries.delete(k);
      this.indexed.delete(b);
      this.heldBytes -= info.bytes;
      this.budget.release(info.bytes);
    }
    for (const b of view) {
      if (this.indexed.has(b)) continue;
      const keys: string[] = [];
      let bytes = 0;
      if (b.ipc && b.rows > 0) {
        let row = 0;
        for (const rb of arrow.tableFromIPC(b.ipc).batches) {
          const col = rb.getChild(this.column);
          for (let i = 0; i < rb.numRows; i++, row++) {
            const k = canonicalKey(col?.get(i) ?? null);
            this.entries.set(k, { batch: b, row });
            keys.push(k);
            bytes += ENTRY_OVERHEAD_BYTES + 2 * k.length;
          }
        }
      }
      this.indexed.set(b, { keys, bytes });
      this.heldBytes += bytes;
      this.budget.reserve(bytes);
    }
  }

  lookup(key: unknown): Entry | undefined {
    return this.entries.get(canonicalKey(key));
  }

  /** Releases everything (the engine stops). */
  clear(): void {
    this.budget.release(this.heldBytes);
    this.heldBytes = 0;
    this.entries.clear();
    this.indexed.clear();
  }
}

/**
 * The key as the key column holds it. Bytes are the Kafka key as produced: UTF-8 text for
 * a string column, else (a JSON key) parsed as JSON. A string for a column of another type
 * (a JSON number key, say) is parsed as JSON too; an object is a struct key as it is.
 */
export function keyValue(schema: Schema, column: string, key: RecordKey): unknown {
  const field = schema.fields.find((f) => f.name === column);
  const text = key instanceof Uint8Array ? utf8.decode(key) : key;
  if (typeof text !== 'string' || field?.type === 'string') return text;
  if (!(key instanceof Uint8Array) && field === undefined) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** One hot row as a plain object of the table's columns (Iceberg values). */
export function hotRow(e: Entry, schema: Schema): Record<string, unknown> {
  let row = 0;
  for (const rb of arrow.tableFromIPC(e.batch.ipc as Uint8Array).batches) {
    if (e.row >= row + rb.numRows) {
      row += rb.numRows;
      continue;
    }
    const fields = rb.schema.fields.map((f) =>
      byName(
        f,
        schema.fields.find((x) => x.name === f.name),
      ),
    );
    const idx = Int32Array.of(e.row - row);
    const one = toReadBatch(
      { length: 1, fields, children: rb.data.children.map((d) => takeData(d, idx)) },
      schema,
    );
    return arrowTableToRows(schema, new arrow.Table(one))[0] as Record<string, unknown>;
  }
  throw new KiceError('INTERNAL', `key index: row ${e.row} is past its batch`);
}

/** The equality filter selecting `key` in `column` (field by field for a struct key). */
export function keyFilter(column: string, key: unknown): Expr {
  if (key === null || key === undefined) return isNull(column);
  if (typeof key === 'object' && !(key instanceof Uint8Array) && !(key instanceof Date)) {
    const parts = Object.entries(key as Record<string, unknown>).map(([k, v]) =>
      keyFilter(`${column}.${k}`, v),
    );
    if (parts.length === 0)
      throw new KiceError('QUERY_INVALID', `get: the key object for "${column}" has no fields`);
    const [first, ...rest] = parts as [Expr, ...Expr[]];
    return rest.length === 0 ? first : and(first, ...rest);
  }
  return eq(column, key);
}

/** The newest committed row with `key` (see the module comment), or undefined. */
export async function coldGet(
  table: Table,
  snapshotId: bigint,
  column: string,
  key: unknown,
  decoder?: RowGroupDecoder,
): Promise<Record<string, unknown> | undefined> {
  const scan = await coldScan(table, {
    snapshotId,
    filter: keyFilter(column, key),
    ...(decoder ? { decoder } : {}),
  });
  // Oldest data first, so that the last match is the newest row.
  (scan.plan.tasks as { sequenceNumber: number }[]).sort(
    (a, b) => a.sequenceNumber - b.sequenceNumber,
  );
  let last: arrow.RecordBatch | undefined;
  for await (const b of scan.batches()) if (b.numRows > 0) last = b;
  if (!last) return undefined;
  const rows = arrowTableToRows(scan.schema, new arrow.Table(last.slice(last.numRows - 1)));
  return rows[0];
}
