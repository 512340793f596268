/**
 * Fast append: adds data files in new manifests and keeps every existing manifest as is.
 *
 * Spec: https://iceberg.apache.org/spec/#snapshots ,
 * https://iceberg.apache.org/spec/#manifests (ADDED entries carry the snapshot id and
 * null sequence numbers, inherited from the manifest list entry) and
 * https://iceberg.apache.org/spec/#sequence-numbers .
 *
 * Commit: write the new manifest(s) once; then per attempt: refresh the table, run the
 * caller's validation against the fresh metadata, write a manifest list = new manifests
 * + the parent's manifests, and ask the catalog to swap with requirement
 * "main is still at the parent". On a conflict, retry (only the manifest list is redone).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Table } from '../catalog/catalog.ts';
import { IcebergError } from '../errors.ts';
import { joinPath } from '../io/file-io.ts';
import type { DataFile, ManifestFile } from '../spec/manifest.ts';
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

export class FastAppend {
  private readonly files: DataFile[] = [];
  private readonly props: Record<string, string> = {};
  private readonly validators: Validator[] = [];

  constructor(private readonly table: Table) {}

  appendFile(file: DataFile): this {
    if (file.content !== 0)
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `fast append takes data files only: ${file.filePath}`,
      );
    this.files.push(file);
    return this;
  }

  /** A snapshot summary property (e.g. Kafka offsets). */
  set(key: string, value: string): this {
    this.props[key] = value;
    return this;
  }

  /** Checked against the refreshed metadata before every attempt; throw to abort. */
  validate(fn: Validator): this {
    this.validators.push(fn);
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
    let n = 0;
    for (const [specId, files] of bySpec) {
      const spec = specById(base0, specId);
      const ptype = partitionType(spec, schema);
      const bytes = writeManifest({
        schema,
        spec,
        partitionType: ptype,
        entries: files.map((dataFile) => ({
          status: 1,
          snapshotId,
          sequenceNumber: null,
          fileSequenceNumber: null,
          dataFile,
        })),
        codec: 'deflate',
      });
      const path = joinPath(metadataDir, `${randomUUID()}-m${n++}.avro`);
      await io.write(path, bytes);
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

    let current: Table = table;
    const policy = retryPolicyFrom(base0.properties);
    return withRetry(policy, async (attempt) => {
      if (attempt > 0) current = await table.catalog.loadTable(table.identifier);
      const base = current.metadata;
      for (const v of this.validators) await v(base);
      const parent =
        base.currentSnapshotId === null
          ? undefined
          : base.snapshots.find((s) => s.snapshotId === base.currentSnapshotId);
      const sequenceNumber = base.lastSequenceNumber + 1;
      const kept: ManifestFile[] = parent
        ? readManifestList(await io.read(parent.manifestList))
        : [];
      const created: ManifestFile[] = newManifests.map((m) => ({
        ...m,
        sequenceNumber,
        minSequenceNumber: sequenceNumber,
      }));
      const listPath = joinPath(
        metadataDir,
        `snap-${snapshotId}-${attempt + 1}-${randomUUID()}.avro`,
      );
      await io.write(
        listPath,
        writeManifestList({
          snapshotId,
          parentSnapshotId: parent ? parent.snapshotId : null,
          sequenceNumber,
          manifests: [...created, ...kept],
          codec: 'deflate',
        }),
      );
      const snapshot: Snapshot = {
        snapshotId,
        ...(parent ? { parentSnapshotId: parent.snapshotId } : {}),
        sequenceNumber,
        timestampMs: Math.max(Date.now(), base.lastUpdatedMs),
        manifestList: listPath,
        summary: buildSummary({
          operation: 'append',
          ...(parent ? { parent: parent.summary } : {}),
          added: this.files,
          manifestsCreated: created.length,
          manifestsKept: kept.length,
          manifestsReplaced: 0,
          properties: this.props,
        }),
        schemaId: base.currentSchemaId,
      };
      try {
        return await table.catalog.commitTable(
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
      } catch (e) {
        if (e instanceof IcebergError && e.code === 'COMMIT_CONFLICT') await io.delete(listPath);
        throw e;
      }
    });
  }
}

/** Starts a fast append on `table`. */
export function fastAppend(table: Table): FastAppend {
  return new FastAppend(table);
}
