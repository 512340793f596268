/**
 * REST catalog options and the server's configuration: `GET /v1/config?warehouse=`
 * answers {defaults, overrides}; the effective properties are defaults, then the
 * client's, then overrides (the spec's CatalogConfig in
 * https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml,
 * /v1/config). `prefix` from the result is put in every later path.
 */
import type { FileIO } from '../../io/file-io.ts';
import type { AuthOptions } from './auth.ts';
import type { RetryOptions } from './http.ts';

export interface RestCatalogOptions extends AuthOptions {
  readonly name?: string;
  /** Base URI of the catalog, e.g. `http://127.0.0.1:19181` (paths start with /v1). */
  readonly uri: string;
  readonly warehouse?: string;
  /** Overrides the server's `prefix`. */
  readonly prefix?: string;
  /** Sent with every request (never logged). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `vended-credentials` (or `remote-signing`): the X-Iceberg-Access-Delegation header. */
  readonly accessDelegation?: string;
  /** Extra catalog properties sent nowhere but merged with the server's config. */
  readonly properties?: Readonly<Record<string, string>>;
  /** The FileIO for tables without their own (and for the catalog itself). */
  readonly io: FileIO;
  /**
   * Builds a table's FileIO from the catalog properties merged with the table's
   * load-table `config` and the `storage-credentials` whose prefix matches the table
   * location. Default: every table uses `io`.
   */
  readonly ioFactory?: (properties: Readonly<Record<string, string>>) => FileIO;
  /** Page size asked for when listing namespaces and tables (default: the server's). */
  readonly pageSize?: number;
  /** For tests: a fetch implementation (default globalThis.fetch). */
  readonly fetch?: typeof fetch;
  readonly retry?: RetryOptions;
}

export interface ServerConfig {
  readonly defaults: Record<string, string>;
  readonly overrides: Record<string, string>;
}

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  }
  return out;
}

export function mergeConfig(
  server: ServerConfig,
  client: Readonly<Record<string, string>>,
): Record<string, string> {
  return { ...server.defaults, ...client, ...server.overrides };
}
