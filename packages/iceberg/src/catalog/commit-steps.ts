/**
 * Commit steps an observer can watch: the points inside a commit where the files written
 * so far are durable and the next one is not yet. Crash tests pause (and kill) a process
 * at each of them; nothing else in the library depends on an observer.
 *
 * - `manifests`: the append's new manifests are written; nothing lists them yet.
 * - `manifest-list`: this attempt's manifest list is written; the catalog has not been
 *   asked to commit it yet.
 * - `metadata`: the catalog has made the new metadata file the table's current version
 *   (filesystem catalog: `v<N+1>.metadata.json` is in place); `version-hint.text` still
 *   names N.
 * - `version-hint`: `version-hint.text` names the new version; metadata files that fell
 *   out of the metadata log are not deleted yet.
 *
 * An observer may be async: the commit waits for it. It must not throw (a throw fails the
 * commit at that step, as a crash would; after `metadata` the commit has landed anyway).
 */
export type CommitStep = 'manifests' | 'manifest-list' | 'metadata' | 'version-hint';

export interface CommitStepEvent {
  readonly step: CommitStep;
  /** `namespace.name`. */
  readonly table: string;
  /** The file the step wrote. */
  readonly path: string;
}

export type CommitObserver = (event: CommitStepEvent) => void | Promise<void>;
