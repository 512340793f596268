/**
 * Assignment bookkeeping for clients without revoke callbacks.
 *
 * kafkajs reports only the full new assignment on each group join. What was revoked is the
 * previous assignment minus the new one, or ALL of the previous one when this member lost
 * its identity (member id changed after UNKNOWN_MEMBER_ID, or the consumer crashed and rejoined).
 */
import { type TopicPartition, tpKey } from './types.ts';

/** Flattens a `{ topic: [partitions] }` assignment into a sorted list. */
export function flattenAssignment(
  assignment: Readonly<Record<string, readonly number[]>>,
): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const topic of Object.keys(assignment).sort()) {
    const partitions = [...(assignment[topic] ?? [])].sort((a, b) => a - b);
    for (const partition of partitions) out.push({ topic, partition });
  }
  return out;
}

/** What changed between two successive assignments of one member. */
export interface AssignmentDiff {
  /** Partitions to drop: previous − next, or all previous when `lostAll`. */
  readonly revoked: TopicPartition[];
  /** Partitions in next that were not owned right before (all of next when `lostAll`). */
  readonly added: TopicPartition[];
}

/**
 * Diffs two assignments. With `lostAll` every previous partition counts as revoked (even those
 * assigned again) and every next partition as added.
 */
export function diffAssignments(
  previous: readonly TopicPartition[],
  next: readonly TopicPartition[],
  lostAll: boolean,
): AssignmentDiff {
  if (lostAll) return { revoked: [...previous], added: [...next] };
  const prevKeys = new Set(previous.map((tp) => tpKey(tp.topic, tp.partition)));
  const nextKeys = new Set(next.map((tp) => tpKey(tp.topic, tp.partition)));
  return {
    revoked: previous.filter((tp) => !nextKeys.has(tpKey(tp.topic, tp.partition))),
    added: next.filter((tp) => !prevKeys.has(tpKey(tp.topic, tp.partition))),
  };
}

/** Groups partitions by topic, in the `{ topic, partitions }` shape kafkajs takes for pause/resume. */
export function groupByTopic(
  tps: readonly TopicPartition[],
): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of tps) {
    const list = byTopic.get(topic);
    if (list) list.push(partition);
    else byTopic.set(topic, [partition]);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}
