/**
 * The catalog of a kice config (`catalog:` in docs/config.md): the filesystem catalog
 * over a local or FileIO warehouse, or an Iceberg REST catalog. Storage is not chosen
 * here: the caller passes the FileIO that data and metadata files go through (for a
 * REST catalog, every table uses it unless the server's table config says otherwise
 * through a FileIO factory of the caller's).
 */
import {
  type Catalog,
  type CommitObserver,
  type FileIO,
  FilesystemCatalog,
  RestCatalog,
  toFileUri,
} from '@kice/iceberg';
import type { CatalogConfig } from '../config/schema.ts';

export interface CreateCatalogOptions {
  /** Filesystem catalog only: told the steps of every commit (crash tests). */
  readonly observer?: CommitObserver;
  /** REST catalog only: builds a table's FileIO from its load-table config. */
  readonly ioFactory?: (properties: Readonly<Record<string, string>>) => FileIO;
}

export function createCatalog(
  config: CatalogConfig,
  io: FileIO,
  options: CreateCatalogOptions = {},
): Catalog {
  if (config.type === 'filesystem') {
    return new FilesystemCatalog({
      warehouse: toFileUri(config.warehouse),
      io,
      ...(options.observer ? { observer: options.observer } : {}),
    });
  }
  return new RestCatalog({
    uri: config.uri,
    io,
    ...(config.warehouse === undefined ? {} : { warehouse: config.warehouse }),
    ...(config.credential === undefined ? {} : { credential: config.credential }),
    ...(config.token === undefined ? {} : { token: config.token }),
    ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
    ...(config.headers === undefined ? {} : { headers: config.headers }),
    ...(config.scope === undefined ? {} : { scope: config.scope }),
    ...(config.oauth2ServerUri === undefined ? {} : { oauth2ServerUri: config.oauth2ServerUri }),
    ...(config.accessDelegation === undefined ? {} : { accessDelegation: config.accessDelegation }),
    ...(options.ioFactory ? { ioFactory: options.ioFactory } : {}),
  });
}
