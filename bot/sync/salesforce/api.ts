// Salesforce's REST API through jsforce: jsforce signs in (OAuth 2.0 client credentials or JWT bearer),
// keeps the instance URL and the token, signs in again when a token expires (401 INVALID_SESSION_ID),
// parses error bodies ([{"message","errorCode"}]) and reads the `Sforce-Limit-Info: api-usage=N/M` header
// of every answer into `conn.limitInfo`, which feeds the rate budget. Every call goes through the budget.
//
// Why conn.request and not conn.query: jsforce retries 429 by itself with its own back-off, which
// ignores Retry-After and the configured quota share; here 429 is taken off jsforce's retry list so the
// rate budget owns the back-off (Retry-After plus jitter). 5xx and socket errors keep jsforce's retries.
import { createSign } from 'node:crypto';
// Type only: jsforce itself is loaded at the first sign-in (connection()), so the processes that never
// reach Salesforce (the bot, every worker without a Salesforce source, the CLI) do not load it at start.
import type { Connection } from '@jsforce/jsforce-node';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { Clock } from '../../core/ports.ts';
import { SourceRateLimited, type RateBudget } from '../rate-budget.ts';
import type { SalesforceSettings } from './settings.ts';

const REQUEST_OPTIONS = { retry: { statusCodes: [500, 502, 503, 504], maxRetries: 3 } };
const JWT_LIFETIME_S = 180;

interface TokenResponse { access_token: string; instance_url: string; id: string }
interface RawResponse { statusCode: number; headers: Record<string, string | undefined> }
type Transport = Connection['_transport'];

/** An answer Salesforce refused: its errorCode (INVALID_REPLICATION_DATE, MALFORMED_QUERY, …), never its body. */
export class SalesforceRefused extends CustosError {
  constructor(source: string, readonly errorCode: string, status: number | undefined) {
    super(ErrorCode.SyncSourceFailed, `Salesforce refused a request of sync source ${source}: ${status ?? ''} ${errorCode}`.replace(/ {2}/, ' '), { source, errorCode });
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class SalesforceApi {
  private conn: Connection | null = null;
  private last: RawResponse | null = null;

  constructor(private readonly source: string, private readonly settings: SalesforceSettings, private readonly budget: RateBudget, private readonly clock: Clock) {}

  /** GET a REST path (relative to /services/data/vXX.X, or absolute like a nextRecordsUrl), within the budget. */
  async get<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
    return (await this.send<T>('GET', url, undefined, headers)).body;
  }

  /** POST a JSON body (a Bulk API 2.0 query job), within the budget. */
  async post<T>(url: string, body: unknown): Promise<T> {
    return (await this.send<T>('POST', url, JSON.stringify(body), { 'Content-Type': 'application/json; charset=UTF-8' })).body;
  }

  /**
   * One request within the budget; the answer's body (JSON parsed; CSV parsed by jsforce into one object
   * per row, keyed by the header row) and its headers (Bulk API 2.0's Sforce-Locator is only there).
   */
  send<T>(method: 'GET' | 'POST', url: string, body: string | undefined, headers: Record<string, string> = {}): Promise<{ body: T; headers: Record<string, string | undefined> }> {
    return this.budget.call(async () => {
      const conn = await this.connection();
      this.last = null;
      try {
        const answer = await conn.request<T>({ method, url, headers, ...(body !== undefined ? { body } : {}) }, { ...REQUEST_OPTIONS, transport: this.recording(conn._transport) });
        const seen = this.last as RawResponse | null; // set by the recording transport meanwhile
        return { body: answer, headers: seen?.headers ?? {} };
      } catch (err) {
        throw this.refusal(err);
      } finally {
        const usage = conn.limitInfo?.apiUsage;
        if (usage) this.budget.observe({ used: usage.used, limit: usage.limit });
      }
    });
  }

  /** The transport jsforce would use, noting each answer's status and headers (Retry-After is not kept by jsforce). */
  private recording(inner: Transport): Transport {
    const wrapped = Object.create(inner) as Transport;
    wrapped.httpRequest = (req, opts) => {
      const p = inner.httpRequest(req, opts);
      p.then((res) => { this.last = { statusCode: res.statusCode, headers: res.headers }; }, () => undefined);
      return p;
    };
    return wrapped;
  }

  private refusal(err: unknown): Error {
    const status = this.last?.statusCode;
    if (status === 429) {
      const after = Number(this.last?.headers['retry-after']);
      return new SourceRateLimited(Number.isFinite(after) && after >= 0 ? after * 1000 : undefined, 'Salesforce answered 429');
    }
    const code = (err as { errorCode?: unknown }).errorCode;
    if (code === 'REQUEST_LIMIT_EXCEEDED') {
      return new CustosError(ErrorCode.SyncBudgetExhausted,
        `sync of ${this.source} paused: Salesforce answered REQUEST_LIMIT_EXCEEDED (the org's API request limit is used up); it resumes from its cursor on a later run`, { source: this.source });
    }
    if (typeof code === 'string' && /^[A-Z_0-9]{3,60}$/.test(code)) return new SalesforceRefused(this.source, code, status);
    return new CustosError(ErrorCode.SyncSourceFailed, `Salesforce is unreachable or answered ${status ?? 'nothing'} for sync source ${this.source}`, { source: this.source }, { cause: err });
  }

  private async connection(): Promise<Connection> {
    if (this.conn) return this.conn;
    const { loginUrl, apiVersion, auth } = this.settings;
    const { Connection: JsforceConnection } = await import('@jsforce/jsforce-node');
    const conn: Connection = new JsforceConnection({
      oauth2: { loginUrl, clientId: auth.clientId, ...(auth.flow === 'client-credentials' ? { clientSecret: auth.clientSecret } : {}) },
      version: apiVersion,
      // A token that expired (401 INVALID_SESSION_ID): sign in again the same way; jsforce then repeats the request.
      refreshFn: (c, callback) => { this.token(c).then((t) => callback(null, t.access_token, t as never), (e: Error) => callback(e)); },
    });
    const t = await this.token(conn);
    conn._establish({ instanceUrl: t.instance_url, accessToken: t.access_token });
    this.conn = conn;
    return conn;
  }

  private async token(conn: Connection): Promise<TokenResponse> {
    const { auth, loginUrl } = this.settings;
    const params: { grant_type: string; [name: string]: string } = auth.flow === 'client-credentials'
      ? { grant_type: 'client_credentials' }
      : { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: this.assertion(auth.clientId, auth.username, auth.privateKey, loginUrl) };
    try {
      return await conn.oauth2.requestToken(params) as unknown as TokenResponse;
    } catch (err) {
      const code = (err as { name?: unknown }).name;
      throw new CustosError(ErrorCode.SyncSourceFailed,
        `Salesforce refused custos's sign-in for sync source ${this.source} (${typeof code === 'string' && /^[a-z_]{3,40}$/.test(code) ? code : 'no answer'}); check the connected app and ${this.settings.auth.flow === 'jwt' ? 'its certificate' : 'its client credentials'} (README "Salesforce")`,
        { source: this.source });
    }
  }

  /** The JWT bearer assertion: RS256 over {iss: consumer key, sub: username, aud: login URL, exp}, signed with node:crypto. */
  private assertion(clientId: string, username: string, privateKey: string, loginUrl: string): string {
    const head = b64url(JSON.stringify({ alg: 'RS256' }));
    const claims = b64url(JSON.stringify({ iss: clientId, sub: username, aud: loginUrl, exp: Math.floor(this.clock.now().getTime() / 1000) + JWT_LIFETIME_S }));
    const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(privateKey);
    return `${head}.${claims}.${b64url(signature)}`;
  }
}
