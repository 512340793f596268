/**
 * Generated single-pass appenders (measured: one generated pass per schema beats a generic
 * per-value switch). For a struct node, `compileStruct` generates a
 * function specialised to its current children: a `switch` on the field name with one case
 * per known field, and in each case an inline fast path for the field's type at generation
 * time (number → the typed array, string → the UTF-8 buffer, boolean → the bitmap, object →
 * the child struct's own generated appender). Everything else — null, a value of another
 * type, a promotion (int → long, float → double), a field never seen — goes through the
 * general code in append.ts, which also records schema changes for rollback.
 *
 * Each fast path re-checks the child's kind at run time, so a promotion made by the general
 * path can never be bypassed. Adding or removing a child bumps the node's `shape`, and the
 * appender is regenerated on its next use. Generated factories are cached by the node's
 * shape (names and kinds), so a batch after the first reuses code V8 has already optimised.
 */
import type { AppendContext } from './append.ts';
import { Kind, type Node, type StructNode } from './tree.ts';

export type ObjectAppender = (o: Record<string, unknown>, cx: AppendContext) => string | undefined;

/** The general code the generated appenders fall back to (from append.ts). */
export interface Fallbacks {
  /** Appends a value (null included) to a known child, checking its type. */
  readonly nullable: (n: Node, v: unknown, cx: AppendContext) => string | undefined;
  /** A field not among the children at generation time (see append.ts). */
  readonly unknown: (
    n: StructNode,
    name: string,
    v: unknown,
    before: number,
    stamp: number,
    cx: AppendContext,
  ) => string | undefined | null;
  /** Fills absent fields with null (or reports a required one). */
  readonly absent: (n: StructNode, stamp: number) => string | undefined;
  /** A plain object (not an array, not a JsonNumber). */
  readonly isObject: (v: unknown) => v is Record<string, unknown>;
  /** Appends an object to a child struct through its own generated appender. */
  readonly object: (
    n: StructNode,
    o: Record<string, unknown>,
    cx: AppendContext,
  ) => string | undefined;
}

type Factory = (n: StructNode, c: readonly Node[], f: Fallbacks) => ObjectAppender;

const factories = new Map<string, Factory>();

/** The fast path of one case, by the child's kind at generation time ('' for none). */
function fastPath(kind: Node['kind'], k: number): string {
  const guard = `ch.kind === ${kind}`;
  switch (kind) {
    case Kind.Double:
      return `if (typeof v === 'number' && ${guard}) { ch.col.append(v); continue; }`;
    case Kind.Long:
      return `if (typeof v === 'number' && ${guard} && Number.isSafeInteger(v)) { ch.col.append(v); continue; }`;
    case Kind.Int:
      return `if (typeof v === 'number' && ${guard} && (v | 0) === v) { ch.col.append(v); continue; }`;
    case Kind.String:
      return `if (typeof v === 'string' && ${guard}) { ch.col.appendString(v); continue; }`;
    case Kind.Bool:
      return `if (typeof v === 'boolean' && ${guard}) { ch.col.append(v); continue; }`;
    case Kind.Struct:
      return `if (f.isObject(v) && !ch.union) { const e${k} = f.object(ch, v, cx); if (e${k} !== undefined) return e${k}; continue; }`;
    default:
      return '';
  }
}

function factoryFor(n: StructNode): Factory {
  const key = n.children.map((c) => `${c.kind}:${c.name}`).join('\u0000');
  let factory = factories.get(key);
  if (factory) return factory;
  const bodyOf = (c: Node, k: number) => `{
        const ch = c[${k}];
        ch.seenAt = stamp;
        seen++;
        ${fastPath(c.kind, k)}
        const e = f.nullable(ch, v, cx);
        if (e !== undefined) return e;
        continue;
      }`;
  // Producers write an event's fields in one order: try the field expected next first
  // (one integer switch and one string comparison), then look the name up.
  const inOrder = n.children
    .map(
      (c, k) =>
        `        case ${k}: if (name === ${JSON.stringify(c.name)}) { pos = ${k + 1}; ${bodyOf(c, k)} } break;`,
    )
    .join('\n');
  const byName = n.children
    .map((c, k) => `      case ${JSON.stringify(c.name)}: ${bodyOf(c, k)}`)
    .join('\n');
  const body = `return function generatedAppend(o, cx) {
    const stamp = ++cx.stamp;
    const before = n.col.length;
    n.col.append(true);
    let seen = 0;
    let pos = 0;
    for (const name in o) {
      const v = o[name];
      switch (pos) {
${inOrder}
      }
      switch (name) {
${byName}
      }
      const u = f.unknown(n, name, v, before, stamp, cx);
      if (u === null) continue;
      if (u !== undefined) return u;
      seen++;
    }
    return seen < n.children.length ? f.absent(n, stamp) : undefined;
  };`;
  factory = new Function('n', 'c', 'f', body) as Factory;
  // A table has a handful of shapes over its life; a bound keeps odd data from growing this.
  if (factories.size >= 1024) factories.clear();
  factories.set(key, factory);
  return factory;
}

/** The node's generated appender, (re)generated when its children changed. */
export function compiledAppender(n: StructNode, fallbacks: Fallbacks): ObjectAppender {
  let fn = n.compiled as ObjectAppender | undefined;
  if (fn === undefined || n.compiledShape !== n.shape) {
    fn = factoryFor(n)(n, n.children.slice(), fallbacks);
    n.compiled = fn as StructNode['compiled'];
    n.compiledShape = n.shape;
  }
  return fn;
}
