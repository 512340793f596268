/**
 * The Catalog interface: namespaces, tables, and atomic commits expressed as
 * requirements + updates (the REST protocol's vocabulary, see ./updates.ts).
 */

import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import type { PartitionSpec, SortOrder } from '../spec/partition-spec.ts';
import type { TableMetadata } from '../spec/table-metadata.ts';
import type { Schema } from '../spec/types.ts';
import type { TableRequirement, TableUpdate } from './updates.ts';

export interface TableIdentifier {
  readonly namespace: readonly string[];
  readonly name: string;
}

/** A loaded table: its metadata as of `metadataLocation`, and where to read/write files. */
export interface Table {
  readonly identifier: TableIdentifier;
  readonly metadata: TableMetadata;
  readonly metadataLocation: string;
  readonly io: FileIO;
  readonly catalog: Catalog;
}

export interface CreateTableOptions {
  readonly schema: Schema;
  readonly spec?: PartitionSpec;
  readonly sortOrder?: SortOrder;
  readonly properties?: Record<string, string>;
  /** Defaults to the catalog's location for the identifier. */
  readonly location?: string;
}

export interface Catalog {
  readonly name: string;
  readonly io: FileIO;
  listNamespaces(): Promise<string[][]>;
  createNamespace(namespace: readonly string[]): Promise<void>;
  namespaceExists(namespace: readonly string[]): Promise<boolean>;
  listTables(namespace: readonly string[]): Promise<TableIdentifier[]>;
  createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<Table>;
  loadTable(identifier: TableIdentifier): Promise<Table>;
  tableExists(identifier: TableIdentifier): Promise<boolean>;
  /** Drops the table from the catalog; `purge` also deletes its files. */
  dropTable(identifier: TableIdentifier, purge?: boolean): Promise<void>;
  /**
   * Atomically checks `requirements` against the table's current metadata and applies
   * `updates`. Throws CommitConflictError (retryable) when another writer got there first.
   */
  commitTable(
    identifier: TableIdentifier,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<Table>;
}

/** `"a.b.t"` → `{namespace: ["a","b"], name: "t"}`. */
export function parseIdentifier(text: string): TableIdentifier {
  const parts = text.split('.');
  const name = parts.pop();
  if (!name || parts.length === 0 || parts.some((p) => p.length === 0)) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `invalid table identifier "${text}": expected namespace.table`,
    );
  }
  return { namespace: parts, name };
}

export function identifierToString(id: TableIdentifier): string {
  return [...id.namespace, id.name].join('.');
}
