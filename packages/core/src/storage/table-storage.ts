/**
 * A table's storage settings: the `storage:` config key with the catalog's per-table
 * FileIO properties laid over it. An Iceberg REST catalog may answer a load-table request
 * with `config` and `storage-credentials` (vended credentials, requested with
 * `catalog.accessDelegation: vended-credentials`) that apply to that table only; the REST
 * client merges them (catalog defaults < table config < the longest matching
 * storage-credential prefix, @kice/iceberg's RestCatalog). The committer's FileIO for the
 * table and the pool workers' data-file writes (FlushTask.storage) both use the result.
 *
 * Properties read (Iceberg's S3FileIO names, see the REST spec's LoadTableResult and
 * https://iceberg.apache.org/docs/latest/aws/#s3-fileio): `s3.endpoint`,
 * `s3.access-key-id`, `s3.secret-access-key`, `s3.session-token`, `s3.region` (else
 * `client.region`), `s3.path-style-access`. Access key, secret and token replace the
 * static ones together (a vended key never pairs with the static secret). The values are
 * secrets: they are never logged.
 */
import type { StorageConfig } from '../config/schema.ts';

export function tableStorage(
  base: StorageConfig,
  properties: Readonly<Record<string, string>> | undefined,
): StorageConfig {
  if (!properties) return base;
  const p = (k: string): string | undefined => {
    const v = properties[k];
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  const endpoint = p('s3.endpoint');
  const region = p('s3.region') ?? p('client.region');
  const pathStyle = p('s3.path-style-access');
  const accessKeyId = p('s3.access-key-id');
  const secretAccessKey = p('s3.secret-access-key');
  const sessionToken = p('s3.session-token');
  if (
    endpoint === undefined &&
    region === undefined &&
    pathStyle === undefined &&
    accessKeyId === undefined
  )
    return base;
  const s3 = { ...base.s3 };
  if (endpoint !== undefined) s3.endpoint = endpoint;
  if (region !== undefined) s3.region = region;
  if (pathStyle !== undefined) s3.forcePathStyle = pathStyle.toLowerCase() === 'true';
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    s3.accessKeyId = accessKeyId;
    s3.secretAccessKey = secretAccessKey;
    if (sessionToken !== undefined) s3.sessionToken = sessionToken;
    else delete s3.sessionToken;
  }
  return { ...base, s3 };
}
