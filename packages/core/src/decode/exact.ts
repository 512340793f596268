/**
 * Exact JSON for the decoder's general path. `JSON.parse` (Node 20: no source text in
 * revivers) rounds every number to a double, so an id like 9007199254740993 or a decimal
 * like 0.12345678901234567890 loses digits before the appender sees it. Here:
 *
 * - `preScan` walks a record's bytes once (no allocation) and reports whether any number
 *   literal might not survive a double (more than 15 digits, or an exponent), whether a
 *   `\u` escape may encode a lone surrogate, whether it starts with a UTF-8 byte order
 *   mark, and whether arrays/objects nest deeper than a limit.
 * - `parseExact` is a strict RFC 8259 parser with JSON.parse's results (same strings, same
 *   key order, the last of duplicate keys wins, `__proto__` an ordinary key) except that
 *   such number literals become `JsonNumber`s carrying their text. Records without such
 *   literals keep using JSON.parse (faster).
 * - `jsonText` writes a value as compact JSON, a JsonNumber as written; it is the text a
 *   string column keeps for a value that is not a string.
 *
 * Grammar: https://www.rfc-editor.org/rfc/rfc8259
 */

/** A number literal that a double may not hold exactly, with its source text. */
export class JsonNumber {
  /** What JSON.parse gives for the literal (a double; Infinity beyond its range). */
  readonly value: number;
  /** True when the literal has no fraction and no exponent. */
  readonly integer: boolean;
  constructor(readonly text: string) {
    this.value = Number(text);
    this.integer = /^-?\d+$/.test(text);
  }
}

/** What preScan found in one record. */
export interface PreScan {
  /** A number literal with more than 15 digits or an exponent. */
  readonly exactNumbers: boolean;
  /** A `\u` escape in the D800–DFFF range (maybe a lone surrogate). */
  readonly surrogateEscapes: boolean;
  /** The record starts with EF BB BF. */
  readonly bom: boolean;
  /** Arrays/objects nest deeper than the limit given. */
  readonly tooDeep: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** One pass over b[start, end): see PreScan. Malformed JSON is left to the parser. */
export function preScan(b: Uint8Array, start: number, end: number, maxDepth: number): PreScan {
  let exactNumbers = false;
  let surrogateEscapes = false;
  let tooDeep = false;
  const bom =
    end - start >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf;
  let depth = 0;
  let i = bom ? start + 3 : start;
  while (i < end) {
    const x = b[i] as number;
    if (x === QUOTE) {
      for (i++; i < end; i++) {
        const y = b[i] as number;
        if (y === QUOTE) break;
        if (y === BACKSLASH) {
          i++;
          if (b[i] === 0x75 /* u */ && i + 2 < end) {
            const h = (b[i + 1] as number) | 0x20;
            const h2 = (b[i + 2] as number) | 0x20;
            if (h === 0x64 /* d */ && h2 >= 0x38 && h2 <= 0x66 && !(h2 > 0x39 && h2 < 0x61))
              surrogateEscapes = true;
          }
        }
      }
      i++;
      continue;
    }
    if (x === 0x7b || x === 0x5b) {
      if (++depth > maxDepth) tooDeep = true;
    } else if (x === 0x7d || x === 0x5d) {
      depth--;
    } else if ((x >= 0x30 && x <= 0x39) || x === 0x2d) {
      let digits = 0;
      for (; i < end; i++) {
        const y = b[i] as number;
        if (y >= 0x30 && y <= 0x39) digits++;
        else if (y === 0x65 || y === 0x45) exactNumbers = true;
        else if (y !== 0x2e && y !== 0x2d && y !== 0x2b) break;
      }
      if (digits > 15) exactNumbers = true;
      continue;
    }
    i++;
  }
  return { exactNumbers, surrogateEscapes, bom, tooDeep };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The first string (value or key) in `v` with a lone surrogate, or undefined. */
export function loneSurrogate(v: unknown): string | undefined {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? v : undefined;
  if (v === null || typeof v !== 'object' || v instanceof JsonNumber) return undefined;
  if (Array.isArray(v)) {
    for (const e of v) {
      const s = loneSurrogate(e);
      if (s !== undefined) return s;
    }
    return undefined;
  }
  for (const k in v as Record<string, unknown>) {
    if (LONE_SURROGATE.test(k)) return k;
    const s = loneSurrogate((v as Record<string, unknown>)[k]);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** Thrown by parseExact on malformed JSON (the caller reports JSON.parse's message). */
class Malformed extends Error {}

/** Parses `s` like JSON.parse, keeping risky number literals as JsonNumber (see above). */
export function parseExact(s: string): unknown {
  const p = { s, i: 0 };
  const v = parseValue(p);
  ws(p);
  if (p.i !== s.length) throw new Malformed(`unexpected text at ${p.i}`);
  return v;
}

interface P {
  readonly s: string;
  i: number;
}

function ws(p: P): void {
  const s = p.s;
  while (p.i < s.length) {
    const c = s.charCodeAt(p.i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
    p.i++;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function parseValue(p: P): unknown {
  ws(p);
  const s = p.s;
  const c = s.charCodeAt(p.i);
  if (c === QUOTE) return parseString(p);
  if (c === 0x7b) {
    p.i++;
    const o: Record<string, unknown> = {};
    ws(p);
    if (s.charCodeAt(p.i) === 0x7d) {
      p.i++;
      return o;
    }
    for (;;) {
      ws(p);
      if (s.charCodeAt(p.i) !== QUOTE) throw new Malformed('expected a key');
      const k = parseString(p);
      ws(p);
      if (s.charCodeAt(p.i++) !== 0x3a) throw new Malformed('expected :');
      const v = parseValue(p);
      // An own property even for "__proto__", as JSON.parse makes it.
      Object.defineProperty(o, k, {
        value: v,
        writable: true,
        enumerable: true,
        configurable: true,
      });
      ws(p);
      const d = s.charCodeAt(p.i++);
      if (d === 0x7d) return o;
      if (d !== 0x2c) throw new Malformed('expected , or }');
    }
  }
  if (c === 0x5b) {
    p.i++;
    const a: unknown[] = [];
    ws(p);
    if (s.charCodeAt(p.i) === 0x5d) {
      p.i++;
      return a;
    }
    for (;;) {
      a.push(parseValue(p));
      ws(p);
      const d = s.charCodeAt(p.i++);
      if (d === 0x5d) return a;
      if (d !== 0x2c) throw new Malformed('expected , or ]');
    }
  }
  if (s.startsWith('true', p.i)) {
    p.i += 4;
    return true;
  }
  if (s.startsWith('false', p.i)) {
    p.i += 5;
    return false;
  }
  if (s.startsWith('null', p.i)) {
    p.i += 4;
    return null;
  }
  NUMBER.lastIndex = p.i;
  const m = NUMBER.exec(s);
  if (m === null) throw new Malformed(`unexpected character at ${p.i}`);
  const text = m[0];
  p.i += text.length;
  const digits = text.replace(/[-.]|[eE].*$/g, '').length;
  return digits > 15 || /[eE]/.test(text) ? new JsonNumber(text) : Number(text);
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function parseString(p: P): string {
  const s = p.s;
  let i = p.i + 1;
  let out = '';
  let from = i;
  for (;;) {
    if (i >= s.length) throw new Malformed('unterminated string');
    const c = s.charCodeAt(i);
    if (c === QUOTE) break;
    if (c < 0x20) throw new Malformed('control character in string');
    if (c !== BACKSLASH) {
      i++;
      continue;
    }
    out += s.slice(from, i);
    const e = s[i + 1] ?? '';
    if (e === 'u') {
      const hex = s.slice(i + 2, i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Malformed('bad \\u escape');
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 6;
    } else {
      const r = ESCAPES[e];
      if (r === undefined) throw new Malformed('bad escape');
      out += r;
      i += 2;
    }
    from = i;
  }
  p.i = i + 1;
  return out + s.slice(from, i);
}

/**
 * Compact JSON text of a parsed value: a JsonNumber as written, other numbers as
 * JSON.stringify writes them (-0 as "-0"), keys in order. A string at the top is its plain
 * text (not quoted): this is what a string column keeps.
 */
export function jsonText(v: unknown): string {
  return typeof v === 'string' ? v : json(v);
}

function json(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : JSON.stringify(v);
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(json).join(',')}]`;
  const parts: string[] = [];
  for (const k in v as Record<string, unknown>)
    parts.push(`${JSON.stringify(k)}:${json((v as Record<string, unknown>)[k])}`);
  return `{${parts.join(',')}}`;
}

/** JSON.parse's message for a text JSON.parse rejects (or the fallback given). */
export function parseErrorOf(text: string, fallback: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return fallback;
}

export { Malformed };
