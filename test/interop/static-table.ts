/**
 * Opens an Iceberg table from one metadata file (PyIceberg's `StaticTable.from_metadata`,
 * Java's `StaticTableOperations`): @kice/iceberg has no such opener and no "register
 * table" yet, and the tables PyIceberg's SqlCatalog writes do not follow the Hadoop layout
 * FilesystemCatalog reads (`<loc>/metadata/00003-<uuid>.metadata.json`, no version hint).
 *
 * The Table it returns can be committed to: its catalog writes the next metadata file
 * beside the current one, named the way PyIceberg names them (`<N+1 zero-padded to 5>-
 * <uuid>.metadata.json`), and moves its pointer there. Single writer only: nothing guards
 * against a second process committing from the same base.
 *
 * applyUpdates / checkRequirements are not exported by @kice/iceberg: imported from its
 * source here (test-only deep import).
 */
import { randomUUID } from 'node:crypto';
import {
  type Catalog,
  type FileIO,
  IcebergError,
  joinPath,
  LocalFileIO,
  type Table,
  type TableIdentifier,
  type TableRequirement,
  type TableUpdate,
  tableMetadataFromJson,
  tableMetadataToJson,
} from '@kice/iceberg';
import { applyUpdates, checkRequirements } from '../../packages/iceberg/src/catalog/updates.ts';

const VERSION_RE = /\/(?:v)?(\d+)(?:-[^/]*)?\.metadata\.json$/;

function unsupported(what: string): never {
  throw new IcebergError('UNSUPPORTED', `a table opened from a metadata file has no ${what}`);
}

/** A one-table catalog whose state is the location of the table's current metadata file. */
class MetadataFileCatalog implements Catalog {
  readonly name = 'metadata-file';

  constructor(
    readonly io: FileIO,
    private readonly identifier: TableIdentifier,
    private current: string,
  ) {}

  /** Where the table's current metadata lives now. */
  get metadataLocation(): string {
    return this.current;
  }

  listNamespaces(): Promise<string[][]> {
    return unsupported('namespaces');
  }
  createNamespace(): Promise<void> {
    return unsupported('namespaces');
  }
  namespaceExists(): Promise<boolean> {
    return unsupported('namespaces');
  }
  listTables(): Promise<TableIdentifier[]> {
    return unsupported('table listing');
  }
  createTable(): Promise<Table> {
    return unsupported('table creation');
  }
  dropTable(): Promise<void> {
    return unsupported('drop');
  }
  async tableExists(): Promise<boolean> {
    return this.io.exists(this.current);
  }

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
    checkRequirements(base.metadata, requirements);
    const next = applyUpdates(base.metadata, updates, { baseLocation: this.current });
    const m = VERSION_RE.exec(this.current);
    const version = (m ? Number(m[1]) : 0) + 1;
    const file = joinPath(
      next.location,
      'metadata',
      `${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`,
    );
    await this.io.write(file, new TextEncoder().encode(tableMetadataToJson(next)), {
      ifAbsent: true,
    });
    this.current = file;
    return { ...base, metadata: next, metadataLocation: file };
  }
}

/**
 * The table whose current metadata is the file at `metadataLocation` (a path or file://
 * URI). Commits made through it write new metadata files beside that one.
 */
export async function openTableAt(
  metadataLocation: string,
  identifier: TableIdentifier = { namespace: ['static'], name: 'table' },
  io: FileIO = new LocalFileIO(),
): Promise<Table> {
  return new MetadataFileCatalog(io, identifier, metadataLocation).loadTable();
}
