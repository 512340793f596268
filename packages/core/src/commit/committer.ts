/**
 * The committer: every Iceberg catalog operation of an engine goes through one
 * instance, which runs on one thread (see ../workers/committer-thread.ts; the engines of a
 * shared runtime each have their own instance on one shared thread), so commits of an
 * engine never race each other; commits of several engines or processes race through the
 * catalog's optimistic concurrency and are retried by @kice/iceberg.
 *
 * - `ensureTable` creates a table on first sight (schema from the data, the configured
 *   partition spec) or merges newly observed columns into its schema (by name; type
 *   promotions int→long and float→double), and returns the authoritative schema: data files
 *   are written with ITS field IDs.
 * - `append` commits data files plus the Kafka offset ranges they cover, checking offset
 *   continuity against the table's recorded offsets on every attempt. The recorded offsets
 *   of a group are those of the newest snapshot in the current snapshot's ancestry that
 *   carries them (other writers' snapshots are looked through), and every commit carries
 *   all groups' offsets forward (./offsets.ts).
 */

import {
  AlreadyExistsError,
  type Catalog,
  CommitConflictError,
  type CommitStep,
  currentSchema,
  type DataFile,
  findFieldByName,
  IcebergError,
  maintainAfterCommit,
  mergeAppend,
  type PartitionSpec,
  parseIdentifier,
  partitionSpecToJson,
  planFiles,
  type Schema,
  type StructType,
  schemaToJson,
  specById,
  type Table,
  type TableIdentifier,
} from '@kice/iceberg';
import type { PartitionByEntry } from '../config/partition-by.ts';
import type { StorageConfig } from '../config/schema.ts';
import { KiceError } from '../errors.ts';
import { DEAD_LETTER_SCHEMA } from '../pipeline/dead-letter-rows.ts';
import { evolveSchema } from '../schema/evolve.ts';
import { tableStorage } from '../storage/table-storage.ts';
import {
  ABSORBED_PREFIX,
  absorbedProperty,
  DEAD_LETTERS_PROPERTY,
  deadLettersValue,
  pendingDeadLetters,
} from './dead-letter-files.ts';
import {
  checkContinuity,
  type OffsetRange,
  offsetsProperty,
  readOffsets,
  recordedProperties,
  writeOffsets,
} from './offsets.ts';

export interface TableSetup {
  /** `namespace.name`. */
  readonly table: string;
  readonly partitionBy: readonly PartitionByEntry[];
  readonly properties: Readonly<Record<string, string>>;
}

export interface TableState {
  readonly schema: Schema;
  readonly spec: PartitionSpec;
  readonly location: string;
  /** Next offsets recorded for the group: [tpKey, offset string]. */
  readonly offsets: [string, string][];
  /** The snapshot the group's offsets were read from (absent when none is recorded). */
  readonly offsetsSnapshotId?: string;
  /**
   * The current snapshot's ancestry ends at an expired snapshot. With no offsets recorded,
   * this means they may have been expired with it (see ./offsets.ts).
   */
  readonly historyTruncated: boolean;
  /**
   * The table's storage settings when its catalog gave table-specific FileIO properties
   * (REST load-table `config` / `storage-credentials`; ../storage/table-storage.ts): data
   * files of this table are written with these. Holds secrets: never log a TableState.
   */
  readonly storage?: StorageConfig;
}

/** A table as `Committer.describe` reports it (JSON-safe). */
export interface TableDescription {
  readonly table: string;
  readonly location: string;
  readonly schema: unknown;
  readonly partitionSpec: unknown;
  readonly currentSnapshotId: string | null;
  readonly snapshotCount: number;
  readonly snapshots: readonly {
    readonly snapshotId: string;
    readonly parentSnapshotId?: string;
    readonly sequenceNumber: number;
    readonly timestampMs: number;
    readonly operation: string;
    readonly summary: Readonly<Record<string, string>>;
  }[];
  /** The group's recorded next offsets: [tpKey, offset string]. */
  readonly recordedOffsets: [string, string][];
}

export type AppendResult =
  | {
      readonly status: 'committed';
      readonly snapshotId: string;
      readonly offsets: [string, string][];
      /** Snapshots expired after the commit (table maintenance), if it ran. */
      readonly expired?: number;
      /** Why maintenance failed, if it did (the append itself is committed). */
      readonly maintenanceError?: string;
    }
  | { readonly status: 'refused'; readonly kind: 'duplicate' | 'gap'; readonly reason: string };

/** Dead-letter files an append names in its snapshot (./dead-letter-files.ts). */
export interface AppendDeadLetters {
  /** The dead-letter table they are written for. */
  readonly table: string;
  readonly files: readonly DataFile[];
}

/** What one `absorbDeadLetters` appended to the dead-letter table. */
export interface AbsorbResult {
  readonly files: number;
  readonly records: number;
  /** The T snapshots whose files were absorbed. */
  readonly snapshots: number;
  /** T snapshots whose `kice.dead-letters` could not be read (damaged): skipped. */
  readonly unreadable?: readonly string[];
  /** The dead-letter table's new snapshot, when one was committed. */
  readonly snapshotId?: string;
  /** Snapshots of the dead-letter table expired after the commit, if maintenance ran. */
  readonly expired?: number;
  readonly maintenanceError?: string;
}

/** Table properties kice sets on tables it creates (callers' properties win). */
export const DEFAULT_TABLE_PROPERTIES: Readonly<Record<string, string>> = {
  'write.format.default': 'parquet',
  'write.parquet.compression-codec': 'snappy',
  'commit.retry.num-retries': '20',
  'commit.retry.min-wait-ms': '50',
  // Streaming commits every few seconds: keep six hours of snapshots for time travel
  // (Java's default of five days would put ~43,000 snapshots in every metadata file at
  // the default 10 s interval), and old metadata files no longer in the metadata log.
  'history.expire.max-snapshot-age-ms': String(6 * 60 * 60 * 1000),
  'write.metadata.delete-after-commit.enabled': 'true',
  'write.metadata.previous-versions-max': '100',
};

/** Iceberg's snapshot age limit property, and its default (Java's: five days). */
const MAX_SNAPSHOT_AGE = 'history.expire.max-snapshot-age-ms';
const DEFAULT_MAX_SNAPSHOT_AGE_MS = 5 * 24 * 60 * 60 * 1000;

/** Snapshot expiry runs at most this often per table (it is a second catalog commit). */
export const MAINTENANCE_INTERVAL_MS = 5 * 60 * 1000;

/**
 * The steps of an append, as an observer sees them: `data` when the committer receives the
 * data files (written by the workers; nothing else of the commit exists yet), then
 * @kice/iceberg's steps (manifests, manifest list, metadata file, version hint).
 */
export type CommitterStep = 'data' | CommitStep;

export type CommitterObserver = (event: {
  readonly step: CommitterStep;
  readonly table: string;
  readonly path: string;
}) => void | Promise<void>;

/** The dead-letter table's marker moved between planning and committing: plan again. */
class StaleMarkerError extends Error {}

class OffsetContinuityError extends KiceError {
  constructor(
    readonly kind: 'duplicate' | 'gap',
    reason: string,
  ) {
    super('OFFSET_GAP', reason);
  }
}

export class Committer {
  /** When maintenance last ran, per table, in this process. */
  private readonly maintainedAt = new Map<string, number>();

  constructor(
    private readonly catalog: Catalog,
    private readonly groupId: string,
    private readonly maintenanceIntervalMs = MAINTENANCE_INTERVAL_MS,
    /** Told the steps of every append (crash tests: ./test-pause.ts). */
    private readonly observer?: CommitterObserver,
    /** The `storage:` config, which a table's catalog properties are laid over. */
    private readonly storage?: StorageConfig,
  ) {}

  private async load(id: TableIdentifier): Promise<Table | undefined> {
    try {
      return await this.catalog.loadTable(id);
    } catch (e) {
      if (e instanceof IcebergError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    }
  }

  private state(t: Table): TableState {
    const recorded = recordedProperties(t.metadata);
    const prop = offsetsProperty(this.groupId);
    const offsets = readOffsets(Object.fromEntries(recorded.properties), this.groupId);
    const from = recorded.from.get(prop);
    return {
      schema: currentSchema(t.metadata),
      spec: specById(t.metadata, t.metadata.defaultSpecId),
      location: t.metadata.location,
      offsets: [...offsets].map(([k, v]) => [k, v.toString()]),
      ...(from === undefined ? {} : { offsetsSnapshotId: from.toString() }),
      historyTruncated: recorded.truncated,
      ...this.tableStorageOf(t),
    };
  }

  /** `{ storage }` when the catalog gave the table FileIO properties of its own. */
  private tableStorageOf(t: Table): { storage?: StorageConfig } {
    const config = (t as { readonly config?: Readonly<Record<string, string>> }).config;
    if (this.storage === undefined || config === undefined) return {};
    const storage = tableStorage(this.storage, config);
    return storage === this.storage ? {} : { storage };
  }

  /** The table's schema, spec and recorded offsets, or undefined if it does not exist. */
  async tableState(table: string): Promise<TableState | undefined> {
    const t = await this.load(parseIdentifier(table));
    return t ? this.state(t) : undefined;
  }

  /**
   * What the table is now, for operators (the HTTP `/tables/{table}` route): schema, spec,
   * the newest `snapshotLimit` snapshots (newest first) and the group's recorded offsets.
   * JSON-safe (ids as strings); undefined if the table does not exist.
   */
  async describe(table: string, snapshotLimit: number): Promise<TableDescription | undefined> {
    const t = await this.load(parseIdentifier(table));
    if (!t) return undefined;
    const m = t.metadata;
    const snapshots = [...m.snapshots]
      .sort((a, b) => b.timestampMs - a.timestampMs || b.sequenceNumber - a.sequenceNumber)
      .slice(0, snapshotLimit)
      .map((s) => ({
        snapshotId: s.snapshotId.toString(),
        ...(s.parentSnapshotId === undefined
          ? {}
          : { parentSnapshotId: s.parentSnapshotId.toString() }),
        sequenceNumber: s.sequenceNumber,
        timestampMs: s.timestampMs,
        operation: s.summary.operation ?? 'unknown',
        summary: { ...s.summary },
      }));
    return {
      table,
      location: m.location,
      schema: schemaToJson(currentSchema(m)),
      partitionSpec: partitionSpecToJson(specById(m, m.defaultSpecId)),
      currentSnapshotId: m.currentSnapshotId === null ? null : m.currentSnapshotId.toString(),
      snapshotCount: m.snapshots.length,
      snapshots,
      recordedOffsets: this.state(t).offsets,
    };
  }

  /** Creates the table or evolves its schema so that it holds every column of `observed`. */
  async ensureTable(setup: TableSetup, observed: StructType): Promise<TableState> {
    const id = parseIdentifier(setup.table);
    for (let attempt = 0; ; attempt++) {
      try {
        const t = await this.load(id);
        if (!t) return this.state(await this.create(id, setup, observed));
        const base = currentSchema(t.metadata);
        const evolved = evolveSchema(base, observed, t.metadata.lastColumnId);
        if (!evolved.changed) return this.state(t);
        const next = await this.catalog.commitTable(
          id,
          [
            { type: 'assert-current-schema-id', currentSchemaId: base.schemaId },
            { type: 'assert-last-assigned-field-id', lastAssignedFieldId: t.metadata.lastColumnId },
          ],
          [
            { action: 'add-schema', schema: evolved.schema },
            { action: 'set-current-schema', schemaId: -1 },
          ],
        );
        return this.state(next);
      } catch (e) {
        const retry = e instanceof CommitConflictError || e instanceof AlreadyExistsError;
        if (!retry || attempt >= 20) throw e;
      }
    }
  }

  private async create(
    id: TableIdentifier,
    setup: TableSetup,
    observed: StructType,
  ): Promise<Table> {
    const schema: Schema = { type: 'struct', schemaId: 0, fields: observed.fields };
    const fields = setup.partitionBy.map((p, i) => {
      const source = findFieldByName(schema, p.column);
      if (!source) {
        throw new KiceError(
          'SCHEMA_INCOMPATIBLE',
          `table ${setup.table}: partitionBy column "${p.column}" is not in the data (columns: ${schema.fields.map((f) => f.name).join(', ')})`,
        );
      }
      return { sourceId: source.id, fieldId: 1000 + i, name: p.name, transform: p.transform };
    });
    if (!(await this.catalog.namespaceExists(id.namespace)))
      await this.catalog.createNamespace(id.namespace);
    return this.catalog.createTable(id, {
      schema,
      spec: { specId: 0, fields },
      properties: { ...DEFAULT_TABLE_PROPERTIES, ...setup.properties },
    });
  }

  /**
   * Appends `files` and records the offsets after `ranges`. Refused (and nothing is
   * committed) when a range does not continue the table's recorded offsets. The caller
   * owns the files: on refusal it deletes them.
   */
  async append(
    table: string,
    files: readonly DataFile[],
    ranges: readonly OffsetRange[],
    deadLetters?: AppendDeadLetters,
  ): Promise<AppendResult> {
    const id = parseIdentifier(table);
    const first = files[0] ?? deadLetters?.files[0];
    if (this.observer && first) await this.observer({ step: 'data', table, path: first.filePath });
    const t = await this.catalog.loadTable(id);
    // Merging manifests (commit.manifest-merge.enabled, Java's defaults) keeps the manifest
    // list short however many commits the table has had.
    const op = mergeAppend(t);
    for (const f of files) op.appendFile(f);
    // The range's dead letters belong to this snapshot, atomically with its offsets.
    if (deadLetters && deadLetters.files.length > 0)
      op.set(DEAD_LETTERS_PROPERTY, deadLettersValue(deadLetters.table, deadLetters.files));
    if (this.observer) op.observe(this.observer);
    const prop = offsetsProperty(this.groupId);
    let recorded: [string, string][] = [];
    op.validate(async (base) => {
      const carried = recordedProperties(base).properties;
      const verdict = checkContinuity(
        readOffsets(Object.fromEntries(carried), this.groupId),
        ranges,
      );
      if (!verdict.ok) throw new OffsetContinuityError(verdict.kind, verdict.reason);
      // Every group's offsets travel with every commit, so that no snapshot of ours hides
      // another group's and expiring the snapshots below keeps them all.
      for (const [k, v] of carried) if (k !== prop) op.set(k, v);
      op.set(prop, writeOffsets(verdict.next));
      recorded = [...verdict.next].map(([k, v]) => [k, v.toString()]);
    });
    try {
      const committed = await op.commit();
      const done = {
        status: 'committed' as const,
        snapshotId: String(committed.metadata.currentSnapshotId),
        offsets: recorded,
      };
      return { ...done, ...(await this.maintain(table, committed, deadLetters?.table)) };
    } catch (e) {
      if (e instanceof OffsetContinuityError)
        return { status: 'refused', kind: e.kind, reason: e.message };
      throw e;
    }
  }

  /**
   * Table maintenance after a commit, at most once per interval per table. With
   * `deadLetterTable` (the table's dead letters go there), snapshots naming dead-letter
   * files that table does not hold yet are kept, however old: expiring them would lose
   * those dead letters (./dead-letter-files.ts).
   */
  private async maintain(
    table: string,
    committed: Table,
    deadLetterTable?: string,
  ): Promise<{ expired?: number; maintenanceError?: string }> {
    const now = Date.now();
    const last = this.maintainedAt.get(table);
    if (last !== undefined && now - last < this.maintenanceIntervalMs) return {};
    this.maintainedAt.set(table, now);
    try {
      let olderThanMs: number | undefined;
      if (deadLetterTable !== undefined) {
        const pending = await this.unabsorbedSince(committed, deadLetterTable);
        if (pending !== undefined) {
          const raw = Number(committed.metadata.properties[MAX_SNAPSHOT_AGE]);
          const maxAge = Number.isFinite(raw) && raw >= 0 ? raw : DEFAULT_MAX_SNAPSHOT_AGE_MS;
          olderThanMs = Math.min(now - maxAge, pending);
        }
      }
      // Expires snapshots past history.expire.max-snapshot-age-ms (keeping at least
      // history.expire.min-snapshots-to-keep) and deletes the files only they reached.
      const r = await maintainAfterCommit(committed, {
        nowMs: now,
        ...(olderThanMs !== undefined ? { olderThanMs } : {}),
      });
      return { expired: r.expiredSnapshotIds.length };
    } catch (e) {
      return { maintenanceError: e instanceof Error ? e.message : String(e) };
    }
  }

  /**
   * The timestamp of the oldest snapshot of `source` naming dead-letter files that
   * `deadLetterTable` does not hold yet (undefined: none).
   */
  private async unabsorbedSince(
    source: Table,
    deadLetterTable: string,
  ): Promise<number | undefined> {
    const d = await this.load(parseIdentifier(deadLetterTable));
    const prop = absorbedProperty(source.metadata.tableUuid);
    const v = d ? recordedProperties(d.metadata, ABSORBED_PREFIX).properties.get(prop) : undefined;
    return pendingDeadLetters(source.metadata, deadLetterTable, v === undefined ? 0 : Number(v))
      .oldestMs;
  }

  /** Creates the dead-letter table (fixed schema, unpartitioned) if it does not exist. */
  async ensureDeadLetterTable(table: string): Promise<TableState> {
    return this.ensureTable({ table, partitionBy: [], properties: {} }, DEAD_LETTER_SCHEMA);
  }

  /**
   * Appends to dead-letter table `deadLetterTable` every dead-letter file that snapshots of
   * `sourceTable` name and that it does not hold yet, with the marker of the newest source
   * snapshot absorbed, in one commit (./dead-letter-files.ts). Idempotent: run it any time,
   * by any process; a concurrent absorb that moved the marker first makes this one plan
   * again from the fresh marker.
   */
  async absorbDeadLetters(deadLetterTable: string, sourceTable: string): Promise<AbsorbResult> {
    const none: AbsorbResult = { files: 0, records: 0, snapshots: 0 };
    const source = await this.load(parseIdentifier(sourceTable));
    if (!source || source.metadata.currentSnapshotId === null) return none;
    const prop = absorbedProperty(source.metadata.tableUuid);
    for (let attempt = 0; ; attempt++) {
      const id = parseIdentifier(deadLetterTable);
      let d = await this.load(id);
      const markerOf = (m: Table['metadata']): number => {
        const v = recordedProperties(m, ABSORBED_PREFIX).properties.get(prop);
        return v === undefined ? 0 : Number(v);
      };
      const absorbed = d ? markerOf(d.metadata) : 0;
      const plan = pendingDeadLetters(source.metadata, deadLetterTable, absorbed);
      if (plan.files.length === 0 && plan.unreadable.length === 0) return none;
      // No marker for this table but a dead-letter table with snapshots: a first absorb, or
      // the marker was lost (another engine committed and expired every kice snapshot).
      // Files it already holds are not appended again (the commit still sets the marker).
      if (d && absorbed === 0 && d.metadata.currentSnapshotId !== null) {
        const held = new Set((await planFiles(d)).files.map((f) => f.filePath));
        plan.files = plan.files.filter((f) => !held.has(f.filePath));
      }
      if (!d) {
        await this.ensureDeadLetterTable(deadLetterTable);
        d = await this.catalog.loadTable(id);
      }
      const op = mergeAppend(d);
      for (const f of plan.files) op.appendFile(f);
      if (this.observer) op.observe(this.observer);
      op.validate(async (base) => {
        if (markerOf(base) !== absorbed) throw new StaleMarkerError();
        // Every source table's marker travels with every commit (like the offsets).
        for (const [k, v] of recordedProperties(base, ABSORBED_PREFIX).properties)
          if (k !== prop) op.set(k, v);
        op.set(prop, String(plan.upTo));
      });
      try {
        const committed = await op.commit();
        return {
          files: plan.files.length,
          records: plan.files.reduce((a, f) => a + f.recordCount, 0),
          snapshots: plan.snapshots,
          ...(plan.unreadable.length > 0 ? { unreadable: plan.unreadable } : {}),
          snapshotId: String(committed.metadata.currentSnapshotId),
          // The markers travel with every commit: expiring older snapshots keeps them.
          ...(await this.maintain(deadLetterTable, committed)),
        };
      } catch (e) {
        if (!(e instanceof StaleMarkerError) || attempt >= 20) throw e;
      }
    }
  }

  /**
   * Deletes data files that no snapshot references: the files of a flush whose commit was
   * refused (the refusal happens before any catalog write of that attempt). A file the
   * current snapshot does reference is kept: a commit that succeeded but was reported as a
   * conflict (its answer lost) is retried, refused as a duplicate of itself, and hands
   * over files that are in the table.
   */
  async deleteFiles(table: string, paths: readonly string[]): Promise<void> {
    const t = await this.catalog.loadTable(parseIdentifier(table));
    const live = new Set((await planFiles(t)).files.map((f) => f.filePath));
    for (const p of paths) if (!live.has(p)) await t.io.delete(p);
  }
}
