/**
 * Inclusive projection of a row filter onto a partition spec: a predicate on a source
 * column becomes a predicate on its partition field that every matching row's partition
 * value satisfies (so files and manifests whose partition values fail it are skipped).
 *
 * Spec: https://iceberg.apache.org/spec/#scan-planning ("inclusive projection").
 * Monotonic transforms (identity, truncate, year, month, day, hour) keep range
 * predicates (x < v ⇒ t(x) ≤ t(v)); bucket keeps only = and in; void keeps nothing.
 */
import type { PartitionSpec } from '../spec/partition-spec.ts';
import { applyTransform, parseTransform, transformResultType } from '../spec/transforms.ts';
import type { PrimitiveType } from '../spec/types.ts';
import type { Bound } from './expressions.ts';

const TRUE: Bound = { op: 'true' };

/** `sourceType(id)` gives the type of a source column. */
export function projectInclusive(
  b: Bound,
  spec: PartitionSpec,
  sourceType: (id: number) => PrimitiveType | undefined,
): Bound {
  switch (b.op) {
    case 'true':
    case 'false':
      return b;
    case 'and': {
      const l = projectInclusive(b.left, spec, sourceType);
      const r = projectInclusive(b.right, spec, sourceType);
      if (l.op === 'true') return r;
      if (r.op === 'true') return l;
      return { op: 'and', left: l, right: r };
    }
    case 'or': {
      const l = projectInclusive(b.left, spec, sourceType);
      const r = projectInclusive(b.right, spec, sourceType);
      if (l.op === 'true' || r.op === 'true') return TRUE;
      return { op: 'or', left: l, right: r };
    }
    default: {
      // Several partition fields may derive from the same column: AND their projections.
      let out: Bound = TRUE;
      for (const pf of spec.fields) {
        if (pf.sourceId !== b.id) continue;
        const src = sourceType(pf.sourceId);
        if (!src) continue;
        const p = projectLeaf(b, parseTransform(pf.transform), src, pf.fieldId);
        if (p.op === 'true') continue;
        out = out.op === 'true' ? p : { op: 'and', left: out, right: p };
      }
      return out;
    }
  }
}

function projectLeaf(
  b: Exclude<Bound, { op: 'true' | 'false' | 'and' | 'or' }>,
  t: ReturnType<typeof parseTransform>,
  src: PrimitiveType,
  fieldId: number,
): Bound {
  if (t.kind === 'void') return TRUE;
  const type = transformResultType(t, src);
  const apply = (v: unknown): unknown => applyTransform(t, src, v);
  if (b.op === 'isNull' || b.op === 'notNull') return { op: b.op, id: fieldId, type };
  if (b.op === 'notEq' || b.op === 'notIn') {
    // Only identity preserves inequality exactly.
    return t.kind === 'identity' ? { ...b, id: fieldId, type } : TRUE;
  }
  if (b.op === 'in') return { op: 'in', id: fieldId, type, values: b.values.map(apply) };
  if (t.kind === 'bucket')
    return b.op === 'eq' ? { op: 'eq', id: fieldId, type, value: apply(b.value) } : TRUE;
  const c = b as { op: 'eq' | 'lt' | 'ltEq' | 'gt' | 'gtEq'; value: unknown };
  if (typeof c.value === 'number' && Number.isNaN(c.value)) return TRUE;
  const v = apply(c.value);
  switch (c.op) {
    case 'eq':
      return { op: 'eq', id: fieldId, type, value: v };
    case 'lt':
    case 'ltEq':
      return { op: t.kind === 'identity' ? c.op : 'ltEq', id: fieldId, type, value: v };
    case 'gt':
    case 'gtEq':
      return { op: t.kind === 'identity' ? c.op : 'gtEq', id: fieldId, type, value: v };
  }
}
