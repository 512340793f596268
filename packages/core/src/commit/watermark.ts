/**
 * The completeness watermark kept in Iceberg snapshot summaries, beside the offsets
 * (./offsets.ts); docs/offsets.md and docs/operations.md ("Completeness watermark").
 *
 * Meaning. Partition p is COMPLETE THROUGH T (epoch milliseconds, inclusive) when every
 * record of p whose Kafka timestamp is <= T sits below the table's recorded next offset
 * for p: it is in the table (or was dead-lettered, or lies before where kice began). Kafka
 * timestamps are not ordered within a partition, so kice claims T only from what it knows:
 *
 * - At a commit, kice asks the broker for p's end offset E (at time C, just before asking).
 *   Every record appended before C is below E. If kice has fetched p up to E, the records
 *   of p not covered by the commit are exactly the ones it fetched beyond the commit's next
 *   offset N, and their timestamps are known: T = min(C, min(their timestamps) - 1).
 *   A partition with nothing new (idle, caught up) therefore advances to C.
 * - Records appended after C are assumed to carry timestamps >= C. This holds for
 *   LogAppendTime topics; with CreateTime a record can arrive later than its timestamp by
 *   the producer's delivery delay (docs/operations.md says how a scheduler allows for it).
 * - A partition not fetched up to E (a backlog), or whose end offset could not be read,
 *   gets no new value: it keeps its previous watermark. Because the statement only gets
 *   truer as N grows, a previous value stays valid, and kice records the larger of the
 *   previous and the new one: the watermark never goes backwards.
 *
 * Properties (written by kice only; every commit carries every group's forward, like the
 * offsets, so a partition not in a commit keeps its value):
 *
 *   kice.watermarks.<groupId> = {"<topic>":{"<partition>":"<ms>",...},...}
 *   kice.watermark            = "<ms>"  the minimum over every partition of every group
 *                                       that the table records offsets for; absent while
 *                                       any such partition has no watermark yet.
 */

import type { TableMetadata } from '@kice/iceberg';
import {
  OFFSETS_PROPERTY_PREFIX,
  readOffsets,
  recordedProperties,
  splitTpKey,
  tpKey,
} from './offsets.ts';

export const WATERMARKS_PROPERTY_PREFIX = 'kice.watermarks.';
export const TABLE_WATERMARK_PROPERTY = 'kice.watermark';

export function watermarksProperty(groupId: string): string {
  return `${WATERMARKS_PROPERTY_PREFIX}${groupId}`;
}

/** "topic:partition" → complete-through time (epoch ms). */
export type WatermarkMap = Map<string, number>;

/** Parses a `kice.watermarks.<group>` value (empty when absent or unreadable). */
export function parseWatermarks(raw: string | undefined): WatermarkMap {
  const out: WatermarkMap = new Map();
  if (!raw) return out;
  try {
    const parsed = JSON.parse(raw) as Record<string, Record<string, string>>;
    for (const [topic, parts] of Object.entries(parsed))
      for (const [p, ms] of Object.entries(parts)) {
        const v = Number(ms);
        if (Number.isFinite(v)) out.set(tpKey(topic, Number(p)), v);
      }
  } catch {
    // A damaged value is no watermark: the table-wide one is then absent, never wrong.
  }
  return out;
}

/** Serializes deterministically (topics and partitions sorted). */
export function writeWatermarks(w: WatermarkMap): string {
  const obj: Record<string, Record<string, string>> = {};
  const keys = [...w.keys()].map(splitTpKey);
  for (const topic of [...new Set(keys.map((k) => k.topic))].sort()) {
    const parts = keys
      .filter((k) => k.topic === topic)
      .map((k) => k.partition)
      .sort((a, b) => a - b);
    obj[topic] = Object.fromEntries(
      parts.map((p) => [String(p), String(w.get(tpKey(topic, p)) as number)]),
    );
  }
  return JSON.stringify(obj);
}

/**
 * A group's watermarks after a commit: for every partition the group's offsets record
 * (`held`), the larger of the carried value and this commit's candidate; partitions
 * without either have none.
 */
export function mergeWatermarks(
  carried: WatermarkMap,
  candidates: ReadonlyMap<string, number>,
  held: Iterable<string>,
): WatermarkMap {
  const out: WatermarkMap = new Map();
  for (const key of held) {
    const a = carried.get(key);
    const b = candidates.get(key);
    const v = a === undefined ? b : b === undefined ? a : Math.max(a, b);
    if (v !== undefined) out.set(key, v);
  }
  return out;
}

/**
 * The table-wide watermark: the minimum over every partition every group holds, or
 * undefined when some held partition has none (or nothing is held).
 */
export function tableWatermark(
  groups: ReadonlyMap<string, { held: Iterable<string>; watermarks: WatermarkMap }>,
): number | undefined {
  let min: number | undefined;
  for (const { held, watermarks } of groups.values())
    for (const key of held) {
      const v = watermarks.get(key);
      if (v === undefined) return undefined;
      min = min === undefined ? v : Math.min(min, v);
    }
  return min;
}

/** What a table records: the table-wide watermark and each group's per partition. */
export interface TableWatermark {
  /** Epoch ms through which the whole table is complete; undefined: not known yet. */
  readonly watermarkMs: number | undefined;
  /** Per group: "topic:partition" → epoch ms (partitions without one are absent). */
  readonly groups: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/**
 * Reads the watermark of a table as of its current snapshot (from the newest ancestor
 * carrying each property, as the offsets are read).
 */
export function readWatermark(metadata: TableMetadata): TableWatermark {
  const offsets = recordedProperties(metadata).properties;
  const marks = recordedProperties(metadata, WATERMARKS_PROPERTY_PREFIX).properties;
  const groups: Record<string, Record<string, number>> = {};
  const all = new Map<string, { held: string[]; watermarks: WatermarkMap }>();
  for (const [prop, raw] of offsets) {
    const group = prop.slice(OFFSETS_PROPERTY_PREFIX.length);
    let held: string[];
    try {
      held = [...readOffsets({ [prop]: raw }, group).keys()];
    } catch {
      held = [];
    }
    const w = parseWatermarks(marks.get(watermarksProperty(group)));
    all.set(group, { held, watermarks: w });
    groups[group] = Object.fromEntries(
      held.flatMap((k) => {
        const v = w.get(k);
        return v === undefined ? [] : [[k, v] as const];
      }),
    );
  }
  return { watermarkMs: tableWatermark(all), groups };
}
