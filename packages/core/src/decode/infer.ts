/**
 * Iceberg type inference for JSON values the table schema does not know yet.
 *
 * Types: https://iceberg.apache.org/spec/#schemas-and-data-types
 *
 *   true/false → boolean     integral number → long (also beyond ±2^53: exact.ts keeps
 *   the digits; an integer literal beyond int64 is then refused by the long column)
 *   other number → double    string → string (or the column's hint)
 *   object → struct (keys in order)
 *   array → list of the first inferable element (elements optional); an empty one with a
 *   hint for its element path ("tags[]") → list of the hinted type
 *   null, [], {}, arrays of those → nothing yet (no column until a real value shows up;
 *   json-decoder.ts decodes the batch again when such a column shows up later in it)
 *   [] / {} at a path in `empties` (a whole batch saw nothing else there) → placeholders,
 *   so that an empty value is never written as null: [] → list<string>, {} →
 *   map<string, string>, inside those too ([[]] → list<list<string>>, {"a":[]} →
 *   struct<a: list<string>>); a later value of any kind fits them as JSON text
 *   a path in `forced` (a type conflict made it a string column) → string
 *
 * New fields are optional. IDs are handed out in first-seen order, parent before children
 * (a struct field, then its fields; a list field, then its element), like Java's AddColumn.
 */
import type { IcebergType, NestedField } from '@kice/iceberg';
import { hintFor, type TypeHints } from '../schema/hints.ts';
import { JsonNumber } from './exact.ts';
import { parseDecimal } from './values.ts';

/** JSON kind of a parsed value, as named in error messages. */
export type JsonKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

/** The JSON kind of a value from JSON.parse. */
export function jsonKind(v: unknown): JsonKind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof JsonNumber) return 'number';
  return typeof v as JsonKind;
}

/** A plain JSON object (not null, not an array, not a JsonNumber). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The exact integer a number literal denotes: a bigint in the int64 range, 'fraction'
 * when it is not whole, 'range' when it is whole but beyond int64.
 */
export function exactInteger(v: JsonNumber): bigint | 'fraction' | 'range' {
  const r = parseDecimal(v.text, 19, 0);
  if (typeof r === 'string') return r.startsWith('needs') ? 'range' : 'fraction';
  return r < INT64_MIN || r > INT64_MAX ? 'range' : r;
}

/** Sequential ID source for provisional field IDs. */
export interface IdSource {
  next: number;
}

/** Path of a struct child: "a.b" (top level: just the name). */
export function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

/** Path of a list element: "tags[]". */
export function elementPath(list: string): string {
  return `${list}[]`;
}

/**
 * The Iceberg type for a JSON value at `path`, or undefined when the value says nothing
 * yet (null, empty array/object). Allocates IDs for nested fields from `ids`; on
 * undefined, no IDs are consumed. Under a path in `empties` (or with `loose`), empty
 * arrays and objects get placeholder types instead (see above).
 */
export function inferType(
  v: unknown,
  path: string,
  ids: IdSource,
  hints?: TypeHints,
  forced?: ReadonlySet<string>,
  empties?: ReadonlySet<string>,
  loose = false,
): IcebergType | undefined {
  if (v === null) return undefined;
  const hint = hintFor(hints, path);
  if (hint !== undefined) return hint;
  if (forced?.has(path)) return 'string';
  if (v instanceof JsonNumber)
    return v.integer || typeof exactInteger(v) === 'bigint' ? 'long' : 'double';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'long' : 'double';
    case 'string':
      return 'string';
  }
  const placeholder = loose || empties?.has(path) === true;
  const mark = ids.next;
  if (Array.isArray(v)) {
    const elementId = ids.next++;
    const ePath = elementPath(path);
    for (const e of v) {
      const element = inferType(e, ePath, ids, hints, forced, empties, placeholder);
      if (element !== undefined)
        return { type: 'list', elementId, element, elementRequired: false };
    }
    const element = hintFor(hints, ePath) ?? (placeholder ? 'string' : undefined);
    if (element !== undefined) return { type: 'list', elementId, element, elementRequired: false };
    ids.next = mark;
    return undefined;
  }
  const fields: NestedField[] = [];
  for (const name in v as Record<string, unknown>) {
    const value = (v as Record<string, unknown>)[name];
    const field = inferField(name, value, path, ids, hints, forced, empties, placeholder);
    if (field !== undefined) fields.push(field);
  }
  if (fields.length === 0) {
    if (placeholder) {
      const keyId = ids.next++;
      const valueId = ids.next++;
      return { type: 'map', keyId, key: 'string', valueId, value: 'string', valueRequired: false };
    }
    ids.next = mark;
    return undefined;
  }
  return { type: 'struct', fields };
}

/** A new optional field for `name` = `v` inside the struct at `parent`, or undefined. */
export function inferField(
  name: string,
  v: unknown,
  parent: string,
  ids: IdSource,
  hints?: TypeHints,
  forced?: ReadonlySet<string>,
  empties?: ReadonlySet<string>,
  loose = false,
): NestedField | undefined {
  if (v === null) return undefined;
  const mark = ids.next;
  const id = ids.next++;
  const type = inferType(v, childPath(parent, name), ids, hints, forced, empties, loose);
  if (type === undefined) {
    ids.next = mark;
    return undefined;
  }
  return { id, name, required: false, type };
}
