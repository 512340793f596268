/**
 * The batch decoder of every Schema Registry format, format-agnostic: Confluent-framed
 * values → one Arrow RecordBatch (IPC stream bytes), the registry counterpart of
 * decode/json-decoder.ts, run in the worker pool. Record i is bytes[offsets[i], offsets[i+1]).
 *
 * Per batch:
 * 1. frame → schema id (frame.ts); a bad frame or an id the coordinator could not resolve
 *    (`unknown`, e.g. the registry's 404) is a per-record error with the reason. A format
 *    whose payload first says which type of the schema wrote it (Protobuf's message
 *    indexes) reads that choice here (`readVariant`): the writer is then the schema id and
 *    that variant, and a choice that cannot be read is the record's error;
 * 2. each writer of the batch (schema id, variant), in order of first appearance, is mapped to an Iceberg
 *    struct by the format (`toIceberg`) and merged into the table's value schema by name
 *    path (schema/evolve.ts: new fields optional with provisional IDs above the highest one,
 *    int → long, float → double, decimal widening); a schema the table cannot take (or one
 *    with a field named like a metadata column) refuses its records with the reason, other
 *    versions of the batch still decode;
 * 3. the decoder's column tree (decode/tree.ts) is built for the evolved schema, and each
 *    writer's appender (`compileAppender`, compiled once per schema text, variant and table
 *    shape per worker) writes its records' payloads straight into it; fields a version
 *    lacks are null. A record that fails (corrupt, truncated, a required field missing) is
 *    rolled back (the tree truncated to the rows kept) and reported;
 * 4. Kafka metadata and key columns (decode/record-meta.ts) are appended per accepted
 *    record, as for JSON.
 *
 * A format plugs in with a RegistryCodec. Spec: https://iceberg.apache.org/spec/#schema-evolution
 */
import { maxFieldId, type Schema, type StructType } from '@kice/iceberg';
import type { AppendContext } from '../decode/append.ts';
import { DEFAULT_MAX_NESTING_DEPTH, rollback } from '../decode/json-decoder.ts';
import { MetaColumns, metaNames, valueSchema } from '../decode/record-meta.ts';
import { columnsToIpc, rootNode, type StructNode, truncate } from '../decode/tree.ts';
import { evolveSchema } from '../schema/evolve.ts';
import type { RegistryBatchInput, RegistryBatchResult, ResolvedSchema } from './formats.ts';
import { FRAME_HEADER_BYTES, readFrame } from './frame.ts';

/** Appends one record's payload bytes[start, end) as a row; throws with the reason. */
export type RecordAppender = (bytes: Uint8Array, start: number, end: number) => void;

/** A compiled appender of one writer schema, bound to each batch's tree. */
export interface CompiledAppender {
  bind(root: StructNode): RecordAppender;
}

/** Where readVariant leaves the variant it read. */
export interface VariantOut {
  variant: string;
}

/** What a registry format supplies. `variant` is '' for formats without readVariant. */
export interface RegistryCodec {
  /** Names the format in caches. */
  readonly name: string;
  /** Optional, for formats whose payload starts with the choice of the writer type within
   * the schema (Protobuf's message indexes): reads it from bytes[start, end), leaves a key
   * naming it in `out.variant` (the same string for the same choice) and returns where the
   * type's own encoding starts. Throws with the record's reason. */
  readonly readVariant?: (bytes: Uint8Array, start: number, end: number, out: VariantOut) => number;
  /** The writer (schema and variant) as an Iceberg struct (provisional IDs); throws
   * SCHEMA_INCOMPATIBLE (or DECODE_FAILED for a variant the schema does not have). */
  toIceberg(schema: ResolvedSchema, variant: string): StructType;
  /** The appender of the writer into a tree of `table` (which holds every field toIceberg
   * gave, evolved); throws SCHEMA_INCOMPATIBLE when a type cannot go in. */
  compileAppender(schema: ResolvedSchema, table: StructType, variant: string): CompiledAppender;
}

interface Writer {
  readonly id: number;
  readonly variant: string;
  readonly key: string;
}

/** Per worker: mapped structs by format and schema text, compiled appenders also by table. */
const structs = new Map<string, StructType | Error>();
const appenders = new Map<string, CompiledAppender | Error>();
const MAX_CACHED = 512;

function cached<T>(cache: Map<string, T | Error>, key: string, make: () => T): T {
  let v = cache.get(key);
  if (v === undefined) {
    try {
      v = make();
    } catch (e) {
      v = e as Error;
    }
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, v);
  }
  if (v instanceof Error) throw v;
  return v;
}

function schemaKey(codec: RegistryCodec, s: ResolvedSchema): string {
  return s.references.length === 0
    ? `${codec.name}\u0000${s.schema}`
    : `${codec.name}\u0000${JSON.stringify(s)}`;
}

/** Decodes a batch of `codec`'s framed values (see the header). */
export function decodeRegistryFrames(
  codec: RegistryCodec,
  input: RegistryBatchInput,
): RegistryBatchResult {
  const { bytes, offsets } = input;
  const n = Math.max(0, offsets.length - 1);
  const errors: { index: number; reason: string }[] = [];
  const spec = input.metadata?.spec;
  const metaCols = new Set(metaNames(spec));

  // 1. Frames → writers (-1: the record already has its error), and where payloads start.
  const writerOf = new Int32Array(n);
  const payloadAt = new Int32Array(n);
  const writers: Writer[] = [];
  const byId = new Map<number, Map<string, number>>();
  const readVariant = codec.readVariant;
  const out: VariantOut = { variant: '' };
  let lastId = -1;
  let lastVariant = '';
  let lastWriter = -1;
  for (let i = 0; i < n; i++) {
    const s = offsets[i] as number;
    const e = offsets[i + 1] as number;
    if (e - s < FRAME_HEADER_BYTES || bytes[s] !== 0) {
      try {
        readFrame(bytes.subarray(s, e));
      } catch (err) {
        errors.push({ index: i, reason: (err as Error).message });
      }
      writerOf[i] = -1;
      continue;
    }
    const id =
      ((bytes[s + 1] as number) * 0x1000000 +
        (((bytes[s + 2] as number) << 16) |
          ((bytes[s + 3] as number) << 8) |
          (bytes[s + 4] as number))) >>>
      0;
    if (input.schemas[id] === undefined) {
      errors.push({
        index: i,
        reason: input.unknown?.[id] ?? `schema id ${id} was not resolved`,
      });
      writerOf[i] = -1;
      continue;
    }
    let at = s + FRAME_HEADER_BYTES;
    out.variant = '';
    if (readVariant !== undefined) {
      try {
        at = readVariant(bytes, at, e, out);
      } catch (err) {
        errors.push({ index: i, reason: (err as Error).message });
        writerOf[i] = -1;
        continue;
      }
    }
    payloadAt[i] = at;
    if (id !== lastId || out.variant !== lastVariant) {
      let variants = byId.get(id);
      if (variants === undefined) {
        variants = new Map();
        byId.set(id, variants);
      }
      let w = variants.get(out.variant);
      if (w === undefined) {
        w = writers.length;
        variants.set(out.variant, w);
        const resolved = input.schemas[id] as ResolvedSchema;
        const key = `${schemaKey(codec, resolved)}\u0000${out.variant}`;
        writers.push({ id, variant: out.variant, key });
      }
      lastId = id;
      lastVariant = out.variant;
      lastWriter = w;
    }
    writerOf[i] = lastWriter;
  }

  // 2. Evolution of the value schema with each writer.
  let value = valueSchema(input.schema, spec);
  let last = maxFieldId(input.schema);
  const refused = new Map<number, string>();
  for (let w = 0; w < writers.length; w++) {
    const { id, variant, key } = writers[w] as Writer;
    const resolved = input.schemas[id] as ResolvedSchema;
    try {
      const observed = cached(structs, key, () => codec.toIceberg(resolved, variant));
      const clash = observed.fields.find((f) => metaCols.has(f.name));
      if (clash !== undefined) {
        const which =
          clash.name === spec?.kafka
            ? 'metadata column (metadata.column)'
            : 'key column (key.column)';
        throw new Error(`field "${clash.name}": the value has a field named like the ${which}`);
      }
      const e = evolveSchema({ ...value, schemaId: 0 } as Schema, observed, last);
      if (e.changed) {
        value = { type: 'struct', fields: e.schema.fields };
        last = e.lastColumnId;
      }
    } catch (err) {
      refused.set(w, `schema id ${id}: ${(err as Error).message}`);
    }
  }

  // 3. The tree for the evolved schema, and each writer schema's appender bound to it.
  const root = rootNode(value);
  const tableKey = JSON.stringify(value);
  const bound: (RecordAppender | undefined)[] = [];
  for (let w = 0; w < writers.length; w++) {
    if (refused.has(w)) continue;
    const { id, variant, key } = writers[w] as Writer;
    const resolved = input.schemas[id] as ResolvedSchema;
    try {
      const c = cached(appenders, `${key}\u0000${tableKey}`, () =>
        codec.compileAppender(resolved, value, variant),
      );
      bound[w] = c.bind(root);
    } catch (err) {
      refused.set(w, `schema id ${id}: ${(err as Error).message}`);
    }
  }

  const cx: AppendContext = {
    ids: { next: last + 1 },
    relaxed: (fieldId) => fieldId > last,
    hints: undefined,
    undo: [],
    stamp: 0,
  };
  const meta =
    input.metadata && spec
      ? new MetaColumns(spec, input.schema, input.metadata.records, cx, DEFAULT_MAX_NESTING_DEPTH)
      : undefined;

  // 4. Records.
  let rows = 0;
  for (let i = 0; i < n; i++) {
    const w = writerOf[i] as number;
    if (w < 0) continue;
    const append = bound[w];
    if (append === undefined) {
      errors.push({ index: i, reason: refused.get(w) as string });
      continue;
    }
    try {
      append(bytes, payloadAt[i] as number, offsets[i + 1] as number);
    } catch (err) {
      truncate(root, rows);
      errors.push({ index: i, reason: (err as Error).message });
      continue;
    }
    if (meta !== undefined) {
      const mark = cx.ids.next;
      cx.undo.length = 0;
      const reason = meta.append(i, cx);
      if (reason !== undefined) {
        rollback(cx);
        truncate(root, rows);
        meta.truncate(rows);
        cx.ids.next = mark;
        errors.push({ index: i, reason });
        continue;
      }
    }
    rows++;
  }
  errors.sort((a, b) => a.index - b.index);

  const children = meta ? meta.children(root.children, input.schema, rows) : root.children;
  const { ipc, fields } = columnsToIpc(children, rows);
  const schema: StructType = { type: 'struct', fields };
  const changed = JSON.stringify(fields) !== JSON.stringify(input.schema.fields);
  return { ipc, rows, errors, schema, changed };
}
