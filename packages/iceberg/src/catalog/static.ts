/**
 * A table opened straight from one metadata file, the way PyIceberg's
 * `StaticTable.from_metadata` and Java's `StaticTableOperations` open one: no catalog
 * service, no Hadoop `version-hint.text`. Unlike those, the table can be committed to.
 *
 * Spec: https://iceberg.apache.org/spec/#table-metadata (a table's state is its current
 * metadata file) and https://iceberg.apache.org/spec/#file-system-tables .
 *
 * A commit loads the current metadata, checks the requirements and applies the updates
 * (./updates.ts), then writes the next metadata file beside the current one with
 * create-if-absent, named as PyIceberg and Java name them:
 *
 *   <dir>/00003-0d6d….metadata.json   →   <dir>/00004-<random uuid>.metadata.json
 *   <dir>/v3.metadata.json            →   <dir>/00004-<random uuid>.metadata.json
 *   <dir>/anything-else.json          →   <dir>/00000-<random uuid>.metadata.json
 *
 * and moves the catalog's pointer there (`metadata-log` links back to the old file). The
 * pointer lives in this process only: nothing else learns of the new file unless told
 * its location, and two processes committing from the same file fork the table. Use one
 * opener per table and writer; for shared tables use a real catalog.
 *
 * After a commit, as Java's and PyIceberg's catalogs do, when
 * write.metadata.delete-after-commit.enabled is true the metadata files that fell out of
 * the metadata log (write.metadata.previous-versions-max) are deleted, failures ignored
 * (./metadata-files.ts). With a forked table (above) that can delete a file the other
 * fork still lists.
 */
import { randomUUID } from 'node:crypto';
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import { tableMetadataFromJson, tableMetadataToJson } from '../spec/table-metadata.ts';
import type { Catalog, Table, TableIdentifier } from './catalog.ts';
import { deleteRemovedMetadataFiles } from './metadata-files.ts';
import {
  applyUpdates,
  checkRequirements,
  type TableRequirement,
  type TableUpdate,
} from './updates.ts';

/** `…/00012-<uuid>.metadata.json` or `…/v12.metadata.json` → 12; otherwise -1. */
export function metadataFileVersion(location: string): number {
  const name = location.slice(location.lastIndexOf('/') + 1);
  const m = /^(\d+)-.*\.metadata\.json$/.exec(name) ?? /^v(\d+)\.metadata\.json$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Where the metadata file committed after `current` goes: same folder, next version. */
export function nextMetadataLocation(current: string, uuid: string = randomUUID()): string {
  const dir = current.slice(0, current.lastIndexOf('/'));
  const version = String(metadataFileVersion(current) + 1).padStart(5, '0');
  return `${dir}/${version}-${uuid}.metadata.json`;
}

function unsupported(what: string): never {
  throw new IcebergError('UNSUPPORTED', `a table opened from a metadata file has no ${what}`);
}

/** A one-table catalog whose whole state is the location of the current metadata file. */
class MetadataFileCatalog implements Catalog {
  readonly name = 'static';

  constructor(
    readonly io: FileIO,
    private readonly identifier: TableIdentifier,
    private current: string,
  ) {}

  async listNamespaces(): Promise<string[][]> {
    return unsupported('namespaces');
  }
  async createNamespace(): Promise<void> {
    return unsupported('namespaces');
  }
  async namespaceExists(): Promise<boolean> {
    return unsupported('namespaces');
  }
  async listTables(): Promise<TableIdentifier[]> {
    return unsupported('table listing');
  }
  async createTable(): Promise<Table> {
    return unsupported('table creation');
  }
  async dropTable(): Promise<void> {
    return unsupported('drop');
  }

  tableExists(): Promise<boolean> {
    return this.io.exists(this.current);
  }

  /** The table as of the newest metadata file this catalog wrote (or was opened at). */
  async loadTable(): Promise<Table> {
    const text = new TextDecoder().decode(await this.io.read(this.current));
    return {
      identifier: this.identifier,
      metadata: tableMetadataFromJson(text),
      metadataLocation: this.current,
      io: this.io,
      catalog: this,
    };
  }

  async commitTable(
    _identifier: TableIdentifier,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<Table> {
    const base = await this.loadTable();
    const baseLocation = this.current;
    checkRequirements(base.metadata, requirements);
    const next = applyUpdates(base.metadata, updates, { baseLocation });
    const file = nextMetadataLocation(baseLocation);
    await this.io.write(file, new TextEncoder().encode(tableMetadataToJson(next)), {
      ifAbsent: true,
    });
    this.current = file;
    // Committed: from here on nothing may fail the commit (this never throws).
    await deleteRemovedMetadataFiles(this.io, base.metadata, baseLocation, next, file);
    return { ...base, metadata: next, metadataLocation: file };
  }
}

/**
 * Opens the table whose current metadata is the file at `metadataLocation` (any URI or
 * path `io` reads). The returned table reads like any other; commits through it (e.g.
 * `fastAppend(table).commit()`) write the next `NNNNN-<uuid>.metadata.json` beside that
 * file and return the table at it. Its identifier is `{namespace: [], name: <last
 * segment of the table location>}`. Throws NotFoundError when the file does not exist and
 * INVALID_METADATA when it is not valid v2 table metadata.
 */
export async function openTable(io: FileIO, metadataLocation: string): Promise<Table> {
  const text = new TextDecoder().decode(await io.read(metadataLocation));
  const metadata = tableMetadataFromJson(text);
  const location = metadata.location.replace(/\/+$/, '');
  const identifier = { namespace: [], name: location.slice(location.lastIndexOf('/') + 1) };
  const catalog = new MetadataFileCatalog(io, identifier, metadataLocation);
  return { identifier, metadata, metadataLocation, io, catalog };
}
