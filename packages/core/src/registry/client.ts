/**
 * A Confluent Schema Registry client for decoding: `GET /schemas/ids/{id}` with a cache by
 * id, and `GET /subjects/{subject}/versions/{version}` for the schemas a schema references
 * (Protobuf imports, JSON Schema `$ref`s to other subjects), cached by subject and
 * version. One client per registry config per process (`registryClient`), and one lookup
 * per id (or subject version) per client: concurrent callers of the same id share one request, and a
 * found schema is kept for the life of the process (ids are immutable in the registry).
 *
 * API: https://docs.confluent.io/platform/current/schema-registry/develop/api.html#get--schemas-ids-int-%20id
 * Answer: {"schema": "<text>", "schemaType": "AVRO" | "PROTOBUF" | "JSON" (absent = AVRO),
 * "references": [{name, subject, version}]}. Unknown id: HTTP 404 (error_code 40403).
 *
 * Errors:
 * - 404 → `UnknownSchemaError` (DECODE_FAILED, not retryable; `UnknownReferenceError`
 *   for a subject version): the record is dead-lettered with that reason. The answer is kept for `unknownIdRetryMs` (config.ts; default 30 s):
 *   lookups of that id within it share the same error without a request, so a stream of
 *   records naming an unknown id costs one request per id per `unknownIdRetryMs` per
 *   process. After it, the id is asked again (it may have been registered since: an id
 *   can be unknown to a registry replica that has not caught up yet).
 * - connection errors, timeouts, 408, 429, 5xx → retried with exponential backoff
 *   (capped, with jitter) until `maxAttempts` (default: forever, so a partition waits
 *   for a registry that is down instead of dead-lettering good records); each retry is
 *   reported through `onRetry`.
 * - 401/403 and other 4xx → CONFIG_INVALID (wrong credentials or URL), not retried.
 * Messages name the URL path and status, never credentials or header values.
 * `checkReachable()` is the start-up check: a few attempts of `GET /subjects`, then a
 * clear CONFIG_INVALID error naming `schemaRegistry.url`.
 */
import { KiceError } from '../errors.ts';
import type { SchemaRegistryConfig } from './config.ts';

export interface RegistrySchema {
  readonly id: number;
  readonly schemaType: 'AVRO' | 'PROTOBUF' | 'JSON';
  readonly schema: string;
  readonly references: readonly { name: string; subject: string; version: number }[];
}

export class UnknownSchemaError extends KiceError {
  /** `what`: what was looked up, when not the id (a schema reference's subject version). */
  constructor(id: number, detail: string, what = `schema id ${id}`) {
    super('DECODE_FAILED', `unknown ${what}: the registry answered 404 (${detail})`, {
      context: { schemaId: id },
    });
  }
}

/** A schema reference (subject, version) the registry does not know: its records' reason. */
export class UnknownReferenceError extends UnknownSchemaError {
  constructor(subject: string, version: number, detail: string) {
    super(-1, detail, `schema reference ${subject} version ${version}`);
  }
}

export interface ClientOptions {
  /** Attempts per lookup before giving up (default Infinity: wait for the registry). */
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly onRetry?: (info: {
    id?: number;
    attempt: number;
    delayMs: number;
    reason: string;
  }) => void;
  readonly fetch?: typeof fetch;
  /** The clock of the unknown-id cache (tests). */
  readonly now?: () => number;
}

class Transient extends Error {}

export class SchemaRegistryClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly byId = new Map<number, Promise<RegistrySchema>>();
  /** Ids the registry answered 404 for: when (Date.now()) to ask again. */
  private readonly unknownUntil = new Map<number, number>();
  private readonly byVersion = new Map<string, Promise<RegistrySchema>>();
  /** HTTP requests sent (for tests and metrics). */
  requests = 0;

  constructor(
    private readonly config: SchemaRegistryConfig,
    private readonly options: ClientOptions = {},
  ) {
    this.base = config.url.replace(/\/+$/, '');
    const h: Record<string, string> = {
      Accept: 'application/vnd.schemaregistry.v1+json, application/json',
    };
    for (const [k, v] of Object.entries(config.headers)) h[k] = v;
    if (config.basicAuth) {
      const { username, password } = config.basicAuth;
      h.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    } else if (config.bearerToken) {
      h.Authorization = `Bearer ${config.bearerToken}`;
    }
    this.headers = h;
  }

  /** The schema of a registry id, from the cache or one shared lookup. */
  getSchema(id: number): Promise<RegistrySchema> {
    const cached = this.byId.get(id);
    if (cached) {
      const until = this.unknownUntil.get(id);
      if (until === undefined || this.now() < until) return cached;
      this.unknownUntil.delete(id);
    }
    const p = this.lookup(id);
    this.byId.set(id, p);
    p.catch((e) => {
      if (this.byId.get(id) !== p) return;
      const ttl = this.config.unknownIdRetryMs;
      if (e instanceof UnknownSchemaError && ttl > 0) this.unknownUntil.set(id, this.now() + ttl);
      else this.byId.delete(id);
    });
    return p;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * The schema registered as `version` of `subject` (a reference of another schema:
   * `GET /subjects/{subject}/versions/{version}`), cached like ids (a version's schema
   * never changes). 404 → UnknownReferenceError.
   */
  getVersion(subject: string, version: number): Promise<RegistrySchema> {
    const key = `${subject}\u0000${version}`;
    const cached = this.byVersion.get(key);
    if (cached) return cached;
    const p = this.lookupVersion(subject, version);
    this.byVersion.set(key, p);
    p.catch(() => {
      if (this.byVersion.get(key) === p) this.byVersion.delete(key);
    });
    return p;
  }

  private async lookupVersion(subject: string, version: number): Promise<RegistrySchema> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions/${version}`;
    const body = (await this.withRetry(
      path,
      undefined,
      this.options.maxAttempts ?? Infinity,
      (d) => {
        throw new UnknownReferenceError(subject, version, d);
      },
    )) as { id?: unknown; schema?: unknown; schemaType?: unknown; references?: unknown };
    return this.toSchema(
      typeof body.id === 'number' ? body.id : -1,
      body,
      `${subject} version ${version}`,
    );
  }

  /** A schema already resolved (no request), or undefined. */
  async peek(id: number): Promise<RegistrySchema | undefined> {
    const p = this.byId.get(id);
    return p ? p.catch(() => undefined) : undefined;
  }

  /** Start-up check: the registry answers `GET /subjects`; CONFIG_INVALID otherwise. */
  async checkReachable(attempts = 3): Promise<void> {
    try {
      await this.withRetry('/subjects', undefined, attempts);
    } catch (e) {
      if (e instanceof KiceError) throw e;
      throw new KiceError(
        'CONFIG_INVALID',
        `schemaRegistry.url: the registry at ${this.base} did not answer GET /subjects: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  private async lookup(id: number): Promise<RegistrySchema> {
    const body = (await this.withRetry(
      `/schemas/ids/${id}`,
      id,
      this.options.maxAttempts ?? Infinity,
    )) as {
      schema?: unknown;
      schemaType?: unknown;
      references?: unknown;
    };
    return this.toSchema(id, body, `schema id ${id}`);
  }

  private toSchema(
    id: number,
    body: { schema?: unknown; schemaType?: unknown; references?: unknown },
    what: string,
  ): RegistrySchema {
    if (typeof body.schema !== 'string') {
      throw new KiceError('DECODE_FAILED', `${what}: the registry's answer has no schema text`, {
        context: { schemaId: id },
      });
    }
    const t = body.schemaType ?? 'AVRO';
    if (t !== 'AVRO' && t !== 'PROTOBUF' && t !== 'JSON') {
      throw new KiceError('DECODE_FAILED', `${what}: unsupported schemaType ${String(t)}`, {
        context: { schemaId: id },
      });
    }
    const refs = Array.isArray(body.references)
      ? (body.references as RegistrySchema['references'])
      : [];
    return { id, schemaType: t, schema: body.schema, references: refs };
  }

  private async withRetry(
    path: string,
    id: number | undefined,
    maxAttempts: number,
    notFound?: (detail: string) => never,
  ): Promise<unknown> {
    const base = this.options.backoffBaseMs ?? 200;
    const max = this.options.backoffMaxMs ?? 5_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(path, id, notFound);
      } catch (e) {
        if (!(e instanceof Transient) || attempt >= maxAttempts) {
          if (e instanceof Transient) throw new Error(e.message);
          throw e;
        }
        const delayMs = Math.round(
          Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2),
        );
        this.options.onRetry?.({
          ...(id === undefined ? {} : { id }),
          attempt,
          delayMs,
          reason: e.message,
        });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private async once(
    path: string,
    id: number | undefined,
    notFound?: (detail: string) => never,
  ): Promise<unknown> {
    const f = this.options.fetch ?? fetch;
    this.requests++;
    let res: Response;
    try {
      res = await f(`${this.base}${path}`, {
        headers: this.headers,
        signal: AbortSignal.timeout(this.config.requestTimeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new Transient(`GET ${path}: ${cause}`);
    }
    const text = await res.text().catch(() => '');
    if (res.ok) {
      try {
        return JSON.parse(text);
      } catch {
        throw new Transient(`GET ${path}: HTTP ${res.status} with a body that is not JSON`);
      }
    }
    if (res.status === 404 && id !== undefined) throw new UnknownSchemaError(id, detail(text));
    if (res.status === 404 && notFound) notFound(detail(text));
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      throw new Transient(`GET ${path}: HTTP ${res.status}`);
    }
    throw new KiceError(
      'CONFIG_INVALID',
      `schemaRegistry: GET ${path} answered HTTP ${res.status}${res.status === 401 || res.status === 403 ? ' (check basicAuth / bearerToken)' : ''}: ${detail(text)}`,
      { context: { status: res.status } },
    );
  }
}

function detail(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown; error_code?: unknown };
    if (typeof j.message === 'string')
      return `${j.message}${j.error_code ? ` error_code ${j.error_code}` : ''}`;
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}

const clients = new Map<string, SchemaRegistryClient>();

/** The process's client for a registry config (one cache per process and registry). */
export function registryClient(
  config: SchemaRegistryConfig,
  options?: ClientOptions,
): SchemaRegistryClient {
  const key = JSON.stringify(config);
  let c = clients.get(key);
  if (!c) {
    c = new SchemaRegistryClient(config, options);
    clients.set(key, c);
  }
  return c;
}
