/**
 * Kafka offsets kept in Iceberg snapshot summaries — the source of truth for exactly-once.
 *
 * Every snapshot kice commits carries, per consumer group, the NEXT offset to read of every
 * topic-partition whose data the table holds, in one summary property:
 *
 *   kice.offsets.<groupId> = {"<topic>":{"<partition>":"<next offset>",...},...}
 *
 * (offsets as decimal strings: they are 64-bit).
 *
 * Where a group's offsets are read: the newest snapshot in the ANCESTRY of the table's
 * current snapshot (main, followed through parent-snapshot-id) that carries its property.
 * Snapshots by other writers (another engine's append, a compaction) carry no kice
 * property and are looked through; snapshots of other branches, and ones not in that
 * chain, are never read. Every kice commit copies ALL `kice.offsets.*` properties it finds
 * this way (each group's from the newest ancestor carrying it) into its own summary, so
 * the newest kice snapshot always holds every group's offsets and expiring older snapshots
 * loses none. When snapshot expiry has removed every snapshot that carried a group's
 * property (only other writers committed for longer than the retention), the group has no
 * recorded offsets: `truncated` then says the history was cut, and the engine resumes as
 * for a table it never wrote (docs/offsets.md, "Other writers").
 *
 * A commit carries, per partition, the range [from, to) it covers; it is accepted
 * only if every range starts exactly where the table's recorded offset ends (or the table has
 * none for that partition yet). A range ending at or before the recorded offset is a
 * duplicate (a zombie or a retry); one starting past it is a gap; either refuses the commit.
 */

import { ancestors, type TableMetadata } from '@kice/iceberg';

export const OFFSETS_PROPERTY_PREFIX = 'kice.offsets.';

export function offsetsProperty(groupId: string): string {
  return `${OFFSETS_PROPERTY_PREFIX}${groupId}`;
}

/** "topic:partition" → next offset. */
export type OffsetMap = Map<string, bigint>;

export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function splitTpKey(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf(':');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

/** Reads the offsets a summary records for `groupId` (empty when none or unreadable). */
export function readOffsets(
  summary: Readonly<Record<string, string>> | undefined,
  groupId: string,
): OffsetMap {
  const out: OffsetMap = new Map();
  const raw = summary?.[offsetsProperty(groupId)];
  if (!raw) return out;
  const parsed = JSON.parse(raw) as Record<string, Record<string, string>>;
  for (const [topic, parts] of Object.entries(parsed)) {
    for (const [p, off] of Object.entries(parts)) out.set(tpKey(topic, Number(p)), BigInt(off));
  }
  return out;
}

/** What the table's main history records for every group. */
export interface RecordedProperties {
  /** `kice.offsets.<group>` → its value in the newest ancestor carrying it. */
  readonly properties: ReadonlyMap<string, string>;
  /** Snapshot id each property was read from. */
  readonly from: ReadonlyMap<string, bigint>;
  /** The ancestry ends at an expired snapshot: older properties may be gone with it. */
  readonly truncated: boolean;
}

/**
 * Every `kice.offsets.*` property (or, with `prefix`, every property under it) in the
 * ancestry of the current snapshot, each from the newest snapshot that carries it (empty
 * for a table without snapshots).
 */
export function recordedProperties(
  metadata: TableMetadata,
  prefix = OFFSETS_PROPERTY_PREFIX,
): RecordedProperties {
  const properties = new Map<string, string>();
  const from = new Map<string, bigint>();
  if (metadata.currentSnapshotId === null) return { properties, from, truncated: false };
  const chain = ancestors(metadata, metadata.currentSnapshotId);
  for (const snap of chain.snapshots) {
    for (const [k, v] of Object.entries(snap.summary)) {
      if (k.startsWith(prefix) && !properties.has(k)) {
        properties.set(k, v);
        from.set(k, snap.snapshotId);
      }
    }
  }
  return { properties, from, truncated: chain.truncated };
}

/** Serializes offsets deterministically (topics and partitions sorted). */
export function writeOffsets(offsets: OffsetMap): string {
  const byTopic = new Map<string, [number, bigint][]>();
  for (const [k, v] of offsets) {
    const { topic, partition } = splitTpKey(k);
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), [partition, v]]);
  }
  const obj: Record<string, Record<string, string>> = {};
  for (const topic of [...byTopic.keys()].sort()) {
    const parts = (byTopic.get(topic) ?? []).sort((a, b) => a[0] - b[0]);
    obj[topic] = Object.fromEntries(parts.map(([p, v]) => [String(p), v.toString()]));
  }
  return JSON.stringify(obj);
}

export interface OffsetRange {
  readonly topic: string;
  readonly partition: number;
  /** First offset covered. */
  readonly from: bigint;
  /** Next offset after the range. */
  readonly to: bigint;
}

export type ContinuityVerdict =
  | { readonly ok: true; readonly next: OffsetMap }
  | { readonly ok: false; readonly kind: 'duplicate' | 'gap'; readonly reason: string };

/** Checks ranges against recorded offsets; on success returns the merged offsets to record. */
export function checkContinuity(
  recorded: OffsetMap,
  ranges: readonly OffsetRange[],
): ContinuityVerdict {
  const next: OffsetMap = new Map(recorded);
  for (const r of ranges) {
    const key = tpKey(r.topic, r.partition);
    const at = recorded.get(key);
    if (at !== undefined && r.from !== at) {
      const kind = r.from < at ? 'duplicate' : 'gap';
      return {
        ok: false,
        kind,
        reason: `${key}: range [${r.from}, ${r.to}) does not start at the table's recorded offset ${at} (${kind})`,
      };
    }
    next.set(key, r.to);
  }
  return { ok: true, next };
}
