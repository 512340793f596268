/**
 * Filter literals converted to a column's type when an expression is bound
 * (./expressions.ts bind), so that a filter written as text or JSON — where a long beyond
 * 2^53 arrives as digits, a timestamp as ISO 8601 text, a decimal as "12.50" — compares
 * exactly. A value already in the in-memory conventions (../spec/types.ts) is kept as is.
 *
 *   int, float, double  a number (or numeric text; a bigint is converted)
 *   long                an integer number, a bigint, or integer text
 *   decimal(p, s)       a bigint (the unscaled value), a number or decimal text with at
 *                       most s fraction digits
 *   date                days (a number) or "YYYY-MM-DD"
 *   time                µs (bigint or integer) or "HH:MM:SS[.ffffff]"
 *   timestamp(tz)       µs (bigint or integer) or ISO 8601 text; without a zone it is UTC
 *   string              a string; uuid a uuid string (any case)
 *   binary, fixed       a Uint8Array, or a string (its UTF-8 bytes)
 *   boolean             a boolean
 *
 * Anything else is an INVALID_ARGUMENT error naming the column, its type and the value.
 * Spec: https://iceberg.apache.org/spec/#primitive-types.
 */
import { IcebergError } from '../errors.ts';
import { decimalParams, fixedLength, type PrimitiveType } from '../spec/types.ts';

const INT_TEXT = /^\s*-?\d+\s*$/;
const DECIMAL_TEXT = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

function shown(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  return String(v);
}

function days(y: string, m: string, d: string): number | undefined {
  const ms = Date.UTC(Number(y), Number(m) - 1, Number(d));
  const back = new Date(ms);
  if (back.getUTCFullYear() !== Number(y) || back.getUTCMonth() !== Number(m) - 1) return undefined;
  if (back.getUTCDate() !== Number(d)) return undefined;
  return ms / 86_400_000;
}

/** Fraction digits (up to 9) as µs, truncated past the sixth. */
const micros = (frac: string | undefined): bigint =>
  BigInt((frac ?? '').padEnd(6, '0').slice(0, 6));

function timeOfDay(h: string, mi: string, s: string | undefined, frac: string | undefined) {
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return undefined;
  return (BigInt(h) * 3600n + BigInt(mi) * 60n + BigInt(s ?? 0)) * 1_000_000n + micros(frac);
}

function timestampMicros(text: string): bigint | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return undefined;
  const d = days(m[1] as string, m[2] as string, m[3] as string);
  if (d === undefined) return undefined;
  const tod = m[4] === undefined ? 0n : timeOfDay(m[4], m[5] as string, m[6], m[7]);
  if (tod === undefined) return undefined;
  let offset = 0n;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) as RegExpExecArray;
    offset = (BigInt(z[2] as string) * 60n + BigInt(z[3] as string)) * 60_000_000n;
    if (z[1] === '-') offset = -offset;
  }
  return BigInt(d) * 86_400_000_000n + tod - offset;
}

function unscaled(text: string, scale: number): bigint | 'scale' | undefined {
  const m = DECIMAL_TEXT.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > scale) return 'scale';
  const digits = `${m[2] || '0'}${frac.padEnd(scale, '0')}`;
  const v = BigInt(digits);
  return m[1] === '-' ? -v : v;
}

/** `value` as column `ref` of type `type` compares it (see the module comment). */
export function coerceLiteral(ref: string, type: PrimitiveType, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const fail = (why: string): never => {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `filter column "${ref}" (${type}): ${shown(value)} ${why}`,
      { context: { option: 'filter', column: ref } },
    );
  };
  const v = value;
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean' ? v : fail('is not a boolean');
    case 'int':
    case 'float':
    case 'double': {
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      if (v === 'NaN' && type !== 'int') return Number.NaN;
      return fail('is not a number');
    }
    case 'long': {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
      if (typeof v === 'string' && INT_TEXT.test(v)) return BigInt(v.trim());
      return fail('is not an integer');
    }
    case 'date': {
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      const m = typeof v === 'string' ? DATE.exec(v.trim()) : null;
      const d = m ? days(m[1] as string, m[2] as string, m[3] as string) : undefined;
      return d ?? fail('is not a date (YYYY-MM-DD)');
    }
    case 'time': {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
      const m = typeof v === 'string' ? TIME.exec(v.trim()) : null;
      const t = m ? timeOfDay(m[1] as string, m[2] as string, m[3], m[4]) : undefined;
      return t ?? fail('is not a time (HH:MM:SS[.ffffff])');
    }
    case 'timestamp':
    case 'timestamptz': {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
      const t = typeof v === 'string' ? timestampMicros(v) : undefined;
      return t ?? fail('is not an ISO 8601 timestamp');
    }
    case 'string':
      return typeof v === 'string' ? v : fail('is not a string');
    case 'uuid':
      return typeof v === 'string' && UUID.test(v) ? v.toLowerCase() : fail('is not a uuid');
    case 'binary':
      if (v instanceof Uint8Array) return v;
      return typeof v === 'string' ? new TextEncoder().encode(v) : fail('is not bytes');
  }
  const dec = decimalParams(type);
  if (dec) {
    if (typeof v === 'bigint') return v;
    const text =
      typeof v === 'number' && Number.isFinite(v) && !/e/i.test(String(v))
        ? String(v)
        : typeof v === 'string'
          ? v
          : undefined;
    const u = text === undefined ? undefined : unscaled(text, dec.scale);
    if (u === 'scale') return fail(`has more than ${dec.scale} fraction digits`);
    return u ?? fail('is not a decimal number');
  }
  const len = fixedLength(type);
  if (len !== undefined) {
    const bytes =
      v instanceof Uint8Array ? v : typeof v === 'string' ? new TextEncoder().encode(v) : undefined;
    if (!bytes) return fail('is not bytes');
    return bytes.byteLength === len ? bytes : fail(`is not ${len} bytes`);
  }
  return v;
}
