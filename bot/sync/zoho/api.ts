// Zoho CRM's REST API (v8) for one source: the OAuth 2.0 refresh-token flow against the data centre's
// accounts server (POST {accounts}/oauth/v2/token, grant_type=refresh_token; the answer names the
// api_domain every call then goes to), `Authorization: Zoho-oauthtoken <token>` on every call, a token
// fetched again before it expires (expires_in, 3600 s) and once more when an answer says 401 INVALID_TOKEN.
// Every call goes through the rate budget: a 429 (Zoho's TOO_MANY_REQUESTS, for its concurrency limit and
// for used-up API credits alike) becomes SourceRateLimited, so the budget backs off with jitter and stops
// the run (custos_sync_budget_exhausted, cursor kept) when it persists. Error bodies are
// {code, message, details, status:"error"}; only the code is kept, never the body (it can echo data).
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { Clock } from '../../core/ports.ts';
import { SourceRateLimited, type RateBudget } from '../rate-budget.ts';
import { secureOrLoopback } from '../../config-env.ts';
import type { ZohoSettings } from './settings.ts';

export const ZOHO_API_VERSION = 'v8';
/** A token is fetched again this long before Zoho says it expires (clock skew, long pages). */
const TOKEN_MARGIN_MS = 5 * 60_000;

/** An answer Zoho refused, by its code (EXPIRED_VALUE, INVALID_DATA, NO_PERMISSION, …). */
export class ZohoRefused extends CustosError {
  constructor(source: string, readonly zohoCode: string, readonly status: number) {
    super(ErrorCode.SyncSourceFailed, `Zoho CRM refused a request of sync source ${source}: ${status} ${zohoCode}`, { source, zohoCode });
  }
}

export interface ZohoAnswer<T> { status: number; body: T | null }

type FetchLike = typeof fetch;

const codeOf = (body: unknown): string => {
  const c = (body as { code?: unknown } | null)?.code;
  return typeof c === 'string' && /^[A-Z_]{3,60}$/.test(c) ? c : 'UNKNOWN';
};

export class ZohoApi {
  private token: { value: string; apiDomain: string; expiresAt: number } | null = null;

  constructor(
    private readonly source: string, private readonly settings: ZohoSettings, private readonly budget: RateBudget,
    private readonly clock: Clock, private readonly fetchImpl: FetchLike = fetch,
  ) {}

  /** A call to `/crm/v8/<path>` within the budget; 204 answers `body: null`. */
  call<T>(method: 'GET' | 'POST' | 'PATCH', path: string, opts: { query?: Record<string, string>; headers?: Record<string, string>; json?: unknown } = {}): Promise<ZohoAnswer<T>> {
    return this.budget.call(async () => {
      let res = await this.send(method, path, opts);
      if (res.status === 401 && codeOf(res.body) === 'INVALID_TOKEN') {
        this.token = null; // revoked or expired early: fetch another once, then repeat the call
        res = await this.send(method, path, opts);
      }
      if (res.status === 429) {
        const after = Number(res.retryAfter);
        throw new SourceRateLimited(Number.isFinite(after) && after > 0 ? after * 1000 : undefined, `Zoho CRM answered 429 ${codeOf(res.body)}`);
      }
      if (res.status >= 400) throw new ZohoRefused(this.source, codeOf(res.body), res.status);
      return { status: res.status, body: res.body as T | null };
    });
  }

  private async send(method: string, path: string, opts: { query?: Record<string, string>; headers?: Record<string, string>; json?: unknown }) {
    const t = await this.accessToken();
    const url = new URL(`${t.apiDomain}/crm/${ZOHO_API_VERSION}/${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method, headers: { authorization: `Zoho-oauthtoken ${t.value}`, ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
      });
    } catch (err) {
      throw new CustosError(ErrorCode.SyncSourceFailed, `Zoho CRM is unreachable for sync source ${this.source}`, { source: this.source }, { cause: err });
    }
    const text = await res.text();
    let body: unknown = null;
    if (text) { try { body = JSON.parse(text); } catch { body = null; } }
    return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
  }

  private async accessToken(): Promise<{ value: string; apiDomain: string }> {
    if (this.token && this.clock.now().getTime() < this.token.expiresAt) return this.token;
    const { accountsUrl, clientId, clientSecret, refreshToken } = this.settings;
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken });
    type TokenAnswer = { access_token?: unknown; api_domain?: unknown; expires_in?: unknown; error?: unknown };
    let answer: TokenAnswer | null;
    try {
      const res = await this.fetchImpl(`${accountsUrl}/oauth/v2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
      answer = await res.json() as TokenAnswer;
    } catch { answer = null; }
    const { access_token: value, api_domain: apiDomain, expires_in: expiresIn, error }: TokenAnswer = answer ?? {};
    if (typeof value !== 'string' || typeof apiDomain !== 'string' || !secureOrLoopback(apiDomain)) {
      const why = typeof error === 'string' && /^[a-z_]{3,40}$/.test(error) ? error : 'no usable answer';
      throw new CustosError(ErrorCode.SyncSourceFailed,
        `Zoho refused custos's sign-in for sync source ${this.source} (${why}); check the client id and secret, the refresh token and that ${accountsUrl} is your data centre (README "Zoho CRM")`,
        { source: this.source });
    }
    const lifetimeMs = (typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 3600) * 1000;
    this.token = { value, apiDomain: apiDomain.replace(/\/+$/, ''), expiresAt: this.clock.now().getTime() + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2) };
    return this.token;
  }
}
