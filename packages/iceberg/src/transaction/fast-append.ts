/**
 * Fast append: adds data files in new manifests and keeps every existing manifest as is
 * (Java's FastAppend). The manifest list grows by one manifest per commit; use the merge
 * append (./merge-append.ts) to keep it bounded.
 *
 * Spec: https://iceberg.apache.org/spec/#snapshots ,
 * https://iceberg.apache.org/spec/#manifests (ADDED entries carry the snapshot id and
 * null sequence numbers, inherited from the manifest list entry) and
 * https://iceberg.apache.org/spec/#sequence-numbers .
 *
 * Commit (see ./append.ts): write the new manifest(s) once; then per attempt: refresh the
 * table, run the caller's validation against the fresh metadata, write a manifest list =
 * new manifests + the parent's manifests, and ask the catalog to swap with requirement
 * "main is still at the parent". On a conflict, retry (only the manifest list is redone).
 */
import type { Table } from '../catalog/catalog.ts';
import type { ManifestFile } from '../spec/manifest.ts';
import { type AppendAttempt, AppendOperation } from './append.ts';

export { newSnapshotId, type Validator } from './append.ts';

export class FastAppend extends AppendOperation {
  protected override readonly kind = 'fast append';

  protected override async arrange(attempt: AppendAttempt): Promise<ManifestFile[]> {
    return [...attempt.added, ...attempt.parent];
  }
}

/** Starts a fast append on `table`. */
export function fastAppend(table: Table): FastAppend {
  return new FastAppend(table);
}
