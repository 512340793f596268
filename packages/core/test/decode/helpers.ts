import * as arrow from 'apache-arrow';
import type { AppendContext } from '../../src/decode/append.ts';

/** A deterministic PRNG in [0, 1) (mulberry32), for reproducible random batches. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fresh append context for driving the appenders directly. */
export function appendContext(): AppendContext {
  return { ids: { next: 100 }, relaxed: () => false, hints: undefined, undo: [], stamp: 0 };
}

/** Packs JSON texts the way the coordinator does: one byte buffer + n+1 offsets. */
export function pack(
  values: readonly string[],
  shared = false,
): { bytes: Uint8Array; offsets: Int32Array } {
  const enc = values.map((v) => Buffer.from(v, 'utf8'));
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  enc.forEach((b, i) => {
    total += b.length;
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total));
  let at = 0;
  for (const b of enc) {
    bytes.set(b, at);
    at += b.length;
  }
  return { bytes, offsets };
}

/** Plain JS values of a column (null for nulls; nested values as plain objects/arrays). */
export function column(table: arrow.Table, name: string): unknown[] {
  const v = table.getChild(name);
  if (!v) throw new Error(`no column ${name}`);
  return Array.from({ length: v.length }, (_, i) => plain(v.get(i)));
}

function plain(x: unknown): unknown {
  if (x === null || x === undefined) return null;
  if (x instanceof arrow.Vector) return Array.from(x, plain);
  const toJSON = (x as { toJSON?: () => Record<string, unknown> }).toJSON;
  if (typeof x === 'object' && typeof toJSON === 'function' && !(x instanceof Uint8Array)) {
    const o = toJSON.call(x);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plain(v)]));
  }
  return x;
}

/** Raw 64-bit values (µs for timestamps) of a column, null where invalid. */
export function raw64(table: arrow.Table, name: string): (bigint | null)[] {
  const v = table.getChild(name);
  if (!v) throw new Error(`no column ${name}`);
  const out: (bigint | null)[] = [];
  for (const d of v.data) {
    const values = d.values as BigInt64Array;
    for (let i = 0; i < d.length; i++) out.push(d.getValid(i) ? (values[i] as bigint) : null);
  }
  return out;
}

/** `name:ArrowType#fieldId` for every top-level column. */
export function fieldsOf(table: arrow.Table): string[] {
  return table.schema.fields.map(
    (f) => `${f.name}:${f.type}${f.nullable ? '' : '!'}#${f.metadata.get('PARQUET:field_id')}`,
  );
}
