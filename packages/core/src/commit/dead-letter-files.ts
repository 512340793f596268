/**
 * The dead-letter table protocol's records in snapshot summaries (docs/RELIABILITY.md,
 * "Dead letters in a table").
 *
 * - On a source table T, the snapshot that commits an offset range also names the
 *   dead-letter files of that range (already written in the dead-letter table's location):
 *
 *     kice.dead-letters = {"table":"<dead-letter table>","files":[<data file>,...]}
 *
 *   Each data file is encoded losslessly (metrics included) so that it can be appended to
 *   the dead-letter table later, by any process. The property is not carried forward: it
 *   belongs to the one snapshot whose offsets cover those records.
 * - On the dead-letter table D, every commit records, per source table (by table uuid), the
 *   sequence number of the newest T snapshot whose dead-letter files it holds:
 *
 *     kice.dead-letters.absorbed.<T uuid> = "<sequence number>"
 *
 *   read like the offsets (the newest ancestor of D's current snapshot carrying it) and
 *   carried forward by every D commit. Sequence numbers only grow in a table, so "T
 *   snapshots in T's current ancestry with a sequence number above the marker" is exactly
 *   the set not yet absorbed, even after T's older snapshots were expired.
 *
 * Iceberg spec: snapshot summary (https://iceberg.apache.org/spec/#snapshots), sequence
 * numbers (https://iceberg.apache.org/spec/#sequence-numbers).
 */
import { ancestors, type DataFile, type TableMetadata } from '@kice/iceberg';

export const DEAD_LETTERS_PROPERTY = 'kice.dead-letters';
export const ABSORBED_PREFIX = 'kice.dead-letters.absorbed.';

export function absorbedProperty(sourceTableUuid: string): string {
  return `${ABSORBED_PREFIX}${sourceTableUuid}`;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

function counts(m: ReadonlyMap<number, number> | undefined): Json {
  return m ? [...m].map(([k, v]) => [k, v]) : null;
}
function bounds(m: ReadonlyMap<number, Uint8Array> | undefined): Json {
  return m ? [...m].map(([k, v]) => [k, hex(v)]) : null;
}

/** A data file of an UNPARTITIONED table as plain JSON (partition tuple empty). */
export function encodeDataFile(f: DataFile): Json {
  if (f.partition.length > 0)
    throw new Error(`dead-letter file ${f.filePath}: expected an unpartitioned data file`);
  const o: Record<string, Json> = {
    path: f.filePath,
    format: f.fileFormat,
    specId: f.specId,
    records: f.recordCount,
    bytes: f.fileSizeInBytes,
    columnSizes: counts(f.columnSizes),
    valueCounts: counts(f.valueCounts),
    nullValueCounts: counts(f.nullValueCounts),
    nanValueCounts: counts(f.nanValueCounts),
    lowerBounds: bounds(f.lowerBounds),
    upperBounds: bounds(f.upperBounds),
    splitOffsets: f.splitOffsets ? [...f.splitOffsets] : null,
  };
  if (f.sortOrderId !== undefined) o.sortOrderId = f.sortOrderId;
  return o;
}

export function decodeDataFile(v: Json): DataFile {
  const o = v as Record<string, Json>;
  const cm = (x: Json) =>
    x === null || x === undefined ? undefined : new Map((x as [number, number][]).map((e) => e));
  const bm = (x: Json) =>
    x === null || x === undefined
      ? undefined
      : new Map((x as [number, string][]).map(([k, s]) => [k, unhex(s)]));
  const f: Record<string, unknown> = {
    content: 0,
    filePath: o.path as string,
    fileFormat: o.format as DataFile['fileFormat'],
    specId: o.specId as number,
    partition: [],
    recordCount: o.records as number,
    fileSizeInBytes: o.bytes as number,
  };
  const opt: [string, unknown][] = [
    ['columnSizes', cm(o.columnSizes as Json)],
    ['valueCounts', cm(o.valueCounts as Json)],
    ['nullValueCounts', cm(o.nullValueCounts as Json)],
    ['nanValueCounts', cm(o.nanValueCounts as Json)],
    ['lowerBounds', bm(o.lowerBounds as Json)],
    ['upperBounds', bm(o.upperBounds as Json)],
    ['splitOffsets', o.splitOffsets ?? undefined],
    ['sortOrderId', o.sortOrderId],
  ];
  for (const [k, x] of opt) if (x !== undefined && x !== null) f[k] = x;
  return f as unknown as DataFile;
}

/** The `kice.dead-letters` value naming `files` for dead-letter table `table`. */
export function deadLettersValue(table: string, files: readonly DataFile[]): string {
  return JSON.stringify({ table, files: files.map(encodeDataFile) });
}

/** What an absorb has to append (pendingDeadLetters). */
export interface PendingDeadLetters {
  files: DataFile[];
  /** The marker to record once they are absorbed. */
  readonly upTo: number;
  /** How many snapshots name them. */
  readonly snapshots: number;
  /** Ids of snapshots above the marker whose `kice.dead-letters` value cannot be read. */
  readonly unreadable: readonly string[];
  /** The timestamp of the oldest snapshot naming them. */
  readonly oldestMs?: number;
}

/**
 * The dead-letter files for `deadLetterTable` named by T snapshots in the ancestry of T's
 * current snapshot whose sequence number is above `absorbed`, oldest first, the sequence
 * number to record once they are absorbed (T's current one), and the timestamp of the
 * oldest snapshot naming them (T's snapshot expiry must keep it until they are absorbed).
 */
export function pendingDeadLetters(
  source: TableMetadata,
  deadLetterTable: string,
  absorbed: number,
): PendingDeadLetters {
  if (source.currentSnapshotId === null)
    return { files: [], upTo: absorbed, snapshots: 0, unreadable: [] };
  const chain = ancestors(source, source.currentSnapshotId).snapshots;
  const upTo = Math.max(absorbed, chain[0]?.sequenceNumber ?? absorbed);
  const batches: DataFile[][] = [];
  const unreadable: string[] = [];
  let oldestMs: number | undefined;
  for (const s of chain) {
    if (s.sequenceNumber <= absorbed) break;
    const raw = s.summary[DEAD_LETTERS_PROPERTY];
    if (!raw) continue;
    let files: DataFile[];
    try {
      const v = JSON.parse(raw) as { table: string; files: Json[] };
      if (v.table !== deadLetterTable) continue;
      files = v.files.map(decodeDataFile);
    } catch {
      // Damaged by another tool (truncated, edited): reported, and not a wall for the rest.
      unreadable.push(String(s.snapshotId));
      continue;
    }
    batches.push(files);
    oldestMs = s.timestampMs;
  }
  return {
    files: batches.reverse().flat(),
    upTo,
    snapshots: batches.length,
    unreadable: unreadable.reverse(),
    ...(oldestMs !== undefined ? { oldestMs } : {}),
  };
}
