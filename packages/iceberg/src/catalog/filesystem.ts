/**
 * Filesystem catalog: the layout of Iceberg's Hadoop catalog, which DuckDB and PyIceberg
 * read by folder.
 *
 *   <warehouse>/<ns1>/<ns2>/<table>/metadata/v<N>.metadata.json
 *   <warehouse>/<ns1>/<ns2>/<table>/metadata/version-hint.text   (just "N", no newline)
 *   <warehouse>/<ns1>/<ns2>/<table>/data/...
 *
 * A commit writes v<N+1>.metadata.json with create-if-absent (FileIO `ifAbsent`: link(2)
 * locally, a conditional PUT on object stores), so of two writers racing for the same
 * version exactly one wins and the other gets a retryable CommitConflictError; the hint
 * is then rewritten (best effort: readers here probe forward from it, as Java does).
 * Unlike Java, a catalog that finds the hint missing or behind the newest version (its
 * writer died between the metadata file and the hint) rewrites it, so that readers that
 * follow only the hint, such as DuckDB given the table folder, do not stay on an older
 * version until the next commit. Like the hint write after a commit, this can race a
 * concurrent commit and leave the hint one version behind; the next load repairs it.
 * Namespaces are folders marked by an empty `.namespace` file.
 *
 * After a successful commit, when write.metadata.delete-after-commit.enabled is true in
 * the new metadata, the metadata files that fell out of the metadata log (capped by
 * write.metadata.previous-versions-max) are deleted, as Java's HadoopTableOperations#commit
 * does right after writing the hint (./metadata-files.ts; failures are ignored). The
 * newest previous-versions-max + 1 versions always remain, deleted oldest first, so the
 * versions on disk stay contiguous and probing forward from the hint still finds the
 * newest one. A committer is never left without its base by this beyond what Java does:
 * a commit re-reads the current version, writes version + 1 if absent, and only a file
 * more than previous-versions-max versions older than its own is deleted by it; a
 * version that vanishes while being resolved (a hint that far behind, or a reader that
 * slow) is resolved again by listing the folder. Readers that hold such an old version
 * (a path to `v3.metadata.json` given to PyIceberg or DuckDB earlier) fail to read it,
 * as with Java. Residual risk, shared with Java's HadoopTableOperations: two committers'
 * cleanups running out of order can briefly leave an old version behind a deleted newer
 * one, and a writer whose hint lags more than previous-versions-max versions at exactly
 * that moment would take the old version as current.
 */
import { AlreadyExistsError, CommitConflictError, IcebergError, NotFoundError } from '../errors.ts';
import { type FileIO, joinPath } from '../io/file-io.ts';
import type { TableMetadata } from '../spec/table-metadata.ts';
import {
  newTableMetadata,
  tableMetadataFromJson,
  tableMetadataToJson,
} from '../spec/table-metadata.ts';
import type { Catalog, CreateTableOptions, Table, TableIdentifier } from './catalog.ts';
import { identifierToString } from './catalog.ts';
import type { CommitObserver } from './commit-steps.ts';
import { deleteRemovedMetadataFiles } from './metadata-files.ts';
import {
  applyUpdates,
  checkRequirements,
  type TableRequirement,
  type TableUpdate,
} from './updates.ts';

const NS_MARKER = '.namespace';
const HINT = 'version-hint.text';
const VERSION_RE = /\/v(\d+)\.metadata\.json$/;

export interface FilesystemCatalogOptions {
  readonly name?: string;
  /** Warehouse root: `file:///abs/path`, a bare absolute path, or another FileIO URI. */
  readonly warehouse: string;
  readonly io: FileIO;
  /** Told after the new metadata file and after the hint of every commit (./commit-steps.ts). */
  readonly observer?: CommitObserver;
}

/** How many tables' latest metadata a catalog keeps parsed (see `parsed`). */
const PARSED_TABLES_MAX = 64;

export class FilesystemCatalog implements Catalog {
  readonly name: string;
  readonly io: FileIO;
  readonly warehouse: string;
  private readonly observer: CommitObserver | undefined;
  /**
   * Per table location, the text of the newest metadata file this catalog read or wrote
   * and its parsed metadata. Reading the same text again (every commit re-reads the
   * current version) reuses the parse instead of redoing it, which for a table with a
   * hundred snapshots is most of the CPU of a commit. The text is compared in full, so
   * a file rewritten under the same name (a dropped and re-created table) is re-parsed.
   */
  private readonly parsed = new Map<string, { text: string; metadata: TableMetadata }>();

  constructor(options: FilesystemCatalogOptions) {
    this.name = options.name ?? 'filesystem';
    this.io = options.io;
    this.warehouse = options.warehouse.replace(/\/+$/, '');
    this.observer = options.observer;
  }

  private nsPath(ns: readonly string[]): string {
    for (const p of ns) {
      if (!p || p.includes('/') || p === '.' || p === '..') {
        throw new IcebergError('INVALID_ARGUMENT', `invalid namespace part "${p}"`);
      }
    }
    return joinPath(this.warehouse, ...ns);
  }

  tableLocation(id: TableIdentifier): string {
    if (!id.name || id.name.includes('/'))
      throw new IcebergError('INVALID_ARGUMENT', `invalid table name "${id.name}"`);
    return joinPath(this.nsPath(id.namespace), id.name);
  }

  private metadataFile(location: string, version: number): string {
    return joinPath(location, 'metadata', `v${version}.metadata.json`);
  }

  async listNamespaces(): Promise<string[][]> {
    const files = await this.io.list(`${this.warehouse}/`);
    const out = new Set<string>();
    for (const f of files) {
      if (f.endsWith(`/${NS_MARKER}`))
        out.add(f.slice(this.warehouse.length + 1, -(NS_MARKER.length + 1)));
    }
    return [...out].sort().map((s) => s.split('/'));
  }

  async createNamespace(namespace: readonly string[]): Promise<void> {
    if (namespace.length === 0)
      throw new IcebergError('INVALID_ARGUMENT', 'namespace must not be empty');
    try {
      await this.io.write(joinPath(this.nsPath(namespace), NS_MARKER), new Uint8Array(0), {
        ifAbsent: true,
      });
    } catch (e) {
      if (e instanceof AlreadyExistsError) return;
      throw e;
    }
  }

  async namespaceExists(namespace: readonly string[]): Promise<boolean> {
    return this.io.exists(joinPath(this.nsPath(namespace), NS_MARKER));
  }

  async listTables(namespace: readonly string[]): Promise<TableIdentifier[]> {
    const base = this.nsPath(namespace);
    const files = await this.io.list(`${base}/`);
    const names = new Set<string>();
    for (const f of files) {
      const rel = f.slice(base.length + 1).split('/');
      if (
        rel.length === 3 &&
        rel[1] === 'metadata' &&
        (rel[2] === HINT || VERSION_RE.test(`/${rel[2]}`))
      ) {
        names.add(rel[0] as string);
      }
    }
    return [...names].sort().map((name) => ({ namespace: [...namespace], name }));
  }

  /**
   * The newest committed version of the table at `location`, 0 if none: from the hint
   * probing forward, or (`useHint` false, or no usable hint) the highest version listed.
   * A hint found missing or behind (a writer died after its metadata file and before the
   * hint, or the hint write failed) is rewritten, best effort, so that readers that follow
   * only the hint (DuckDB given the table folder) see the newest version without waiting
   * for the next commit.
   */
  private async currentVersion(location: string, useHint = true): Promise<number> {
    let hinted = 0;
    if (useHint) {
      try {
        const hint = new TextDecoder()
          .decode(await this.io.read(joinPath(location, 'metadata', HINT)))
          .trim();
        if (/^\d+$/.test(hint)) hinted = Number(hint);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    let v = hinted;
    if (v === 0) {
      for (const f of await this.io.list(joinPath(location, 'metadata/'))) {
        const m = VERSION_RE.exec(f);
        if (m) v = Math.max(v, Number(m[1]));
      }
    } else {
      // The hint may lag behind a concurrent commit: probe forward.
      while (await this.io.exists(this.metadataFile(location, v + 1))) v++;
    }
    if (useHint && v > hinted) await this.writeHint(location, v);
    return v;
  }

  private async read(
    id: TableIdentifier,
  ): Promise<{ version: number; location: string; metadata: TableMetadata } | null> {
    const tableLocation = this.tableLocation(id);
    let version = await this.currentVersion(tableLocation);
    if (version === 0) return null;
    let location = this.metadataFile(tableLocation, version);
    let bytes: Uint8Array | undefined;
    for (let attempt = 1; bytes === undefined; attempt++) {
      try {
        bytes = await this.io.read(location);
      } catch (e) {
        // The version found is gone: deleted after falling out of the metadata log
        // (write.metadata.delete-after-commit.enabled) while this was resolving it, or the
        // hint lags so far behind that versions after it are already deleted. The newest
        // version is then the highest one in the folder.
        if (!(e instanceof NotFoundError) || attempt >= 3) throw e;
        version = await this.currentVersion(tableLocation, false);
        if (version === 0) return null;
        location = this.metadataFile(tableLocation, version);
      }
    }
    const text = new TextDecoder().decode(bytes);
    const known = this.parsed.get(tableLocation);
    if (known && known.text === text) return { version, location, metadata: known.metadata };
    const metadata = tableMetadataFromJson(text);
    this.remember(tableLocation, text, metadata);
    return { version, location, metadata };
  }

  private remember(tableLocation: string, text: string, metadata: TableMetadata): void {
    this.parsed.delete(tableLocation);
    this.parsed.set(tableLocation, { text, metadata });
    if (this.parsed.size > PARSED_TABLES_MAX) {
      const oldest = this.parsed.keys().next().value;
      if (oldest !== undefined) this.parsed.delete(oldest);
    }
  }

  private table(id: TableIdentifier, metadata: TableMetadata, metadataLocation: string): Table {
    return { identifier: id, metadata, metadataLocation, io: this.io, catalog: this };
  }

  async loadTable(identifier: TableIdentifier): Promise<Table> {
    const cur = await this.read(identifier);
    if (!cur)
      throw new NotFoundError(`table does not exist: ${identifierToString(identifier)}`, {
        table: identifierToString(identifier),
      });
    return this.table(identifier, cur.metadata, cur.location);
  }

  async tableExists(identifier: TableIdentifier): Promise<boolean> {
    return (await this.currentVersion(this.tableLocation(identifier))) > 0;
  }

  async createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<Table> {
    if (!(await this.namespaceExists(identifier.namespace))) {
      throw new NotFoundError(`namespace does not exist: ${identifier.namespace.join('.')}`);
    }
    const location = options.location ?? this.tableLocation(identifier);
    if (await this.tableExists(identifier)) {
      throw new AlreadyExistsError(`table already exists: ${identifierToString(identifier)}`);
    }
    const metadata = newTableMetadata({
      location,
      schema: options.schema,
      ...(options.spec ? { spec: options.spec } : {}),
      ...(options.sortOrder ? { sortOrder: options.sortOrder } : {}),
      ...(options.properties ? { properties: options.properties } : {}),
    });
    const file = this.metadataFile(this.tableLocation(identifier), 1);
    try {
      await this.io.write(file, new TextEncoder().encode(tableMetadataToJson(metadata)), {
        ifAbsent: true,
      });
    } catch (e) {
      if (e instanceof AlreadyExistsError)
        throw new AlreadyExistsError(`table already exists: ${identifierToString(identifier)}`);
      throw e;
    }
    await this.writeHint(this.tableLocation(identifier), 1);
    return this.table(identifier, metadata, file);
  }

  /**
   * Best effort, as Java's HadoopTableOperations#writeVersionHint: the version is
   * committed already, so a failure here is ignored (readers probe forward, or list).
   */
  private async writeHint(location: string, version: number): Promise<void> {
    try {
      // Skip if a newer version already landed (its writer updates the hint).
      if (await this.io.exists(this.metadataFile(location, version + 1))) return;
      await this.io.write(
        joinPath(location, 'metadata', HINT),
        new TextEncoder().encode(String(version)),
      );
    } catch {
      // ignored: see above
    }
  }

  async dropTable(identifier: TableIdentifier, purge = false): Promise<void> {
    const location = this.tableLocation(identifier);
    if (!(await this.tableExists(identifier))) {
      throw new NotFoundError(`table does not exist: ${identifierToString(identifier)}`);
    }
    // Without purge only the metadata folder goes (the table disappears from the catalog);
    // data files stay for whoever still references them.
    await this.io.delete(purge ? location : joinPath(location, 'metadata'));
  }

  async commitTable(
    identifier: TableIdentifier,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<Table> {
    const cur = await this.read(identifier);
    if (!cur) throw new NotFoundError(`table does not exist: ${identifierToString(identifier)}`);
    checkRequirements(cur.metadata, requirements);
    const next = applyUpdates(cur.metadata, updates, { baseLocation: cur.location });
    const tableLocation = this.tableLocation(identifier);
    const file = this.metadataFile(tableLocation, cur.version + 1);
    const text = tableMetadataToJson(next);
    try {
      await this.io.write(file, new TextEncoder().encode(text), { ifAbsent: true });
    } catch (e) {
      if (e instanceof AlreadyExistsError) {
        throw new CommitConflictError(
          `metadata version ${cur.version + 1} was written by another commit`,
          {
            table: identifierToString(identifier),
            version: cur.version + 1,
          },
        );
      }
      throw e;
    }
    this.remember(tableLocation, text, next);
    const table = identifierToString(identifier);
    await this.observer?.({ step: 'metadata', table, path: file });
    await this.writeHint(tableLocation, cur.version + 1);
    await this.observer?.({
      step: 'version-hint',
      table,
      path: joinPath(tableLocation, 'metadata', HINT),
    });
    // Committed: from here on nothing may fail the commit (this never throws).
    await deleteRemovedMetadataFiles(this.io, cur.metadata, cur.location, next, file);
    return this.table(identifier, next, file);
  }
}
