/**
 * A Catalog over the Iceberg REST protocol
 * (https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml):
 * /v1/config, namespaces (create, list with pageToken paging, load, HEAD exists),
 * tables (create, load, list, HEAD exists, DELETE with purgeRequested, register) and
 * commits (POST …/tables/{table} with requirements + updates, ./serialize.ts).
 *
 * Commit outcome: 409 CommitFailedException → CommitConflictError (the transaction
 * refreshes and re-applies). 500/502/503/504 (CommitStateUnknown), or a request that
 * was sent but got no answer, leave the outcome unknown: the table is loaded again
 * (reads retry while the server restarts) and the commit counts as done when every
 * snapshot it added is in the table (and every snapshot it removed is gone); otherwise
 * a retryable CommitConflictError lets the transaction re-plan on fresh metadata.
 * A commit with neither (e.g. only properties) throws a non-retryable
 * COMMIT_STATE_UNKNOWN error instead of guessing. Residual risk: a request still
 * in flight inside the server when the reload answers could land after it; its
 * requirement on the branch then fails the retried commit rather than doubling it
 * only if the retry asserts the same ref (every kice append does).
 *
 * Load-table `config` and `storage-credentials` are exposed on the table
 * (`RestTable.config`) and passed to `ioFactory` to build the table's FileIO.
 */
import {
  AlreadyExistsError,
  CommitConflictError,
  IcebergError,
  NotFoundError,
} from '../../errors.ts';
import type { FileIO } from '../../io/file-io.ts';
import type { JsonObject } from '../../spec/json.ts';
import { stringifyJson } from '../../spec/json.ts';
import type { TableMetadata } from '../../spec/table-metadata.ts';
import { tableMetadataFromJson } from '../../spec/table-metadata.ts';
import type { Catalog, CreateTableOptions, Table, TableIdentifier } from '../catalog.ts';
import { identifierToString } from '../catalog.ts';
import type { TableRequirement, TableUpdate } from '../updates.ts';
import { AuthSession } from './auth.ts';
import { mergeConfig, type RestCatalogOptions, stringMap } from './config.ts';
import { isUnknownOutcome } from './errors.ts';
import { RestHttp, RestTransportError } from './http.ts';
import { RestPaths } from './paths.ts';
import {
  partitionSpecToJson,
  requirementToJson,
  schemaToJson,
  sortOrderToJson,
  updateToJson,
} from './serialize.ts';

export interface StorageCredential {
  readonly prefix: string;
  readonly config: Record<string, string>;
}

/** A table loaded through the REST catalog, with the server's per-table config. */
export interface RestTable extends Table {
  /** Load-table `config` merged over the catalog properties, plus matching credentials. */
  readonly config: Readonly<Record<string, string>>;
  readonly storageCredentials: readonly StorageCredential[];
}

export class RestCatalog implements Catalog {
  readonly name: string;
  readonly io: FileIO;
  private http: RestHttp | undefined;
  private paths: RestPaths | undefined;
  private properties: Record<string, string> = {};
  private initializing: Promise<void> | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: RestCatalogOptions) {
    this.name = options.name ?? 'rest';
    this.io = options.io;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Catalog properties after GET /v1/config (available after the first call). */
  get config(): Readonly<Record<string, string>> {
    return this.properties;
  }

  private async client(): Promise<{ http: RestHttp; paths: RestPaths }> {
    if (!this.http || !this.paths) {
      this.initializing ??= this.initialize().catch((e) => {
        this.initializing = undefined;
        throw e;
      });
      await this.initializing;
    }
    return { http: this.http as RestHttp, paths: this.paths as RestPaths };
  }

  private async initialize(): Promise<void> {
    const o = this.options;
    const base = o.uri.replace(/\/+$/, '');
    const tokenUri = o.oauth2ServerUri ?? `${base}/v1/oauth/tokens`;
    const auth = new AuthSession(o, tokenUri, this.fetchImpl);
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.accessDelegation) headers['X-Iceberg-Access-Delegation'] = o.accessDelegation;
    const http = new RestHttp(base, auth, headers, this.fetchImpl, o.retry);
    const res = await http.request('GET', 'v1/config', 'GET config', {
      query: { warehouse: o.warehouse },
    });
    const body = (res.body ?? {}) as JsonObject;
    const client: Record<string, string> = { ...(o.properties ?? {}) };
    if (o.warehouse !== undefined) client.warehouse = o.warehouse;
    this.properties = mergeConfig(
      { defaults: stringMap(body.defaults), overrides: stringMap(body.overrides) },
      client,
    );
    const prefix = o.prefix ?? this.properties.prefix;
    this.paths = new RestPaths(prefix === '' ? undefined : prefix);
    this.http = http;
  }

  async listNamespaces(): Promise<string[][]> {
    const out: string[][] = [];
    const walk = async (parent: readonly string[] | undefined): Promise<void> => {
      for (const ns of await this.listChildren(parent)) {
        out.push(ns);
        await walk(ns);
      }
    };
    await walk(undefined);
    return out.sort((a, b) => a.join('.').localeCompare(b.join('.')));
  }

  /** One level of namespaces under `parent`, following next-page-token. */
  async listChildren(parent: readonly string[] | undefined): Promise<string[][]> {
    const { http, paths } = await this.client();
    const out: string[][] = [];
    let pageToken: string | undefined;
    do {
      const res = await http.request('GET', paths.namespaces(), 'GET namespaces', {
        query: { parent: parent?.join('\u001f'), pageToken, pageSize: this.pageSize() },
      });
      const body = (res.body ?? {}) as JsonObject;
      for (const ns of (body.namespaces as unknown[]) ?? []) out.push((ns as string[]).map(String));
      pageToken = nextToken(body);
    } while (pageToken);
    return out;
  }

  private pageSize(): string | undefined {
    return this.options.pageSize === undefined ? undefined : String(this.options.pageSize);
  }

  async createNamespace(namespace: readonly string[]): Promise<void> {
    if (namespace.length === 0)
      throw new IcebergError('INVALID_ARGUMENT', 'namespace must not be empty');
    const { http, paths } = await this.client();
    try {
      await http.request('POST', paths.namespaces(), 'POST namespaces', {
        body: { namespace: [...namespace], properties: {} },
      });
    } catch (e) {
      if (e instanceof AlreadyExistsError) return;
      // A POST that got no answer may have landed, and a server may answer a racing
      // duplicate with a 5xx instead of 409 (Iceberg's JDBC catalog: HTTP 500
      // UncheckedSQLException): the namespace existing is all we wanted.
      const unanswered = e instanceof RestTransportError;
      const status = e instanceof IcebergError ? Number(e.context.status) : 0;
      const serverError = status >= 500 && status <= 599;
      if ((unanswered || serverError) && (await this.namespaceExists(namespace))) return;
      throw e;
    }
  }

  async loadNamespace(namespace: readonly string[]): Promise<Record<string, string>> {
    const { http, paths } = await this.client();
    const res = await http.request('GET', paths.namespace(namespace), 'GET namespace');
    return stringMap((res.body as JsonObject | null)?.properties);
  }

  async namespaceExists(namespace: readonly string[]): Promise<boolean> {
    const { http, paths } = await this.client();
    const res = await http.request('HEAD', paths.namespace(namespace), 'HEAD namespace', {
      allow: [404],
    });
    return res.status !== 404;
  }

  async listTables(namespace: readonly string[]): Promise<TableIdentifier[]> {
    const { http, paths } = await this.client();
    const out: TableIdentifier[] = [];
    let pageToken: string | undefined;
    do {
      const res = await http.request('GET', paths.tables(namespace), 'GET tables', {
        query: { pageToken, pageSize: this.pageSize() },
      });
      const body = (res.body ?? {}) as JsonObject;
      for (const id of (body.identifiers as JsonObject[]) ?? [])
        out.push({ namespace: (id.namespace as string[]).map(String), name: String(id.name) });
      pageToken = nextToken(body);
    } while (pageToken);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<Table> {
    const { http, paths } = await this.client();
    const body: JsonObject = {
      name: identifier.name,
      schema: schemaToJson(options.schema),
      'stage-create': false,
      properties: { ...(options.properties ?? {}) },
    };
    if (options.location) body.location = options.location;
    if (options.spec) body['partition-spec'] = partitionSpecToJson(options.spec);
    if (options.sortOrder) body['write-order'] = sortOrderToJson(options.sortOrder);
    const res = await http.request('POST', paths.tables(identifier.namespace), 'POST tables', {
      body,
    });
    return this.toTable(identifier, res.body);
  }

  /** Registers an existing metadata file as a table (POST …/register). */
  async registerTable(identifier: TableIdentifier, metadataLocation: string): Promise<Table> {
    const { http, paths } = await this.client();
    const res = await http.request('POST', paths.register(identifier.namespace), 'POST register', {
      body: { name: identifier.name, 'metadata-location': metadataLocation },
    });
    return this.toTable(identifier, res.body);
  }

  async loadTable(identifier: TableIdentifier): Promise<RestTable> {
    const { http, paths } = await this.client();
    const res = await http.request('GET', paths.table(identifier), 'GET table');
    return this.toTable(identifier, res.body);
  }

  async tableExists(identifier: TableIdentifier): Promise<boolean> {
    const { http, paths } = await this.client();
    const res = await http.request('HEAD', paths.table(identifier), 'HEAD table', {
      allow: [404],
    });
    return res.status !== 404;
  }

  async dropTable(identifier: TableIdentifier, purge = false): Promise<void> {
    const { http, paths } = await this.client();
    await http.request('DELETE', paths.table(identifier), 'DELETE table', {
      query: { purgeRequested: purge ? 'true' : 'false' },
    });
  }

  async commitTable(
    identifier: TableIdentifier,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<Table> {
    const { http, paths } = await this.client();
    try {
      const res = await http.request('POST', paths.table(identifier), 'POST table (commit)', {
        body: {
          identifier: { namespace: [...identifier.namespace], name: identifier.name },
          requirements: requirements.map(requirementToJson),
          updates: updates.map(updateToJson),
        },
      });
      return this.toTable(identifier, res.body);
    } catch (e) {
      if (!unknownOutcome(e)) throw e;
      return this.resolveUnknown(identifier, updates, e);
    }
  }

  /** After an unknown commit outcome: the reloaded table if the commit landed, else a
   * retryable conflict (nothing of it is in the table). */
  private async resolveUnknown(
    identifier: TableIdentifier,
    updates: readonly TableUpdate[],
    cause: unknown,
  ): Promise<Table> {
    const added: bigint[] = [];
    const removed: bigint[] = [];
    for (const u of updates) {
      if (u.action === 'add-snapshot') added.push(u.snapshot.snapshotId);
      if (u.action === 'remove-snapshots') removed.push(...u.snapshotIds);
    }
    const name = identifierToString(identifier);
    if (added.length === 0 && removed.length === 0) {
      throw new IcebergError(
        'COMMIT_STATE_UNKNOWN',
        `REST catalog: commit to ${name} has an unknown outcome (${(cause as Error).message})`,
        { cause, context: { table: name } },
      );
    }
    const table = await this.loadTable(identifier);
    const ids = new Set(table.metadata.snapshots.map((s) => s.snapshotId));
    const addedAll = added.every((id) => ids.has(id));
    const addedNone = added.every((id) => !ids.has(id));
    const removedAll = removed.every((id) => !ids.has(id));
    if (addedAll && removedAll && (added.length > 0 || removed.length > 0)) return table;
    if (addedNone)
      throw new CommitConflictError(
        `REST catalog: commit to ${name} did not land (${(cause as Error).message}); retrying`,
        { table: name, unknownOutcome: true },
        cause,
      );
    throw new IcebergError(
      'COMMIT_STATE_UNKNOWN',
      `REST catalog: commit to ${name} partly visible after an unknown outcome`,
      { cause, context: { table: name } },
    );
  }

  private toTable(identifier: TableIdentifier, body: unknown): RestTable {
    const o = (body ?? {}) as JsonObject;
    const metadataLocation = o['metadata-location'];
    if (typeof metadataLocation !== 'string' || typeof o.metadata !== 'object' || !o.metadata)
      throw new IcebergError(
        'INVALID_METADATA',
        `REST catalog: load-table response for ${identifierToString(identifier)} has no metadata`,
      );
    const metadata: TableMetadata = tableMetadataFromJson(stringifyJson(o.metadata));
    const creds: StorageCredential[] = [];
    for (const c of (o['storage-credentials'] as JsonObject[] | undefined) ?? []) {
      if (typeof c?.prefix === 'string')
        creds.push({ prefix: c.prefix, config: stringMap(c.config) });
    }
    const best = creds
      .filter((c) => metadata.location.startsWith(c.prefix))
      .sort((a, b) => b.prefix.length - a.prefix.length)[0];
    const config = { ...this.properties, ...stringMap(o.config), ...(best?.config ?? {}) };
    const io = this.options.ioFactory ? this.options.ioFactory(config) : this.io;
    return {
      identifier: { namespace: [...identifier.namespace], name: identifier.name },
      metadata,
      metadataLocation,
      io,
      catalog: this,
      config,
      storageCredentials: creds,
    };
  }
}

function nextToken(body: JsonObject): string | undefined {
  const t = body['next-page-token'];
  return typeof t === 'string' && t.length > 0 ? t : undefined;
}

function unknownOutcome(e: unknown): boolean {
  if (e instanceof RestTransportError) return e.sent;
  if (
    e instanceof IcebergError &&
    !(e instanceof CommitConflictError) &&
    !(e instanceof NotFoundError)
  ) {
    const status = e.context.status;
    return typeof status === 'number' && isUnknownOutcome(status);
  }
  return false;
}
