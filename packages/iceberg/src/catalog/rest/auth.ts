/**
 * REST catalog authentication: a static bearer `token`, or OAuth2 client credentials
 * (`credential: "client_id:client_secret"`, or just a secret) exchanged at the token
 * endpoint (`oauth2-server-uri`, default `<uri>/v1/oauth/tokens`; the spec's
 * /v1/oauth/tokens operation and OAuthTokenResponse in
 * https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml,
 * RFC 6749 §4.4). The token is refreshed before it expires (when the server says
 * `expires_in`) and once more after a 401. Secrets are kept in this object only: no
 * message or log line here or in the caller contains them.
 */
import { IcebergError } from '../../errors.ts';

export interface AuthOptions {
  readonly token?: string;
  readonly credential?: string;
  readonly scope?: string;
  readonly oauth2ServerUri?: string;
}

/** Seconds before the reported expiry at which a token is refreshed. */
const REFRESH_MARGIN_MS = 60_000;

export class AuthSession {
  private token: string | undefined;
  private expiresAt = Number.POSITIVE_INFINITY;
  private readonly credential: string | undefined;

  constructor(
    private readonly options: AuthOptions,
    private readonly tokenUri: string,
    private readonly fetchImpl: typeof fetch,
  ) {
    this.token = options.token;
    this.credential = options.credential;
  }

  /** Whether a 401 can be answered by fetching a new token. */
  get canRefresh(): boolean {
    return this.credential !== undefined;
  }

  /** The Authorization header value, fetching or refreshing the token when due. */
  async header(): Promise<string | undefined> {
    if (this.credential !== undefined && (this.token === undefined || Date.now() >= this.expiresAt))
      await this.refresh();
    return this.token === undefined ? undefined : `Bearer ${this.token}`;
  }

  /** Drops the current token (after a 401) so that the next header() fetches a new one. */
  invalidate(): void {
    if (this.credential !== undefined) this.token = undefined;
  }

  private async refresh(): Promise<void> {
    const cred = this.credential as string;
    const i = cred.indexOf(':');
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (i >= 0) form.set('client_id', cred.slice(0, i));
    form.set('client_secret', i >= 0 ? cred.slice(i + 1) : cred);
    form.set('scope', this.options.scope ?? 'catalog');
    let res: Response;
    try {
      res = await this.fetchImpl(this.tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } catch (cause) {
      throw new IcebergError('IO', `REST catalog: token endpoint ${this.tokenUri} unreachable`, {
        retryable: true,
        cause: new Error((cause as Error).message),
        context: { route: 'POST oauth/tokens' },
      });
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (!res.ok || typeof body.access_token !== 'string') {
      // The OAuthError body (error, error_description) names no secret; the form is not shown.
      const err = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
      const desc = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
      throw new IcebergError(
        'IO',
        `REST catalog: token request to ${this.tokenUri} failed (${res.status} ${err}${desc})`,
        {
          retryable: res.status >= 500,
          context: { status: res.status, route: 'POST oauth/tokens' },
        },
      );
    }
    this.token = body.access_token;
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
    this.expiresAt =
      expiresIn === undefined
        ? Number.POSITIVE_INFINITY
        : Date.now() + Math.max(expiresIn * 1000 - REFRESH_MARGIN_MS, (expiresIn * 1000) / 2);
  }
}
