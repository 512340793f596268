/**
 * Dead-letter reasons are free text naming the record's problem (docs/operations.md):
 * metrics label them by a small, fixed set of classes so that a label's values stay few.
 */
export const REASON_CLASSES = [
  'too_large',
  'too_deep',
  'too_many_columns',
  'invalid_json',
  'not_an_object',
  'type_conflict',
  'schema_registry',
  'avro',
  'tombstone',
  'other',
] as const;

export type ReasonClass = (typeof REASON_CLASSES)[number];

const RULES: readonly [RegExp, ReasonClass][] = [
  [/^tombstone/, 'tombstone'],
  [/limits\.maxRecordBytes/, 'too_large'],
  [/limits\.maxNestingDepth/, 'too_deep'],
  [/limits\.maxColumns/, 'too_many_columns'],
  [/^(invalid JSON|not valid UTF-8|empty value)|lone surrogate/, 'invalid_json'],
  [/^expected a JSON object/, 'not_an_object'],
  [/schema id|registry/i, 'schema_registry'],
  [/avro|frame|magic byte/i, 'avro'],
  [/^field "|column|type/i, 'type_conflict'],
];

/** The class of a dead letter's reason (`other` when none fits). */
export function reasonClass(reason: string): ReasonClass {
  for (const [re, cls] of RULES) if (re.test(reason)) return cls;
  return 'other';
}
