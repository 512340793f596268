/**
 * Confluent-framed Protobuf values → one Arrow RecordBatch (IPC stream bytes), with the
 * result shape of every registry format (formats.ts), run in the worker pool. Record i is
 * bytes[offsets[i], offsets[i+1]): magic 0, schema id, message indexes, message bytes
 * (registry/protobuf-wire.ts).
 *
 * Schema texts (with their references) come with the task, resolved on the coordinator
 * (registry/resolve.ts). Per worker, each schema is parsed and each (schema, message)
 * mapped once. Two passes: the first reads only frame headers and message indexes, to
 * learn the batch's writers and evolve the table schema with them; the second appends
 * each message straight into the column tree of the evolved schema (decode/tree.ts) with
 * a compiled appender per writer (registry/protobuf-append.ts), no per-record object.
 *
 * Evolution, as for Avro: each writer message (schema id + message indexes, in order of
 * first appearance) is mapped to an Iceberg struct (registry/protobuf-schema.ts) and
 * merged into the table schema by name path (schema/evolve.ts): new fields, nested ones
 * too, become optional columns with fresh IDs; int → long and float → double are
 * promoted; a change Iceberg cannot make (string → int…) dead-letters that version's
 * records with the reason while other versions of the batch land. Values of older
 * versions go into the evolved (wider) columns; fields a version lacks are null.
 * Spec: https://iceberg.apache.org/spec/#schema-evolution
 */
import {
  arrowFieldFor as arrowField,
  type IcebergType,
  type Schema,
  type StructType,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { dataOf, fieldOf, rootNode, truncate } from '../decode/tree.ts';
import { evolveSchema } from '../schema/evolve.ts';
import type { RegistryBatchInput, RegistryBatchResult, ResolvedSchema } from './formats.ts';
import { readFrame } from './frame.ts';
import { MessageAppender } from './protobuf-append.ts';
import { type ProtoSchema, parseProtoSchema, protoToIceberg } from './protobuf-schema.ts';
import { readMessageIndexes, WireReader } from './protobuf-wire.ts';

interface Writer {
  readonly struct: StructType;
  readonly schema: ProtoSchema;
  readonly name: string;
}

/** Parsed schemas by text (+ references), per worker. */
const schemas = new Map<string, ProtoSchema>();
/** What a (schema, message) maps to: its struct, or why it cannot. */
const mapped = new Map<string, Writer | { error: string }>();

function schemaKey(s: ResolvedSchema): string {
  if (s.references.length === 0) return s.schema;
  return JSON.stringify([s.schema, s.references]);
}

function writerFor(s: ResolvedSchema, indexes: readonly number[]) {
  const sk = schemaKey(s);
  let p = schemas.get(sk);
  if (p === undefined) {
    try {
      p = parseProtoSchema(s);
    } catch (e) {
      return { key: `${sk}\u0000`, value: { error: (e as Error).message } };
    }
    schemas.set(sk, p);
  }
  // Out-of-range indexes throw (DECODE_FAILED): that record's reason.
  const name = p.messageAt(indexes);
  const key = `${sk}\u0000${name}`;
  let c = mapped.get(key);
  if (c === undefined) {
    try {
      c = { struct: protoToIceberg(p, name), schema: p, name };
    } catch (e) {
      c = { error: (e as Error).message };
    }
    mapped.set(key, c);
  }
  return { key, value: c };
}

function maxId(t: IcebergType): number {
  if (typeof t === 'string') return 0;
  if (t.type === 'struct')
    return Math.max(0, ...t.fields.map((f) => Math.max(f.id, maxId(f.type))));
  if (t.type === 'list') return Math.max(t.elementId, maxId(t.element));
  return Math.max(t.keyId, t.valueId, maxId(t.key), maxId(t.value));
}

export function decodeProtobufBatch(input: RegistryBatchInput): RegistryBatchResult {
  const n = input.offsets.length - 1;
  const errors: { index: number; reason: string }[] = [];
  /** Records to decode: index, writer (ordinal in `writers`), where the message starts. */
  const pendIndex = new Int32Array(n);
  const pendWriter = new Int32Array(n);
  const pendAt = new Int32Array(n);
  let pending = 0;
  /** Writers by (schema, message) key, with the id that named them first. */
  const writers = new Map<string, Writer & { id: number; ordinal: number }>();
  /** writerFor's answers in this batch, by schema id (+ indexes unless [0]). */
  const local = new Map<number | string, ReturnType<typeof writerFor>>();
  const b = input.bytes;
  const r = new WireReader(b);
  const FIRST: readonly number[] = [0];
  // Pass 1: frames and message indexes only, to know every writer of the batch.
  for (let i = 0; i < n; i++) {
    const start = input.offsets[i] as number;
    const end = input.offsets[i + 1] as number;
    try {
      if (end - start < 5 || b[start] !== 0) readFrame(b.subarray(start, end));
      const id =
        ((b[start + 1] as number) * 0x1000000 +
          (((b[start + 2] as number) << 16) |
            ((b[start + 3] as number) << 8) |
            (b[start + 4] as number))) >>>
        0;
      const s = input.schemas[id];
      if (s === undefined) {
        errors.push({
          index: i,
          reason: input.unknown?.[id] ?? `schema id ${id} was not resolved`,
        });
        continue;
      }
      r.pos = start + 5;
      r.end = end;
      let indexes = FIRST;
      if (r.pos < end && b[r.pos] === 0) r.pos++;
      else indexes = readMessageIndexes(r);
      const lk = indexes === FIRST ? id : `${id}:${indexes.join(',')}`;
      let c = local.get(lk);
      if (c === undefined) {
        c = writerFor(s, indexes);
        local.set(lk, c);
      }
      if ('error' in c.value) {
        errors.push({ index: i, reason: `schema id ${id}: ${c.value.error}` });
        continue;
      }
      let w = writers.get(c.key);
      if (w === undefined) {
        w = { id, ordinal: writers.size, ...c.value };
        writers.set(c.key, w);
      }
      pendIndex[pending] = i;
      pendWriter[pending] = w.ordinal;
      pendAt[pending] = r.pos;
      pending++;
    } catch (e) {
      errors.push({ index: i, reason: (e as Error).message });
    }
  }
  // Evolve with each writer, in order of first appearance.
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
  // Pass 2: each message straight into the columns of the evolved schema.
  const root = rootNode(schema);
  /** By writer ordinal: its appender, or why its records are refused. */
  const appenders: (MessageAppender | string)[] = [];
  for (const [key, w] of writers) {
    const why = refused.get(key);
    appenders[w.ordinal] = why ?? new MessageAppender(w.schema.root.lookupType(w.name), root);
  }
  let rows = 0;
  for (let k = 0; k < pending; k++) {
    const index = pendIndex[k] as number;
    const a = appenders[pendWriter[k] as number] as MessageAppender | string;
    if (typeof a === 'string') {
      errors.push({ index, reason: a });
      continue;
    }
    r.pos = pendAt[k] as number;
    r.end = input.offsets[index + 1] as number;
    try {
      a.append(r, r.end);
      rows++;
    } catch (e) {
      truncate(root, rows);
      errors.push({ index, reason: (e as Error).message });
    }
  }
  errors.sort((a, b) => a.index - b.index);
  const fields = root.children.map(fieldOf);
  const arrowFields = fields.map(arrowField);
  const data = arrow.makeData({
    type: new arrow.Struct(arrowFields),
    length: rows,
    nullCount: 0,
    children: root.children.map((c, k) => dataOf(c, arrowFields[k]?.type)),
  });
  const batch = new arrow.RecordBatch(new arrow.Schema(arrowFields), data);
  const ipc = arrow.tableToIPC(new arrow.Table([batch]), 'stream');
  return { ipc, rows, errors, schema, changed };
}
