/**
 * Confluent-framed Protobuf values → one Arrow RecordBatch (IPC stream bytes), with the
 * result shape of every registry format (formats.ts), run in the worker pool. Record i is
 * bytes[offsets[i], offsets[i+1]): magic 0, schema id, message indexes, message bytes
 * (registry/protobuf-wire.ts).
 *
 * Schema texts (with their references) come with the task, resolved on the coordinator
 * (registry/resolve.ts). Per worker, each schema is parsed once and each (schema, message)
 * reader compiled once (registry/protobuf-decoder.ts).
 *
 * Evolution, as for Avro: each writer message (schema id + message indexes, in order of
 * first appearance) is mapped to an Iceberg struct (registry/protobuf-schema.ts) and
 * merged into the table schema by name path (schema/evolve.ts): new fields, nested ones
 * too, become optional columns with fresh IDs; int → long and float → double are
 * promoted; a change Iceberg cannot make (string → int…) dead-letters that version's
 * records with the reason while other versions of the batch land. Values of older
 * versions are widened to the evolved columns; fields a version lacks are null.
 * Spec: https://iceberg.apache.org/spec/#schema-evolution
 */
import { type IcebergType, icebergRowsToArrow, type Schema, type StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { evolveSchema } from '../schema/evolve.ts';
import type { RegistryBatchInput, RegistryBatchResult, ResolvedSchema } from './formats.ts';
import { readFrame } from './frame.ts';
import { compileProtoReader, type ProtoReader } from './protobuf-decoder.ts';
import { type ProtoSchema, parseProtoSchema, protoToIceberg } from './protobuf-schema.ts';
import { readMessageIndexes, WireReader } from './protobuf-wire.ts';

/** Parsed schemas by text (+ references), per worker. */
const schemas = new Map<string, ProtoSchema>();
/** What a (schema, message) compiles to: its struct and reader, or why it cannot. */
const compiled = new Map<string, { struct: StructType; reader: ProtoReader } | { error: string }>();

function schemaKey(s: ResolvedSchema): string {
  if (s.references.length === 0) return s.schema;
  return JSON.stringify([s.schema, s.references]);
}

function compiledFor(s: ResolvedSchema, indexes: readonly number[]) {
  const sk = schemaKey(s);
  let p = schemas.get(sk);
  if (p === undefined) {
    try {
      p = parseProtoSchema(s);
    } catch (e) {
      const error = (e as Error).message;
      return { key: `${sk}\u0000`, value: { error } };
    }
    schemas.set(sk, p);
  }
  // Out-of-range indexes throw (DECODE_FAILED): that record's reason.
  const name = p.messageAt(indexes);
  const key = `${sk}\u0000${name}`;
  let c = compiled.get(key);
  if (c === undefined) {
    try {
      c = { struct: protoToIceberg(p, name), reader: compileProtoReader(p, name) };
    } catch (e) {
      c = { error: (e as Error).message };
    }
    compiled.set(key, c);
  }
  return { key, value: c, name };
}

function maxId(t: IcebergType): number {
  if (typeof t === 'string') return 0;
  if (t.type === 'struct')
    return Math.max(0, ...t.fields.map((f) => Math.max(f.id, maxId(f.type))));
  if (t.type === 'list') return Math.max(t.elementId, maxId(t.element));
  return Math.max(t.keyId, t.valueId, maxId(t.key), maxId(t.value));
}

/** A decoded value widened to the (possibly promoted) table type. */
function widen(t: IcebergType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof t === 'string') {
    if (t === 'long' && typeof v === 'number') return BigInt(v);
    return v;
  }
  if (t.type === 'struct') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const f of t.fields) out[f.name] = widen(f.type, o[f.name]);
    return out;
  }
  if (t.type === 'list') return (v as unknown[]).map((e) => widen(t.element, e));
  const m = v as Map<unknown, unknown>;
  return new Map([...m].map(([k, x]) => [widen(t.key, k), widen(t.value, x)]));
}

export function decodeProtobufBatch(input: RegistryBatchInput): RegistryBatchResult {
  const n = input.offsets.length - 1;
  const errors: { index: number; reason: string }[] = [];
  const decoded: { index: number; key: string; row: Record<string, unknown> }[] = [];
  /** Writer structs by (schema, message) key, with the id that named them first. */
  const writers = new Map<string, { id: number; struct: StructType }>();
  const r = new WireReader(input.bytes);
  for (let i = 0; i < n; i++) {
    const start = input.offsets[i] as number;
    const end = input.offsets[i + 1] as number;
    try {
      const frame = readFrame(input.bytes.subarray(start, end));
      const s = input.schemas[frame.schemaId];
      if (s === undefined) {
        errors.push({
          index: i,
          reason: input.unknown?.[frame.schemaId] ?? `schema id ${frame.schemaId} was not resolved`,
        });
        continue;
      }
      r.pos = start + frame.payloadOffset;
      r.end = end;
      const indexes = readMessageIndexes(r);
      const c = compiledFor(s, indexes);
      if ('error' in c.value) {
        errors.push({ index: i, reason: `schema id ${frame.schemaId}: ${c.value.error}` });
        continue;
      }
      if (!writers.has(c.key)) writers.set(c.key, { id: frame.schemaId, struct: c.value.struct });
      decoded.push({ index: i, key: c.key, row: c.value.reader.decode(r) });
    } catch (e) {
      errors.push({ index: i, reason: (e as Error).message });
    }
  }
  let schema: StructType = input.schema;
  let last = maxId(input.schema);
  let changed = false;
  const refused = new Map<string, string>();
  for (const [key, w] of writers) {
    try {
      const e = evolveSchema({ ...schema, schemaId: 0 } as Schema, w.struct, last);
      if (e.changed) {
        const { schemaId: _drop, ...rest } = e.schema;
        schema = { ...(input.schema as object), ...rest, type: 'struct' } as StructType;
        last = e.lastColumnId;
        changed = true;
      }
    } catch (err) {
      refused.set(key, `schema id ${w.id}: ${(err as Error).message}`);
    }
  }
  const rows: Record<string, unknown>[] = [];
  for (const d of decoded) {
    const why = refused.get(d.key);
    if (why !== undefined) {
      errors.push({ index: d.index, reason: why });
      continue;
    }
    rows.push(widen(schema, d.row) as Record<string, unknown>);
  }
  errors.sort((a, b) => a.index - b.index);
  const table = icebergRowsToArrow({ ...schema, schemaId: 0 } as Schema, rows);
  return { ipc: arrow.tableToIPC(table, 'stream'), rows: rows.length, errors, schema, changed };
}
