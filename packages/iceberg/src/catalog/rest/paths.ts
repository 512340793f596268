/**
 * URL paths of the REST catalog (paths section of
 * https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml):
 * `/v1/{prefix}/namespaces/{namespace}/tables/{table}`. A multi-part namespace is one
 * path segment: its parts joined by the unit separator U+001F, then percent-encoded
 * (the spec's `namespace` parameter), e.g. ["a", "b"] → `a%1Fb`.
 */
import type { TableIdentifier } from '../catalog.ts';

export function namespaceSegment(ns: readonly string[], separator = '\u001f'): string {
  return encodeURIComponent(ns.join(separator));
}

export class RestPaths {
  constructor(private readonly prefix: string | undefined) {}

  private base(): string {
    return this.prefix ? `v1/${encodeURIComponent(this.prefix)}` : 'v1';
  }
  namespaces(): string {
    return `${this.base()}/namespaces`;
  }
  namespace(ns: readonly string[]): string {
    return `${this.namespaces()}/${namespaceSegment(ns)}`;
  }
  tables(ns: readonly string[]): string {
    return `${this.namespace(ns)}/tables`;
  }
  table(id: TableIdentifier): string {
    return `${this.tables(id.namespace)}/${encodeURIComponent(id.name)}`;
  }
  register(ns: readonly string[]): string {
    return `${this.namespace(ns)}/register`;
  }
}
