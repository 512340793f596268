/**
 * The type-tagged JSON that test/support/readers.py exchanges with the tests, and its
 * mapping to the in-memory value conventions of packages/iceberg/src/spec/types.ts
 * (long/time/timestamp/decimal → bigint, date → number of days, float → number with NaN
 * and -0 kept, binary/fixed → Uint8Array, uuid → string, struct → object, list → array,
 * map → Map).
 *
 *   {"$l": "123"}             long                → 123n
 *   {"$d": "-12.30"}          decimal(p, 2)       → -1230n (unscaled; the string carries
 *                                                   exactly `scale` fraction digits)
 *   {"$date": 19723}          date                → 19723
 *   {"$time": "µs"}           time                → bigint µs since midnight
 *   {"$ts": "µs"}, {"$tstz": "µs"}  timestamp(tz) → bigint µs since epoch
 *   {"$tsns": "ns"}, {"$tstzns": "ns"}            → bigint ns since epoch
 *   {"$f": "NaN"|"Infinity"|"-Infinity"|"-0.0"}   → the matching number
 *   {"$b": "00ff"}            binary, fixed       → Uint8Array
 *   {"$uuid": "…"}            uuid                → the canonical string
 *   {"$map": [[k, v], …]}     map                 → Map in entry order
 *   plain JSON numbers, strings, booleans, null, arrays, objects (structs) as themselves.
 */

/** A JSON value as JSON.parse returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A decoded row: column name → value in the library's in-memory conventions. */
export type Row = Record<string, unknown>;

const BIGINT_TAGS = new Set(['$l', '$time', '$ts', '$tstz', '$tsns', '$tstzns']);

function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`bad hex "${hex}"`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function decodeFloat(s: string): number {
  switch (s) {
    case 'NaN':
      return Number.NaN;
    case 'Infinity':
      return Number.POSITIVE_INFINITY;
    case '-Infinity':
      return Number.NEGATIVE_INFINITY;
    case '-0.0':
      return -0;
    default:
      throw new Error(`bad float tag "${s}"`);
  }
}

/** Unscaled value of a decimal string such as "-12.30" (all its digits, sign kept). */
function decimalToUnscaled(s: string): bigint {
  if (!/^-?\d+(\.\d+)?$/.test(s)) throw new Error(`bad decimal "${s}"`);
  return BigInt(s.replace('.', ''));
}

function decodeTag(tag: string, v: JsonValue): unknown {
  if (BIGINT_TAGS.has(tag)) return BigInt(v as string);
  switch (tag) {
    case '$date':
      return v as number;
    case '$d':
      return decimalToUnscaled(v as string);
    case '$f':
      return decodeFloat(v as string);
    case '$b':
      return hexToBytes(v as string);
    case '$uuid':
      return v as string;
    case '$map':
      return new Map(
        (v as JsonValue[][]).map(([k, val]) => [
          decodeTagged(k ?? null),
          decodeTagged(val ?? null),
        ]),
      );
    default:
      throw new Error(`unknown value tag ${tag}`);
  }
}

/**
 * Turns one type-tagged JSON value (a whole row, a struct, or a scalar) into the library's
 * in-memory conventions, so that tests can `expect(rows).toEqual(expected)` exactly.
 */
export function decodeTagged(value: JsonValue): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decodeTagged);
  const keys = Object.keys(value);
  const only = keys[0];
  if (keys.length === 1 && only?.startsWith('$')) return decodeTag(only, value[only] ?? null);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = decodeTagged(value[k] ?? null);
  return out;
}

/**
 * Encodes a value in the in-memory conventions as tagged JSON for `pyiceberg-write`.
 * Without the Iceberg type the tags are generic (any bigint → {"$l"}); readers.py
 * resolves them against the table's Arrow type: a bigint for a decimal column is its
 * unscaled value, for a timestamp its microseconds; a string for a uuid column is parsed.
 */
export function encodeTagged(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return { $l: value.toString() };
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return { $f: 'NaN' };
    if (value === Number.POSITIVE_INFINITY) return { $f: 'Infinity' };
    if (value === Number.NEGATIVE_INFINITY) return { $f: '-Infinity' };
    if (Object.is(value, -0)) return { $f: '-0.0' };
    return value;
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Uint8Array) return { $b: bytesToHex(value) };
  if (value instanceof Map)
    return { $map: [...value].map(([k, v]) => [encodeTagged(k), encodeTagged(v)]) };
  if (Array.isArray(value)) return value.map(encodeTagged);
  if (typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encodeTagged(v);
    return out;
  }
  throw new Error(`cannot encode ${typeof value} as tagged JSON`);
}

/** Parses JSON lines of tagged rows (readers.py output) into decoded rows. */
export function parseTaggedRows(text: string): Row[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => decodeTagged(JSON.parse(line) as JsonValue) as Row);
}
