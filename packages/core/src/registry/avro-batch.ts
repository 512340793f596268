/**
 * Confluent-framed Avro values → one Arrow RecordBatch (IPC stream bytes), the Avro
 * counterpart of decode/json-decoder.ts with the same result shape, run in the worker pool.
 * Record i is bytes[offsets[i], offsets[i+1]).
 *
 * The coordinator resolves every schema id of the batch through the registry client
 * (registry/client.ts: one lookup per id per process) before dispatch and passes the
 * schema texts with the task (`schemas`), and the reason for ids the registry does not
 * know (`unknown`), so a worker never asks the registry itself. Readers are compiled once
 * per schema text per worker.
 *
 * Evolution: each writer schema of the batch (in order of first appearance) is mapped to
 * an Iceberg struct (registry/avro-schema.ts) and merged into the table schema by name
 * path (schema/evolve.ts: new fields optional with provisional IDs above the highest one,
 * int → long, float → double, decimal widening, required → optional kept by the table); a
 * field renamed with its old name in `aliases` keeps the old column (avro-aliases.ts).
 * A writer schema the table cannot take (string → int, a type Iceberg cannot hold, a
 * recursive schema) dead-letters its records with the reason; other versions of the same
 * batch still decode. Values of older versions are widened to the evolved columns (int
 * values into a long column); fields a version lacks are null.
 * Spec: https://iceberg.apache.org/spec/#schema-evolution
 */
import {
  decimalParams,
  type IcebergType,
  icebergRowsToArrow,
  type Schema,
  type StructType,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { evolveSchema } from '../schema/evolve.ts';
import { aliasedTexts } from './avro-aliases.ts';
import { type AvroReader, compileAvroReader } from './avro-decoder.ts';
import { avroToIceberg, parseAvroSchema } from './avro-schema.ts';
import type { RegistryBatchInput, RegistryBatchResult } from './formats.ts';
import { readFrame } from './frame.ts';

const readers = new Map<string, AvroReader>();

function readerFor(text: string): AvroReader {
  let r = readers.get(text);
  if (!r) {
    r = compileAvroReader(parseAvroSchema(text) as never);
    readers.set(text, r);
  }
  return r;
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
    if (decimalParams(t) && typeof v === 'number') return BigInt(v);
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
  return new Map([...m].map(([k, x]) => [k, widen(t.value, x)]));
}

export function decodeAvroBatch(input: RegistryBatchInput): RegistryBatchResult {
  const n = input.offsets.length - 1;
  const errors: { index: number; reason: string }[] = [];
  const decoded: { index: number; id: number; row: Record<string, unknown> }[] = [];
  const buf = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
  // Schema texts with aliased fields renamed to the table's columns (avro-aliases.ts).
  const texts = aliasedTexts(input);
  for (let i = 0; i < n; i++) {
    const start = input.offsets[i] as number;
    const end = input.offsets[i + 1] as number;
    const value = buf.subarray(start, end);
    try {
      const frame = readFrame(value);
      const text = texts.get(frame.schemaId);
      if (text === undefined) {
        errors.push({
          index: i,
          reason: input.unknown?.[frame.schemaId] ?? `schema id ${frame.schemaId} was not resolved`,
        });
        continue;
      }
      decoded.push({
        index: i,
        id: frame.schemaId,
        row: readerFor(text).decode(value, frame.payloadOffset),
      });
    } catch (e) {
      errors.push({ index: i, reason: (e as Error).message });
    }
  }
  // Evolve with each writer schema, in order of first appearance.
  let schema: StructType = input.schema;
  let last = maxId(input.schema);
  let changed = false;
  const refused = new Map<number, string>();
  for (const id of new Set(decoded.map((d) => d.id))) {
    try {
      const observed = avroToIceberg(parseAvroSchema(texts.get(id) as string));
      const e = evolveSchema({ ...schema, schemaId: 0 } as Schema, observed, last);
      if (e.changed) {
        const { schemaId: _drop, ...rest } = e.schema;
        schema = { ...(input.schema as object), ...rest, type: 'struct' } as StructType;
        last = e.lastColumnId;
        changed = true;
      }
    } catch (err) {
      refused.set(id, `schema id ${id}: ${(err as Error).message}`);
    }
  }
  const rows: Record<string, unknown>[] = [];
  for (const d of decoded) {
    const why = refused.get(d.id);
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
