/**
 * The decoder's fast path: appends one JSON record straight from its UTF-8 bytes into the
 * column tree, without `JSON.parse` building an object (and a string per key and value)
 * first. Measured, `JSON.parse` was ~60% of decode time.
 *
 * It handles the steady state only: an object whose keys are all known columns (or hold
 * null, which makes no column), whose values are null, booleans, numbers, strings (escapes
 * decoded here, valid UTF-8), arrays of list columns, objects of known struct columns or
 * of map columns, each fitting its column without a promotion. Anything else — an unknown
 * key with a value (a new column), a promotion (int → long, long → double before the
 * first commit), a duplicate key, a map key that is an array index (JSON.parse's object
 * lists those first), a lone surrogate escape, a value that does not fit, malformed JSON —
 * makes it give up (`false`). The caller then truncates the columns back to the record's
 * start and runs the general path (`JSON.parse` + append.ts), which decides everything
 * the fast path left alone, with the same error messages. So the fast path only ever
 * takes records on which both paths agree; test/decode/scan.test.ts, scan-strings.test.ts
 * and scan-maps.test.ts check that on random and hostile records.
 *
 * JSON grammar: https://www.rfc-editor.org/rfc/rfc8259 (whitespace is space, tab, LF, CR).
 */
import type { AppendContext } from './append.ts';
import { appendValue } from './append.ts';
import { JsonNumber } from './exact.ts';
import {
  appendNull,
  type BytesNode,
  Kind,
  type ListNode,
  type MapNode,
  type Node,
  type StructNode,
} from './tree.ts';

const {
  Bool: KBool,
  Double: KDouble,
  Int: KInt,
  Long: KLong,
  String: KString,
  Struct: KStruct,
} = Kind;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Scanner state for one record: the bytes and the read position. */
interface Cursor {
  b: Uint8Array;
  i: number;
  end: number;
}

const cur: Cursor = { b: new Uint8Array(0), i: 0, end: 0 };

const encoder = new TextEncoder();

/** UTF-8 bytes of a struct node's child names, for the node's current shape. */
const names = new WeakMap<StructNode, { shape: number; bytes: Uint8Array[] }>();

function childNames(n: StructNode): Uint8Array[] {
  let e = names.get(n);
  if (e === undefined || e.shape !== n.shape) {
    e = { shape: n.shape, bytes: n.children.map((c) => encoder.encode(c.name)) };
    names.set(n, e);
  }
  return e.bytes;
}

function skipWs(c: Cursor): number {
  const b = c.b;
  let i = c.i;
  while (i < c.end) {
    const x = b[i] as number;
    if (x !== 0x20 && x !== 0x0a && x !== 0x0d && x !== 0x09) break;
    i++;
  }
  c.i = i;
  return i < c.end ? (b[i] as number) : -1;
}

/** Length of the well-formed UTF-8 sequence whose lead byte (≥ 0x80) is at b[i], or 0
 * (no overlongs, no surrogates, nothing past U+10FFFF, nothing truncated). */
function seqLength(b: Uint8Array, i: number, end: number): number {
  const x = b[i] as number;
  if (x >= 0xc2 && x <= 0xdf) {
    return i + 1 < end && ((b[i + 1] as number) & 0xc0) === 0x80 ? 2 : 0;
  }
  if (x >= 0xe0 && x <= 0xef) {
    if (i + 2 >= end) return 0;
    const y = b[i + 1] as number;
    if ((y & 0xc0) !== 0x80 || ((b[i + 2] as number) & 0xc0) !== 0x80) return 0;
    if ((x === 0xe0 && y < 0xa0) || (x === 0xed && y >= 0xa0)) return 0;
    return 3;
  }
  if (x >= 0xf0 && x <= 0xf4) {
    if (i + 3 >= end) return 0;
    const y = b[i + 1] as number;
    if (
      (y & 0xc0) !== 0x80 ||
      ((b[i + 2] as number) & 0xc0) !== 0x80 ||
      ((b[i + 3] as number) & 0xc0) !== 0x80
    )
      return 0;
    if ((x === 0xf0 && y < 0x90) || (x === 0xf4 && y >= 0x90)) return 0;
    return 4;
  }
  return 0;
}

/**
 * The last string scanned, as UTF-8 bytes str[strFrom, strTo): the record's own bytes for
 * a string without escapes, the `unescaped` scratch buffer for one with escapes.
 */
let str: Uint8Array = new Uint8Array(0);
let strFrom = 0;
let strTo = 0;
let unescaped = new Uint8Array(256);

/**
 * Scans a string whose opening quote is at c.i (c.i moves past its closing quote) and sets
 * str/strFrom/strTo; false when it has a control character, bytes that are not valid
 * UTF-8, an unknown or malformed escape or a lone surrogate (the general path decides
 * those: it refuses them all).
 */
function scanString(c: Cursor): boolean {
  const b = c.b;
  let i = c.i + 1;
  const end = c.end;
  while (i < end) {
    const x = b[i] as number;
    if (x === QUOTE) {
      str = b;
      strFrom = c.i + 1;
      strTo = i;
      c.i = i + 1;
      return true;
    }
    if (x === BACKSLASH) return scanEscaped(c, i);
    if (x < 0x20) return false;
    if (x < 0x80) {
      i++;
      continue;
    }
    const n = seqLength(b, i, end);
    if (n === 0) return false;
    i += n;
  }
  return false;
}

/** Value of the 4 hex digits at b[i, i + 4), or -1. */
function hex4(b: Uint8Array, i: number, end: number): number {
  if (i + 4 > end) return -1;
  let v = 0;
  for (let k = i; k < i + 4; k++) {
    const h = b[k] as number;
    let d: number;
    if (h >= ZERO && h <= NINE) d = h - ZERO;
    else if (h >= 0x61 && h <= 0x66) d = h - 0x57;
    else if (h >= 0x41 && h <= 0x46) d = h - 0x37;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/**
 * scanString from its first backslash (at `i`) on: the string's bytes are decoded into
 * `unescaped` as UTF-8 (an escape never takes fewer bytes than what it denotes, so the
 * rest of the record bounds the output). A surrogate pair (\uD83D\uDE00) becomes its one
 * code point; \u0000 a NUL byte, as JSON.parse gives "\0".
 */
function scanEscaped(c: Cursor, i: number): boolean {
  const b = c.b;
  const end = c.end;
  const from = c.i + 1;
  if (unescaped.length < end - from)
    unescaped = new Uint8Array(Math.max(end - from, 2 * unescaped.length));
  const u = unescaped;
  let o = i - from;
  for (let k = 0; k < o; k++) u[k] = b[from + k] as number;
  while (i < end) {
    const x = b[i] as number;
    if (x === QUOTE) {
      str = u;
      strFrom = 0;
      strTo = o;
      c.i = i + 1;
      return true;
    }
    if (x === BACKSLASH) {
      if (i + 1 >= end) return false;
      const e = b[i + 1] as number;
      i += 2;
      switch (e) {
        case QUOTE:
        case BACKSLASH:
        case 0x2f: // '/'
          u[o++] = e;
          continue;
        case 0x62: // b
          u[o++] = 0x08;
          continue;
        case 0x66: // f
          u[o++] = 0x0c;
          continue;
        case 0x6e: // n
          u[o++] = 0x0a;
          continue;
        case 0x72: // r
          u[o++] = 0x0d;
          continue;
        case 0x74: // t
          u[o++] = 0x09;
          continue;
        case 0x75: {
          // u
          let cp = hex4(b, i, end);
          if (cp < 0) return false;
          i += 4;
          if (cp >= 0xd800 && cp <= 0xdfff) {
            // A high surrogate must be followed by an escaped low one; anything else is a
            // lone surrogate, which the general path refuses (UTF-8 cannot store it).
            if (cp >= 0xdc00 || b[i] !== BACKSLASH || b[i + 1] !== 0x75) return false;
            const lo = hex4(b, i + 2, end);
            if (lo < 0xdc00 || lo > 0xdfff) return false;
            i += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            u[o++] = 0xf0 | (cp >> 18);
            u[o++] = 0x80 | ((cp >> 12) & 0x3f);
            u[o++] = 0x80 | ((cp >> 6) & 0x3f);
            u[o++] = 0x80 | (cp & 0x3f);
          } else if (cp < 0x80) {
            u[o++] = cp;
          } else if (cp < 0x800) {
            u[o++] = 0xc0 | (cp >> 6);
            u[o++] = 0x80 | (cp & 0x3f);
          } else {
            u[o++] = 0xe0 | (cp >> 12);
            u[o++] = 0x80 | ((cp >> 6) & 0x3f);
            u[o++] = 0x80 | (cp & 0x3f);
          }
          continue;
        }
        default:
          return false; // not a JSON escape
      }
    }
    if (x < 0x20) return false;
    if (x < 0x80) {
      u[o++] = x;
      i++;
      continue;
    }
    const n = seqLength(b, i, end);
    if (n === 0) return false;
    for (let k = 0; k < n; k++) u[o + k] = b[i + k] as number;
    o += n;
    i += n;
  }
  return false;
}

/** An ASCII (or valid UTF-8) byte range as a JS string. */
const utf8 = new TextDecoder();
function stringOf(b: Uint8Array, from: number, to: number): string {
  let ascii = true;
  for (let k = from; k < to; k++) {
    if ((b[k] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  const view = b.subarray(from, to);
  if (!ascii || to - from > 256) return utf8.decode(view);
  return String.fromCharCode.apply(null, view as unknown as number[]);
}

/** Of the last number scanned: its first byte, whether it has more than 15 digits or an
 * exponent (a double may not hold it), and whether it is an integer literal. */
let numStart = 0;
let numRisky = false;
let numInteger = true;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Scans a JSON number at c.i (strict grammar) and returns its value, or NaN when the text
 * is not a JSON number. Integers of up to 15 digits are computed exactly; others go
 * through Number(), which rounds as JSON.parse does (numRisky tells; the caller takes the
 * exact digits from the text where the column needs them).
 */
function scanNumber(c: Cursor): number {
  const b = c.b;
  const start = c.i;
  let i = start;
  const end = c.end;
  let neg = false;
  if (b[i] === MINUS) {
    neg = true;
    i++;
  }
  if (i >= end) return Number.NaN;
  let x = b[i] as number;
  if (x === ZERO) {
    i++;
  } else if (x > ZERO && x <= NINE) {
    while (i < end && (b[i] as number) >= ZERO && (b[i] as number) <= NINE) i++;
  } else return Number.NaN;
  const intEnd = i;
  let simple = true;
  if (i < end && b[i] === DOT) {
    simple = false;
    i++;
    const d = i;
    while (i < end && (b[i] as number) >= ZERO && (b[i] as number) <= NINE) i++;
    if (i === d) return Number.NaN;
  }
  x = i < end ? (b[i] as number) : -1;
  if (x === 0x65 || x === 0x45) {
    simple = false;
    i++;
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++;
    const d = i;
    while (i < end && (b[i] as number) >= ZERO && (b[i] as number) <= NINE) i++;
    if (i === d) return Number.NaN;
  }
  c.i = i;
  // Clinger's fast path: a mantissa of at most 15 digits is exact in a double, and so is
  // 10^k for k <= 22, so one multiplication or division rounds exactly as JSON.parse does.
  let m = 0;
  let nd = 0;
  let k = neg ? start + 1 : start;
  for (; k < intEnd; k++) {
    m = m * 10 + ((b[k] as number) - ZERO);
    nd++;
  }
  let e = 0;
  if (!simple) {
    k = intEnd;
    if (b[k] === DOT) {
      for (k++; k < i && (b[k] as number) >= ZERO && (b[k] as number) <= NINE; k++) {
        m = m * 10 + ((b[k] as number) - ZERO);
        nd++;
        e--;
      }
    }
    if (k < i) {
      // exponent part
      k++;
      let eneg = false;
      if (b[k] === PLUS || b[k] === MINUS) {
        eneg = b[k] === MINUS;
        k++;
      }
      let x10 = 0;
      for (; k < i; k++) {
        x10 = x10 * 10 + ((b[k] as number) - ZERO);
        if (x10 > 1000) break;
      }
      e += eneg ? -x10 : x10;
    }
  }
  numStart = start;
  numInteger = simple;
  numRisky = nd > 15 || x === 0x65 || x === 0x45;
  if (nd <= 15 && e >= -22 && e <= 22) {
    const v = e === 0 ? m : e < 0 ? m / (POW10[-e] as number) : m * (POW10[e] as number);
    return neg ? -v : v;
  }
  return Number(stringOf(b, start, i));
}

/** 10^0 … 10^22, each exact (built by multiplication, not Math.pow). */
const POW10: number[] = [1];
for (let k = 1; k <= 22; k++) POW10.push((POW10[k - 1] as number) * 10);

/** Appends a JSON value at c.i to child `n`; false to give up. */
function value(c: Cursor, n: Node, cx: AppendContext): boolean {
  const b = c.b;
  const x = b[c.i] as number;
  if (x === QUOTE) {
    if (!scanString(c)) return false;
    if (n.kind === KString) {
      n.col.appendRange(str, strFrom, strTo);
      return true;
    }
    // Timestamps, dates, uuids, decimals… from strings: parsed by the general appender.
    if (n.kind === KStruct || n.kind === Kind.List || n.kind === Kind.Map) return false;
    return primitive(n, stringOf(str, strFrom, strTo), cx);
  }
  if (x === OPEN) {
    if (n.kind === Kind.Map) return map(c, n, cx);
    if (n.kind !== KStruct || n.union) return false;
    return object(c, n, cx);
  }
  if (x === OPEN_LIST) {
    if (n.kind !== Kind.List) return false;
    return list(c, n, cx);
  }
  if ((x >= ZERO && x <= NINE) || x === MINUS) {
    const v = scanNumber(c);
    if (Number.isNaN(v)) return false;
    switch (n.kind) {
      case KDouble:
        n.col.append(v);
        return true;
      case KLong: {
        if (numRisky && !numInteger) return false; // 1.00000000000000001: the general path
        if (Number.isSafeInteger(v)) {
          n.col.append(v);
          return true;
        }
        if (!numInteger) return false;
        const big = BigInt(stringOf(b, numStart, c.i));
        if (big < INT64_MIN || big > INT64_MAX) return false;
        n.col.appendBig(big);
        return true;
      }
      case KInt:
        if ((v | 0) !== v || (numRisky && !numInteger)) return false;
        n.col.append(v);
        return true;
      case KBool:
      case KString:
      case KStruct:
      case Kind.List:
      case Kind.Map:
        return false;
      default:
        return primitive(n, numRisky ? new JsonNumber(stringOf(b, numStart, c.i)) : v, cx);
    }
  }
  if (x === 0x74 || x === 0x66 || x === 0x6e) {
    // true / false / null
    const word = x === 0x74 ? TRUE : x === 0x66 ? FALSE : NULL;
    if (c.i + word.length > c.end) return false;
    for (let k = 1; k < word.length; k++) if (b[c.i + k] !== word[k]) return false;
    c.i += word.length;
    if (x === 0x6e) {
      if (n.required) return false;
      appendNull(n);
      return true;
    }
    if (n.kind !== KBool) return false;
    n.col.append(x === 0x74);
    return true;
  }
  return false; // not JSON
}

/** Appends the array at c.i ('[') to list `n`, element by element; false to give up. */
function list(c: Cursor, n: ListNode, cx: AppendContext): boolean {
  c.i++; // '['
  let x = skipWs(c);
  if (x === CLOSE_LIST) {
    c.i++;
  } else {
    for (;;) {
      if (x < 0 || !value(c, n.element, cx)) return false;
      x = skipWs(c);
      if (x === COMMA) {
        c.i++;
        x = skipWs(c);
        continue;
      }
      if (x !== CLOSE_LIST) return false;
      c.i++;
      break;
    }
  }
  n.col.append(true, n.element.col.length);
  return true;
}

/**
 * Appends the object at c.i ('{') to map `n`, entry by entry in the text's order; false to
 * give up. JSON.parse's object decides what the general path appends, so the scanner gives
 * up where that object differs from the text: a duplicate key (JSON.parse keeps the last
 * value, at the first key's place) and a key that is an array index ("0", "42": a JS
 * object lists those first, in numeric order).
 */
function map(c: Cursor, n: MapNode, cx: AppendContext): boolean {
  c.i++; // '{'
  const key = n.key;
  const first = key.col.length;
  /** Keys of this object, once it has too many to compare byte by byte. */
  let keys: Set<string> | undefined = key.kind === KString ? undefined : new Set();
  let x = skipWs(c);
  if (x === CLOSE) {
    c.i++;
  } else {
    for (;;) {
      if (x !== QUOTE || !scanString(c) || indexKey(str, strFrom, strTo)) return false;
      if (key.kind === KString) {
        const count = key.col.length - first;
        if (keys === undefined && count >= DISTINCT_BY_BYTES) keys = keysOf(key, first);
        if (keys !== undefined) {
          const k = stringOf(str, strFrom, strTo);
          if (keys.has(k)) return false;
          keys.add(k);
        } else if (sameKeyBefore(key, first, str, strFrom, strTo)) return false;
        key.col.appendRange(str, strFrom, strTo);
      } else {
        // A key column of another type (int, uuid…) takes the key's text as the general
        // appender converts it.
        const k = stringOf(str, strFrom, strTo);
        if ((keys as Set<string>).has(k)) return false;
        (keys as Set<string>).add(k);
        if (!primitive(key, k, cx)) return false;
      }
      if (skipWs(c) !== COLON) return false;
      c.i++;
      if (skipWs(c) < 0 || !value(c, n.value, cx)) return false;
      x = skipWs(c);
      if (x === COMMA) {
        c.i++;
        x = skipWs(c);
        continue;
      }
      if (x !== CLOSE) return false;
      c.i++;
      break;
    }
  }
  n.col.append(true, key.col.length);
  return true;
}

/** Up to this many entries, a map's keys are told apart by comparing bytes. */
const DISTINCT_BY_BYTES = 16;

/** Whether b[from, to) is a canonical array index: "0" or digits without a leading zero. */
function indexKey(b: Uint8Array, from: number, to: number): boolean {
  if (to === from || to - from > 10) return false;
  if (b[from] === ZERO) return to - from === 1;
  for (let k = from; k < to; k++) {
    const d = b[k] as number;
    if (d < ZERO || d > NINE) return false;
  }
  return to - from < 10 || stringOf(b, from, to) <= '4294967294';
}

/** Whether a string key column holds b[from, to) among its values from index `first` on. */
function sameKeyBefore(key: Node, first: number, b: Uint8Array, from: number, to: number): boolean {
  const col = (key as BytesNode).col;
  const offsets = col.offsets;
  const bytes = col.bytes;
  const len = to - from;
  for (let e = first; e < col.length; e++) {
    const s = offsets[e] as number;
    if ((offsets[e + 1] as number) - s !== len) continue;
    let same = true;
    for (let j = 0; j < len; j++) {
      if (bytes[s + j] !== b[from + j]) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  return false;
}

/** The values of a string key column from index `first` on, as strings. */
function keysOf(key: Node, first: number): Set<string> {
  const col = (key as BytesNode).col;
  const out = new Set<string>();
  for (let e = first; e < col.length; e++)
    out.add(stringOf(col.bytes, col.offsets[e] as number, col.offsets[e + 1] as number));
  return out;
}

/** Moves past a `null` literal at c.i; false when there is none. */
function skipNull(c: Cursor): boolean {
  const b = c.b;
  const i = c.i;
  if (i + 4 > c.end || b[i] !== 0x6e || b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c)
    return false;
  c.i = i + 4;
  return true;
}

const TRUE = encoder.encode('true');
const FALSE = encoder.encode('false');
const NULL = encoder.encode('null');

/** A primitive the general appender converts; refused if it errs or changes the schema. */
function primitive(n: Node, v: unknown, cx: AppendContext): boolean {
  const undo = cx.undo.length;
  const err = appendValue(n, v, cx);
  return err === undefined && cx.undo.length === undo;
}

/** The child named by key bytes b[from, to): the expected one first, then any. */
function childFor(all: Uint8Array[], b: Uint8Array, from: number, to: number, pos: number): number {
  const len = to - from;
  const count = all.length;
  for (let t = 0; t < count; t++) {
    const k = pos + t < count ? pos + t : pos + t - count;
    const name = all[k] as Uint8Array;
    if (name.length !== len) continue;
    let same = true;
    for (let j = 0; j < len; j++) {
      if (name[j] !== b[from + j]) {
        same = false;
        break;
      }
    }
    if (same) return k;
  }
  return -1;
}

/** Appends the object at c.i ('{') to struct `n`; false to give up. */
function object(c: Cursor, n: StructNode, cx: AppendContext): boolean {
  c.i++; // '{'
  const stamp = ++cx.stamp;
  n.col.append(true);
  let seen = 0;
  let pos = 0;
  const all = childNames(n);
  let x = skipWs(c);
  if (x === CLOSE) {
    c.i++;
  } else {
    for (;;) {
      if (x !== QUOTE || !scanString(c)) return false;
      const k = childFor(all, str, strFrom, strTo, pos);
      if (skipWs(c) !== COLON) return false;
      c.i++;
      if (skipWs(c) < 0) return false;
      if (k < 0) {
        // An unknown key: a new column, which the general path adds — unless its value is
        // null, which makes no column (the general path skips it too).
        if (!skipNull(c)) return false;
      } else {
        const child = n.children[k] as Node;
        if (child.seenAt === stamp) return false; // duplicate key: JSON.parse keeps the last
        child.seenAt = stamp;
        seen++;
        pos = k + 1;
        if (!value(c, child, cx)) return false;
      }
      x = skipWs(c);
      if (x === COMMA) {
        c.i++;
        x = skipWs(c);
        continue;
      }
      if (x !== CLOSE) return false;
      c.i++;
      break;
    }
  }
  if (seen < n.children.length) {
    for (const ch of n.children) {
      if (ch.seenAt === stamp) continue;
      if (ch.required) return false;
      appendNull(ch);
    }
  }
  return true;
}

/**
 * Appends the record bytes[start, end) to `root` if the fast path can take it whole.
 * On false, columns may hold part of the record: the caller truncates them.
 */
export function appendRecordFast(
  bytes: Uint8Array,
  start: number,
  end: number,
  root: StructNode,
  cx: AppendContext,
): boolean {
  const c = cur;
  c.b = bytes;
  c.i = start;
  c.end = end;
  if (skipWs(c) !== OPEN) return false;
  if (!object(c, root, cx)) return false;
  return skipWs(c) === -1;
}
