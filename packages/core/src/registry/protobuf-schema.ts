/**
 * Protobuf schemas as a Schema Registry returns them → protobufjs reflection, the message
 * a record names by its message indexes, and that message's Iceberg struct.
 *
 * Schema text comes in two forms: `.proto` source (Confluent's registry) or a base64
 * FileDescriptorProto (what Confluent's serializers register, kept as is by Apicurio).
 * Imports resolve against the schema's `references` (name → schema text, resolved
 * recursively on the coordinator, registry/resolve.ts); imports of Google's well-known
 * types (google/protobuf/timestamp.proto, wrappers, struct, any, duration, empty,
 * field_mask) resolve from protobufjs's bundled definitions when no reference names them.
 * Parsing is protobufjs's (https://github.com/protobufjs/protobuf.js).
 *
 * Message indexes (Confluent wire format) select a message: the first index into the
 * file's top-level messages, each further one into the previous message's nested
 * messages. With a descriptor the nested list is the descriptor's (map entries count,
 * as in the serializers); with `.proto` text it is the declared nested messages.
 *
 * Mapping (https://iceberg.apache.org/spec/#schemas-and-data-types), docs/config.md:
 * - message → struct, fields in declaration order, named as declared (no camelCase);
 * - repeated T → list<T> (elements required); map<K, V> → map<K, V> (K: string, int,
 *   long, boolean by the key's type below; values required unless they are messages);
 * - oneof → its members as ordinary optional fields of the enclosing struct (the member
 *   that is set has a value, the others null), as in Protobuf's JSON mapping;
 * - int32, sint32, sfixed32 → int; uint32, fixed32 → long; int64, sint64, sfixed64 →
 *   long; uint64, fixed64 → long (a value above 2^63−1 dead-letters its record);
 *   float → float; double → double; bool → boolean; string → string; bytes → binary;
 *   enum → string (the value's name; a number the enum does not name → its decimal text);
 * - google.protobuf.Timestamp → timestamptz (µs, nanoseconds truncated);
 *   Duration → long (µs, truncated toward zero); wrappers (Int64Value, StringValue…) →
 *   their optional scalar (by the rules above; absent → null); Struct, Value, ListValue →
 *   string holding the value's Protobuf JSON; Any → string holding
 *   {"@type": url, "value": base64 bytes};
 * - refused, naming the path: recursive messages, messages without fields (Empty too:
 *   Iceberg cannot store an empty struct), proto2 groups, float/double/bytes map keys.
 * Every field is optional in the Iceberg struct (a later version may drop it).
 *
 * Field IDs here are provisional (1, 2, …, a struct's fields before their children): the table's
 * IDs come from schema/evolve.ts by name path, so a field keeps its ID across versions.
 */
import type { IcebergType, NestedField, StructType } from '@kice/iceberg';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { KiceError } from '../errors.ts';
import type { ResolvedSchema } from './formats.ts';

type Type = protobuf.Type;
type Field = protobuf.Field;

interface FileProto {
  name?: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageProto[];
}
interface MessageProto {
  name?: string;
  nestedType?: MessageProto[];
}

const FileDescriptorProto = (
  descriptor as unknown as {
    FileDescriptorProto: { decode(b: Uint8Array): FileProto };
  }
).FileDescriptorProto;

const common = (
  protobuf as unknown as { common: { get(file: string): { nested: unknown } | null } }
).common;

function fail(path: string, message: string): never {
  throw new KiceError(
    'SCHEMA_INCOMPATIBLE',
    `protobuf schema${path ? ` at "${path}"` : ''}: ${message}`,
    { context: { path } },
  );
}

/** A parsed schema: its root and how to find a message by indexes. */
export interface ProtoSchema {
  readonly root: protobuf.Root;
  /** The full name (no leading dot) of the message at `indexes`; throws DECODE_FAILED. */
  messageAt(indexes: readonly number[]): string;
}

const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

function decodeDescriptor(text: string, what: string): FileProto | undefined {
  if (!BASE64.test(text)) return undefined;
  try {
    return FileDescriptorProto.decode(Buffer.from(text, 'base64'));
  } catch (e) {
    return fail(
      '',
      `${what} is neither .proto text nor a FileDescriptorProto: ${(e as Error).message}`,
    );
  }
}

function outOfRange(indexes: readonly number[], k: number, count: number, where: string): never {
  throw new KiceError(
    'DECODE_FAILED',
    `message indexes [${indexes.join(', ')}]: index ${indexes[k]} is out of range, ${where} has ${count} message${count === 1 ? '' : 's'}`,
  );
}

function fromDescriptors(main: FileProto, refs: readonly ResolvedSchema['references'][number][]) {
  const files: FileProto[] = [main];
  const have = new Set<string>([main.name ?? '']);
  const imports = new Set(main.dependency ?? []);
  for (const r of refs) {
    const fd = decodeDescriptor(r.schema, `reference "${r.name}"`);
    if (fd === undefined)
      fail('', `reference "${r.name}" is .proto text but the schema is a descriptor`);
    files.push({ ...fd, name: r.name });
    have.add(r.name);
    for (const d of fd.dependency ?? []) imports.add(d);
  }
  for (const d of imports) {
    if (have.has(d)) continue;
    const c = common.get(d);
    if (c === null) fail('', `import "${d}" is neither a reference nor a well-known type`);
    const set = (
      protobuf.Root.fromJSON(c as protobuf.INamespace) as unknown as {
        toDescriptor(e: string): { file: FileProto[] };
      }
    ).toDescriptor('proto3');
    for (const f of set.file) files.push({ ...f, name: d });
    have.add(d);
  }
  let root: protobuf.Root;
  try {
    root = (
      protobuf.Root as unknown as {
        fromDescriptor(d: unknown, o: { keepCase: boolean }): protobuf.Root;
      }
    ).fromDescriptor({ file: files }, { keepCase: true });
  } catch (e) {
    return fail('', (e as Error).message);
  }
  const pkg = main.package ? `${main.package}.` : '';
  return {
    root,
    messageAt(indexes: readonly number[]): string {
      let list = main.messageType ?? [];
      let name = pkg.slice(0, -1);
      for (let k = 0; k < indexes.length; k++) {
        const m = list[indexes[k] as number];
        if (m === undefined) outOfRange(indexes, k, list.length, k === 0 ? 'the file' : name);
        name = name ? `${name}.${m.name}` : (m.name as string);
        list = m.nestedType ?? [];
      }
      return name;
    },
  };
}

function fromText(main: string, refs: readonly ResolvedSchema['references'][number][]) {
  const root = new protobuf.Root();
  const opts = { keepCase: true, alternateCommentMode: true };
  let mainTypes: protobuf.ReflectionObject[];
  const imports: string[] = [];
  try {
    const p = protobuf.parse(main, root, opts);
    imports.push(...(p.imports ?? []), ...(p.weakImports ?? []));
    const ns = p.package ? root.lookup(p.package) : root;
    mainTypes = ns instanceof protobuf.Namespace ? [...ns.nestedArray] : [];
    const have = new Set<string>();
    for (const r of refs) {
      if (BASE64.test(r.schema))
        fail('', `reference "${r.name}" is a descriptor but the schema is .proto text`);
      const q = protobuf.parse(r.schema, root, opts);
      imports.push(...(q.imports ?? []), ...(q.weakImports ?? []));
      have.add(r.name);
    }
    for (const d of imports) {
      if (have.has(d)) continue;
      const c = common.get(d);
      if (c === null) fail('', `import "${d}" is neither a reference nor a well-known type`);
      root.addJSON((c.nested ?? {}) as Record<string, protobuf.AnyNestedObject>);
      have.add(d);
    }
    root.resolveAll();
  } catch (e) {
    if (e instanceof KiceError) throw e;
    return fail('', (e as Error).message);
  }
  // Top-level messages of the main file: types of its package declared there (a
  // reference of the same package adds its own after them).
  const top = mainTypes.filter((t): t is Type => t instanceof protobuf.Type);
  return {
    root,
    messageAt(indexes: readonly number[]): string {
      let list = top;
      let t: Type | undefined;
      for (let k = 0; k < indexes.length; k++) {
        t = list[indexes[k] as number];
        if (t === undefined)
          outOfRange(
            indexes,
            k,
            list.length,
            k === 0 ? 'the file' : (list[0]?.parent?.fullName ?? '').slice(1),
          );
        list = t.nestedArray.filter((n): n is Type => n instanceof protobuf.Type);
      }
      return (t as Type).fullName.slice(1);
    },
  };
}

/** Parses a resolved schema (either form, see the header). Throws SCHEMA_INCOMPATIBLE. */
export function parseProtoSchema(s: ResolvedSchema): ProtoSchema {
  const fd = decodeDescriptor(s.schema, 'the schema');
  return fd !== undefined ? fromDescriptors(fd, s.references) : fromText(s.schema, s.references);
}

/** The well-known types with a mapping of their own (header), by full name. */
export const WELL_KNOWN: Record<string, IcebergType> = {
  'google.protobuf.Timestamp': 'timestamptz',
  'google.protobuf.Duration': 'long',
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'long',
  'google.protobuf.UInt64Value': 'long',
  'google.protobuf.Int32Value': 'int',
  'google.protobuf.UInt32Value': 'long',
  'google.protobuf.BoolValue': 'boolean',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'binary',
  'google.protobuf.Struct': 'string',
  'google.protobuf.Value': 'string',
  'google.protobuf.ListValue': 'string',
  'google.protobuf.Any': 'string',
};

export const SCALARS: Record<string, IcebergType> = {
  int32: 'int',
  sint32: 'int',
  sfixed32: 'int',
  uint32: 'long',
  fixed32: 'long',
  int64: 'long',
  sint64: 'long',
  sfixed64: 'long',
  uint64: 'long',
  fixed64: 'long',
  float: 'float',
  double: 'double',
  bool: 'boolean',
  string: 'string',
  bytes: 'binary',
};

/** The message type's full name without the leading dot. */
export function typeName(t: protobuf.ReflectionObject): string {
  return t.fullName.slice(1);
}

interface Ctx {
  next: number;
  open: Set<string>;
}

function isGroup(f: Field): boolean {
  return (
    (f as unknown as { delimited?: boolean }).delimited === true ||
    (f.resolvedType as { group?: boolean } | null)?.group === true
  );
}

/** The Iceberg type of one value of field `f` (not of its repetition). */
function valueType(f: Field, path: string, ctx: Ctx): IcebergType {
  const rt = f.resolvedType;
  if (rt === null) {
    const s = SCALARS[f.type];
    if (s === undefined) fail(path, `unknown type "${f.type}"`);
    return s;
  }
  if (rt instanceof protobuf.Enum) return 'string';
  if (isGroup(f)) fail(path, 'groups are not supported');
  return messageType(rt as Type, path, ctx);
}

function messageType(t: Type, path: string, ctx: Ctx): IcebergType {
  const name = typeName(t);
  const wk = WELL_KNOWN[name];
  if (wk !== undefined) return wk;
  if (name === 'google.protobuf.Empty')
    fail(path, 'google.protobuf.Empty has no fields (Iceberg cannot store an empty struct)');
  if (ctx.open.has(name))
    fail(path, `recursive message "${name}" (Iceberg has no recursive types)`);
  ctx.open.add(name);
  const struct = structOf(t, path, ctx);
  ctx.open.delete(name);
  return struct;
}

function structOf(t: Type, path: string, ctx: Ctx): StructType {
  const fields = t.fieldsArray;
  if (fields.length === 0 && path !== '')
    fail(path, `message "${typeName(t)}" has no fields (Iceberg cannot store an empty struct)`);
  const ids = fields.map(() => ctx.next++);
  const out: NestedField[] = fields.map((f, i) => {
    const p = path ? `${path}.${f.name}` : f.name;
    let type: IcebergType;
    if (f.map) {
      const keyType = SCALARS[(f as unknown as protobuf.MapField).keyType];
      if (
        keyType === undefined ||
        keyType === 'float' ||
        keyType === 'double' ||
        keyType === 'binary'
      )
        fail(p, `map key type "${(f as unknown as protobuf.MapField).keyType}"`);
      const keyId = ctx.next++;
      const valueId = ctx.next++;
      const v = valueType(f, `${p}.value`, ctx);
      type = {
        type: 'map',
        keyId,
        key: keyType,
        valueId,
        value: v,
        valueRequired: !(f.resolvedType instanceof protobuf.Type),
      };
    } else if (f.repeated) {
      const elementId = ctx.next++;
      type = {
        type: 'list',
        elementId,
        element: valueType(f, `${p}[]`, ctx),
        elementRequired: true,
      };
    } else {
      type = valueType(f, p, ctx);
    }
    return { id: ids[i] as number, name: f.name, required: false, type };
  });
  return { type: 'struct', fields: out };
}

/** The Iceberg struct of message `name` (provisional IDs from 1; see the header). */
export function protoToIceberg(schema: ProtoSchema, name: string): StructType {
  const t = schema.root.lookupType(name);
  if (t.fieldsArray.length === 0) fail('', `message "${name}" has no fields`);
  const ctx: Ctx = { next: 1, open: new Set([name]) };
  return structOf(t, '', ctx);
}
