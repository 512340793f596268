/**
 * Per-partition-field summaries of a manifest's files (manifest list field 507,
 * `field_summary`: contains_null, contains_nan, lower_bound, upper_bound).
 *
 * Spec: https://iceberg.apache.org/spec/#manifest-lists — bounds use the single-value
 * serialization of the partition field's (result) type.
 */
import type { DataFile, FieldSummary } from '../spec/manifest.ts';
import type { PrimitiveType, StructType } from '../spec/types.ts';
import { compareValues, toBytes } from '../spec/values.ts';

export function partitionSummaries(ptype: StructType, files: readonly DataFile[]): FieldSummary[] {
  return ptype.fields.map((field, i) => {
    const type = field.type as PrimitiveType;
    let containsNull = false;
    let containsNan = false;
    let lo: unknown;
    let hi: unknown;
    for (const f of files) {
      const v = f.partition[i];
      if (v === null || v === undefined) {
        containsNull = true;
        continue;
      }
      if (typeof v === 'number' && Number.isNaN(v)) {
        containsNan = true;
        continue;
      }
      if (lo === undefined || compareValues(type, v, lo) < 0) lo = v;
      if (hi === undefined || compareValues(type, v, hi) > 0) hi = v;
    }
    return {
      containsNull,
      containsNan,
      ...(lo !== undefined ? { lowerBound: toBytes(type, lo) } : {}),
      ...(hi !== undefined ? { upperBound: toBytes(type, hi) } : {}),
    };
  });
}
