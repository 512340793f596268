/**
 * BigInt-safe JSON for table metadata: snapshot IDs are 63-bit longs (> 2^53), which
 * `JSON.parse` would round.
 *
 * `parseJson` reads every integer literal outside the safe-integer range as a bigint (all
 * other numbers stay numbers); `stringifyJson` writes bigints as bare integer literals.
 * Otherwise both follow RFC 8259 / JSON.parse / JSON.stringify.
 */
import { IcebergError } from '../errors.ts';

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
const BIGINT_MARK = '\u0000';
const MARKED_BIGINT_RE = /"\\u0000(-?\d+)"/g;
const NUMBER_RE = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  fail(msg: string): never {
    throw new IcebergError('INVALID_ARGUMENT', `invalid JSON at offset ${this.pos}: ${msg}`, {
      context: { offset: this.pos },
    });
  }

  skipWs(): void {
    const text = this.text;
    let i = this.pos;
    for (;;) {
      const c = text.charCodeAt(i); // NaN past the end
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.pos = i;
  }

  parseDocument(): unknown {
    const v = this.value();
    this.skipWs();
    if (this.pos < this.text.length) this.fail('unexpected trailing characters');
    return v;
  }

  value(): unknown {
    this.skipWs();
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(c === undefined ? 'unexpected end of input' : `unexpected "${c}"`);
    }
  }

  literal<T>(word: string, v: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return v;
  }

  number(): number | bigint {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.text);
    if (!m) return this.fail('invalid number');
    this.pos += m[0].length;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  string(): string {
    const text = this.text;
    let i = this.pos + 1;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) {
        this.pos = i;
        this.fail('unterminated string');
      }
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in string');
      }
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.pos = i;
            this.fail('invalid \\u escape');
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
        } else {
          const r = e === undefined ? undefined : ESCAPES[e];
          if (r === undefined) {
            this.pos = i;
            this.fail('invalid escape');
          }
          out += r;
          i += 2;
        }
        start = i;
        continue;
      }
      i++;
    }
    this.pos = i + 1;
    return out + text.slice(start, i);
  }

  array(): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.skipWs();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipWs();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') {
        this.pos--;
        this.fail('expected , or ]');
      }
    }
  }

  object(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skipWs();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.string();
      this.skipWs();
      if (this.text[this.pos] !== ':') this.fail('expected :');
      this.pos++;
      const v = this.value();
      // defineProperty keeps a "__proto__" key as data instead of changing the prototype
      // (plain assignment, much faster, for every other key).
      if (key === '__proto__')
        Object.defineProperty(out, key, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[key] = v;
      this.skipWs();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') {
        this.pos--;
        this.fail('expected , or }');
      }
    }
  }
}

/**
 * Parses JSON text. Integer literals (no fraction, no exponent) that are not safe integers
 * become bigint; every other number is a number. Throws IcebergError('INVALID_ARGUMENT')
 * naming the offset of the first error.
 */
export function parseJson(text: string): unknown {
  return new Parser(text).parseDocument();
}

function write(v: unknown, indent: string, cur: string, out: string[]): boolean {
  switch (typeof v) {
    case 'bigint':
      out.push(v.toString());
      return true;
    case 'number':
      out.push(Number.isFinite(v) ? String(v) : 'null');
      return true;
    case 'string':
      out.push(JSON.stringify(v));
      return true;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return true;
    case 'undefined':
    case 'function':
    case 'symbol':
      return false;
  }
  if (v === null) {
    out.push('null');
    return true;
  }
  const toJSON = (v as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(v), indent, cur, out);
  const inner = cur + indent;
  const nl = indent ? `\n${inner}` : '';
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push('[]');
      return true;
    }
    out.push('[');
    v.forEach((item, i) => {
      if (i > 0) out.push(',');
      out.push(nl);
      if (!write(item, indent, inner, out)) out.push('null');
    });
    out.push(indent ? `\n${cur}]` : ']');
    return true;
  }
  out.push('{');
  let first = true;
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    const mark = out.length;
    out.push(first ? '' : ',', nl, JSON.stringify(k), indent ? ': ' : ':');
    if (write(item, indent, inner, out)) first = false;
    else out.length = mark;
  }
  out.push(first ? '}' : indent ? `\n${cur}}` : '}');
  return true;
}

/**
 * Serializes a value like JSON.stringify(value, null, indent), except that bigints are
 * written as bare integer literals. Undefined properties are omitted; non-finite numbers
 * become null.
 */
export function stringifyJson(value: unknown, indent?: number): string {
  const pad = indent && indent > 0 ? ' '.repeat(Math.min(indent, 10)) : '';
  // Fast path: native JSON.stringify with each bigint as a marked string, unquoted after.
  // The mark starts with U+0000, which JSON.stringify escapes as \u0000; if any key or
  // string holds U+0000 the output would be ambiguous, so the portable writer runs instead.
  let ambiguous = false;
  const text = JSON.stringify(
    value,
    (key: string, v: unknown) => {
      if (typeof v === 'bigint') return `${BIGINT_MARK}${v}`;
      if ((typeof v === 'string' && v.includes(BIGINT_MARK)) || key.includes(BIGINT_MARK))
        ambiguous = true;
      return v;
    },
    pad,
  );
  if (!ambiguous && text !== undefined) return text.replace(MARKED_BIGINT_RE, '$1');
  const out: string[] = [];
  if (!write(value, pad, '', out)) {
    throw new IcebergError('INVALID_ARGUMENT', 'value has no JSON representation');
  }
  return out.join('');
}

// ---------------------------------------------------------------- typed readers for metadata

/** A JSON object as parsed by parseJson. */
export type JsonObject = Record<string, unknown>;

/** Throws IcebergError('INVALID_METADATA') naming the JSON path. */
export function metadataError(path: string, rule: string): never {
  throw new IcebergError('INVALID_METADATA', `${path}: ${rule}`, { context: { path } });
}

/** The value at `path` as an object. */
export function expectObject(v: unknown, path: string): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    metadataError(path, 'expected an object');
  return v as JsonObject;
}

/** `o[key]` as an array (required). */
export function arrayAt(o: JsonObject, key: string, path: string): unknown[] {
  const v = o[key];
  if (v === undefined) metadataError(`${path}${key}`, 'missing');
  if (!Array.isArray(v)) metadataError(`${path}${key}`, 'expected an array');
  return v;
}

/** `o[key]` as a string (required). */
export function stringAt(o: JsonObject, key: string, path: string): string {
  const v = o[key];
  if (v === undefined) metadataError(`${path}${key}`, 'missing');
  if (typeof v !== 'string') metadataError(`${path}${key}`, 'expected a string');
  return v;
}

/** `o[key]` as a safe integer number (required unless `fallback` is given). */
export function intAt(o: JsonObject, key: string, path: string, fallback?: number): number {
  const v = o[key];
  if (v === undefined || (v === null && fallback !== undefined)) {
    if (fallback !== undefined) return fallback;
    metadataError(`${path}${key}`, 'missing');
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    metadataError(`${path}${key}`, 'expected an integer');
  }
  return v;
}

/** `o[key]` as a 64-bit integer bigint (required). */
export function longAt(o: JsonObject, key: string, path: string): bigint {
  const v = o[key];
  if (v === undefined) metadataError(`${path}${key}`, 'missing');
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    metadataError(`${path}${key}`, 'expected an integer');
  }
  return BigInt(v);
}

/** `o[key]` as a map of strings (absent → empty); numbers and booleans are stringified. */
export function stringMapAt(o: JsonObject, key: string, path: string): Record<string, string> {
  const v = o[key];
  if (v === undefined || v === null) return {};
  const src = expectObject(v, `${path}${key}`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(src)) {
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean')
      out[k] = String(x);
    else metadataError(`${path}${key}.${k}`, 'expected a string');
  }
  return out;
}
