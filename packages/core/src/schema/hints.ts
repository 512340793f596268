/**
 * Column type hints from the table config: `{ "ts": "timestamptz", "price": "decimal(10, 2)",
 * "order.placed_at": "timestamp" }`. A hint forces the Iceberg type of a column the decoder
 * creates (by top-level name, dotted struct path "a.b", or list element path "tags[]");
 * columns already in the table schema keep their type.
 *
 * Types: https://iceberg.apache.org/spec/#primitive-types
 */
import { type PrimitiveType, parsePrimitive } from '@kice/iceberg';
import { KiceError } from '../errors.ts';

/** Column path → forced primitive type. */
export type TypeHints = Readonly<Record<string, PrimitiveType>>;

/**
 * Validates raw hints (e.g. from YAML) into canonical primitive types. Throws one
 * KiceError('CONFIG_INVALID') listing every bad entry as `hints["path"]: <reason>`.
 */
export function parseHints(raw: Readonly<Record<string, string>>): TypeHints {
  const out: Record<string, PrimitiveType> = {};
  const problems: string[] = [];
  for (const [path, type] of Object.entries(raw)) {
    if (!/^[^.[\]]+(\[\])*(\.[^.[\]]+(\[\])*)*$/.test(path)) {
      problems.push(`hints["${path}"]: expected a column path like "a", "a.b" or "tags[]"`);
      continue;
    }
    try {
      out[path] = parsePrimitive(String(type).trim());
    } catch (e) {
      problems.push(`hints["${path}"]: ${(e as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new KiceError('CONFIG_INVALID', problems.join('; '), { context: { problems } });
  }
  return Object.freeze(out);
}

/** The hinted type of a column path, if any. */
export function hintFor(hints: TypeHints | undefined, path: string): PrimitiveType | undefined {
  if (hints === undefined) return undefined;
  return Object.hasOwn(hints, path) ? hints[path] : undefined;
}
