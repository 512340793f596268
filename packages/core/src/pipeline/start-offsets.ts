/**
 * Where a newly owned partition starts: the table's recorded next offset (the truth), else
 * the group's committed offset, else the reset policy's offset (log start or end).
 */
export type StartFrom = 'table' | 'group' | 'earliest' | 'latest';

export interface StartOffsets {
  /** Next offsets recorded in the table for this group, by "topic:partition". */
  readonly recorded: ReadonlyMap<string, bigint>;
  /** The Kafka group's committed next offsets. */
  readonly group: ReadonlyMap<string, bigint>;
  /** The reset policy's offsets (beginning or end of each partition). */
  readonly reset: ReadonlyMap<string, bigint>;
  readonly policy: 'earliest' | 'latest';
}

export function resolveStart(key: string, s: StartOffsets): { offset: bigint; from: StartFrom } {
  const table = s.recorded.get(key);
  if (table !== undefined) return { offset: table, from: 'table' };
  const group = s.group.get(key);
  if (group !== undefined) return { offset: group, from: 'group' };
  return { offset: s.reset.get(key) ?? 0n, from: s.policy };
}
