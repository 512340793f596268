/**
 * Appends one parsed JSON value to a node of the column tree, checking it against the
 * node's Iceberg type. Returns an error reason (`field "a.b": …`) or undefined. Schema
 * changes (new fields, int → long and float → double promotions) are logged in `undo` so
 * a rejected record can be rolled back.
 *
 * Promotions: https://iceberg.apache.org/spec/#schema-evolution — int → long and
 * float → double only; a long never becomes a double, so 1.5 in a long column is an error.
 *
 * Type conflicts (`typeConflicts: asString`, docs/config.md): a value of another JSON kind
 * in a column not committed yet (and not declared) is noted in `conflicts`; the record is
 * refused for now and json-decoder.ts decodes the batch again with that column as a
 * string. A string column takes any value as its JSON text (exact.ts jsonText). A
 * committed long/int/double column takes a string whose text is the number's own text
 * ("5", not "05"); anything else that does not fit is refused.
 *
 * Numbers arrive as doubles or, when a double could lose digits, as JsonNumber (exact.ts):
 * integer columns take their exact value (64-bit, beyond ±2^53 too), decimal columns their
 * digits, double columns what JSON.parse gives.
 */

import type { TypeHints } from '../schema/hints.ts';
import { compiledAppender, type Fallbacks } from './compiled.ts';
import { JsonNumber, jsonText } from './exact.ts';
import { childPath, exactInteger, type IdSource, inferField, isObject, jsonKind } from './infer.ts';
import {
  addChild,
  appendNull,
  type FixedNode,
  type Int64Node,
  Kind,
  makeNode,
  type Node,
  type NumberNode,
  type StructNode,
  typeName,
} from './tree.ts';
import {
  parseBase64,
  parseDate,
  parseDecimal,
  parseTime,
  parseTimestamp,
  parseZonedTime,
  writeDecimal128,
  writeUuid,
} from './values.ts';

// Local copies: a module-namespace read per value costs more than the switch itself.
const {
  Binary: KBinary,
  Bool: KBool,
  Date: KDate,
  Decimal: KDecimal,
  Double: KDouble,
  Fixed: KFixed,
  Float: KFloat,
  Int: KInt,
  List: KList,
  Long: KLong,
  Map: KMap,
  String: KString,
  Struct: KStruct,
  Time: KTime,
  Timestamp: KTimestamp,
  TimestampTz: KTimestampTz,
  Uuid: KUuid,
} = Kind;

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const FLOAT_MAX = 3.4028234663852886e38;

/** A schema change made while appending the current record. */
export type Change =
  | { readonly op: 'add'; readonly parent: StructNode; readonly fields: number }
  | { readonly op: 'widen'; readonly node: NumberNode; readonly from: NumberNode['kind'] };

/** Per-batch decoding state shared by every append. */
export interface AppendContext {
  readonly ids: IdSource;
  /** Whether a long column may still become double (not committed, not hinted). */
  readonly relaxed: (id: number) => boolean;
  readonly hints: TypeHints | undefined;
  readonly undo: Change[];
  /** Visit counter for struct objects. */
  stamp: number;
  /** typeConflicts: asString (default) rather than deadLetter. */
  readonly asString?: boolean;
  /** Paths made string columns by conflicts found in an earlier pass over the batch. */
  readonly forced?: ReadonlySet<string>;
  /** Paths of uncommitted columns that met a value of another kind (see above). */
  readonly conflicts?: Set<string>;
  /** Paths of new fields seen only as [] / {} so far (no column yet). */
  readonly emptied?: Set<string>;
  /** Paths a whole earlier pass saw only as [] / {}: placeholder columns (infer.ts). */
  readonly empties?: ReadonlySet<string>;
  /** Set when a column was made after rows that held [] / {} for it (decode again). */
  refill?: boolean;
  /** Field count of the column tree, against limits.maxColumns. */
  columns?: { count: number; readonly max: number };
  /** Values follow a declared schema (a registry JSON Schema): dates, times and timestamps
   * come as strings only (no epoch numbers), and a time may carry a zone (RFC 3339). */
  declared?: boolean;
}

/** A value for error messages: JSON, cut at 60 characters. */
function show(v: unknown): string {
  const s = v instanceof JsonNumber ? v.text : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function mismatch(n: Node, v: unknown, cx?: AppendContext): string {
  if (cx?.conflicts !== undefined && cx.relaxed(n.id) && cx.hints?.[n.path] === undefined)
    cx.conflicts.add(n.path);
  return `field "${n.path}": expected ${typeName(n)}, got ${jsonKind(v)}`;
}

/** Number of fields in a type (nested ones included). */
export function fieldCount(t: import('@kice/iceberg').IcebergType): number {
  if (typeof t === 'string') return 0;
  if (t.type === 'struct') return t.fields.reduce((a, f) => a + 1 + fieldCount(f.type), 0);
  if (t.type === 'list') return 1 + fieldCount(t.element);
  return 2 + fieldCount(t.key) + fieldCount(t.value);
}

function misfit(n: Node, v: unknown, why = ''): string {
  return `field "${n.path}": ${show(v)} does not fit ${typeName(n)}${why}`;
}

/** Appends null, or reports `field "x" is required`. */
export function appendNullable(n: Node, v: unknown, cx: AppendContext): string | undefined {
  if (v === null || v === undefined) {
    if (n.required) return `field "${n.path}" is required`;
    appendNull(n);
    return undefined;
  }
  return appendValue(n, v, cx);
}

/** Appends a non-null JSON value. */
export function appendValue(n: Node, v: unknown, cx: AppendContext): string | undefined {
  switch (n.kind) {
    case KBool:
      if (typeof v !== 'boolean') return mismatch(n, v, cx);
      n.col.append(v);
      return undefined;
    case KInt:
    case KLong:
    case KFloat:
    case KDouble:
    case KDate:
      return appendNumber(n, v, cx);
    case KString:
      if (typeof v !== 'string') {
        // Any value fits a string column as its JSON text (declared ones: always).
        if (!cx.asString && cx.hints?.[n.path] === undefined) return mismatch(n, v, cx);
        n.col.appendString(jsonText(v));
        return undefined;
      }
      n.col.appendString(v);
      return undefined;
    case KBinary: {
      if (typeof v !== 'string') return mismatch(n, v);
      const bytes = parseBase64(v);
      if (bytes === undefined) return `field "${n.path}": ${show(v)} is not base64`;
      n.col.appendBytes(bytes);
      return undefined;
    }
    case KTime:
    case KTimestamp:
    case KTimestampTz:
      return appendInt64(n, v, cx);
    case KUuid:
    case KFixed:
    case KDecimal:
      return appendFixed(n, v);
    case KStruct:
      if (n.union) return appendUnion(n, v, cx);
      if (!isObject(v)) return mismatch(n, v, cx);
      return appendObject(n, v, cx);
    case KList: {
      if (!Array.isArray(v)) return mismatch(n, v, cx);
      for (const e of v) {
        const err = appendNullable(n.element, e, cx);
        if (err !== undefined) return err;
      }
      n.col.append(true, n.element.col.length);
      return undefined;
    }
    case KMap: {
      if (!isObject(v)) return mismatch(n, v, cx);
      const o = v;
      for (const k in o) {
        const err = appendValue(n.key, k, cx) ?? appendNullable(n.value, o[k], cx);
        if (err !== undefined) return err;
      }
      n.col.append(true, n.key.col.length);
      return undefined;
    }
  }
}

/**
 * Appends a JSON object to a struct node: known fields by name, new non-null fields as new
 * optional columns (earlier rows null), absent fields as null. Runs the node's generated
 * appender (compiled.ts) unless generated appenders are switched off.
 */
export function appendObject(
  n: StructNode,
  o: Record<string, unknown>,
  cx: AppendContext,
): string | undefined {
  return generated ? compiledAppender(n, FALLBACKS)(o, cx) : appendObjectGeneric(n, o, cx);
}

let generated = true;

/** Switches generated appenders on (default) or off, for tests comparing the two. */
export function useGeneratedAppenders(on: boolean): void {
  generated = on;
}

/** A field the node has no child for: adds one (null back-filled) and appends the value;
 * null when the value is null (no column is made for it). */
function appendUnknown(
  n: StructNode,
  name: string,
  v: unknown,
  before: number,
  stamp: number,
  cx: AppendContext,
): string | undefined | null {
  if (n.closed) return null; // not in the declared schema: skipped
  const path = childPath(n.path, name);
  const f = inferField(name, v, n.path, cx.ids, cx.hints, cx.forced, cx.empties);
  if (f === undefined) {
    if (v !== null && v !== undefined) cx.emptied?.add(path); // [] or {}: no type yet
    return null;
  }
  if (name === '') return `field "${path}": an empty key cannot be a column name`;
  const fields = 1 + fieldCount(f.type);
  if (cx.columns !== undefined) {
    if (cx.columns.count + fields > cx.columns.max)
      return `field "${path}": the table would have more than limits.maxColumns (${cx.columns.max}) columns`;
    cx.columns.count += fields;
  }
  if (before > 0 && cx.emptied?.has(path)) cx.refill = true;
  const child = makeNode(f, path);
  for (let i = 0; i < before; i++) appendNull(child);
  addChild(n, child);
  cx.undo.push({ op: 'add', parent: n, fields });
  child.seenAt = stamp;
  return appendNullable(child, v, cx);
}

/** Nulls for the children the current object (visit `stamp`) did not set. */
function fillAbsent(n: StructNode, stamp: number): string | undefined {
  for (const c of n.children) {
    if (c.seenAt === stamp) continue;
    if (c.required) return `field "${c.path}" is required`;
    appendNull(c);
  }
  return undefined;
}

const FALLBACKS: Fallbacks = {
  nullable: appendNullable,
  unknown: appendUnknown,
  absent: fillAbsent,
  isObject,
  object: appendObject,
};

/** The general (not generated) object appender; same results, one Map lookup per field. */
function appendObjectGeneric(
  n: StructNode,
  o: Record<string, unknown>,
  cx: AppendContext,
): string | undefined {
  const stamp = ++cx.stamp;
  const before = n.col.length;
  n.col.append(true);
  let seen = 0;
  for (const name in o) {
    const v = o[name];
    const child = n.byName.get(name);
    if (child === undefined) {
      const r = appendUnknown(n, name, v, before, stamp, cx);
      if (r === null) continue;
      if (r !== undefined) return r;
      seen++;
      continue;
    }
    child.seenAt = stamp;
    seen++;
    const err = appendNullable(child, v, cx);
    if (err !== undefined) return err;
  }
  return seen < n.children.length ? fillAbsent(n, stamp) : undefined;
}

/**
 * A union struct (registry/json-schema.ts): the value goes to the member named by its JSON
 * type (a whole number to `integer`, or to `number` when there is no `integer` member);
 * the other members are null.
 */
function appendUnion(n: StructNode, v: unknown, cx: AppendContext): string | undefined {
  let name: string = jsonKind(v);
  if (name === 'number') {
    const whole =
      v instanceof JsonNumber ? typeof exactInteger(v) === 'bigint' : Number.isInteger(v);
    if (whole && n.byName.has('integer')) name = 'integer';
  }
  const member = n.byName.get(name);
  if (member === undefined) {
    const names = n.children.map((c) => c.name).join(', ');
    return `field "${n.path}": ${show(v)} is none of its types (${names})`;
  }
  n.col.append(true);
  for (const c of n.children) if (c !== member) appendNull(c);
  return appendValue(member, v, cx);
}

function widen(n: NumberNode, to: typeof Kind.Long | typeof Kind.Double, cx: AppendContext): void {
  cx.undo.push({ op: 'widen', node: n, from: n.kind });
  n.kind = to;
}

function appendNumber(n: NumberNode, v: unknown, cx: AppendContext): string | undefined {
  if (n.kind === KDate && cx.declared && typeof v !== 'string') return mismatch(n, v);
  if (n.kind === KDate && typeof v === 'string') {
    const days = parseDate(v);
    if (days === undefined) return `field "${n.path}": ${show(v)} is not a date (YYYY-MM-DD)`;
    n.col.append(days);
    return undefined;
  }
  if (v instanceof JsonNumber) return appendExact(n, v, cx);
  if (typeof v === 'string' && cx.asString && !cx.relaxed(n.id) && n.kind !== KDate) {
    // A committed numeric column: a string holding the number's own text loses nothing.
    const x = numberOfText(v, n.kind !== KDouble && n.kind !== KFloat);
    if (x !== undefined) return appendNumber(n, x, cx);
  }
  if (typeof v !== 'number') return mismatch(n, v, cx);
  switch (n.kind) {
    case KInt:
    case KDate:
      if (!Number.isInteger(v) || v < INT_MIN || v > INT_MAX) {
        if (n.kind === KDate || !Number.isInteger(v)) return misfit(n, v);
        widen(n, KLong, cx);
      }
      break;
    case KLong:
      if (!Number.isInteger(v)) {
        const hinted = cx.hints?.[n.path] !== undefined;
        if (hinted || !cx.relaxed(n.id)) return misfit(n, v);
        widen(n, KDouble, cx); // whole numbers came first; nothing committed as long yet
        break;
      }
      if (!Number.isSafeInteger(v))
        return misfit(n, v, ' exactly (JSON numbers beyond ±2^53 lose digits)');
      break;
    case KFloat:
      if (Math.abs(v) > FLOAT_MAX) widen(n, KDouble, cx);
      break;
  }
  n.col.append(v);
  return undefined;
}

/** The number a string denotes if the string is exactly its JSON text, else undefined. */
function numberOfText(s: string, integer: boolean): number | JsonNumber | undefined {
  if (integer) {
    if (!/^-?(0|[1-9]\d{0,18})$/.test(s) || s === '-0') return undefined;
    return s.length > 15 ? new JsonNumber(s) : Number(s);
  }
  const x = Number(s);
  return /^-?\d/.test(s) && Number.isFinite(x) && jsonText(x) === s ? x : undefined;
}

/** A JsonNumber (digits a double may not hold) into a number column. */
function appendExact(n: NumberNode, v: JsonNumber, cx: AppendContext): string | undefined {
  if (n.kind === KDouble || n.kind === KFloat) return appendNumber(n, v.value, cx);
  const x = exactInteger(v);
  if (x === 'range' && v.integer && n.kind !== KDate)
    return `field "${n.path}": ${v.text} is beyond the range of long; declare the column as decimal(38, 0) or string to keep it`;
  if (typeof x !== 'bigint') {
    // Not whole, or whole beyond int64 but not written as an integer (1e400): a double.
    if (n.kind === KLong && cx.relaxed(n.id) && cx.hints?.[n.path] === undefined) {
      widen(n, KDouble, cx);
      n.col.append(v.value);
      return undefined;
    }
    return `field "${n.path}": ${v.text} does not fit ${typeName(n)}`;
  }
  if (n.kind !== KLong) {
    if (x >= -2147483648n && x <= 2147483647n) return appendNumber(n, Number(x), cx);
    if (n.kind === KDate) return `field "${n.path}": ${v.text} does not fit date`;
    widen(n, KLong, cx);
  }
  if (x >= -9007199254740991n && x <= 9007199254740991n) n.col.append(Number(x));
  else n.col.appendBig(x);
  return undefined;
}

function appendInt64(n: Int64Node, v: unknown, cx: AppendContext): string | undefined {
  if (typeof v === 'number') {
    if (cx.declared) return mismatch(n, v);
    if (n.kind === KTime) return mismatch(n, v);
    const us = Math.round(v * 1000);
    if (!Number.isSafeInteger(us)) return misfit(n, v);
    n.col.append(us);
    return undefined;
  }
  if (typeof v !== 'string') return mismatch(n, v);
  if (n.kind === KTime) {
    const us = cx.declared ? parseZonedTime(v) : parseTime(v);
    if (us === undefined) return `field "${n.path}": ${show(v)} is not a time (hh:mm:ss[.ffffff])`;
    n.col.append(us);
    return undefined;
  }
  const us = parseTimestamp(v, n.kind === KTimestampTz ? 'required' : 'optional');
  if (us === undefined) {
    const what =
      n.kind === KTimestampTz
        ? 'an ISO-8601 timestamp with Z or an offset'
        : 'an ISO-8601 timestamp';
    return `field "${n.path}": ${show(v)} is not ${what}`;
  }
  if (typeof us === 'bigint') n.col.appendBig(us);
  else n.col.append(us);
  return undefined;
}

const scratch = new Uint8Array(16);

function appendFixed(n: FixedNode, v: unknown): string | undefined {
  if (n.kind === KDecimal) {
    if (typeof v !== 'number' && typeof v !== 'string' && !(v instanceof JsonNumber))
      return mismatch(n, v);
    // The literal's digits (a JsonNumber when a double could lose some), never a rounding.
    const text = v instanceof JsonNumber ? v.text : typeof v === 'number' ? String(v) : v;
    const r = parseDecimal(text, n.precision, n.scale);
    if (typeof r === 'string') {
      const shown = v instanceof JsonNumber ? v.text : show(v);
      return r === 'not a number'
        ? `field "${n.path}": ${shown} is not a decimal`
        : `field "${n.path}": ${shown} does not fit ${typeName(n)}`;
    }
    // append() may grow (replace) the buffer: reserve the slot before reading `bytes`.
    const at = n.col.append();
    writeDecimal128(r, n.col.bytes, at);
    return undefined;
  }
  if (typeof v !== 'string') return mismatch(n, v);
  if (n.kind === KUuid) {
    if (!writeUuid(v, scratch, 0)) return `field "${n.path}": ${show(v)} is not a uuid`;
    const at = n.col.append();
    n.col.bytes.set(scratch, at);
    return undefined;
  }
  const bytes = parseBase64(v);
  if (bytes === undefined || bytes.length !== n.col.width) {
    return `field "${n.path}": ${show(v)} is not base64 of ${n.col.width} bytes`;
  }
  const at = n.col.append();
  n.col.bytes.set(bytes, at);
  return undefined;
}
