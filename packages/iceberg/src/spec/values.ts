/**
 * Single-value binary serialization, value ordering and bound truncation for primitives.
 *
 * Spec: https://iceberg.apache.org/spec/#appendix-d-single-value-serialization
 *
 *   boolean              1 byte, 0x00 false / 0x01 true
 *   int, date            4 bytes, little-endian two's complement (date: days since epoch)
 *   long, time,          8 bytes, little-endian two's complement
 *   timestamp(tz)        (time / timestamp: microseconds)
 *   float, double        IEEE 754, little-endian (4 / 8 bytes)
 *   string               UTF-8 bytes, no length prefix
 *   uuid                 16 bytes, big-endian (the canonical hex digits in order)
 *   fixed[L], binary     the bytes themselves
 *   decimal(P, S)        unscaled value, two's complement big-endian, minimum number of bytes
 *
 * In-memory values follow the conventions in types.ts (long-like → bigint, decimal → unscaled
 * bigint, uuid → canonical lowercase string, fixed/binary → Uint8Array).
 */
import { IcebergError } from '../errors.ts';
import { fixedLength, type PrimitiveType, typeKind } from './types.ts';

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true });
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bad(type: PrimitiveType, value: unknown, rule: string): never {
  const shown = typeof value === 'bigint' ? `${value}n` : String(value);
  throw new IcebergError('INVALID_ARGUMENT', `value ${shown} for type ${type}: ${rule}`, {
    context: { type },
  });
}

function asBigInt(type: PrimitiveType, value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return bad(type, value, 'expected a bigint');
}

function asInt32(type: PrimitiveType, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    bad(type, value, 'expected an integer');
  if (value < -2147483648 || value > 2147483647) bad(type, value, 'out of 32-bit range');
  return value;
}

function asBytes(type: PrimitiveType, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) bad(type, value, 'expected a Uint8Array');
  return value;
}

/** Minimal two's-complement big-endian bytes of a bigint (at least one byte). */
export function bigIntToMinimalBytes(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(x & 0xffn);
    out.push(byte);
    x >>= 8n;
    // Done when the remaining bits are pure sign extension of the byte just written.
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out.reverse());
}

/** Reads a two's-complement big-endian integer of any length. */
export function bigIntFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if ((bytes[0] as number) & 0x80) v -= 1n << BigInt(bytes.length * 8);
  return v;
}

/** 16 big-endian bytes of a canonical UUID string. */
export function uuidToBytes(value: string): Uint8Array {
  if (!UUID_RE.test(value)) {
    throw new IcebergError('INVALID_ARGUMENT', `invalid uuid "${value}"`);
  }
  const hex = value.replaceAll('-', '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Canonical lowercase UUID string of 16 big-endian bytes. */
export function uuidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) {
    throw new IcebergError('INVALID_ARGUMENT', `uuid needs 16 bytes, got ${bytes.length}`);
  }
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Serializes one value of a primitive type to its single-value binary form. */
export function toBytes(type: PrimitiveType, value: unknown): Uint8Array {
  switch (typeKind(type)) {
    case 'boolean':
      if (typeof value !== 'boolean') bad(type, value, 'expected a boolean');
      return Uint8Array.of(value ? 1 : 0);
    case 'int':
    case 'date': {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setInt32(0, asInt32(type, value), true);
      return out;
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigInt64(0, BigInt.asIntN(64, asBigInt(type, value)), true);
      return out;
    }
    case 'float':
    case 'double': {
      if (typeof value !== 'number') bad(type, value, 'expected a number');
      const out = new Uint8Array(type === 'float' ? 4 : 8);
      const view = new DataView(out.buffer);
      if (type === 'float') view.setFloat32(0, value, true);
      else view.setFloat64(0, value, true);
      return out;
    }
    case 'string':
      if (typeof value !== 'string') bad(type, value, 'expected a string');
      return UTF8_ENCODER.encode(value);
    case 'uuid':
      if (typeof value !== 'string') bad(type, value, 'expected a uuid string');
      return uuidToBytes(value);
    case 'fixed': {
      const bytes = asBytes(type, value);
      if (bytes.length !== fixedLength(type))
        bad(type, value, `expected ${fixedLength(type)} bytes`);
      return bytes.slice();
    }
    case 'binary':
      return asBytes(type, value).slice();
    case 'decimal':
      return bigIntToMinimalBytes(asBigInt(type, value));
    default:
      return bad(type, value, 'unsupported type');
  }
}

/** Reads one value of a primitive type from its single-value binary form. */
export function fromBytes(type: PrimitiveType, bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number): void => {
    if (bytes.length !== n) {
      throw new IcebergError('INVALID_ARGUMENT', `${type} needs ${n} bytes, got ${bytes.length}`);
    }
  };
  switch (typeKind(type)) {
    case 'boolean':
      need(1);
      return bytes[0] !== 0;
    case 'int':
    case 'date':
      need(4);
      return view.getInt32(0, true);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      need(8);
      return view.getBigInt64(0, true);
    case 'float':
      need(4);
      return view.getFloat32(0, true);
    case 'double':
      need(8);
      return view.getFloat64(0, true);
    case 'string':
      return UTF8_DECODER.decode(bytes);
    case 'uuid':
      return uuidFromBytes(bytes);
    case 'fixed':
      need(fixedLength(type) as number);
      return bytes.slice();
    case 'binary':
      return bytes.slice();
    case 'decimal':
      return bigIntFromBytes(bytes);
    default:
      throw new IcebergError('UNSUPPORTED', `unsupported type ${type}`);
  }
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Java's Double.compare: -0.0 < +0.0, NaN above everything and equal to itself. */
function compareFloats(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (a === 0 && b === 0) {
    const aNeg = Object.is(a, -0);
    const bNeg = Object.is(b, -0);
    return aNeg === bNeg ? 0 : aNeg ? -1 : 1;
  }
  return 0;
}

/** Unsigned lexicographic byte comparison. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return sign(d);
  }
  return sign(a.length - b.length);
}

/** Compares strings by code point (the same order as their UTF-8 bytes). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // UTF-16 orders surrogates (U+10000 and up) below U+E000..U+FFFF: move them above.
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
      cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
    }
    return sign(ca - cb);
  }
  return sign(a.length - b.length);
}

/** Compares two non-null values of a primitive type in Iceberg's order (-1, 0 or 1). */
export function compareValues(type: PrimitiveType, a: unknown, b: unknown): number {
  switch (typeKind(type)) {
    case 'boolean':
      return sign(Number(a) - Number(b));
    case 'int':
    case 'date':
      return sign((a as number) - (b as number));
    case 'float':
    case 'double':
      return compareFloats(a as number, b as number);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'decimal': {
      const x = asBigInt(type, a);
      const y = asBigInt(type, b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'string':
      return compareStrings(a as string, b as string);
    case 'uuid':
      return compareBytes(uuidToBytes(a as string), uuidToBytes(b as string));
    case 'fixed':
    case 'binary':
      return compareBytes(a as Uint8Array, b as Uint8Array);
    default:
      throw new IcebergError('UNSUPPORTED', `cannot compare values of type ${type}`);
  }
}

/** First `width` code points of a string (the string itself when it is not longer). */
export function truncateCodePoints(s: string, width: number): string {
  let units = 0;
  let count = 0;
  while (units < s.length && count < width) {
    const cp = s.codePointAt(units) as number;
    units += cp > 0xffff ? 2 : 1;
    count++;
  }
  return units >= s.length ? s : s.slice(0, units);
}

/**
 * A lower bound for a column value as Java's `truncate(width)` metrics mode keeps it: strings
 * keep their first `width` code points, binary its first `width` bytes; other types are
 * returned unchanged.
 */
export function truncateLowerBound(type: PrimitiveType, value: unknown, width = 16): unknown {
  if (type === 'string') return truncateCodePoints(value as string, width);
  if (type === 'binary') {
    const b = value as Uint8Array;
    return b.length <= width ? b : b.slice(0, width);
  }
  return value;
}

/**
 * An upper bound for a column value as Java's `truncate(width)` metrics mode computes it:
 * the `width`-long prefix with its last code point (string, skipping surrogates) or byte
 * (binary) incremented, carrying left over values that overflow. Returns undefined when no
 * bound of that width exists; values not longer than `width`, and other types, are returned
 * unchanged.
 */
export function truncateUpperBound(type: PrimitiveType, value: unknown, width = 16): unknown {
  if (type === 'string') {
    const s = value as string;
    const prefix = truncateCodePoints(s, width);
    if (prefix.length === s.length) return s;
    const cps = Array.from(prefix, (c) => c.codePointAt(0) as number);
    for (let i = cps.length - 1; i >= 0; i--) {
      const cp = cps[i] as number;
      if (cp === 0x10ffff) continue;
      const next = cp === 0xd7ff ? 0xe000 : cp + 1;
      return String.fromCodePoint(...cps.slice(0, i), next);
    }
    return undefined;
  }
  if (type === 'binary') {
    const b = value as Uint8Array;
    if (b.length <= width) return b;
    for (let i = width - 1; i >= 0; i--) {
      if (b[i] === 0xff) continue;
      const out = b.slice(0, i + 1);
      out[i] = (out[i] as number) + 1;
      return out;
    }
    return undefined;
  }
  return value;
}
