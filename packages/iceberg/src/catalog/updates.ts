/**
 * Table requirements and updates: the commit vocabulary of the Iceberg REST catalog
 * protocol, used by every catalog here so that a transaction is catalog-agnostic.
 *
 * REST spec: https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml
 * (TableRequirement, TableUpdate). Metadata rules: https://iceberg.apache.org/spec/#table-metadata-fields
 *
 * `checkRequirements` and `applyUpdates` are pure: a catalog loads the current metadata,
 * checks, applies, and swaps atomically.
 */
import { CommitConflictError, IcebergError } from '../errors.ts';
import type { PartitionSpec } from '../spec/partition-spec.ts';
import type { Snapshot, SnapshotLogEntry, SnapshotRef } from '../spec/snapshot.ts';
import type { TableMetadata } from '../spec/table-metadata.ts';
import { maxFieldId, type Schema } from '../spec/types.ts';
import { previousVersionsMax } from './metadata-files.ts';

export type TableRequirement =
  | { readonly type: 'assert-create' }
  | { readonly type: 'assert-table-uuid'; readonly uuid: string }
  | {
      readonly type: 'assert-ref-snapshot-id';
      readonly ref: string;
      readonly snapshotId: bigint | null;
    }
  | { readonly type: 'assert-current-schema-id'; readonly currentSchemaId: number }
  | { readonly type: 'assert-last-assigned-field-id'; readonly lastAssignedFieldId: number }
  | { readonly type: 'assert-default-spec-id'; readonly defaultSpecId: number };

export type TableUpdate =
  | { readonly action: 'add-snapshot'; readonly snapshot: Snapshot }
  | { readonly action: 'set-snapshot-ref'; readonly refName: string; readonly ref: SnapshotRef }
  | { readonly action: 'remove-snapshots'; readonly snapshotIds: readonly bigint[] }
  | { readonly action: 'add-schema'; readonly schema: Schema }
  /** -1 selects the schema added last in the same commit. */
  | { readonly action: 'set-current-schema'; readonly schemaId: number }
  | { readonly action: 'add-spec'; readonly spec: PartitionSpec }
  | { readonly action: 'set-default-spec'; readonly specId: number }
  | { readonly action: 'set-properties'; readonly updates: Readonly<Record<string, string>> }
  | { readonly action: 'remove-properties'; readonly removals: readonly string[] };

/** Throws CommitConflictError (retryable) naming the first requirement `current` fails. */
export function checkRequirements(
  current: TableMetadata | null,
  requirements: readonly TableRequirement[],
): void {
  for (const r of requirements) {
    if (r.type === 'assert-create') {
      if (current)
        throw new CommitConflictError('requirement failed: table already exists', {
          requirement: r.type,
        });
      continue;
    }
    if (!current)
      throw new CommitConflictError(`requirement failed: table does not exist (${r.type})`);
    switch (r.type) {
      case 'assert-table-uuid':
        if (current.tableUuid !== r.uuid) {
          throw new IcebergError(
            'REQUIREMENT_FAILED',
            `table UUID changed: expected ${r.uuid}, found ${current.tableUuid}`,
          );
        }
        break;
      case 'assert-ref-snapshot-id': {
        const ref = current.refs[r.ref];
        const actual = ref ? ref.snapshotId : null;
        if (actual !== r.snapshotId) {
          throw new CommitConflictError(
            `requirement failed: branch ${r.ref} is at ${actual ?? 'no snapshot'}, expected ${r.snapshotId ?? 'no snapshot'}`,
            { ref: r.ref },
          );
        }
        break;
      }
      case 'assert-current-schema-id':
        if (current.currentSchemaId !== r.currentSchemaId) {
          throw new CommitConflictError(
            `requirement failed: current schema is ${current.currentSchemaId}, expected ${r.currentSchemaId}`,
          );
        }
        break;
      case 'assert-last-assigned-field-id':
        if (current.lastColumnId !== r.lastAssignedFieldId) {
          throw new CommitConflictError(
            `requirement failed: last column id is ${current.lastColumnId}, expected ${r.lastAssignedFieldId}`,
          );
        }
        break;
      case 'assert-default-spec-id':
        if (current.defaultSpecId !== r.defaultSpecId) {
          throw new CommitConflictError(
            `requirement failed: default spec is ${current.defaultSpecId}, expected ${r.defaultSpecId}`,
          );
        }
        break;
    }
  }
}

export interface ApplyOptions {
  /** Location of the metadata file `base` was read from (goes to metadata-log). */
  readonly baseLocation?: string;
  readonly nowMs?: number;
}

/** Applies updates to `base`, maintaining snapshot-log, metadata-log and last-updated-ms. */
export function applyUpdates(
  base: TableMetadata,
  updates: readonly TableUpdate[],
  options: ApplyOptions = {},
): TableMetadata {
  let m: { -readonly [K in keyof TableMetadata]: TableMetadata[K] } = { ...base };
  let lastAddedSchemaId: number | undefined;
  const now = options.nowMs ?? Date.now();
  let lastUpdated = now;
  for (const u of updates) {
    switch (u.action) {
      case 'add-snapshot': {
        const s = u.snapshot;
        if (m.snapshots.some((x) => x.snapshotId === s.snapshotId)) {
          throw new IcebergError('INVALID_ARGUMENT', `snapshot ${s.snapshotId} already exists`);
        }
        if (s.sequenceNumber <= m.lastSequenceNumber && s.parentSnapshotId !== undefined) {
          throw new CommitConflictError(
            `sequence number ${s.sequenceNumber} is not above last-sequence-number ${m.lastSequenceNumber}`,
          );
        }
        m.snapshots = [...m.snapshots, s];
        m.lastSequenceNumber = Math.max(m.lastSequenceNumber, s.sequenceNumber);
        lastUpdated = Math.max(lastUpdated, s.timestampMs);
        break;
      }
      case 'set-snapshot-ref': {
        const snap = m.snapshots.find((x) => x.snapshotId === u.ref.snapshotId);
        if (!snap)
          throw new IcebergError(
            'INVALID_ARGUMENT',
            `ref ${u.refName} points at unknown snapshot ${u.ref.snapshotId}`,
          );
        m.refs = { ...m.refs, [u.refName]: u.ref };
        if (u.refName === 'main') {
          m.currentSnapshotId = u.ref.snapshotId;
          m.snapshotLog = [
            ...m.snapshotLog,
            { timestampMs: snap.timestampMs, snapshotId: snap.snapshotId },
          ];
        }
        break;
      }
      case 'remove-snapshots': {
        const drop = new Set(u.snapshotIds);
        // Stricter than Java's builder (which drops refs left dangling): a snapshot a ref
        // or the table points at is refused, so that an expiry planned on stale metadata
        // cannot take a ref with it; the conflict makes the writer re-plan.
        for (const [name, r] of Object.entries(m.refs)) {
          if (drop.has(r.snapshotId))
            throw new CommitConflictError(
              `cannot remove snapshot ${r.snapshotId}: ref ${name} points at it`,
              { ref: name },
            );
        }
        if (m.currentSnapshotId !== null && drop.has(m.currentSnapshotId))
          throw new CommitConflictError(
            `cannot remove the current snapshot ${m.currentSnapshotId}`,
          );
        m.snapshots = m.snapshots.filter((s) => !drop.has(s.snapshotId));
        m.snapshotLog = trimSnapshotLog(
          m.snapshotLog,
          new Set(m.snapshots.map((s) => s.snapshotId)),
        );
        m.statistics = m.statistics.filter((s) => !dropsStatistics(s, drop));
        m.partitionStatistics = m.partitionStatistics.filter((s) => !dropsStatistics(s, drop));
        break;
      }
      case 'add-schema': {
        const id = u.schema.schemaId;
        if (!m.schemas.some((s) => s.schemaId === id)) m.schemas = [...m.schemas, u.schema];
        m.lastColumnId = Math.max(m.lastColumnId, maxFieldId(u.schema));
        lastAddedSchemaId = id;
        break;
      }
      case 'set-current-schema': {
        const id = u.schemaId === -1 ? lastAddedSchemaId : u.schemaId;
        if (id === undefined || !m.schemas.some((s) => s.schemaId === id)) {
          throw new IcebergError(
            'INVALID_ARGUMENT',
            `set-current-schema: unknown schema id ${u.schemaId}`,
          );
        }
        m.currentSchemaId = id;
        break;
      }
      case 'add-spec': {
        if (!m.partitionSpecs.some((s) => s.specId === u.spec.specId))
          m.partitionSpecs = [...m.partitionSpecs, u.spec];
        for (const f of u.spec.fields) m.lastPartitionId = Math.max(m.lastPartitionId, f.fieldId);
        break;
      }
      case 'set-default-spec': {
        if (!m.partitionSpecs.some((s) => s.specId === u.specId)) {
          throw new IcebergError(
            'INVALID_ARGUMENT',
            `set-default-spec: unknown spec id ${u.specId}`,
          );
        }
        m.defaultSpecId = u.specId;
        break;
      }
      case 'set-properties':
        m.properties = { ...m.properties, ...u.updates };
        break;
      case 'remove-properties': {
        const p = { ...m.properties };
        for (const k of u.removals) delete p[k];
        m.properties = p;
        break;
      }
    }
  }
  if (options.baseLocation) {
    // Java's TableMetadata.Builder#addPreviousFile: keep the newest max(1, N) entries.
    const max = previousVersionsMax(m.properties);
    const log = [
      ...m.metadataLog,
      { timestampMs: base.lastUpdatedMs, metadataFile: options.baseLocation },
    ];
    m.metadataLog = log.slice(Math.max(0, log.length - max));
  }
  const lastLog = m.snapshotLog[m.snapshotLog.length - 1];
  m.lastUpdatedMs = Math.max(lastUpdated, base.lastUpdatedMs, lastLog?.timestampMs ?? 0);
  m = { ...m };
  return m;
}

/**
 * The snapshot log after snapshots were removed, as Java's TableMetadata.Builder
 * (updateSnapshotLog) trims it: an entry whose snapshot no longer exists is dropped
 * together with every entry before it. Dropping only that entry would leave a gap — with
 * [(t1, s1), (t2, s2), (t3, s3)] minus s2, the log would claim s1 was current until t3 —
 * so history before a removed snapshot is forgotten instead.
 */
export function trimSnapshotLog(
  log: readonly SnapshotLogEntry[],
  existing: ReadonlySet<bigint>,
): SnapshotLogEntry[] {
  const out: SnapshotLogEntry[] = [];
  for (const e of log) {
    if (existing.has(e.snapshotId)) out.push(e);
    else out.length = 0;
  }
  return out;
}

/** Whether a (verbatim) statistics entry belongs to one of the `drop` snapshots. */
function dropsStatistics(entry: unknown, drop: ReadonlySet<bigint>): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  const id = (entry as Record<string, unknown>)['snapshot-id'];
  if (typeof id === 'bigint') return drop.has(id);
  if (typeof id === 'number' && Number.isSafeInteger(id)) return drop.has(BigInt(id));
  return false;
}
