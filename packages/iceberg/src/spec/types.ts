/**
 * Iceberg data types, nested fields and schemas, with their JSON form.
 *
 * Spec: https://iceberg.apache.org/spec/#schemas-and-data-types
 * JSON: https://iceberg.apache.org/spec/#appendix-c-json-serialization
 *
 * Primitive types are kept as their canonical JSON strings ("long", "decimal(38, 10)",
 * "fixed[16]"); nested types are objects mirroring the JSON with camelCase keys:
 *
 *   {"type":"struct","fields":[{"id":1,"name":"a","required":true,"type":"int"}]}
 *   {"type":"list","element-id":3,"element":"string","element-required":false}
 *   {"type":"map","key-id":4,"key":"string","value-id":5,"value":"long","value-required":true}
 *
 * In-memory values used across the library (partition tuples, bounds, scans):
 *   boolean → boolean; int, date → number (days for date); long → bigint;
 *   float, double → number; decimal → bigint (unscaled); time, timestamp(tz) → bigint µs;
 *   string → string; uuid → string (canonical 8-4-4-4-12 lowercase);
 *   fixed, binary → Uint8Array.
 */
import { IcebergError } from '../errors.ts';

export type SimplePrimitive =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'uuid'
  | 'binary';

/** A primitive type as its canonical JSON string, e.g. `"decimal(9, 2)"`, `"fixed[16]"`. */
export type PrimitiveType = SimplePrimitive | `decimal(${number}, ${number})` | `fixed[${number}]`;

export interface NestedField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
  readonly doc?: string;
}

export interface StructType {
  readonly type: 'struct';
  readonly fields: readonly NestedField[];
}

export interface ListType {
  readonly type: 'list';
  readonly elementId: number;
  readonly element: IcebergType;
  readonly elementRequired: boolean;
}

export interface MapType {
  readonly type: 'map';
  readonly keyId: number;
  readonly key: IcebergType;
  readonly valueId: number;
  readonly value: IcebergType;
  readonly valueRequired: boolean;
}

export type NestedType = StructType | ListType | MapType;
export type IcebergType = PrimitiveType | NestedType;

export interface Schema extends StructType {
  readonly schemaId: number;
  readonly identifierFieldIds?: readonly number[];
}

const SIMPLE = new Set<string>([
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'string',
  'uuid',
  'binary',
]);

const DECIMAL_RE = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;
const FIXED_RE = /^fixed\[\s*(\d+)\s*\]$/;

export function isPrimitive(t: IcebergType): t is PrimitiveType {
  return typeof t === 'string';
}

export function isNested(t: IcebergType): t is NestedType {
  return typeof t !== 'string';
}

/** Parses and canonicalizes a primitive type string; throws on anything else. */
export function parsePrimitive(s: string): PrimitiveType {
  if (SIMPLE.has(s)) return s as SimplePrimitive;
  const d = DECIMAL_RE.exec(s);
  if (d) {
    const p = Number(d[1]);
    const sc = Number(d[2]);
    if (p < 1 || p > 38 || sc > p) {
      throw new IcebergError(
        'INVALID_SCHEMA',
        `invalid decimal type "${s}": need 1 <= P <= 38 and S <= P`,
      );
    }
    return `decimal(${p}, ${sc})`;
  }
  const f = FIXED_RE.exec(s);
  if (f) {
    const len = Number(f[1]);
    if (len < 1)
      throw new IcebergError('INVALID_SCHEMA', `invalid fixed type "${s}": length must be >= 1`);
    return `fixed[${len}]`;
  }
  throw new IcebergError('INVALID_SCHEMA', `unknown primitive type "${s}"`);
}

export function decimal(precision: number, scale: number): PrimitiveType {
  return parsePrimitive(`decimal(${precision}, ${scale})`);
}

export function fixed(length: number): PrimitiveType {
  return parsePrimitive(`fixed[${length}]`);
}

/** Precision and scale of a decimal type, or undefined for any other type. */
export function decimalParams(t: IcebergType): { precision: number; scale: number } | undefined {
  if (typeof t !== 'string') return undefined;
  const d = DECIMAL_RE.exec(t);
  return d ? { precision: Number(d[1]), scale: Number(d[2]) } : undefined;
}

/** Length of a fixed type, or undefined for any other type. */
export function fixedLength(t: IcebergType): number | undefined {
  if (typeof t !== 'string') return undefined;
  const f = FIXED_RE.exec(t);
  return f ? Number(f[1]) : undefined;
}

/** The kind of a type without parameters: "decimal", "fixed", "struct", "long", … */
export function typeKind(t: IcebergType): string {
  if (typeof t !== 'string') return t.type;
  if (t.startsWith('decimal')) return 'decimal';
  if (t.startsWith('fixed')) return 'fixed';
  return t;
}

// ---------------------------------------------------------------- JSON codec

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function fail(path: string, msg: string): never {
  throw new IcebergError('INVALID_SCHEMA', `${path}: ${msg}`, { context: { path } });
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'expected an object');
  return v as Record<string, unknown>;
}

function int(v: unknown, path: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) fail(path, 'expected an integer');
  return n;
}

/** Reads a type from its JSON form. */
export function typeFromJson(v: unknown, path = 'type'): IcebergType {
  if (typeof v === 'string') {
    try {
      return parsePrimitive(v);
    } catch {
      fail(path, `unknown type "${v}"`);
    }
  }
  const o = obj(v, path);
  switch (o.type) {
    case 'struct':
      return structFromJson(o, path);
    case 'list':
      return {
        type: 'list',
        elementId: int(o['element-id'], `${path}.element-id`),
        element: typeFromJson(o.element, `${path}.element`),
        elementRequired: Boolean(o['element-required']),
      };
    case 'map':
      return {
        type: 'map',
        keyId: int(o['key-id'], `${path}.key-id`),
        key: typeFromJson(o.key, `${path}.key`),
        valueId: int(o['value-id'], `${path}.value-id`),
        value: typeFromJson(o.value, `${path}.value`),
        valueRequired: Boolean(o['value-required']),
      };
    default:
      return fail(path, `unknown nested type ${JSON.stringify(o.type)}`);
  }
}

function structFromJson(o: Record<string, unknown>, path: string): StructType {
  if (!Array.isArray(o.fields)) fail(`${path}.fields`, 'expected an array');
  const fields = (o.fields as unknown[]).map((f, i) => fieldFromJson(f, `${path}.fields[${i}]`));
  return { type: 'struct', fields };
}

function fieldFromJson(v: unknown, path: string): NestedField {
  const o = obj(v, path);
  if (typeof o.name !== 'string') fail(`${path}.name`, 'expected a string');
  const field: NestedField = {
    id: int(o.id, `${path}.id`),
    name: o.name,
    required: Boolean(o.required),
    type: typeFromJson(o.type, `${path}.type`),
    ...(typeof o.doc === 'string' ? { doc: o.doc } : {}),
  };
  return field;
}

/** Writes a type as JSON (a plain value ready for JSON.stringify). */
export function typeToJson(t: IcebergType): Json {
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'struct':
      return { type: 'struct', fields: t.fields.map(fieldToJson) };
    case 'list':
      return {
        type: 'list',
        'element-id': t.elementId,
        element: typeToJson(t.element),
        'element-required': t.elementRequired,
      };
    case 'map':
      return {
        type: 'map',
        'key-id': t.keyId,
        key: typeToJson(t.key),
        'value-id': t.valueId,
        value: typeToJson(t.value),
        'value-required': t.valueRequired,
      };
  }
}

function fieldToJson(f: NestedField): Json {
  const out: Record<string, Json> = {
    id: f.id,
    name: f.name,
    required: f.required,
    type: typeToJson(f.type),
  };
  if (f.doc !== undefined) out.doc = f.doc;
  return out;
}

/** Reads a schema: `{"type":"struct","schema-id":0,"identifier-field-ids":[..],"fields":[..]}`. */
export function schemaFromJson(v: unknown, path = 'schema'): Schema {
  const o = obj(v, path);
  const struct = structFromJson(o, path);
  const ids = o['identifier-field-ids'];
  return {
    ...struct,
    schemaId: o['schema-id'] === undefined ? 0 : int(o['schema-id'], `${path}.schema-id`),
    ...(Array.isArray(ids) && ids.length > 0
      ? { identifierFieldIds: ids.map((x, i) => int(x, `${path}.identifier-field-ids[${i}]`)) }
      : {}),
  };
}

export function schemaToJson(s: Schema): Json {
  const out: Record<string, Json> = { type: 'struct', 'schema-id': s.schemaId };
  if (s.identifierFieldIds && s.identifierFieldIds.length > 0) {
    out['identifier-field-ids'] = [...s.identifierFieldIds];
  }
  out.fields = s.fields.map(fieldToJson);
  return out;
}

// ---------------------------------------------------------------- schema helpers

/** Every field of a schema by ID, nested ones included (list elements and map keys/values
 * appear as synthetic fields named "element", "key", "value"). */
export function indexById(struct: StructType): Map<number, NestedField> {
  const out = new Map<number, NestedField>();
  const visit = (t: IcebergType): void => {
    if (typeof t === 'string') return;
    if (t.type === 'struct') {
      for (const f of t.fields) {
        out.set(f.id, f);
        visit(f.type);
      }
    } else if (t.type === 'list') {
      out.set(t.elementId, {
        id: t.elementId,
        name: 'element',
        required: t.elementRequired,
        type: t.element,
      });
      visit(t.element);
    } else {
      out.set(t.keyId, { id: t.keyId, name: 'key', required: true, type: t.key });
      out.set(t.valueId, {
        id: t.valueId,
        name: 'value',
        required: t.valueRequired,
        type: t.value,
      });
      visit(t.key);
      visit(t.value);
    }
  };
  visit(struct);
  return out;
}

/** Highest field ID used anywhere in the struct (0 when empty). */
export function maxFieldId(struct: StructType): number {
  let max = 0;
  for (const id of indexById(struct).keys()) if (id > max) max = id;
  return max;
}

/** Finds a field by its dotted name ("a.b.c") through structs only. */
export function findFieldByName(struct: StructType, name: string): NestedField | undefined {
  const parts = name.split('.');
  let cur: StructType = struct;
  let found: NestedField | undefined;
  for (let i = 0; i < parts.length; i++) {
    found = cur.fields.find((f) => f.name === parts[i]);
    if (!found) return undefined;
    if (i < parts.length - 1) {
      if (typeof found.type === 'string' || found.type.type !== 'struct') return undefined;
      cur = found.type;
    }
  }
  return found;
}

/** Throws unless every field ID in the struct is unique and positive. */
export function validateFieldIds(struct: StructType): void {
  const seen = new Set<number>();
  const check = (id: number, where: string): void => {
    if (!Number.isInteger(id) || id < 0)
      fail(where, `field id ${id} must be a non-negative integer`);
    if (seen.has(id)) fail(where, `duplicate field id ${id}`);
    seen.add(id);
  };
  const visit = (t: IcebergType, where: string): void => {
    if (typeof t === 'string') return;
    if (t.type === 'struct') {
      for (const f of t.fields) {
        check(f.id, `${where}.${f.name}`);
        visit(f.type, `${where}.${f.name}`);
      }
    } else if (t.type === 'list') {
      check(t.elementId, `${where}.element`);
      visit(t.element, `${where}.element`);
    } else {
      check(t.keyId, `${where}.key`);
      check(t.valueId, `${where}.value`);
      visit(t.key, `${where}.key`);
      visit(t.value, `${where}.value`);
    }
  };
  visit(struct, 'schema');
}
