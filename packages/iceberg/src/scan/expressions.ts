/**
 * Row filters: a small expression tree (=, !=, <, <=, >, >=, in, not in, is null,
 * not null, and, or, not), bound to a schema by column name, evaluated exactly on rows
 * and inclusively ("might match") on statistics.
 *
 * Spec background: https://iceberg.apache.org/spec/#scan-planning
 * Values use the in-memory conventions of ../spec/types.ts (long → bigint, …); binding
 * converts literals given as text or plain numbers to the column's type (./literals.ts).
 */
import { IcebergError } from '../errors.ts';
import { findFieldByName, type PrimitiveType, type StructType } from '../spec/types.ts';
import { compareValues } from '../spec/values.ts';
import { coerceLiteral } from './literals.ts';

export type CompareOp = 'eq' | 'notEq' | 'lt' | 'ltEq' | 'gt' | 'gtEq';

export type Expr =
  | { readonly op: 'true' }
  | { readonly op: 'false' }
  | { readonly op: 'and'; readonly left: Expr; readonly right: Expr }
  | { readonly op: 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly op: 'not'; readonly child: Expr }
  | { readonly op: 'isNull' | 'notNull'; readonly ref: string }
  | { readonly op: CompareOp; readonly ref: string; readonly value: unknown }
  | { readonly op: 'in' | 'notIn'; readonly ref: string; readonly values: readonly unknown[] };

export const alwaysTrue: Expr = { op: 'true' };
export const eq = (ref: string, value: unknown): Expr => ({ op: 'eq', ref, value });
export const notEq = (ref: string, value: unknown): Expr => ({ op: 'notEq', ref, value });
export const lt = (ref: string, value: unknown): Expr => ({ op: 'lt', ref, value });
export const ltEq = (ref: string, value: unknown): Expr => ({ op: 'ltEq', ref, value });
export const gt = (ref: string, value: unknown): Expr => ({ op: 'gt', ref, value });
export const gtEq = (ref: string, value: unknown): Expr => ({ op: 'gtEq', ref, value });
export const isIn = (ref: string, values: readonly unknown[]): Expr => ({ op: 'in', ref, values });
export const notIn = (ref: string, values: readonly unknown[]): Expr => ({
  op: 'notIn',
  ref,
  values,
});
export const isNull = (ref: string): Expr => ({ op: 'isNull', ref });
export const notNull = (ref: string): Expr => ({ op: 'notNull', ref });
export const and = (left: Expr, ...rest: Expr[]): Expr =>
  rest.reduce((l, r) => ({ op: 'and', left: l, right: r }), left);
export const or = (left: Expr, ...rest: Expr[]): Expr =>
  rest.reduce((l, r) => ({ op: 'or', left: l, right: r }), left);
export const not = (child: Expr): Expr => ({ op: 'not', child });

/** An expression whose references are resolved to field IDs and types. NOT is pushed
 * down to the leaves, so bound trees contain no `not`. */
export type Bound =
  | { readonly op: 'true' | 'false' }
  | { readonly op: 'and' | 'or'; readonly left: Bound; readonly right: Bound }
  | { readonly op: 'isNull' | 'notNull'; readonly id: number; readonly type: PrimitiveType }
  | {
      readonly op: CompareOp;
      readonly id: number;
      readonly type: PrimitiveType;
      readonly value: unknown;
    }
  | {
      readonly op: 'in' | 'notIn';
      readonly id: number;
      readonly type: PrimitiveType;
      readonly values: readonly unknown[];
    };

const NEGATE: Record<string, string> = {
  eq: 'notEq',
  notEq: 'eq',
  lt: 'gtEq',
  gtEq: 'lt',
  gt: 'ltEq',
  ltEq: 'gt',
  in: 'notIn',
  notIn: 'in',
  isNull: 'notNull',
  notNull: 'isNull',
  true: 'false',
  false: 'true',
};

function negate(e: Expr): Expr {
  switch (e.op) {
    case 'and':
      return { op: 'or', left: negate(e.left), right: negate(e.right) };
    case 'or':
      return { op: 'and', left: negate(e.left), right: negate(e.right) };
    case 'not':
      return e.child;
    default:
      return { ...e, op: NEGATE[e.op] } as Expr;
  }
}

/** Resolves column names (dotted for nested struct fields) against `schema`. */
export function bind(schema: StructType, e: Expr): Bound {
  switch (e.op) {
    case 'true':
    case 'false':
      return { op: e.op };
    case 'and':
    case 'or':
      return { op: e.op, left: bind(schema, e.left), right: bind(schema, e.right) };
    case 'not':
      return bind(schema, negate(e.child));
    default: {
      const field = findFieldByName(schema, e.ref);
      if (!field)
        throw new IcebergError('INVALID_ARGUMENT', `filter references unknown column "${e.ref}"`);
      if (typeof field.type !== 'string') {
        throw new IcebergError(
          'INVALID_ARGUMENT',
          `filter column "${e.ref}" is not a primitive column`,
        );
      }
      const base = { id: field.id, type: field.type };
      const lit = (v: unknown) => coerceLiteral(e.ref, field.type as PrimitiveType, v);
      if (e.op === 'isNull' || e.op === 'notNull') return { op: e.op, ...base };
      if (e.op === 'in' || e.op === 'notIn')
        return { op: e.op, ...base, values: e.values.map(lit) };
      const c = e as { op: CompareOp; value: unknown };
      return { op: c.op, ...base, value: lit(c.value) };
    }
  }
}

function isNaNValue(v: unknown): boolean {
  return typeof v === 'number' && Number.isNaN(v);
}

function cmpTest(op: CompareOp, c: number): boolean {
  switch (op) {
    case 'eq':
      return c === 0;
    case 'notEq':
      return c !== 0;
    case 'lt':
      return c < 0;
    case 'ltEq':
      return c <= 0;
    case 'gt':
      return c > 0;
    case 'gtEq':
      return c >= 0;
  }
}

/** Exact evaluation on one row; `get(id)` returns the row's value for a field id. */
export function evalRow(b: Bound, get: (id: number) => unknown): boolean {
  switch (b.op) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'and':
      return evalRow(b.left, get) && evalRow(b.right, get);
    case 'or':
      return evalRow(b.left, get) || evalRow(b.right, get);
    case 'isNull': {
      const v = get(b.id);
      return v === null || v === undefined;
    }
    case 'notNull': {
      const v = get(b.id);
      return v !== null && v !== undefined;
    }
    case 'in':
    case 'notIn': {
      const v = get(b.id);
      if (v === null || v === undefined) return false;
      const hit = b.values.some((x) => compareValues(b.type, v, x) === 0);
      return b.op === 'in' ? hit : !hit;
    }
    default: {
      const v = get(b.id);
      if (v === null || v === undefined) return false;
      if (isNaNValue(v) || isNaNValue(b.value)) return b.op === 'notEq';
      return cmpTest(b.op, compareValues(b.type, v, b.value));
    }
  }
}

/** What statistics know about one column of a file or manifest. */
export interface ColumnStats {
  readonly lower?: unknown;
  readonly upper?: unknown;
  /** Whether the column may hold nulls / holds only nulls, when known. */
  readonly mayHaveNull?: boolean;
  readonly allNull?: boolean;
}

/** Inclusive evaluation: false only when no row can match, given per-column stats
 * (`stats(id)` undefined → nothing known about that column). */
export function mightMatch(b: Bound, stats: (id: number) => ColumnStats | undefined): boolean {
  switch (b.op) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'and':
      return mightMatch(b.left, stats) && mightMatch(b.right, stats);
    case 'or':
      return mightMatch(b.left, stats) || mightMatch(b.right, stats);
    case 'isNull':
      return stats(b.id)?.mayHaveNull !== false;
    case 'notNull':
      return stats(b.id)?.allNull !== true;
    case 'notEq':
    case 'notIn':
      return stats(b.id)?.allNull !== true;
    case 'in': {
      const s = stats(b.id);
      if (s?.allNull) return false;
      return b.values.some((v) => rangeMayContain(b.type, 'eq', v, s));
    }
    default: {
      const s = stats(b.id);
      if (s?.allNull) return false;
      return rangeMayContain(b.type, b.op, b.value, s);
    }
  }
}

function rangeMayContain(
  type: PrimitiveType,
  op: CompareOp,
  v: unknown,
  s: ColumnStats | undefined,
): boolean {
  if (!s || isNaNValue(v)) return true;
  const { lower, upper } = s;
  switch (op) {
    case 'eq':
      if (lower !== undefined && compareValues(type, v, lower) < 0) return false;
      if (upper !== undefined && compareValues(type, v, upper) > 0) return false;
      return true;
    case 'lt':
      return lower === undefined || compareValues(type, lower, v) < 0;
    case 'ltEq':
      return lower === undefined || compareValues(type, lower, v) <= 0;
    case 'gt':
      return upper === undefined || compareValues(type, upper, v) > 0;
    case 'gtEq':
      return upper === undefined || compareValues(type, upper, v) >= 0;
    default:
      return true;
  }
}
