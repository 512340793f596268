/**
 * Iceberg type inference for JSON values the table schema does not know yet.
 *
 * Types: https://iceberg.apache.org/spec/#schemas-and-data-types
 *
 *   true/false → boolean     integral number → long     other number → double
 *   string → string (or the column's hint)              object → struct (keys in order)
 *   array → list of the first inferable element (elements optional)
 *   null, [], {}, arrays of those → nothing yet (no column until a real value shows up)
 *
 * New fields are optional. IDs are handed out in first-seen order, parent before children
 * (a struct field, then its fields; a list field, then its element), like Java's AddColumn.
 */
import type { IcebergType, NestedField } from '@kice/iceberg';
import { hintFor, type TypeHints } from '../schema/hints.ts';

/** JSON kind of a parsed value, as named in error messages. */
export type JsonKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

/** The JSON kind of a value from JSON.parse. */
export function jsonKind(v: unknown): JsonKind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as JsonKind;
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
 * undefined, no IDs are consumed.
 */
export function inferType(
  v: unknown,
  path: string,
  ids: IdSource,
  hints?: TypeHints,
): IcebergType | undefined {
  if (v === null) return undefined;
  const hint = hintFor(hints, path);
  if (hint !== undefined) return hint;
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'long' : 'double';
    case 'string':
      return 'string';
  }
  const mark = ids.next;
  if (Array.isArray(v)) {
    const elementId = ids.next++;
    const ePath = elementPath(path);
    for (const e of v) {
      const element = inferType(e, ePath, ids, hints);
      if (element !== undefined)
        return { type: 'list', elementId, element, elementRequired: false };
    }
    ids.next = mark;
    return undefined;
  }
  const fields: NestedField[] = [];
  for (const name in v as Record<string, unknown>) {
    const field = inferField(name, (v as Record<string, unknown>)[name], path, ids, hints);
    if (field !== undefined) fields.push(field);
  }
  if (fields.length === 0) {
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
): NestedField | undefined {
  if (v === null) return undefined;
  const mark = ids.next;
  const id = ids.next++;
  const type = inferType(v, childPath(parent, name), ids, hints);
  if (type === undefined) {
    ids.next = mark;
    return undefined;
  }
  return { id, name, required: false, type };
}
