/**
 * Partition transforms: parsing, applicability, result types, application and the
 * human-readable values used in partition paths.
 *
 * Spec: https://iceberg.apache.org/spec/#partition-transforms
 * Hashing: https://iceberg.apache.org/spec/#appendix-b-32-bit-hash-requirements
 *
 *   JSON string    source types                                      result
 *   identity       any primitive                                     source
 *   bucket[N]      int long decimal date time timestamp(tz) string   int: (murmur3(v) & MAX_INT) % N
 *                  uuid fixed binary
 *   truncate[W]    int long decimal string binary                    source
 *   year, month    date timestamp timestamptz                        int (units since 1970)
 *   day            date timestamp timestamptz                        date
 *   hour           timestamp timestamptz                             int (hours since epoch)
 *   void           any                                               source (always null)
 */
import { IcebergError } from '../errors.ts';
import { murmur3x86_32 } from './murmur3.ts';
import { decimalParams, type PrimitiveType, typeKind } from './types.ts';
import { bigIntToMinimalBytes, toBytes, truncateCodePoints, uuidToBytes } from './values.ts';

export type Transform =
  | { kind: 'identity' }
  | { kind: 'bucket'; n: number }
  | { kind: 'truncate'; width: number }
  | { kind: 'year' }
  | { kind: 'month' }
  | { kind: 'day' }
  | { kind: 'hour' }
  | { kind: 'void' };

const PARAM_RE = /^(bucket|truncate)\[\s*(\d+)\s*\]$/;
const SIMPLE_TRANSFORMS = new Set(['identity', 'year', 'month', 'day', 'hour', 'void']);

/** Parses a transform as written in JSON ("bucket[16]", "day", …). */
export function parseTransform(s: string): Transform {
  const t = s.trim().toLowerCase();
  if (SIMPLE_TRANSFORMS.has(t)) return { kind: t } as Transform;
  const m = PARAM_RE.exec(t);
  if (m) {
    const n = Number(m[2]);
    if (n < 1 || n > 2147483647) {
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `invalid transform "${s}": parameter must be >= 1`,
      );
    }
    return m[1] === 'bucket' ? { kind: 'bucket', n } : { kind: 'truncate', width: n };
  }
  throw new IcebergError('INVALID_ARGUMENT', `unknown transform "${s}"`, {
    context: { transform: s },
  });
}

/** The JSON string of a transform. */
export function transformToString(t: Transform): string {
  switch (t.kind) {
    case 'bucket':
      return `bucket[${t.n}]`;
    case 'truncate':
      return `truncate[${t.width}]`;
    default:
      return t.kind;
  }
}

const BUCKETABLE = new Set([
  'int',
  'long',
  'decimal',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'string',
  'uuid',
  'fixed',
  'binary',
]);
const TRUNCATABLE = new Set(['int', 'long', 'decimal', 'string', 'binary']);
const DATED = new Set(['date', 'timestamp', 'timestamptz']);

/** Whether the transform applies to a source column of the given type. */
export function canTransform(t: Transform, source: PrimitiveType): boolean {
  const k = typeKind(source);
  switch (t.kind) {
    case 'identity':
    case 'void':
      return true;
    case 'bucket':
      return BUCKETABLE.has(k);
    case 'truncate':
      return TRUNCATABLE.has(k);
    case 'year':
    case 'month':
    case 'day':
      return DATED.has(k);
    case 'hour':
      return k === 'timestamp' || k === 'timestamptz';
  }
}

/** The type of the transform's output for a source type. */
export function transformResultType(t: Transform, source: PrimitiveType): PrimitiveType {
  switch (t.kind) {
    case 'bucket':
    case 'year':
    case 'month':
    case 'hour':
      return 'int';
    case 'day':
      return 'date';
    default:
      return source;
  }
}

const MICROS_PER_HOUR = 3_600_000_000n;
const MICROS_PER_DAY = 86_400_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function floorMod(a: bigint, b: bigint): bigint {
  return ((a % b) + b) % b;
}

function asBig(v: unknown): bigint {
  return typeof v === 'bigint' ? v : BigInt(v as number);
}

/** The bytes Appendix B hashes for a value: int/date widen to long, decimal minimal BE. */
function hashBytes(source: PrimitiveType, value: unknown): Uint8Array {
  switch (typeKind(source)) {
    case 'int':
    case 'date':
      return toBytes('long', BigInt(value as number));
    case 'decimal':
      return bigIntToMinimalBytes(asBig(value));
    case 'uuid':
      return uuidToBytes(value as string);
    default:
      return toBytes(source, value);
  }
}

/** UTC calendar year and month (0-11) of a day count since 1970-01-01. */
function civil(days: number): { year: number; month: number } {
  const d = new Date(days * 86_400_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() };
}

/** Days since epoch of a date or timestamp value (floored). */
function toDays(source: PrimitiveType, value: unknown): number {
  if (typeKind(source) === 'date') return value as number;
  return Number(floorDiv(asBig(value), MICROS_PER_DAY));
}

/**
 * Applies a transform to one source value; null/undefined give null. Results follow the
 * in-memory conventions of types.ts for the result type.
 */
export function applyTransform(t: Transform, source: PrimitiveType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (!canTransform(t, source)) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `transform ${transformToString(t)} cannot apply to type ${source}`,
    );
  }
  switch (t.kind) {
    case 'identity':
      return value;
    case 'void':
      return null;
    case 'bucket':
      return (murmur3x86_32(hashBytes(source, value)) & 0x7fffffff) % t.n;
    case 'truncate':
      return truncateValue(t.width, source, value);
    case 'year':
      return civil(toDays(source, value)).year - 1970;
    case 'month': {
      const c = civil(toDays(source, value));
      return (c.year - 1970) * 12 + c.month;
    }
    case 'day':
      return toDays(source, value);
    case 'hour':
      return Number(floorDiv(asBig(value), MICROS_PER_HOUR));
  }
}

function truncateValue(width: number, source: PrimitiveType, value: unknown): unknown {
  switch (typeKind(source)) {
    case 'int': {
      const v = value as number;
      return v - (((v % width) + width) % width);
    }
    case 'long':
    case 'decimal': {
      const v = asBig(value);
      return v - floorMod(v, BigInt(width));
    }
    case 'string':
      return truncateCodePoints(value as string, width);
    default: {
      const b = value as Uint8Array;
      return b.length <= width ? b : b.slice(0, width);
    }
  }
}

// ---------------------------------------------------------------- human strings

const pad = (n: number, w = 2): string =>
  n < 0 ? `-${String(-n).padStart(w, '0')}` : String(n).padStart(w, '0');

function isoDate(days: number): string {
  const d = new Date(days * 86_400_000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Java's ISO_LOCAL_TIME fraction: omitted when zero, else trailing zeros trimmed. */
function isoFraction(micros: bigint): string {
  return micros === 0n ? '' : `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
}

function isoTimestamp(micros: bigint): string {
  const days = Number(floorDiv(micros, MICROS_PER_DAY));
  const inDay = floorMod(micros, MICROS_PER_DAY);
  const secs = Number(inDay / 1_000_000n);
  const clock = `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}`;
  return `${isoDate(days)}T${clock}${isoFraction(inDay % 1_000_000n)}`;
}

/** Java's LocalTime.toString: seconds only when non-zero, fraction in groups of three. */
function humanTime(micros: bigint): string {
  const secs = Number(micros / 1_000_000n);
  const frac = Number(micros % 1_000_000n);
  let out = `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}`;
  if (secs % 60 === 0 && frac === 0) return out;
  out += `:${pad(secs % 60)}`;
  if (frac === 0) return out;
  return frac % 1000 === 0 ? `${out}.${pad(frac / 1000, 3)}` : `${out}.${pad(frac, 6)}`;
}

/** Java's BigDecimal.toString for a non-negative scale. */
function humanDecimal(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = String(neg ? -unscaled : unscaled);
  const adjusted = digits.length - 1 - scale;
  let body: string;
  if (scale === 0) body = digits;
  else if (adjusted >= -6) {
    const padded = digits.padStart(scale + 1, '0');
    body = `${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
  } else {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${mant}E${adjusted}`;
  }
  return neg ? `-${body}` : body;
}

/** Java's Float/Double.toString: "1.0", "1.0E10", "1.0E-5", shortest round-trip digits. */
function humanFloat(v: number, single: boolean): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  let digits = String(v);
  if (single) {
    for (let p = 1; p <= 9; p++) {
      const s = v.toPrecision(p);
      if (Math.fround(Number(s)) === v) {
        digits = String(Number(s));
        break;
      }
    }
  }
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e7) return /[.e]/.test(digits) ? digits : `${digits}.0`;
  const [m = '', e = '0'] = Number(digits).toExponential().split('e');
  return `${m.includes('.') ? m : `${m}.0`}E${Number(e)}`;
}

/**
 * The human-readable form of a partition value, as Java writes it into partition paths:
 * year "2024", month "2024-01", day "2024-01-01", hour "2024-01-01-10", null "null";
 * identity/truncate values by their type (dates ISO, timestamps ISO local / "+00:00",
 * binary Base64, decimals with their scale, floats as Java prints them).
 */
export function humanPartitionValue(
  t: Transform,
  resultType: PrimitiveType,
  value: unknown,
): string {
  if (value === null || value === undefined) return 'null';
  switch (t.kind) {
    case 'year':
      return pad(1970 + (value as number), 4);
    case 'month': {
      const m = value as number;
      const y = 1970 + Math.floor(m / 12);
      return `${pad(y, 4)}-${pad((((m % 12) + 12) % 12) + 1)}`;
    }
    case 'day':
      return isoDate(value as number);
    case 'hour': {
      const h = value as number;
      return `${isoDate(Math.floor(h / 24))}-${pad(((h % 24) + 24) % 24)}`;
    }
  }
  switch (typeKind(resultType)) {
    case 'date':
      return isoDate(value as number);
    case 'time':
      return humanTime(asBig(value));
    case 'timestamp':
      return isoTimestamp(asBig(value));
    case 'timestamptz':
      return `${isoTimestamp(asBig(value))}+00:00`;
    case 'fixed':
    case 'binary':
      return Buffer.from(value as Uint8Array).toString('base64');
    case 'decimal':
      return humanDecimal(asBig(value), decimalParams(resultType)?.scale ?? 0);
    case 'float':
      return humanFloat(value as number, true);
    case 'double':
      return humanFloat(value as number, false);
    default:
      return String(value);
  }
}
