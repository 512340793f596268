/**
 * Reading table properties as Java's PropertyUtil does, except that a malformed value
 * falls back to the default instead of failing the operation (as ./retry.ts does).
 *
 * Property names and defaults: https://iceberg.apache.org/docs/latest/configuration/#table-properties
 */

/** An integer property (may be negative); the default when absent or not an integer. */
export function intProperty(
  properties: Readonly<Record<string, string>>,
  key: string,
  fallback: number,
): number {
  const v = properties[key];
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : fallback;
}

/** A boolean property ("true"/"false", any case); the default otherwise. */
export function boolProperty(
  properties: Readonly<Record<string, string>>,
  key: string,
  fallback: boolean,
): boolean {
  const v = properties[key]?.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : fallback;
}
