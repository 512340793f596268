/**
 * What the fast append (./fast-append.ts) and the merge append (./merge-append.ts) share:
 * collecting data files and summary properties, writing this snapshot's new manifests,
 * and the commit loop.
 *
 * Spec: https://iceberg.apache.org/spec/#snapshots ,
 * https://iceberg.apache.org/spec/#manifests (ADDED entries carry the snapshot id and
 * null sequence numbers, inherited from the manifest list entry) and
 * https://iceberg.apache.org/spec/#sequence-numbers .
 *
 * Commit: write the new manifest(s) once, one per partition spec; then per attempt:
 * refresh the table, run the caller's validation against the fresh metadata, read the
 * parent's manifest list, let the subclass arrange the new snapshot's manifest list
 * (keep everything, or merge), write it, and ask the catalog to swap with requirement
 * "main is still at the parent". Files an attempt wrote (the manifest list, merged
 * manifests) are deleted when the attempt surely failed (an error before the catalog
 * call, or a commit conflict) — never when the catalog call failed in an unknown way,
 * since the commit may then have landed. After a successful commit, new manifests that
 * ended up merged (so are not listed) are deleted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Table } from '../catalog/catalog.ts';
import { identifierToString } from '../catalog/catalog.ts';
import type { CommitObserver } from '../catalog/commit-steps.ts';
import { IcebergError } from '../errors.ts';
import { joinPath } from '../io/file-io.ts';
import type { DataFile, ManifestEntry, ManifestFile } from '../spec/manifest.ts';
import { writeManifest } from '../spec/manifest-file.ts';
import { readManifestList, writeManifestList } from '../spec/manifest-list.ts';
import { partitionType } from '../spec/partition-spec.ts';
import type { Snapshot } from '../spec/snapshot.ts';
import type { TableMetadata } from '../spec/table-metadata.ts';
import { currentSchema, specById } from '../spec/table-metadata.ts';
import { partitionSummaries } from './partition-summary.ts';
import { retryPolicyFrom, withRetry } from './retry.ts';
import { buildSummary } from './summary.ts';

/** A positive random 63-bit snapshot id. */
export function newSnapshotId(): bigint {
  const v = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
  return v === 0n ? 1n : v;
}

export type Validator = (base: TableMetadata) => void | Promise<void>;

/** One commit attempt, as the subclass sees it when arranging the manifest list. */
export interface AppendAttempt {
  /** The refreshed table metadata this attempt commits on top of. */
  readonly base: TableMetadata;
  readonly snapshotId: bigint;
  readonly sequenceNumber: number;
  /** This snapshot's new data manifests (one per spec), sequence numbers assigned. */
  readonly added: readonly ManifestFile[];
  /** The entries of each new manifest, by path (so that a merge need not read them back). */
  readonly addedEntries: ReadonlyMap<string, readonly ManifestEntry[]>;
  /** The parent snapshot's manifest list; empty for the table's first snapshot. */
  readonly parent: readonly ManifestFile[];
  /** Where new manifests go (`<table>/metadata`). */
  readonly metadataDir: string;
  /** Registers a file this attempt wrote, to be deleted if the attempt surely fails. */
  readonly track: (path: string) => void;
}

/** How the manifests of the new snapshot relate to the parent's (for the summary). */
export interface ManifestCounts {
  /** Listed manifests that the parent did not list (written by this commit). */
  readonly created: number;
  /** Parent manifests listed again, unchanged. */
  readonly kept: number;
  /** Parent manifests no longer listed (rewritten into merged manifests). */
  readonly replaced: number;
}

export function manifestCounts(
  parent: readonly ManifestFile[],
  listed: readonly ManifestFile[],
): ManifestCounts {
  const before = new Set(parent.map((m) => m.manifestPath));
  const after = new Set(listed.map((m) => m.manifestPath));
  let kept = 0;
  for (const p of after) if (before.has(p)) kept++;
  return { created: after.size - kept, kept, replaced: before.size - kept };
}

export abstract class AppendOperation {
  private readonly files: DataFile[] = [];
  private readonly props: Record<string, string> = {};
  private readonly validators: Validator[] = [];
  private observer: CommitObserver | undefined;
  private attemptsMade = 0;

  constructor(protected readonly table: Table) {}

  /** "fast append" / "merge append", for messages. */
  protected abstract readonly kind: string;

  /** The new snapshot's manifest list, in order, for one attempt. */
  protected abstract arrange(attempt: AppendAttempt): Promise<ManifestFile[]>;

  appendFile(file: DataFile): this {
    if (file.content !== 0)
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `${this.kind} takes data files only: ${file.filePath}`,
      );
    this.files.push(file);
    return this;
  }

  /** A snapshot summary property (e.g. Kafka offsets). */
  set(key: string, value: string): this {
    this.props[key] = value;
    return this;
  }

  /** Removes a property `set` earlier (a validator's value that no longer applies). */
  unset(key: string): this {
    delete this.props[key];
    return this;
  }

  /** Checked against the refreshed metadata before every attempt; throw to abort. */
  validate(fn: Validator): this {
    this.validators.push(fn);
    return this;
  }

  /**
   * Attempts the last `commit()` made (1 when it committed at once, 1 + the number of
   * retries after conflicts; 0 before any commit). Counted also when the commit failed.
   */
  get attempts(): number {
    return this.attemptsMade;
  }

  /** Told after the new manifests and after each attempt's manifest list (../catalog/commit-steps.ts). */
  observe(observer: CommitObserver): this {
    this.observer = observer;
    return this;
  }

  async commit(): Promise<Table> {
    const { table } = this;
    const io = table.io;
    const snapshotId = newSnapshotId();
    const metadataDir = joinPath(table.metadata.location, 'metadata');
    const base0 = table.metadata;
    const schema = currentSchema(base0);

    // New manifests, one per partition spec, written once and reused across attempts.
    const bySpec = new Map<number, DataFile[]>();
    for (const f of this.files) bySpec.set(f.specId, [...(bySpec.get(f.specId) ?? []), f]);
    const newManifests: Omit<ManifestFile, 'sequenceNumber' | 'minSequenceNumber'>[] = [];
    const addedEntries = new Map<string, readonly ManifestEntry[]>();
    let n = 0;
    for (const [specId, files] of bySpec) {
      const spec = specById(base0, specId);
      const ptype = partitionType(spec, schema);
      const entries: ManifestEntry[] = files.map((dataFile) => ({
        status: 1,
        snapshotId,
        sequenceNumber: null,
        fileSequenceNumber: null,
        dataFile,
      }));
      const bytes = writeManifest({
        schema,
        spec,
        partitionType: ptype,
        entries,
        codec: 'deflate',
      });
      const path = joinPath(metadataDir, `${randomUUID()}-m${n++}.avro`);
      await io.write(path, bytes);
      addedEntries.set(path, entries);
      newManifests.push({
        manifestPath: path,
        manifestLength: bytes.byteLength,
        partitionSpecId: specId,
        content: 0,
        addedSnapshotId: snapshotId,
        addedFilesCount: files.length,
        existingFilesCount: 0,
        deletedFilesCount: 0,
        addedRowsCount: files.reduce((a, f) => a + f.recordCount, 0),
        existingRowsCount: 0,
        deletedRowsCount: 0,
        partitions: partitionSummaries(ptype, files),
      });
    }
    const tableName = identifierToString(table.identifier);
    for (const m of newManifests)
      await this.observer?.({ step: 'manifests', table: tableName, path: m.manifestPath });

    let current: Table = table;
    const policy = retryPolicyFrom(base0.properties);
    this.attemptsMade = 0;
    const committed = await withRetry(policy, async (attempt) => {
      this.attemptsMade = attempt + 1;
      if (attempt > 0) current = await table.catalog.loadTable(table.identifier);
      const base = current.metadata;
      const written: string[] = [];
      const cleanUp = async (): Promise<void> => {
        for (const p of written) await io.delete(p);
      };
      let snapshot: Snapshot;
      let listed: ManifestFile[];
      try {
        for (const v of this.validators) await v(base);
        const parent =
          base.currentSnapshotId === null
            ? undefined
            : base.snapshots.find((s) => s.snapshotId === base.currentSnapshotId);
        const sequenceNumber = base.lastSequenceNumber + 1;
        const parentManifests: ManifestFile[] = parent
          ? readManifestList(await io.read(parent.manifestList))
          : [];
        const added: ManifestFile[] = newManifests.map((m) => ({
          ...m,
          sequenceNumber,
          minSequenceNumber: sequenceNumber,
        }));
        listed = await this.arrange({
          base,
          snapshotId,
          sequenceNumber,
          added,
          addedEntries,
          parent: parentManifests,
          metadataDir,
          track: (p) => written.push(p),
        });
        const counts = manifestCounts(parentManifests, listed);
        const listPath = joinPath(
          metadataDir,
          `snap-${snapshotId}-${attempt + 1}-${randomUUID()}.avro`,
        );
        written.push(listPath);
        await io.write(
          listPath,
          writeManifestList({
            snapshotId,
            parentSnapshotId: parent ? parent.snapshotId : null,
            sequenceNumber,
            manifests: listed,
            codec: 'deflate',
          }),
        );
        await this.observer?.({ step: 'manifest-list', table: tableName, path: listPath });
        snapshot = {
          snapshotId,
          ...(parent ? { parentSnapshotId: parent.snapshotId } : {}),
          sequenceNumber,
          timestampMs: Math.max(Date.now(), base.lastUpdatedMs),
          manifestList: listPath,
          summary: buildSummary({
            operation: 'append',
            ...(parent ? { parent: parent.summary } : {}),
            added: this.files,
            manifestsCreated: counts.created,
            manifestsKept: counts.kept,
            manifestsReplaced: counts.replaced,
            properties: this.props,
          }),
          schemaId: base.currentSchemaId,
        };
      } catch (e) {
        await cleanUp();
        throw e;
      }
      try {
        const result = await table.catalog.commitTable(
          table.identifier,
          [
            { type: 'assert-table-uuid', uuid: base.tableUuid },
            { type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: base.currentSnapshotId },
          ],
          [
            { action: 'add-snapshot', snapshot },
            { action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId, type: 'branch' } },
          ],
        );
        return { result, listed };
      } catch (e) {
        if (e instanceof IcebergError && e.code === 'COMMIT_CONFLICT') await cleanUp();
        throw e;
      }
    });
    // New manifests merged into another one are not part of the table: delete them.
    const kept = new Set(committed.listed.map((m) => m.manifestPath));
    for (const m of newManifests) if (!kept.has(m.manifestPath)) await io.delete(m.manifestPath);
    return committed.result;
  }
}
