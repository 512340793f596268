/**
 * The REST catalog's HTTP client: JSON in and out (bigint-safe, ../../spec/json.ts),
 * the auth header (./auth.ts), extra configured headers, and error responses mapped
 * by ./errors.ts. Requests that change nothing (GET, HEAD) and failures to connect
 * before a request was sent are retried with backoff while the server is unreachable
 * or answers 502/503/504/429 (a restarting server, see `retry`); a POST/DELETE that
 * reached the server is never resent here: the caller decides (a commit checks
 * whether it landed, ./catalog.ts).
 */
import { IcebergError } from '../../errors.ts';
import { parseJson, stringifyJson } from '../../spec/json.ts';
import type { AuthSession } from './auth.ts';
import { isTransient, parseErrorBody, restError } from './errors.ts';

export interface RetryOptions {
  /** First backoff; doubles per attempt up to `maxWaitMs` (jittered to half..full). */
  readonly minWaitMs: number;
  readonly maxWaitMs: number;
  /** A retryable request is given up after this long (default 120 s: a server restart). */
  readonly timeoutMs: number;
}

export const DEFAULT_HTTP_RETRY: RetryOptions = {
  minWaitMs: 200,
  maxWaitMs: 5_000,
  timeoutMs: 120_000,
};

export interface RequestOptions {
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  /** Statuses answered with `null` instead of an error (e.g. 404 for an exists check). */
  readonly allow?: readonly number[];
}

export interface RestResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A request that failed without an HTTP answer; `sent` false = it never reached the server. */
export class RestTransportError extends IcebergError {
  constructor(
    route: string,
    readonly sent: boolean,
    cause: unknown,
  ) {
    super('IO', `REST catalog: ${route}: ${(cause as Error)?.message ?? String(cause)}`, {
      retryable: true,
      context: { route },
      cause,
    });
    this.name = 'RestTransportError';
  }
}

/** Errors that mean the TCP connection was never established, so nothing was sent. */
function notSent(e: unknown): boolean {
  const code = (e as { cause?: { code?: string } })?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

export class RestHttp {
  constructor(
    private readonly baseUri: string,
    private readonly auth: AuthSession,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly fetchImpl: typeof fetch,
    private readonly retry: RetryOptions = DEFAULT_HTTP_RETRY,
  ) {}

  url(path: string, query?: Record<string, string | undefined>): string {
    const u = new URL(path, `${this.baseUri.replace(/\/+$/, '')}/`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  async request(
    method: 'GET' | 'HEAD' | 'POST' | 'DELETE',
    path: string,
    route: string,
    options: RequestOptions = {},
  ): Promise<RestResponse> {
    const idempotent = method === 'GET' || method === 'HEAD';
    const giveUpAt = Date.now() + this.retry.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const wait = Math.min(this.retry.maxWaitMs, this.retry.minWaitMs * 2 ** (attempt - 1));
      const again = Date.now() + wait / 2 < giveUpAt;
      let res: Response;
      let retried401 = false;
      try {
        for (;;) {
          res = await this.send(method, path, options);
          if (res.status === 401 && this.auth.canRefresh && !retried401) {
            retried401 = true;
            this.auth.invalidate();
            continue;
          }
          break;
        }
      } catch (e) {
        if (e instanceof IcebergError && !(e instanceof RestTransportError)) {
          if (e.retryable && again) {
            await sleep(wait);
            continue;
          }
          throw e;
        }
        const sent = !notSent(e);
        if ((idempotent || !sent) && again) {
          await sleep(wait);
          continue;
        }
        throw new RestTransportError(route, sent, (e as RestTransportError).cause ?? e);
      }
      const text = method === 'HEAD' ? '' : await res.text();
      let body: unknown = null;
      if (text.length > 0) {
        try {
          body = parseJson(text);
        } catch {
          body = null;
        }
      }
      if (res.ok || options.allow?.includes(res.status)) return { status: res.status, body };
      if (idempotent && isTransient(res.status) && again) {
        await sleep(wait);
        continue;
      }
      throw restError(route, parseErrorBody(res.status, body, res.statusText));
    }
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.headers };
    const authz = await this.auth.header();
    if (authz) headers.authorization = authz;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = stringifyJson(options.body);
    }
    return this.fetchImpl(this.url(path, options.query), {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms / 2 + Math.random() * (ms / 2)));
}
