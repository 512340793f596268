/**
 * Merges a schema observed by the decoder (provisional field IDs) into the table schema,
 * by name path, the way an Iceberg UpdateSchema with addColumn/updateColumn would.
 *
 * Spec: https://iceberg.apache.org/spec/#schema-evolution
 * Allowed promotions: int → long, float → double, decimal(P, S) → decimal(P', S) with P' > P.
 * Schema JSON: {"type":"struct","schema-id":N,"fields":[{"id","name","required","type"}]}
 *
 * Existing fields keep their IDs (and requiredness, doc); new fields, and every field nested
 * in them, get fresh IDs from lastColumnId + 1, parent before children; new fields are
 * optional. Table fields the observed struct lacks are kept as they are.
 *
 * With `conflictsAsString` (before a table's first commit, typeConflicts asString): observations of
 * different kinds (long and string, a string and a list, a struct and a boolean…) make a
 * string column, which conform.ts fills with the JSON text of batches decoded earlier.
 *
 * A placeholder (a field a batch saw only as [] / {}: list<string>, map<string, string>,
 * decode/infer.ts) gives way to the table's type when that type can hold its empty values
 * (see `holds`); conform.ts then writes that batch's empties in the table's type. The
 * other way round, a placeholder of the table not committed yet (`tablePlaceholders`) is
 * replaced by the observed type when that one can hold its empties.
 */
import {
  decimalParams,
  type IcebergType,
  type NestedField,
  type Schema,
  type StructType,
} from '@kice/iceberg';
import { KiceError } from '../errors.ts';

/** Result of evolveSchema. */
export interface EvolvedSchema {
  readonly schema: Schema;
  readonly lastColumnId: number;
  readonly changed: boolean;
}

interface State {
  next: number;
  changed: boolean;
  /** Merge observations before anything was committed: long and double make double. */
  allowLongToDouble: boolean;
  /** Different kinds make a string column (see above). */
  conflictsAsString: boolean;
  /** Paths whose observed type is a placeholder of [] / {} only (see above). */
  placeholders: Set<string>;
  /** Paths whose table type is such a placeholder (not committed): a real type replaces
   * it, and the path is removed from the set. */
  tablePlaceholders: Set<string>;
}

/**
 * Whether the table type can hold every value of a placeholder type: the placeholder's
 * lists and maps are empty and its leaves null (decode/infer.ts), so a table list takes a
 * placeholder list whose element it can take, a map or struct takes an empty map, a
 * string takes anything (as JSON text), and any type takes a leaf.
 */
function holds(table: IcebergType, seen: IcebergType): boolean {
  if (table === 'string' || typeof seen === 'string') return true;
  if (typeof table === 'string') return false;
  if (seen.type === 'map') return table.type === 'map' || table.type === 'struct';
  if (seen.type === 'list') return table.type === 'list' && holds(table.element, seen.element);
  if (table.type !== 'struct') return false;
  const byName = new Map(table.fields.map((f) => [f.name, f.type]));
  return seen.fields.every((f) => {
    const t = byName.get(f.name);
    return t === undefined || holds(t, f.type);
  });
}

function kindName(t: IcebergType): string {
  return typeof t === 'string' ? t : t.type;
}

function incompatible(path: string, from: IcebergType, to: IcebergType): never {
  throw new KiceError(
    'SCHEMA_INCOMPATIBLE',
    `field "${path}": cannot change ${kindName(from)} to ${kindName(to)}`,
    { context: { path, from: kindName(from), to: kindName(to) } },
  );
}

/** Copies a type with fresh IDs for every nested field (parent before children). */
function renumber(t: IcebergType, st: State): IcebergType {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') {
    return { type: 'struct', fields: t.fields.map((f) => freshField(f, st)) };
  }
  if (t.type === 'list') {
    const elementId = st.next++;
    return { ...t, elementId, element: renumber(t.element, st) };
  }
  const keyId = st.next++;
  const valueId = st.next++;
  return { ...t, keyId, key: renumber(t.key, st), valueId, value: renumber(t.value, st) };
}

function freshField(f: NestedField, st: State): NestedField {
  const id = st.next++;
  return { id, name: f.name, required: false, type: renumber(f.type, st) };
}

/** The table type after merging the observed one at `path`. */
function mergeType(table: IcebergType, seen: IcebergType, path: string, st: State): IcebergType {
  // A placeholder in the table gives way to a real type that can hold its empties.
  if (st.tablePlaceholders.has(path) && !st.placeholders.has(path) && holds(seen, table)) {
    st.tablePlaceholders.delete(path);
    const structs = typeof table !== 'string' && table.type === 'struct';
    if (structs && typeof seen !== 'string' && seen.type === 'struct') {
      // Field by field: each of the table's is a placeholder in turn.
      for (const f of table.fields) st.tablePlaceholders.add(`${path}.${f.name}`);
      return mergeStruct(table, seen, path, st);
    }
    st.changed = true;
    return renumber(seen, st);
  }
  // A placeholder gives way to what the table has (its fields not in the table are added).
  if (st.placeholders.has(path) && holds(table, seen)) {
    if (typeof table === 'string' || table.type !== 'struct') return table;
    if (typeof seen === 'string' || seen.type !== 'struct') return table;
    for (const f of seen.fields) st.placeholders.add(`${path}.${f.name}`);
    return mergeStruct(table, seen, path, st);
  }
  if (st.conflictsAsString && table !== seen) {
    const t = kindName(table);
    const o = kindName(seen);
    const numeric = (k: string) => k === 'int' || k === 'long' || k === 'float' || k === 'double';
    if (t === 'string') return table;
    const decimals = decimalParams(table) !== undefined && decimalParams(seen) !== undefined;
    if (o === 'string' || (t !== o && !(numeric(t) && numeric(o)) && !decimals)) {
      st.changed = true;
      return 'string';
    }
  }
  if (typeof table === 'string' || typeof seen === 'string') {
    if (table === seen) return table;
    if (typeof table !== 'string' || typeof seen !== 'string') incompatible(path, table, seen);
    // observed narrower than the table (decoded under an older schema): keep the table's
    if ((table === 'long' && seen === 'int') || (table === 'double' && seen === 'float')) {
      return table;
    }
    // Integers fit a double column (the decoder accepts them; conform casts older batches).
    if (table === 'double' && (seen === 'long' || seen === 'int')) return table;
    if (st.allowLongToDouble && (table === 'long' || table === 'int') && seen === 'double') {
      st.changed = true;
      return seen;
    }
    if ((table === 'int' && seen === 'long') || (table === 'float' && seen === 'double')) {
      st.changed = true;
      return seen;
    }
    const a = decimalParams(table);
    const b = decimalParams(seen);
    if (a && b && a.scale === b.scale) {
      if (b.precision <= a.precision) return table;
      st.changed = true;
      return seen;
    }
    return incompatible(path, table, seen);
  }
  if (table.type === 'struct' && seen.type === 'struct') return mergeStruct(table, seen, path, st);
  if (table.type === 'list' && seen.type === 'list') {
    const element = mergeType(table.element, seen.element, `${path}[]`, st);
    return element === table.element ? table : { ...table, element };
  }
  if (table.type === 'map' && seen.type === 'map') {
    const key = mergeType(table.key, seen.key, `${path}.key`, st);
    const value = mergeType(table.value, seen.value, `${path}.value`, st);
    return key === table.key && value === table.value ? table : { ...table, key, value };
  }
  return incompatible(path, table, seen);
}

function mergeStruct(table: StructType, seen: StructType, path: string, st: State): StructType {
  const byName = new Map(seen.fields.map((f) => [f.name, f]));
  let same = true;
  const fields: NestedField[] = table.fields.map((f) => {
    const o = byName.get(f.name);
    if (o === undefined) return f;
    const type = mergeType(f.type, o.type, path === '' ? f.name : `${path}.${f.name}`, st);
    if (type === f.type) return f;
    same = false;
    return { ...f, type };
  });
  const known = new Set(table.fields.map((f) => f.name));
  for (const o of seen.fields) {
    if (known.has(o.name)) continue;
    fields.push(freshField(o, st));
    st.changed = true;
    same = false;
  }
  return same ? table : { type: 'struct', fields };
}

/**
 * Merges `observed` into `table` by name path. Throws KiceError('SCHEMA_INCOMPATIBLE')
 * naming the path when a type cannot be promoted. When changed, the new schema's id is
 * `table.schemaId + 1` and `lastColumnId` covers the fresh IDs.
 */
export function evolveSchema(
  table: Schema,
  observed: StructType,
  lastColumnId: number,
  options: {
    allowLongToDouble?: boolean;
    conflictsAsString?: boolean;
    /** Paths (decoder paths, decode/infer.ts) where `observed` has a placeholder type. */
    placeholders?: ReadonlySet<string>;
    /** Paths where `table` has an uncommitted placeholder type; updated in place. */
    tablePlaceholders?: Set<string>;
  } = {},
): EvolvedSchema {
  const st: State = {
    next: lastColumnId + 1,
    changed: false,
    allowLongToDouble: options.allowLongToDouble ?? false,
    conflictsAsString: options.conflictsAsString ?? false,
    placeholders: new Set(options.placeholders),
    tablePlaceholders: options.tablePlaceholders ?? new Set(),
  };
  const merged = mergeStruct(table, observed, '', st);
  if (!st.changed) return { schema: table, lastColumnId, changed: false };
  const schema: Schema = {
    type: 'struct',
    schemaId: table.schemaId + 1,
    ...(table.identifierFieldIds ? { identifierFieldIds: table.identifierFieldIds } : {}),
    fields: merged.fields,
  };
  return { schema, lastColumnId: st.next - 1, changed: true };
}
