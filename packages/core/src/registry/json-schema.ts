/**
 * JSON Schema (as a Schema Registry returns it, schemaType JSON) → an Iceberg struct, plus
 * what the JSON decoder needs to hold values to it: the paths of columns that keep any
 * JSON value as its text, and the paths of union structs.
 *
 * JSON Schema: https://json-schema.org/draft/2020-12/json-schema-core (drafts 4–2020-12:
 * `definitions` / `$defs`, `$ref`, `type` lists, `anyOf` / `oneOf`), formats:
 * https://json-schema.org/draft/2020-12/json-schema-validation#name-defined-formats.
 * Iceberg types: https://iceberg.apache.org/spec/#schemas-and-data-types
 *
 * Mapping (the top-level schema must be an object with `properties`; they become the
 * table's columns):
 * - object with properties → struct (properties in order); object with an
 *   `additionalProperties` schema and no properties → map<string, V>; any other object
 *   (no properties, additionalProperties true/absent) → a JSON-text string column.
 * - array with an `items` schema → list; string → string, or by `format`: date-time →
 *   timestamptz, date → date, time → time, uuid → uuid; `contentEncoding: base64` → binary;
 *   integer → long; number → double; boolean → boolean; enum / const of strings → string
 *   (other enums: their JSON kind, mixed kinds: JSON text).
 * - `{}`, `true`, no `type` → a string column holding the value's JSON text.
 * - `["T", "null"]`, and anyOf / oneOf with a `{"type": "null"}` branch → T, optional.
 *   Other unions (a type list, anyOf / oneOf) whose branches are of different JSON types →
 *   a struct with one optional member per branch, named by its JSON type (`string`,
 *   `integer`, `number`, `boolean`, `object`, `array`); the decoder fills the member of the
 *   value's type (an integer goes to `integer` if there is one, else to `number`). A union
 *   with two branches of one JSON type cannot be told apart by the value → JSON text.
 * - allOf with one branch → that branch; other allOf → their properties merged when all
 *   are objects, else refused.
 * - `$ref`: `#`, `#/definitions/…`, `#/$defs/…` (any JSON pointer into the schema), and
 *   the names of the schema's registry references (another subject's schema, optionally
 *   with its own `#/…` pointer). A reference that leads back into itself is refused:
 *   Iceberg has no recursive types.
 * - every column is optional (null): `required` is a constraint the producer's serializer
 *   checks, and a property required in one version may be dropped in the next; list
 *   elements and map values are optional too.
 *
 * Field IDs here are provisional (1, 2, … parent before children); the table's come from
 * schema/evolve.ts by name path, so a field keeps its ID across versions. Errors name the
 * property path (`a.b`, `tags[]`, `m.value`) as SCHEMA_INCOMPATIBLE.
 */
import type { IcebergType, NestedField, StructType } from '@kice/iceberg';
import { childPath, elementPath } from '../decode/infer.ts';
import { KiceError } from '../errors.ts';
import type { ResolvedSchema } from './formats.ts';

type Json = unknown;
type Obj = Record<string, unknown>;

/** The mapped schema: the struct and the decoder's extra knowledge, by decoder path. */
export interface MappedJsonSchema {
  readonly struct: StructType;
  /** String columns that take any JSON value as its text (`{}`, ambiguous unions). */
  readonly anyPaths: readonly string[];
  /** Struct columns that are unions: members named by JSON type. */
  readonly unionPaths: readonly string[];
}

/** The JSON types a union member may be named after. */
export const UNION_MEMBERS = ['string', 'integer', 'number', 'boolean', 'object', 'array'] as const;

function fail(path: string, message: string): never {
  throw new KiceError(
    'SCHEMA_INCOMPATIBLE',
    `json schema${path ? ` at "${path}"` : ''}: ${message}`,
    { context: { path } },
  );
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A document a `$ref` can point into: the root schema or a reference's. */
interface Doc {
  readonly name: string;
  readonly root: Json;
}

interface Ctx {
  next: number;
  readonly docs: ReadonlyMap<string, Doc>;
  /** The references being followed (doc + pointer), to refuse recursion. */
  readonly open: Set<string>;
  readonly anyPaths: string[];
  readonly unionPaths: string[];
}

interface Mapped {
  readonly type: IcebergType;
  readonly optional: boolean;
}

/** Follows a JSON pointer (RFC 6901) into `root`. */
function pointer(root: Json, ptr: string, path: string): Json {
  if (ptr === '' || ptr === '/') return root;
  let at: Json = root;
  for (const raw of ptr.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) at = at[Number(key)];
    else if (isObj(at)) at = at[key];
    else at = undefined;
    if (at === undefined) fail(path, `$ref pointer "#${ptr}" leads nowhere`);
  }
  return at;
}

/** The schema a `$ref` names, and the document it lives in. */
function deref(ref: string, doc: Doc, ctx: Ctx, path: string): { schema: Json; doc: Doc } {
  const hash = ref.indexOf('#');
  const target = hash < 0 ? ref : ref.slice(0, hash);
  const ptr = hash < 0 ? '' : ref.slice(hash + 1);
  let d = doc;
  if (target !== '') {
    const found = ctx.docs.get(target) ?? ctx.docs.get(target.replace(/^.*\//, ''));
    if (found === undefined)
      fail(
        path,
        `$ref "${ref}" names no schema reference of this schema (references: ${[...ctx.docs.keys()].filter((k) => k !== '').join(', ') || 'none'})`,
      );
    d = found;
  }
  return { schema: pointer(d.root, ptr, path), doc: d };
}

/** The non-null JSON type names a schema admits, or undefined for "any". */
function typesOf(s: Obj): string[] | undefined {
  const t = s.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return undefined;
}

function isNullSchema(s: Json): boolean {
  return (
    isObj(s) &&
    (s.type === 'null' ||
      (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === 'null') ||
      s.const === null)
  );
}

/** The JSON kind of an enum / const value, as a schema type name. */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function jsonText(path: string, ctx: Ctx, optional = true): Mapped {
  ctx.anyPaths.push(path);
  return { type: 'string', optional };
}

/** The JSON type a branch's values have, for naming union members; undefined if several. */
function branchKind(s: Json, doc: Doc, ctx: Ctx, path: string, seen = 0): string | undefined {
  if (!isObj(s) || seen > 32) return undefined;
  if (typeof s.$ref === 'string') {
    const r = deref(s.$ref, doc, ctx, path);
    return branchKind(r.schema, r.doc, ctx, path, seen + 1);
  }
  const types = typesOf(s)?.filter((t) => t !== 'null');
  if (types?.length === 1) return types[0];
  if (types === undefined && isObj(s.properties)) return 'object';
  if (types === undefined && s.items !== undefined) return 'array';
  return undefined;
}

function mapSchema(s: Json, path: string, doc: Doc, ctx: Ctx): Mapped {
  if (s === true || (isObj(s) && Object.keys(s).every((k) => !SCHEMA_KEYS.has(k))))
    return jsonText(path, ctx);
  if (s === false) fail(path, 'the schema false admits no value');
  if (!isObj(s)) fail(path, 'not a JSON Schema');
  if (typeof s.$ref === 'string') {
    const { schema, doc: d } = deref(s.$ref, doc, ctx, path);
    const key = `${d.name}#${s.$ref.slice(s.$ref.indexOf('#') + 1)}`;
    if (ctx.open.has(key))
      fail(path, `recursive $ref "${s.$ref}" (Iceberg has no recursive types)`);
    ctx.open.add(key);
    try {
      return mapSchema(schema, path, d, ctx);
    } finally {
      ctx.open.delete(key);
    }
  }
  const union = (s.anyOf ?? s.oneOf) as Json;
  if (Array.isArray(union)) return mapUnion(union, path, doc, ctx);
  if (Array.isArray(s.allOf)) {
    if (s.allOf.length === 1) return mapSchema(s.allOf[0], path, doc, ctx);
    return mapAllOf(s.allOf, path, doc, ctx);
  }
  const listed = typesOf(s);
  if (listed !== undefined) {
    const types = listed.filter((t) => t !== 'null');
    if (types.length === 0) fail(path, 'a property of type null alone has no Iceberg type');
    if (types.length > 1) {
      if (types.length === 2 && types.includes('integer') && types.includes('number'))
        return { type: 'double', optional: true };
      return unionStruct(
        types.map((t) => ({ name: t, schema: { ...s, type: t } as Json })),
        path,
        doc,
        ctx,
      );
    }
    return mapTyped(types[0] as string, s, path, doc, ctx);
  }
  // No `type`: what the keywords imply.
  const values = Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : undefined;
  if (values !== undefined) {
    const kinds = new Set(values.map(kindOf).filter((k) => k !== 'null'));
    if (kinds.has('integer') && kinds.has('number')) kinds.delete('integer');
    if (kinds.size !== 1) return jsonText(path, ctx);
    return mapTyped([...kinds][0] as string, s, path, doc, ctx);
  }
  if (isObj(s.properties)) return mapTyped('object', s, path, doc, ctx);
  if (s.items !== undefined) return mapTyped('array', s, path, doc, ctx);
  return jsonText(path, ctx);
}

/** Keywords that say something about a value's type (others — title, description,
 * $schema, $id, default, examples… — leave a schema meaning "any value"). */
const SCHEMA_KEYS = new Set([
  'type',
  '$ref',
  'properties',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  'format',
  'contentEncoding',
]);

function mapTyped(t: string, s: Obj, path: string, doc: Doc, ctx: Ctx): Mapped {
  switch (t) {
    case 'string': {
      if (s.contentEncoding === 'base64') return { type: 'binary', optional: true };
      switch (s.format) {
        case 'date-time':
          return { type: 'timestamptz', optional: true };
        case 'date':
          return { type: 'date', optional: true };
        case 'time':
          return { type: 'time', optional: true };
        case 'uuid':
          return { type: 'uuid', optional: true };
        default:
          return { type: 'string', optional: true };
      }
    }
    case 'integer':
      return { type: 'long', optional: true };
    case 'number':
      return { type: 'double', optional: true };
    case 'boolean':
      return { type: 'boolean', optional: true };
    case 'array': {
      const items = Array.isArray(s.items) ? undefined : (s.items ?? s.additionalItems);
      // No items schema, or a tuple (members of different types): JSON text.
      if (items === undefined || typeof items === 'boolean') return jsonText(path, ctx);
      const elementId = ctx.next++;
      const el = mapSchema(items, elementPath(path), doc, ctx);
      return {
        type: { type: 'list', elementId, element: el.type, elementRequired: false },
        optional: true,
      };
    }
    case 'object': {
      if (isObj(s.properties) && Object.keys(s.properties).length > 0)
        return { type: mapProperties(s.properties, path, doc, ctx), optional: true };
      const extra = s.additionalProperties;
      if (extra !== undefined && extra !== true && extra !== false) {
        const keyId = ctx.next++;
        const valueId = ctx.next++;
        const v = mapSchema(extra, `${path}.value`, doc, ctx);
        return {
          type: { type: 'map', keyId, key: 'string', valueId, value: v.type, valueRequired: false },
          optional: true,
        };
      }
      return jsonText(path, ctx);
    }
    default:
      return fail(path, `unknown type "${t}"`);
  }
}

function mapProperties(props: Obj, path: string, doc: Doc, ctx: Ctx): StructType {
  const names = Object.keys(props);
  const ids = names.map(() => ctx.next++);
  const fields = names.map((name, i): NestedField => {
    if (name === '') fail(path, 'a property with an empty name cannot be a column');
    const p = props[name];
    const m = mapSchema(p, childPath(path, name), doc, ctx);
    const f: NestedField = { id: ids[i] as number, name, required: false, type: m.type };
    return isObj(p) && typeof p.description === 'string' ? { ...f, doc: p.description } : f;
  });
  return { type: 'struct', fields };
}

function mapUnion(branches: Json[], path: string, doc: Doc, ctx: Ctx): Mapped {
  const rest = branches.filter((b) => !isNullSchema(b));
  if (rest.length === 0) fail(path, 'a union of null alone has no Iceberg type');
  if (rest.length === 1) return { ...mapSchema(rest[0], path, doc, ctx), optional: true };
  const kinds = rest.map((b) => branchKind(b, doc, ctx, path));
  if (kinds.length === 2 && kinds.includes('integer') && kinds.includes('number'))
    return { type: 'double', optional: true };
  return unionStruct(
    rest.map((b, i) => ({ name: kinds[i], schema: b })),
    path,
    doc,
    ctx,
  );
}

/** A struct with one optional member per branch, named by the branch's JSON type; JSON
 * text when two branches share a type or a branch's type is not one. */
function unionStruct(
  branches: { name: string | undefined; schema: Json }[],
  path: string,
  doc: Doc,
  ctx: Ctx,
): Mapped {
  const names = branches.map((b) => b.name);
  if (names.some((n) => n === undefined) || new Set(names).size < names.length)
    return jsonText(path, ctx);
  const ids = branches.map(() => ctx.next++);
  const fields = branches.map((b, i): NestedField => {
    const name = b.name as string;
    if (!(UNION_MEMBERS as readonly string[]).includes(name)) fail(path, `unknown type "${name}"`);
    const m = mapSchema(b.schema, childPath(path, name), doc, ctx);
    return { id: ids[i] as number, name, required: false, type: m.type };
  });
  ctx.unionPaths.push(path);
  return { type: { type: 'struct', fields }, optional: true };
}

/** allOf of object schemas: their properties merged (first definition of a name wins). */
function mapAllOf(parts: Json[], path: string, doc: Doc, ctx: Ctx): Mapped {
  const props: Obj = {};
  for (const part of parts) {
    let p = part;
    let d = doc;
    for (let hops = 0; isObj(p) && typeof p.$ref === 'string' && hops < 32; hops++) {
      const r = deref(p.$ref, d, ctx, path);
      p = r.schema;
      d = r.doc;
    }
    if (!isObj(p) || !isObj(p.properties))
      fail(path, 'allOf is supported for object schemas with properties only');
    for (const [k, v] of Object.entries(p.properties)) {
      if (!(k in props)) props[k] = d === doc ? v : inline(v, d);
    }
  }
  return { type: mapProperties(props, path, doc, ctx), optional: true };
}

/** A property schema from another document, its `$ref`s made to point there. */
function inline(v: Json, d: Doc): Json {
  if (Array.isArray(v)) return v.map((x) => inline(x, d));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] =
      k === '$ref' && typeof x === 'string' && x.startsWith('#') ? `${d.name}${x}` : inline(x, d);
  }
  return out;
}

/** Parses schema text (the registry's), SCHEMA_INCOMPATIBLE when it is not JSON. */
function parse(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return fail('', `${what} is not JSON`);
  }
}

/**
 * The Iceberg struct of a registry JSON Schema (provisional IDs from 1; see the header).
 * Throws SCHEMA_INCOMPATIBLE naming the property path for what Iceberg cannot hold.
 */
export function jsonSchemaToIceberg(resolved: ResolvedSchema): MappedJsonSchema {
  const docs = new Map<string, Doc>();
  const root: Doc = { name: '', root: parse(resolved.schema, 'the schema text') };
  docs.set('', root);
  for (const r of resolved.references) {
    docs.set(r.name, { name: r.name, root: parse(r.schema, `reference "${r.name}"`) });
  }
  // The root is open from the start: a `$ref: "#"` inside it is recursion.
  const ctx: Ctx = { next: 1, docs, open: new Set(['#']), anyPaths: [], unionPaths: [] };
  let s: Json = root.root;
  let d = root;
  for (let hops = 0; isObj(s) && typeof s.$ref === 'string' && hops < 32; hops++) {
    const r = deref(s.$ref, d, ctx, '');
    s = r.schema;
    d = r.doc;
  }
  const m = mapSchema(s, '', d, ctx);
  if (typeof m.type === 'string' || m.type.type !== 'struct' || ctx.unionPaths.includes(''))
    fail('', 'the top-level schema must be an object with properties (they become the columns)');
  return { struct: m.type, anyPaths: ctx.anyPaths, unionPaths: ctx.unionPaths };
}
