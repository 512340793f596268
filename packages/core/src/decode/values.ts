/**
 * Text → Iceberg value conversions for hinted JSON columns, exact (no float detours).
 *
 * Spec: https://iceberg.apache.org/spec/#primitive-types and the in-memory conventions of
 * @kice/iceberg's spec/types.ts: date = days since 1970-01-01; time, timestamp(tz) = µs;
 * decimal = unscaled integer; uuid = 16 bytes big-endian.
 *
 * Timestamp text: `YYYY-MM-DD[T ]hh:mm[:ss[.f…]][Z|±hh[:]mm]`. Up to 6 fractional digits are
 * kept exactly; further digits (nanoseconds) are truncated toward the earlier instant.
 */

const TS_RE =
  /^(-?\d{4,})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const DATE_RE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DEC_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] as number;
  return d <= dim;
}

/** Fraction digits as µs (first 6 digits, right-padded). */
function micros(frac: string | undefined): number {
  if (!frac) return 0;
  return Number(frac.length >= 6 ? frac.slice(0, 6) : frac.padEnd(6, '0'));
}

/**
 * ISO-8601 timestamp → µs since the epoch (UTC). `zone`: 'required' (timestamptz),
 * 'optional' (timestamp: a zone, if present, converts to UTC). Undefined when invalid.
 * Returns a number when exactly representable, else a bigint.
 */
export function parseTimestamp(
  s: string,
  zone: 'required' | 'optional',
): number | bigint | undefined {
  const fast = parseUtcFast(s);
  if (fast >= 0) return fast;
  const m = TS_RE.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || sec > 59) return undefined;
  let offset = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  } else if (m[8] === undefined && zone === 'required') {
    return undefined;
  }
  const secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
  const us = micros(m[7]);
  const total = secs * 1_000_000 + us;
  return Number.isSafeInteger(total) ? total : BigInt(secs) * 1_000_000n + BigInt(us);
}

/** Two ASCII digits at `i` as a number, or -1. */
function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common shape `YYYY-MM-DDThh:mm:ss[.f{1,9}]Z` (years 1970–2255) without a regex;
 * -1 when the text has another shape (the general parser then decides).
 */
function parseUtcFast(s: string): number {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(10) !== 84 /* T */) return -1;
  if (s[4] !== '-' || s[7] !== '-' || s[13] !== ':' || s[16] !== ':') return -1;
  const y = d2(s, 0) * 100 + d2(s, 2);
  const mo = d2(s, 5);
  const d = d2(s, 8);
  const h = d2(s, 11);
  const mi = d2(s, 14);
  const sec = d2(s, 17);
  if (y < 1970 || y > 2255 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59) return -1;
  if (sec < 0 || sec > 59 || !validDate(y, mo, d)) return -1;
  let us = 0;
  if (n > 20) {
    if (s.charCodeAt(19) !== 46 /* . */ || n > 30) return -1;
    for (let i = 20, scale = 100000; i < n - 1; i++, scale /= 10) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return -1;
      if (scale >= 1) us += c * scale;
    }
    if (n === 21) return -1;
  }
  return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1_000_000 + us;
}

/** `YYYY-MM-DD` → days since 1970-01-01; undefined when invalid. */
export function parseDate(s: string): number | undefined {
  const m = DATE_RE.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  return validDate(y, mo, d) ? daysFromCivil(y, mo, d) : undefined;
}

/** `hh:mm[:ss[.ffffff]]` → µs since midnight; undefined when invalid. */
export function parseTime(s: string): number | undefined {
  const m = TIME_RE.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]);
  const mi = Number(m[2]);
  const sec = m[3] === undefined ? 0 : Number(m[3]);
  if (h > 23 || mi > 59 || sec > 59) return undefined;
  return (h * 3600 + mi * 60 + sec) * 1_000_000 + micros(m[4]);
}

/**
 * RFC 3339 `full-time` or `partial-time` (JSON Schema's `time` format:
 * `hh:mm:ss[.f…][Z|±hh:mm]`) → µs since midnight in UTC (an offset is subtracted, modulo
 * a day); undefined when invalid.
 */
export function parseZonedTime(s: string): number | undefined {
  const m = ZONED_TIME_RE.exec(s);
  if (!m) return parseTime(s);
  const local = parseTime(m[1] as string);
  if (local === undefined) return undefined;
  if (m[2] !== undefined) return local;
  const oh = Number(m[4]);
  const om = Number(m[5]);
  if (oh > 23 || om > 59) return undefined;
  const offset = (m[3] === '-' ? -1 : 1) * (oh * 3600 + om * 60) * 1_000_000;
  const day = 86_400_000_000;
  return (((local - offset) % day) + day) % day;
}

const ZONED_TIME_RE = /^(.*?)(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Decimal text (`-12.345`, `1e3`, `.5`) → unscaled value at `scale`, exactly. Returns a
 * reason string when the text is not a number, has more fraction digits than `scale`
 * (non-zero ones), or needs more than `precision` digits.
 */
export function parseDecimal(s: string, precision: number, scale: number): bigint | string {
  const m = DEC_RE.exec(s);
  const int = m?.[2] ?? '';
  const frac = m?.[3] ?? '';
  if (!m || (int === '' && frac === '')) return 'not a number';
  let digits = (int + frac).replace(/^0+/, '');
  let exp = (m[4] === undefined ? 0 : Number(m[4])) - frac.length + scale;
  if (digits === '') return 0n;
  if (exp < 0) {
    const cut = digits.length + exp;
    if (/[^0]/.test(cut > 0 ? digits.slice(cut) : digits)) {
      return `has more than ${scale} fraction digits`;
    }
    digits = cut > 0 ? digits.slice(0, cut) : '0';
    exp = 0;
  }
  if (digits.length + exp > precision) return `needs more than ${precision} digits`;
  let unscaled = BigInt(digits) * 10n ** BigInt(exp);
  if (m[1] === '-') unscaled = -unscaled;
  return unscaled;
}

/** Writes a canonical uuid string as 16 big-endian bytes; false when not a uuid. */
export function writeUuid(s: string, out: Uint8Array, at: number): boolean {
  if (!UUID_RE.test(s)) return false;
  const hex = s.replace(/-/g, '');
  for (let i = 0; i < 16; i++) out[at + i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return true;
}

/** Strict base64 (padded) → bytes; undefined when not base64. */
export function parseBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0 || !B64_RE.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** Writes an unscaled decimal as a 16-byte little-endian two's-complement (Arrow Decimal128). */
export function writeDecimal128(v: bigint, out: Uint8Array, at: number): void {
  let x = BigInt.asUintN(128, v);
  for (let i = 0; i < 16; i++) {
    out[at + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}
