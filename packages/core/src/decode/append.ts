/**
 * Appends one parsed JSON value to a node of the column tree, checking it against the
 * node's Iceberg type. Returns an error reason (`field "a.b": …`) or undefined. Schema
 * changes (new fields, int → long and float → double promotions) are logged in `undo` so
 * a rejected record can be rolled back.
 *
 * Promotions: https://iceberg.apache.org/spec/#schema-evolution — int → long and
 * float → double only; a long never becomes a double, so 1.5 in a long column is an error.
 */

import type { TypeHints } from '../schema/hints.ts';
import { compiledAppender, type Fallbacks } from './compiled.ts';
import { childPath, type IdSource, inferField, jsonKind } from './infer.ts';
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
  | { readonly op: 'add'; readonly parent: StructNode }
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
}

/** A value for error messages: JSON, cut at 60 characters. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function mismatch(n: Node, v: unknown): string {
  return `field "${n.path}": expected ${typeName(n)}, got ${jsonKind(v)}`;
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
      if (typeof v !== 'boolean') return mismatch(n, v);
      n.col.append(v);
      return undefined;
    case KInt:
    case KLong:
    case KFloat:
    case KDouble:
    case KDate:
      return appendNumber(n, v, cx);
    case KString:
      if (typeof v !== 'string') return mismatch(n, v);
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
      return appendInt64(n, v);
    case KUuid:
    case KFixed:
    case KDecimal:
      return appendFixed(n, v);
    case KStruct:
      if (typeof v !== 'object' || Array.isArray(v)) return mismatch(n, v);
      return appendObject(n, v as Record<string, unknown>, cx);
    case KList: {
      if (!Array.isArray(v)) return mismatch(n, v);
      for (const e of v) {
        const err = appendNullable(n.element, e, cx);
        if (err !== undefined) return err;
      }
      n.col.append(true, n.element.col.length);
      return undefined;
    }
    case KMap: {
      if (typeof v !== 'object' || Array.isArray(v)) return mismatch(n, v);
      const o = v as Record<string, unknown>;
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
  const f = inferField(name, v, n.path, cx.ids, cx.hints);
  if (f === undefined) return null;
  const child = makeNode(f, childPath(n.path, name));
  for (let i = 0; i < before; i++) appendNull(child);
  addChild(n, child);
  cx.undo.push({ op: 'add', parent: n });
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

function widen(n: NumberNode, to: typeof Kind.Long | typeof Kind.Double, cx: AppendContext): void {
  cx.undo.push({ op: 'widen', node: n, from: n.kind });
  n.kind = to;
}

function appendNumber(n: NumberNode, v: unknown, cx: AppendContext): string | undefined {
  if (n.kind === KDate && typeof v === 'string') {
    const days = parseDate(v);
    if (days === undefined) return `field "${n.path}": ${show(v)} is not a date (YYYY-MM-DD)`;
    n.col.append(days);
    return undefined;
  }
  if (typeof v !== 'number') return mismatch(n, v);
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

function appendInt64(n: Int64Node, v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (n.kind === KTime) return mismatch(n, v);
    const us = Math.round(v * 1000);
    if (!Number.isSafeInteger(us)) return misfit(n, v);
    n.col.append(us);
    return undefined;
  }
  if (typeof v !== 'string') return mismatch(n, v);
  if (n.kind === KTime) {
    const us = parseTime(v);
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
    if (typeof v !== 'number' && typeof v !== 'string') return mismatch(n, v);
    const r = parseDecimal(typeof v === 'number' ? String(v) : v, n.precision, n.scale);
    if (typeof r === 'string') {
      return r === 'not a number' ? `field "${n.path}": ${show(v)} is not a decimal` : misfit(n, v);
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
