/**
 * Avro field aliases in the table mapping: a writer schema whose field was renamed, with
 * the old name in its `aliases` (`{"name": "email", "aliases": ["mail"], …}`), keeps landing
 * in the old field's column, so the column keeps its field ID, its name and its earlier
 * rows. The writer schema is rewritten before it is mapped (avro-schema.ts) and compiled:
 * each record field whose name is not a column at its path in the table, but one of whose
 * aliases is (and no other field of the record has that name), takes the alias's name.
 * Rows then decode straight into the table's names; nothing else changes.
 *
 * The column keeps its first name (kice never renames a column: Iceberg readers that map
 * by name, and SQL written against the table, keep working). Versions without the alias
 * (the old writer) keep matching by name. Only field aliases count; a named type's own
 * aliases do not change any column. A named type defined once and referenced again is
 * rewritten where it is defined (its first use).
 *
 * Which table a writer schema is matched against: the table schema as the batch found
 * it, grown by the batch's earlier writer schemas in order of first appearance, so v1 and
 * v2 records in one batch of a new table share one column.
 *
 * Avro spec, aliases: https://avro.apache.org/docs/1.12.0/specification/#aliases
 */
import { type IcebergType, maxFieldId, type Schema, type StructType } from '@kice/iceberg';
import { evolveSchema } from '../schema/evolve.ts';
import { avroToIceberg, branchName, parseAvroSchema } from './avro-schema.ts';
import type { RegistryBatchInput, ResolvedSchema } from './formats.ts';

type AvroJson = string | AvroJson[] | { [k: string]: unknown };

function fieldType(t: IcebergType | undefined, name: string): IcebergType | undefined {
  if (t === undefined || typeof t === 'string' || t.type !== 'struct') return undefined;
  return t.fields.find((f) => f.name === name)?.type;
}

/** Renames `s`'s record fields in place to the columns of `t` their aliases name. */
function walk(s: AvroJson, t: IcebergType | undefined, namespace: string | undefined): void {
  if (Array.isArray(s)) {
    const nonNull = s.filter((b) => b !== 'null');
    if (nonNull.length === 1) walk(nonNull[0] as AvroJson, t, namespace);
    else for (const b of nonNull) walk(b, fieldType(t, branchName(b, namespace)), namespace);
    return;
  }
  if (typeof s === 'string' || s === null || typeof s !== 'object') return;
  const ns = typeof s.namespace === 'string' ? s.namespace : namespace;
  switch (s.type) {
    case 'record':
    case 'error': {
      if (!Array.isArray(s.fields)) return;
      const name = typeof s.name === 'string' ? s.name : '';
      const inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : ns;
      const fields = s.fields as Record<string, unknown>[];
      const table =
        t !== undefined && typeof t !== 'string' && t.type === 'struct'
          ? new Set(t.fields.map((f) => f.name))
          : new Set<string>();
      const names = new Set(fields.map((f) => f?.name));
      for (const f of fields) {
        if (f === null || typeof f !== 'object' || typeof f.name !== 'string') continue;
        if (!table.has(f.name) && Array.isArray(f.aliases)) {
          const alias = f.aliases.find(
            (a): a is string => typeof a === 'string' && table.has(a) && !names.has(a),
          );
          if (alias !== undefined) {
            names.delete(f.name);
            names.add(alias);
            f.name = alias;
          }
        }
        walk(f.type as AvroJson, fieldType(t, f.name as string), inner);
      }
      return;
    }
    case 'array':
      walk(
        s.items as AvroJson,
        t !== undefined && typeof t !== 'string' && t.type === 'list' ? t.element : undefined,
        ns,
      );
      return;
    case 'map':
      walk(
        s.values as AvroJson,
        t !== undefined && typeof t !== 'string' && t.type === 'map' ? t.value : undefined,
        ns,
      );
      return;
    default:
      if (s.type !== null && typeof s.type === 'object') walk(s.type as AvroJson, t, ns);
  }
}

/** The writer schema with its aliased fields renamed to the table's columns (a copy). */
export function resolveAliases(schema: AvroJson, table: StructType): AvroJson {
  const copy = structuredClone(schema);
  walk(copy, table, undefined);
  return copy;
}

/** Whether a schema text has an `aliases` key at all (the common case has none). */
function mentionsAliases(text: string): boolean {
  return text.includes('"aliases"');
}

/**
 * Each schema id of the batch → the schema text to map and decode with: the registry's
 * text, or, where a field alias names a table column, the rewritten schema's JSON.
 */
export function aliasedTexts(input: RegistryBatchInput): Map<number, string> {
  const out = new Map<number, string>();
  for (const [id, s] of Object.entries(input.schemas)) out.set(Number(id), s.schema);
  if (![...out.values()].some(mentionsAliases)) return out;
  // Ids in order of first appearance.
  const order = new Set<number>();
  const { bytes, offsets } = input;
  for (let i = 0; i + 1 < offsets.length; i++) {
    const s = offsets[i] as number;
    if ((offsets[i + 1] as number) - s < 5 || bytes[s] !== 0) continue;
    const id =
      ((bytes[s + 1] as number) * 0x1000000 +
        (((bytes[s + 2] as number) << 16) |
          ((bytes[s + 3] as number) << 8) |
          (bytes[s + 4] as number))) >>>
      0;
    if (out.has(id)) order.add(id);
  }
  let known: Schema = { ...input.schema, schemaId: 0 } as Schema;
  let last = maxFieldId(input.schema);
  for (const id of order) {
    const text = out.get(id) as string;
    try {
      const parsed = parseAvroSchema(text);
      const renamed = mentionsAliases(text) ? resolveAliases(parsed, known) : parsed;
      const rewritten = JSON.stringify(renamed);
      if (rewritten !== JSON.stringify(parsed)) out.set(id, rewritten);
      const e = evolveSchema(known, avroToIceberg(renamed), last);
      known = e.schema;
      last = e.lastColumnId;
    } catch {
      // A schema the table cannot take: its records are refused when the batch is mapped.
    }
  }
  return out;
}

/** The batch input with its writer schemas rewritten where an alias names a table column. */
export function withAliases(input: RegistryBatchInput): RegistryBatchInput {
  const texts = aliasedTexts(input);
  let schemas: Record<number, ResolvedSchema> | undefined;
  for (const [id, text] of texts) {
    const s = input.schemas[id] as ResolvedSchema;
    if (text === s.schema) continue;
    schemas ??= { ...input.schemas };
    schemas[id] = { ...s, schema: text };
  }
  return schemas ? { ...input, schemas } : input;
}
