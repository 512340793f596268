/**
 * Old table metadata files: how many the metadata log keeps, and deleting those that fell
 * out of it after a commit.
 *
 * Table properties (https://iceberg.apache.org/docs/latest/configuration/#table-behavior-properties):
 *   write.metadata.previous-versions-max          100    entries kept in `metadata-log`
 *   write.metadata.delete-after-commit.enabled    false  delete files dropped from it
 *
 * The log is capped where it is built (./updates.ts, as Java's
 * TableMetadata.Builder#addPreviousFile: at least 1 entry). After a SUCCESSFUL commit a
 * catalog calls `deleteRemovedMetadataFiles`, as Java's catalogs call
 * CatalogUtil.deleteRemovedMetadataFiles (HadoopTableOperations#commit right after the
 * version hint is written; BaseMetastoreTableOperations likewise):
 * https://github.com/apache/iceberg/blob/main/core/src/main/java/org/apache/iceberg/CatalogUtil.java
 * https://github.com/apache/iceberg/blob/main/core/src/main/java/org/apache/iceberg/hadoop/HadoopTableOperations.java
 * and PyIceberg's `Catalog._delete_old_metadata` (pyiceberg/catalog/__init__.py).
 *
 * Semantics: when the property is true in the NEW metadata, delete every file that was in
 * the base's metadata log, or was the base file itself, and is neither in the new
 * metadata's log nor the new current file. Files are compared by path (as PyIceberg does;
 * Java compares log entries, path and timestamp, which selects the same files). Java
 * never lists the base file itself for deletion — the new log always ends with it — and
 * neither does this in practice; it is only a candidate so that a log capped to nothing
 * could not leak it. Failures are swallowed (Java: `suppressFailureWhenFinished`, a
 * warning): the commit has happened and must not be reported as failed.
 *
 * Files are deleted one at a time, oldest first, so that an interrupted cleanup leaves
 * the remaining old versions contiguous (the Hadoop layout finds the current version by
 * probing forward from `version-hint.text`).
 *
 * Consequences, the same as in Java: a reader or writer still holding a version that has
 * fallen out of the log (more than previous-versions-max commits behind) can no longer
 * read that metadata file — e.g. a `StaticTable.from_metadata(old path)` fails, and
 * time travel through the metadata log cannot reach deleted versions. A writer is not
 * hurt: every commit re-reads the current version, and a version that disappears between
 * resolving and reading it is resolved again (./filesystem.ts).
 */
import type { FileIO } from '../io/file-io.ts';
import type { TableMetadata } from '../spec/table-metadata.ts';
import { boolProperty, intProperty } from '../transaction/properties.ts';

export const METADATA_PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max';
export const METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT = 100;
export const METADATA_DELETE_AFTER_COMMIT_ENABLED = 'write.metadata.delete-after-commit.enabled';
export const METADATA_DELETE_AFTER_COMMIT_ENABLED_DEFAULT = false;

/** How many previous metadata files the log of a table with `properties` keeps (≥ 1). */
export function previousVersionsMax(properties: Readonly<Record<string, string>>): number {
  return Math.max(
    1,
    intProperty(properties, METADATA_PREVIOUS_VERSIONS_MAX, METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT),
  );
}

/**
 * The metadata files a commit from `base` (read from `baseLocation`) to `next` (written
 * to `nextLocation`) removed from the metadata log, oldest first; empty when
 * write.metadata.delete-after-commit.enabled is not true in `next`. Pure.
 */
export function removedMetadataFiles(
  base: TableMetadata,
  baseLocation: string,
  next: TableMetadata,
  nextLocation: string,
): string[] {
  if (
    !boolProperty(
      next.properties,
      METADATA_DELETE_AFTER_COMMIT_ENABLED,
      METADATA_DELETE_AFTER_COMMIT_ENABLED_DEFAULT,
    )
  )
    return [];
  const keep = new Set(next.metadataLog.map((e) => e.metadataFile));
  keep.add(nextLocation);
  const out = new Set<string>();
  for (const file of [...base.metadataLog.map((e) => e.metadataFile), baseLocation]) {
    if (!keep.has(file)) out.add(file);
  }
  return [...out];
}

/**
 * Deletes `removedMetadataFiles(...)` (see the top of this file), oldest first. Never
 * throws: returns the files it deleted and those it could not.
 */
export async function deleteRemovedMetadataFiles(
  io: FileIO,
  base: TableMetadata,
  baseLocation: string,
  next: TableMetadata,
  nextLocation: string,
): Promise<{ deleted: string[]; failed: string[] }> {
  const deleted: string[] = [];
  const failed: string[] = [];
  let files: string[];
  try {
    files = removedMetadataFiles(base, baseLocation, next, nextLocation);
  } catch {
    return { deleted, failed };
  }
  for (const file of files) {
    try {
      await io.delete(file);
      deleted.push(file);
    } catch {
      failed.push(file);
    }
  }
  return { deleted, failed };
}
