/**
 * Confluent-framed JSON values written against a registry JSON Schema → one Arrow
 * RecordBatch (IPC stream bytes), run in the worker pool. Record i is
 * bytes[offsets[i], offsets[i+1]): magic byte 0, the 4-byte schema id, then the JSON text.
 *
 * The JSON itself is read by the JSON decoder (decode/json-decoder.ts: exact numbers,
 * straight into the column tree, Kafka metadata and key columns), starting after the
 * frame header, with the value columns declared by the JSON Schema instead of inferred
 * (`declared`): no new columns, no promotions, and a value that does not fit its column
 * (a string in a long column, a fraction in an integer one, a bad date-time) dead-letters
 * its record with the reason. Only types are checked: other constraints of the schema
 * (required, enum members, minimum, pattern…) are the producer's serializer's to enforce.
 *
 * Evolution: each schema id of the batch (in order of first appearance) is mapped to an
 * Iceberg struct (registry/json-schema.ts) and merged into the table schema by name path
 * (schema/evolve.ts: new fields optional, also nested; integer columns take number only
 * as Iceberg allows, i.e. not at all). A schema the table cannot take dead-letters the
 * records of that id with the reason; other ids of the batch still decode. Records of
 * every version are read against the merged columns: a field a version lacks is null.
 * Spec: https://iceberg.apache.org/spec/#schema-evolution
 */
import { maxFieldId, type Schema, type StructType } from '@kice/iceberg';
import { decodeJsonBatch } from '../decode/json-decoder.ts';
import { evolveSchema } from '../schema/evolve.ts';
import type { RegistryBatchInput, RegistryBatchResult, ResolvedSchema } from './formats.ts';
import { FRAME_HEADER_BYTES, readFrame } from './frame.ts';
import { jsonSchemaToIceberg, type MappedJsonSchema } from './json-schema.ts';

/** Mapped schemas per schema text and references, per worker (or the reason they fail). */
const mapped = new Map<string, MappedJsonSchema | Error>();

function mappedFor(s: ResolvedSchema): MappedJsonSchema | Error {
  const key = s.references.length === 0 ? s.schema : JSON.stringify(s);
  let m = mapped.get(key);
  if (m === undefined) {
    try {
      m = jsonSchemaToIceberg(s);
    } catch (e) {
      m = e as Error;
    }
    if (mapped.size >= 1024) mapped.clear();
    mapped.set(key, m);
  }
  return m;
}

export function decodeJsonSchemaBatch(input: RegistryBatchInput): RegistryBatchResult {
  const { bytes, offsets } = input;
  const n = Math.max(0, offsets.length - 1);
  const starts = new Int32Array(n);
  const ids = new Int32Array(n);
  const errors: { index: number; reason: string }[] = [];
  const seen: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = offsets[i] as number;
    starts[i] = -1;
    try {
      const { schemaId } = readFrame(bytes.subarray(start, offsets[i + 1] as number));
      if (input.schemas[schemaId] === undefined) {
        const why = input.unknown?.[schemaId] ?? `schema id ${schemaId} was not resolved`;
        errors.push({ index: i, reason: why });
        continue;
      }
      ids[i] = schemaId;
      starts[i] = start + FRAME_HEADER_BYTES;
      if (!seen.includes(schemaId)) seen.push(schemaId);
    } catch (e) {
      errors.push({ index: i, reason: (e as Error).message });
    }
  }
  // Evolve with each schema of the batch, in order of first appearance.
  let schema: StructType = input.schema;
  let last = maxFieldId(input.schema);
  const refused = new Map<number, string>();
  const anyPaths = new Set<string>();
  const unionPaths = new Set<string>();
  for (const id of seen) {
    const m = mappedFor(input.schemas[id] as ResolvedSchema);
    try {
      if (m instanceof Error) throw m;
      const e = evolveSchema({ ...schema, schemaId: 0 } as Schema, m.struct, last);
      if (e.changed) {
        const { schemaId: _drop, ...rest } = e.schema;
        schema = { ...rest, type: 'struct' } as StructType;
        last = e.lastColumnId;
      }
      for (const p of m.anyPaths) anyPaths.add(p);
      for (const p of m.unionPaths) unionPaths.add(p);
    } catch (err) {
      refused.set(id, `schema id ${id}: ${(err as Error).message}`);
    }
  }
  if (refused.size > 0) {
    for (let i = 0; i < n; i++) {
      const why = (starts[i] as number) >= 0 ? refused.get(ids[i] as number) : undefined;
      if (why === undefined) continue;
      starts[i] = -1;
      errors.push({ index: i, reason: why });
    }
  }
  const r = decodeJsonBatch({
    bytes,
    offsets,
    starts,
    schema,
    declared: { anyPaths: [...anyPaths], unionPaths: [...unionPaths] },
    ...(input.metadata ? { metadata: input.metadata } : {}),
  });
  errors.push(...r.errors);
  errors.sort((a, b) => a.index - b.index);
  const changed = JSON.stringify(r.schema) !== JSON.stringify(input.schema);
  return { ipc: r.ipc, rows: r.rows, errors, schema: r.schema, changed };
}
