/**
 * Record keys in Schema Registry formats (`key.format: avro | json-schema | protobuf`): how
 * one key schema maps to the key column and how a key's payload is appended to it, reusing
 * the value formats' mappings and appenders rather than decoders of their own.
 *
 * A key schema is mapped as the type of one field named `key.column`: a record (Avro), an
 * object with properties (JSON Schema) or a message (Protobuf) becomes a struct column, any
 * other schema (`"string"`, `"long"`, `{"type": "integer"}`…) a column of that type. The
 * mapping is the value format's (avro-schema.ts, json-schema.ts, protobuf-schema.ts) applied
 * to a wrapper with that one field, so field IDs, evolution (schema/evolve.ts by name path)
 * and every type rule are the values'.
 *
 * Protobuf keys, like Protobuf values, start with message indexes that choose the message
 * of the schema file (protobuf-wire.ts): the codec's `readVariant` reads them, and the key
 * writer is the schema id and that choice (an index the file does not have refuses the
 * keys with the reason).
 *
 * Appending: Avro keys go through the compiled appender of the wrapper (avro-appender.ts),
 * straight from the binary encoding into the key column's nodes; JSON Schema keys are parsed
 * like JSON values and appended with the declared types (decode/append.ts, as
 * json-schema-batch.ts does for values); Protobuf keys are read by the values' message
 * appender (protobuf-append.ts) into the key column's struct. A new format plugs in with
 * one more KeyCodec.
 *
 * Wire format: https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
import { isUtf8 } from 'node:buffer';
import { maxFieldId, type StructType } from '@kice/iceberg';
import type { AppendContext } from '../decode/append.ts';
import { appendObject } from '../decode/append.ts';
import { loneSurrogate, Malformed, parseErrorOf, parseExact, preScan } from '../decode/exact.ts';
import { declare } from '../decode/json-decoder.ts';
import type { StructNode } from '../decode/tree.ts';
import { KiceError } from '../errors.ts';
import { compileAvroAppender } from './avro-appender.ts';
import { avroToIceberg, parseAvroSchema } from './avro-schema.ts';
import type { CompiledAppender, VariantOut } from './batch-driver.ts';
import type { RegistryKeyFormat, ResolvedSchema } from './formats.ts';
import { jsonSchemaToIceberg } from './json-schema.ts';
import { MessageAppender } from './protobuf-append.ts';
import { protoToIceberg } from './protobuf-schema.ts';
import { WireReader } from './protobuf-wire.ts';
import { indexesOf, parsedProtoSchema, readIndexes } from './protobuf-writers.ts';

/** Appends one key payload bytes[start, end) as a row of the key root; throws the reason. */
export type KeyAppender = (bytes: Uint8Array, start: number, end: number) => void;

/** A key schema mapped for the key column (a struct with the one field `column`). */
export interface MappedKey {
  readonly struct: StructType;
  /** Binds the schema's appender to the key root, whose struct is `table` (evolved). */
  appender(table: StructType, root: StructNode, cx: AppendContext, maxDepth: number): KeyAppender;
}

/** What a registry key format supplies: the mapping of a key writer (schema and variant,
 * '' for formats without `readVariant`), and, for formats whose payload first names the
 * writer type within the schema, the reader of that choice (batch-driver.ts RegistryCodec). */
export interface KeyCodec {
  readonly map: (schema: ResolvedSchema, column: string, variant: string) => MappedKey;
  readonly readVariant?: (bytes: Uint8Array, start: number, end: number, out: VariantOut) => number;
}

/** The Avro wrapper: a record with one field, `column`, of the key's schema. */
const avroKey = (s: ResolvedSchema, column: string): MappedKey => {
  const wrapper = {
    type: 'record',
    name: 'kice_record_key',
    fields: [{ name: column, type: parseAvroSchema(s.schema) }],
  };
  const struct = avroToIceberg(wrapper);
  // Compiled once per key column type (a batch's evolved key struct), bound per batch.
  const compiled = new Map<string, CompiledAppender>();
  return {
    struct,
    appender(table, root) {
      const k = JSON.stringify(table);
      let c = compiled.get(k);
      if (c === undefined) {
        c = compileAvroAppender(wrapper, table);
        if (compiled.size >= 16) compiled.clear();
        compiled.set(k, c);
      }
      return c.bind(root);
    },
  };
};

/** The JSON Schema wrapper: an object whose one property refers to the key's schema, given
 * as a reference document (so its own `#/…` pointers still resolve inside it). */
const KEY_DOC = 'kice:record-key';
const jsonSchemaKey = (s: ResolvedSchema, column: string): MappedKey => {
  const wrapper: ResolvedSchema = {
    schema: JSON.stringify({ type: 'object', properties: { [column]: { $ref: `${KEY_DOC}#` } } }),
    references: [...s.references, { name: KEY_DOC, schema: s.schema }],
  };
  const m = jsonSchemaToIceberg(wrapper);
  return {
    struct: m.struct,
    appender(_table, root, cx, maxDepth) {
      for (const c of root.children) declare(c, new Set(m.unionPaths));
      const keyCx: AppendContext = {
        ids: cx.ids,
        relaxed: () => false,
        hints: Object.fromEntries(m.anyPaths.map((p) => [p, 'string' as const])),
        undo: cx.undo,
        stamp: 0,
        declared: true,
        ...(cx.columns ? { columns: cx.columns } : {}),
      };
      return (bytes, start, end) => {
        const value = parseJson(bytes.subarray(start, end), maxDepth);
        const err = appendObject(root, { [column]: value }, keyCx);
        if (err !== undefined) throw new KiceError('DECODE_FAILED', err);
      };
    },
  };
};

/** The Protobuf wrapper: a struct with one field, `column`, the message at the key's
 * indexes; its appender reads the message into that field's struct node. */
const protobufKey = (s: ResolvedSchema, column: string, variant: string): MappedKey => {
  const p = parsedProtoSchema(s);
  const name = p.messageAt(indexesOf(variant));
  const message = protoToIceberg(p, name);
  const struct: StructType = {
    type: 'struct',
    fields: [{ id: maxFieldId(message) + 1, name: column, required: false, type: message }],
  };
  const type = p.root.lookupType(name);
  return {
    struct,
    appender(_table, root) {
      const a = new MessageAppender(type, root.byName.get(column) as StructNode);
      let r: WireReader | undefined;
      return (bytes, start, end) => {
        if (r?.buf !== bytes) r = new WireReader(bytes);
        r.pos = start;
        r.end = end;
        a.append(r, end);
        root.col.append(true);
      };
    },
  };
};

const codecs: Record<RegistryKeyFormat, KeyCodec> = {
  avro: { map: avroKey },
  'json-schema': { map: jsonSchemaKey },
  protobuf: { map: protobufKey, readVariant: readIndexes },
};

/** The reader of `format`'s writer choice at the start of a key payload, if it has one. */
export function keyVariantReader(format: RegistryKeyFormat): KeyCodec['readVariant'] {
  return codecs[format].readVariant;
}

/** Per worker: mapped key schemas by format, column, schema and variant (or why they fail). */
const mapped = new Map<string, MappedKey | Error>();

/** The key writer (`s`, `variant`) of `format` mapped for `column`; throws
 * SCHEMA_INCOMPATIBLE (DECODE_FAILED for a variant the schema does not have). */
export function mapKeySchema(
  format: RegistryKeyFormat,
  s: ResolvedSchema,
  column: string,
  variant = '',
): MappedKey {
  const key = `${format}\u0000${column}\u0000${variant}\u0000${JSON.stringify(s)}`;
  let m = mapped.get(key);
  if (m === undefined) {
    try {
      m = codecs[format].map(s, column, variant);
    } catch (e) {
      m = e as Error;
    }
    if (mapped.size >= 512) mapped.clear();
    mapped.set(key, m);
  }
  if (m instanceof Error) throw m;
  return m;
}

/** A JSON key payload parsed exactly like a value (exact numbers, BOM); throws the reason. */
function parseJson(b: Uint8Array, maxDepth: number): unknown {
  const fail = (why: string): never => {
    throw new KiceError('DECODE_FAILED', why);
  };
  if (b.byteLength === 0) fail('empty JSON payload');
  const pre = preScan(b, 0, b.byteLength, maxDepth);
  if (pre.tooDeep) fail(`nested deeper than limits.maxNestingDepth (${maxDepth})`);
  if (!isUtf8(b)) fail('not valid UTF-8');
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', pre.bom ? 3 : 0);
  let value: unknown;
  try {
    value = pre.exactNumbers ? parseExact(text) : JSON.parse(text);
  } catch (e) {
    const message = e instanceof Malformed ? parseErrorOf(text, e.message) : (e as Error).message;
    fail(`invalid JSON: ${message}`);
  }
  if (pre.surrogateEscapes && loneSurrogate(value) !== undefined)
    fail('a string has a lone surrogate escape, which UTF-8 cannot store');
  return value;
}
