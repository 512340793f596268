/**
 * Avro schema (its JSON form, as a Schema Registry returns it) → an Iceberg struct.
 *
 * Avro spec: https://avro.apache.org/docs/1.12.0/specification/ (schema declaration,
 * logical types, names and namespaces). Iceberg types: https://iceberg.apache.org/spec/#schemas-and-data-types
 *
 * Mapping (the top-level schema must be a record; its fields are the table's columns):
 * - record → struct; array → list; map → map<string, V>; enum → string; fixed(n) → fixed[n];
 *   bytes → binary; boolean/int/long/float/double/string → the same-named Iceberg type.
 * - union [null, T] (either order) → optional T; [T] → T. Any other union → a struct of
 *   optional members, one per non-null branch, named by the branch's type: the primitive
 *   name (`int`, `string`…) or a named type's simple name (`Address`), so members keep
 *   their identity when a later version reorders the branches. A union with null makes
 *   the struct itself optional.
 * - logical types: decimal(P, S) on bytes/fixed → decimal(P, S) (P ≤ 38); uuid on string
 *   or fixed(16) → uuid; date → date; time-millis / time-micros → time;
 *   timestamp-millis / -micros → timestamptz; local-timestamp-millis / -micros →
 *   timestamp. An unknown or misplaced logical type is ignored (the spec: readers use the
 *   underlying type), e.g. timestamp-nanos → long.
 * - a record field is required unless its type is a union with null; list elements and
 *   map values likewise.
 * - a named type that refers to itself (directly or through other types) is refused:
 *   Iceberg has no recursive types.
 *
 * Field IDs here are provisional (1, 2, … depth-first, parent before children): the table's
 * IDs come from schema/evolve.ts, which matches fields by name path, so a field keeps its
 * ID across schema versions and registry ids. Errors name the Avro path (`a.b[]`, `m{}`).
 */
import type { IcebergType, NestedField, StructType } from '@kice/iceberg';
import { KiceError } from '../errors.ts';

/** An Avro schema in its JSON form. */
export type AvroJson = string | AvroJson[] | { [k: string]: unknown };

const PRIMITIVES: Record<string, IcebergType> = {
  boolean: 'boolean',
  int: 'int',
  long: 'long',
  float: 'float',
  double: 'double',
  bytes: 'binary',
  string: 'string',
};

function fail(path: string, message: string): never {
  throw new KiceError(
    'SCHEMA_INCOMPATIBLE',
    `avro schema${path ? ` at "${path}"` : ''}: ${message}`,
    {
      context: { path },
    },
  );
}

/** A named type's full name (Avro spec "Names"): namespace from the name, the schema, or the enclosing one. */
export function fullName(name: string, namespace: string | undefined): string {
  if (name.includes('.')) return name;
  return namespace ? `${namespace}.${name}` : name;
}

function simpleName(full: string): string {
  return full.slice(full.lastIndexOf('.') + 1);
}

interface Ctx {
  next: number;
  /** Named types defined so far, by full name. */
  named: Map<string, Record<string, unknown>>;
  /** Named types being mapped (the current chain), to refuse recursion. */
  open: Set<string>;
}

interface Mapped {
  type: IcebergType;
  /** Whether null is a valid value (a union with null). */
  optional: boolean;
}

/** The Iceberg type of a logical type on `base`, or undefined when it is ignored (see the header). */
export function logical(
  schema: Record<string, unknown>,
  base: string,
  path: string,
): IcebergType | undefined {
  const lt = schema.logicalType;
  if (typeof lt !== 'string') return undefined;
  switch (lt) {
    case 'decimal': {
      if (base !== 'bytes' && base !== 'fixed') return undefined;
      const p = schema.precision;
      const s = schema.scale ?? 0;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1) return undefined;
      if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > p) return undefined;
      if (p > 38) fail(path, `decimal precision ${p} exceeds Iceberg's maximum of 38`);
      return `decimal(${p}, ${s})`;
    }
    case 'uuid':
      return base === 'string' || (base === 'fixed' && schema.size === 16) ? 'uuid' : undefined;
    case 'date':
      return base === 'int' ? 'date' : undefined;
    case 'time-millis':
      return base === 'int' ? 'time' : undefined;
    case 'time-micros':
      return base === 'long' ? 'time' : undefined;
    case 'timestamp-millis':
    case 'timestamp-micros':
      return base === 'long' ? 'timestamptz' : undefined;
    case 'local-timestamp-millis':
    case 'local-timestamp-micros':
      return base === 'long' ? 'timestamp' : undefined;
    default:
      return undefined;
  }
}

/** The name of a union branch as a struct member: primitive name or named type's simple name. */
export function branchName(s: AvroJson, namespace: string | undefined): string {
  if (typeof s === 'string')
    return PRIMITIVES[s] !== undefined ? s : simpleName(fullName(s, namespace));
  if (Array.isArray(s)) return 'union';
  if (typeof s.name === 'string') return simpleName(s.name);
  return typeof s.type === 'string' ? s.type : 'union';
}

function mapType(s: AvroJson, path: string, ctx: Ctx, namespace: string | undefined): Mapped {
  if (Array.isArray(s)) return mapUnion(s, path, ctx, namespace);
  if (typeof s === 'string') {
    if (s === 'null') fail(path, 'a field of type null alone has no Iceberg type');
    const prim = PRIMITIVES[s];
    if (prim !== undefined) return { type: prim, optional: false };
    const full = fullName(s, namespace);
    if (ctx.open.has(full)) fail(path, `recursive type "${full}" (Iceberg has no recursive types)`);
    const def = ctx.named.get(full) ?? ctx.named.get(s);
    if (def === undefined) fail(path, `unknown type "${s}"`);
    return mapNamed(def, path, ctx, namespace, true);
  }
  if (s === null || typeof s !== 'object') fail(path, 'not an Avro schema');
  const t = s.type;
  if (typeof t !== 'string' && !Array.isArray(t) && (t === null || typeof t !== 'object')) {
    fail(path, 'a schema object needs a "type"');
  }
  if (t === 'record' || t === 'error' || t === 'enum' || t === 'fixed') {
    return mapNamed(s, path, ctx, namespace, false);
  }
  if (t === 'array') {
    const el = mapType(s.items as AvroJson, `${path}[]`, ctx, namespace);
    return {
      type: {
        type: 'list',
        elementId: ctx.next++,
        element: el.type,
        elementRequired: !el.optional,
      },
      optional: false,
    };
  }
  if (t === 'map') {
    const keyId = ctx.next++;
    const valueId = ctx.next++;
    const v = mapType(s.values as AvroJson, `${path}{}`, ctx, namespace);
    return {
      type: {
        type: 'map',
        keyId,
        key: 'string',
        valueId,
        value: v.type,
        valueRequired: !v.optional,
      },
      optional: false,
    };
  }
  if (typeof t === 'string' && PRIMITIVES[t] !== undefined) {
    return { type: logical(s, t, path) ?? (PRIMITIVES[t] as IcebergType), optional: false };
  }
  // {"type": <another schema>} wraps it.
  return mapType(t as AvroJson, path, ctx, namespace);
}

function mapNamed(
  s: Record<string, unknown>,
  path: string,
  ctx: Ctx,
  namespace: string | undefined,
  reference: boolean,
): Mapped {
  if (typeof s.name !== 'string') fail(path, `a ${String(s.type)} needs a name`);
  const ns = typeof s.namespace === 'string' ? s.namespace : namespace;
  const full = fullName(s.name, ns);
  if (!reference) {
    if (ctx.open.has(full)) fail(path, `recursive type "${full}" (Iceberg has no recursive types)`);
    ctx.named.set(full, s);
  }
  const innerNs = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : undefined;
  switch (s.type) {
    case 'enum':
      return { type: 'string', optional: false };
    case 'fixed': {
      const size = s.size;
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
        fail(path, `fixed "${full}" needs a positive integer size`);
      }
      return { type: logical(s, 'fixed', path) ?? `fixed[${size}]`, optional: false };
    }
    default: {
      ctx.open.add(full);
      const struct = mapFields(s.fields, path, ctx, innerNs);
      ctx.open.delete(full);
      return { type: struct, optional: false };
    }
  }
}

function mapFields(
  fields: unknown,
  path: string,
  ctx: Ctx,
  namespace: string | undefined,
): StructType {
  if (!Array.isArray(fields)) fail(path, 'a record needs a "fields" list');
  const seen = new Set<string>();
  // Parent IDs before children: reserve each field's ID, then map its type.
  const ids = fields.map(() => ctx.next++);
  const out: NestedField[] = fields.map((f, i) => {
    if (f === null || typeof f !== 'object' || typeof f.name !== 'string') {
      fail(path, `field ${i} needs a name`);
    }
    const name = f.name as string;
    if (seen.has(name)) fail(path, `duplicate field "${name}"`);
    seen.add(name);
    const p = path ? `${path}.${name}` : name;
    const m = mapType(f.type as AvroJson, p, ctx, namespace);
    const field: NestedField = { id: ids[i] as number, name, required: !m.optional, type: m.type };
    return typeof f.doc === 'string' ? { ...field, doc: f.doc } : field;
  });
  return { type: 'struct', fields: out };
}

function mapUnion(
  branches: AvroJson[],
  path: string,
  ctx: Ctx,
  namespace: string | undefined,
): Mapped {
  const nonNull = branches.filter((b) => b !== 'null');
  const optional = nonNull.length < branches.length;
  if (nonNull.length === 0) fail(path, 'a union of null alone has no Iceberg type');
  if (nonNull.length === 1) {
    const m = mapType(nonNull[0] as AvroJson, path, ctx, namespace);
    return { type: m.type, optional: optional || m.optional };
  }
  const names = new Set<string>();
  const ids = nonNull.map(() => ctx.next++);
  const fields = nonNull.map((b, i): NestedField => {
    const name = branchName(b, namespace);
    if (names.has(name)) fail(path, `union has two branches named "${name}"`);
    names.add(name);
    const m = mapType(b, `${path}.${name}`, ctx, namespace);
    return { id: ids[i] as number, name, required: false, type: m.type };
  });
  return { type: { type: 'struct', fields }, optional };
}

/** Parses a registry's schema text. */
export function parseAvroSchema(text: string): AvroJson {
  try {
    return JSON.parse(text) as AvroJson;
  } catch {
    // A bare primitive name is valid Avro schema text too.
    const t = text.trim();
    if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(t)) return t;
    return fail('', 'schema text is not JSON');
  }
}

/**
 * The Iceberg struct of an Avro record schema (provisional IDs from 1; see the header).
 * Throws SCHEMA_INCOMPATIBLE naming the Avro path for what Iceberg cannot hold.
 */
export function avroToIceberg(schema: AvroJson): StructType {
  const ctx: Ctx = { next: 1, named: new Map(), open: new Set() };
  let s: AvroJson = schema;
  if (
    s !== null &&
    typeof s === 'object' &&
    !Array.isArray(s) &&
    typeof s.type === 'object' &&
    s.type !== null
  ) {
    s = s.type as AvroJson;
  }
  if (typeof s === 'string' || Array.isArray(s) || (s.type !== 'record' && s.type !== 'error')) {
    fail('', 'the top-level schema must be a record (its fields become the columns)');
  }
  const m = mapNamed(s, '', ctx, typeof s.namespace === 'string' ? s.namespace : undefined, false);
  return m.type as StructType;
}
