/**
 * Avro schemas: parsing the JSON form into a resolved tree the codecs walk.
 *
 * Spec: https://avro.apache.org/docs/1.11.1/specification/#schema-declaration
 *
 *   "long" | {"type":"record","name":"r2","fields":[{"name":"a","type":T,"field-id":1}]}
 *   {"type":"enum","name":"e","symbols":["A","B"]} | {"type":"array","items":T}
 *   {"type":"map","values":T} | ["null",T] | {"type":"fixed","name":"f","size":16}
 *
 * Named types (record, enum, fixed) may be referenced later by name or full name; records
 * may refer to themselves. Extra attributes (field-id, logicalType, …) are ignored here:
 * they never change the binary encoding. The original JSON is kept by the container code.
 */
import { IcebergError } from '../errors.ts';

/** Avro schema JSON as written in files: a type name, a union array or a type object. */
export type AvroSchemaJson = string | readonly AvroSchemaJson[] | { readonly [k: string]: unknown };

export type AvroPrimitiveKind =
  | 'null'
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'bytes'
  | 'string';

/** A record field after resolution. `default` is the raw JSON default, when present. */
export interface AvroField {
  readonly name: string;
  readonly type: AvroNode;
  readonly hasDefault: boolean;
  readonly default?: unknown;
}

/** A resolved schema node. Records are mutable only while being built (recursion). */
export type AvroNode =
  | { readonly kind: AvroPrimitiveKind }
  | { readonly kind: 'record'; readonly name: string; fields: AvroField[] }
  | { readonly kind: 'enum'; readonly name: string; readonly symbols: readonly string[] }
  | { readonly kind: 'array'; readonly items: AvroNode }
  | { readonly kind: 'map'; readonly values: AvroNode }
  | { readonly kind: 'union'; readonly branches: readonly AvroNode[] }
  | { readonly kind: 'fixed'; readonly name: string; readonly size: number };

const PRIMITIVES = new Set<string>([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
]);

function bad(path: string, msg: string): never {
  throw new IcebergError('INVALID_AVRO', `avro schema ${path}: ${msg}`, { context: { path } });
}

/** Resolves an Avro schema JSON (object or parsed string) into an {@link AvroNode} tree. */
export function parseAvroSchema(json: unknown): AvroNode {
  const named = new Map<string, AvroNode>();

  const fullName = (name: string, ns: string | undefined): string =>
    name.includes('.') || !ns ? name : `${ns}.${name}`;

  const register = (full: string, node: AvroNode, path: string): void => {
    if (named.has(full)) bad(path, `type "${full}" is defined twice`);
    named.set(full, node);
    const short = full.slice(full.lastIndexOf('.') + 1);
    if (!named.has(short)) named.set(short, node);
  };

  const visit = (s: unknown, ns: string | undefined, path: string): AvroNode => {
    if (typeof s === 'string') {
      if (PRIMITIVES.has(s)) return { kind: s as AvroPrimitiveKind };
      const ref = named.get(fullName(s, ns)) ?? named.get(s);
      if (!ref) bad(path, `unknown type "${s}"`);
      return ref;
    }
    if (Array.isArray(s)) {
      return { kind: 'union', branches: s.map((b, i) => visit(b, ns, `${path}[${i}]`)) };
    }
    if (s === null || typeof s !== 'object') bad(path, 'expected a string, array or object');
    const o = s as Record<string, unknown>;
    const type = o.type;
    if (typeof type !== 'string') return visit(type, ns, `${path}.type`);
    switch (type) {
      case 'record':
      case 'error': {
        const name = nameOf(o, path);
        const full = fullName(name, typeof o.namespace === 'string' ? o.namespace : ns);
        const inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : undefined;
        const node: AvroNode = { kind: 'record', name: full, fields: [] };
        register(full, node, path);
        if (!Array.isArray(o.fields)) bad(`${path}.fields`, 'expected an array');
        node.fields = (o.fields as unknown[]).map((f, i) => {
          const fp = `${path}.fields[${i}]`;
          if (f === null || typeof f !== 'object') bad(fp, 'expected an object');
          const fo = f as Record<string, unknown>;
          if (typeof fo.name !== 'string') bad(`${fp}.name`, 'expected a string');
          const field: AvroField = {
            name: fo.name,
            type: visit(fo.type, inner, `${fp}.type`),
            hasDefault: 'default' in fo,
            ...('default' in fo ? { default: fo.default } : {}),
          };
          return field;
        });
        return node;
      }
      case 'enum': {
        const full = fullName(nameOf(o, path), typeof o.namespace === 'string' ? o.namespace : ns);
        if (!Array.isArray(o.symbols)) bad(`${path}.symbols`, 'expected an array');
        const node: AvroNode = { kind: 'enum', name: full, symbols: o.symbols as string[] };
        register(full, node, path);
        return node;
      }
      case 'fixed': {
        const full = fullName(nameOf(o, path), typeof o.namespace === 'string' ? o.namespace : ns);
        const size = o.size;
        if (typeof size !== 'number' || !Number.isInteger(size) || size < 0)
          bad(`${path}.size`, 'expected a non-negative integer');
        const node: AvroNode = { kind: 'fixed', name: full, size };
        register(full, node, path);
        return node;
      }
      case 'array':
        return { kind: 'array', items: visit(o.items, ns, `${path}.items`) };
      case 'map':
        return { kind: 'map', values: visit(o.values, ns, `${path}.values`) };
      default:
        // {"type":"long","logicalType":...} and references written as {"type":"name"}.
        return visit(type, ns, path);
    }
  };

  return visit(json, undefined, '$');
}

function nameOf(o: Record<string, unknown>, path: string): string {
  if (typeof o.name !== 'string' || o.name === '') bad(`${path}.name`, 'expected a name');
  return o.name;
}
