/**
 * Record keys in Schema Registry formats (`key.format: avro | json-schema`): how one key
 * schema maps to the key column and how a key's payload is appended to it, reusing the value
 * formats' mappings and appenders rather than decoders of their own.
 *
 * A key schema is mapped as the type of one field named `key.column`: a record (Avro) or an
 * object with properties (JSON Schema) becomes a struct column, any other schema (`"string"`,
 * `"long"`, `{"type": "integer"}`…) a column of that type. The mapping is the value format's
 * (avro-schema.ts, json-schema.ts) applied to a wrapper schema with that one field, so field
 * IDs, evolution (schema/evolve.ts by name path) and every type rule are the values'.
 *
 * Appending: Avro keys go through the compiled appender of the wrapper (avro-appender.ts),
 * straight from the binary encoding into the key column's nodes; JSON Schema keys are parsed
 * like JSON values and appended with the declared types (decode/append.ts, as
 * json-schema-batch.ts does for values). A new format plugs in with one more KeyCodec.
 *
 * Wire format: https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
import { isUtf8 } from 'node:buffer';
import type { StructType } from '@kice/iceberg';
import type { AppendContext } from '../decode/append.ts';
import { appendObject } from '../decode/append.ts';
import { loneSurrogate, Malformed, parseErrorOf, parseExact, preScan } from '../decode/exact.ts';
import { declare } from '../decode/json-decoder.ts';
import type { StructNode } from '../decode/tree.ts';
import { KiceError } from '../errors.ts';
import { compileAvroAppender } from './avro-appender.ts';
import { avroToIceberg, parseAvroSchema } from './avro-schema.ts';
import type { CompiledAppender } from './batch-driver.ts';
import type { RegistryKeyFormat, ResolvedSchema } from './formats.ts';
import { jsonSchemaToIceberg } from './json-schema.ts';

/** Appends one key payload bytes[start, end) as a row of the key root; throws the reason. */
export type KeyAppender = (bytes: Uint8Array, start: number, end: number) => void;

/** A key schema mapped for the key column (a struct with the one field `column`). */
export interface MappedKey {
  readonly struct: StructType;
  /** Binds the schema's appender to the key root, whose struct is `table` (evolved). */
  appender(table: StructType, root: StructNode, cx: AppendContext, maxDepth: number): KeyAppender;
}

/** What a registry key format supplies. */
export type KeyCodec = (schema: ResolvedSchema, column: string) => MappedKey;

/** The Avro wrapper: a record with one field, `column`, of the key's schema. */
const avroKey: KeyCodec = (s, column) => {
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
const jsonSchemaKey: KeyCodec = (s, column) => {
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

const codecs: Record<RegistryKeyFormat, KeyCodec> = {
  avro: avroKey,
  'json-schema': jsonSchemaKey,
};

/** Per worker: mapped key schemas by format, column and schema (or why they fail). */
const mapped = new Map<string, MappedKey | Error>();

/** The key schema `s` of `format` mapped for `column`; throws SCHEMA_INCOMPATIBLE. */
export function mapKeySchema(
  format: RegistryKeyFormat,
  s: ResolvedSchema,
  column: string,
): MappedKey {
  const key = `${format}\u0000${column}\u0000${JSON.stringify(s)}`;
  let m = mapped.get(key);
  if (m === undefined) {
    try {
      m = codecs[format](s, column);
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
