// The HTTP side of the 纷享销客 connector, on the OpenAPI v2 (developer.fxiaoke.com/openapi_v2, the body
// convention: corpAccessToken, corpId and currentOpenUserId travel in the JSON body). Every call is a POST
// with a JSON body and a fresh `thirdTraceId` in the query string, and every answer is HTTP 200 with
// `errorCode` (0 = success) and `errorMessage` in the body — the status line carries no meaning.
//   /cgi/corpAccessToken/get/V2  {appId, appSecret, permanentCode} → {errorCode: 0, corpAccessToken, corpId,
//                                expiresIn: 7200}; the same token comes back for its first 6600 s; at most
//                                10 calls a minute and never two at once (one sign-in is shared)
//   /cgi/crm/v2/data/query       {corpAccessToken, corpId, currentOpenUserId, data: {dataObjectApiName,
//                                search_query_info: {limit, offset, filters, orders, fieldProjection}}} →
//                                {errorCode: 0, data: {dataList, total}}
//   /cgi/crm/v2/object/describe  {corpAccessToken, corpId, currentOpenUserId, includeDetail: false, data: {apiName}}
//                                → {errorCode: 0, data: {describe: {api_name, fields: {<api_name>: {api_name,
//                                label, type, define_type, is_required, …}}}}} (查询对象描述; for `sync check`)
// The token is renewed once 6600 s of it have passed and when a call answers 20016 (corpAccessToken missing
// or expired): the call is repeated once with a new token, so no cursor is lost. 30004/14001 (call rate
// exceeded) are waited out (the documented window is 20 s); 30002 (the day's quota used up) pauses the run
// until a later one. Errors name the path and errorCode — never errorMessage, which may echo values.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { Clock } from '../../core/ports.ts';
import { SourceRateLimited, type RateBudget } from '../rate-budget.ts';
import type { ShareCrmSettings } from './settings.ts';

export const TOKEN_PATH = '/cgi/corpAccessToken/get/V2';
export const QUERY_PATH = '/cgi/crm/v2/data/query';
export const DESCRIBE_PATH = '/cgi/crm/v2/object/describe';
/** errorCode: corpAccessToken 不存在或者已经过期 / 参数corpAccessToken不合法. */
export const TOKEN_EXPIRED = 20016;
export const TOKEN_INVALID = 11014;
/** errorCode: 秒频次超限 / 接口调用超过限制 (100 calls per 20 s per interface) / 当天访问频次超限. */
export const RATE_EXCEEDED = 30004;
export const CALLS_EXCEEDED = 14001;
export const DAILY_QUOTA_USED = 30002;
/** errorCode: 系统繁忙 / 服务异常（如超时）: worth a retry with back-off. */
const BUSY = new Set([-1, 50009]);
const RATE_WINDOW_MS = 20_000;
/** The documents ask to renew a token once 6600 s of its 7200 s have passed. */
const RENEW_BEFORE_MS = 600_000;

export interface Filter { field_name: string; field_values: (string | number)[]; operator: 'EQ' | 'GT' | 'GTE' | 'LT' | 'LTE' | 'IN' | 'NIN' }
export interface Order { fieldName: string; isAsc: boolean }
export interface SearchQuery { limit: number; offset: number; filters: Filter[]; orders: Order[]; fieldProjection: string[] }

const envelope = z.looseObject({ errorCode: z.number() });
const tokenAnswer = z.looseObject({ errorCode: z.literal(0), corpAccessToken: z.string().min(1), corpId: z.string().min(1), expiresIn: z.number().positive() });
const queryAnswer = z.looseObject({ errorCode: z.literal(0), data: z.looseObject({ dataList: z.array(z.record(z.string(), z.unknown())) }) });
const describeField = z.looseObject({ api_name: z.string().min(1), type: z.string().optional(), define_type: z.string().optional() });
const describeAnswer = z.looseObject({ errorCode: z.literal(0), data: z.looseObject({ describe: z.looseObject({ fields: z.record(z.string(), describeField) }) }) });

/** One field of an object as 查询对象描述 gives it: its api_name, `type` and `define_type` (system, package, custom). */
export interface DescribedField { name: string; type: string; defineType: string | null }

interface Token { value: string; corpId: string; renewAt: number }

export class ShareCrmClient {
  private token: Token | null = null;
  private signingIn: Promise<Token> | null = null;

  constructor(private readonly source: string, private readonly settings: ShareCrmSettings, private readonly budget: RateBudget, private readonly clock: Clock, private readonly fetchImpl: typeof fetch = fetch) {}

  /** One page of records of `object`; an expired token is renewed once and the query repeated. */
  async query(object: string, q: SearchQuery): Promise<Record<string, unknown>[]> {
    const json = await this.authed(QUERY_PATH, object, { data: { dataObjectApiName: object, search_query_info: q } },
      'check OPEN_USER_ID, the app\'s data rights on the object and the field names in the mapping');
    const parsed = queryAnswer.safeParse(json);
    if (!parsed.success) throw this.error(`纷享销客 answered ${QUERY_PATH} with a body custos does not understand`, {});
    return parsed.data.data.dataList;
  }

  /** The fields of `object` (查询对象描述), without its detail objects. */
  async describe(object: string): Promise<DescribedField[]> {
    const json = await this.authed(DESCRIBE_PATH, object, { includeDetail: false, data: { apiName: object } },
      'check OPEN_USER_ID, the app\'s rights and the mapping\'s `object` (an api name such as AccountObj)');
    const parsed = describeAnswer.safeParse(json);
    if (!parsed.success) throw this.error(`纷享销客 answered ${DESCRIBE_PATH} with a body custos does not understand`, {});
    return Object.values(parsed.data.data.describe.fields).map((f) => ({ name: f.api_name, type: f.type ?? 'unknown', defineType: f.define_type ?? null }));
  }

  /** A call with the token, corpId and openUserId in its body; an expired token is renewed once and the call repeated. */
  private async authed(path: string, object: string, body: Record<string, unknown>, hint: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.currentToken();
      const json = await this.post(path, { corpAccessToken: token.value, corpId: token.corpId, currentOpenUserId: this.settings.openUserId, ...body });
      const code = (json as { errorCode: number }).errorCode;
      if ((code === TOKEN_EXPIRED || code === TOKEN_INVALID) && attempt === 0) { if (this.token === token) this.token = null; continue; }
      if (code !== 0) throw this.error(`纷享销客 refused ${path} on ${object}: errorCode ${code} (${hint})`, { errorCode: code });
      return json;
    }
  }

  private currentToken(): Promise<Token> {
    if (this.token && this.now() < this.token.renewAt) return Promise.resolve(this.token);
    // One sign-in at a time: the token endpoint must not be called concurrently.
    this.signingIn ??= this.signIn().then((t) => { this.token = t; return t; }).finally(() => { this.signingIn = null; });
    return this.signingIn;
  }

  private async signIn(): Promise<Token> {
    const s = this.settings;
    const json = await this.post(TOKEN_PATH, { appId: s.appId, appSecret: s.appSecret, permanentCode: s.permanentCode });
    const code = (json as { errorCode: number }).errorCode;
    if (code !== 0) {
      throw this.error(`纷享销客 refused the corpAccessToken (errorCode ${code}); check APP_ID, APP_SECRET and PERMANENT_CODE against the app's page in the admin console`, { errorCode: code });
    }
    const answer = tokenAnswer.safeParse(json);
    if (!answer.success) throw this.error(`纷享销客 answered ${TOKEN_PATH} with a body custos does not understand`, {});
    const lifetimeMs = answer.data.expiresIn * 1000;
    return { value: answer.data.corpAccessToken, corpId: answer.data.corpId, renewAt: this.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2) };
  }

  /** One POST within the budget; rate and busy codes become SourceRateLimited, the day's quota a pause. */
  private post(path: string, body: unknown): Promise<unknown> {
    return this.budget.call(async () => {
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.settings.apiUrl}${path}?thirdTraceId=${randomUUID()}`, {
          method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(60_000), headers: { 'content-type': 'application/json' },
        });
      } catch (err) {
        throw this.error(`纷享销客 cannot be reached at ${path} (${(err as Error).name}); check API_URL and the network`, { path });
      }
      const text = await res.text();
      if (res.status === 429 || res.status === 503) throw new SourceRateLimited(undefined, `纷享销客 answered HTTP ${res.status} to ${path}`);
      if (!res.ok) throw this.error(`纷享销客 answered HTTP ${res.status} to ${path}`, { path, status: res.status });
      let json: unknown;
      try { json = JSON.parse(text); } catch { throw this.error(`纷享销客 answered ${path} with a body that is not JSON`, { path }); }
      const env = envelope.safeParse(json);
      if (!env.success) throw this.error(`纷享销客 answered ${path} without an errorCode`, { path });
      const code = env.data.errorCode;
      if (code === RATE_EXCEEDED || code === CALLS_EXCEEDED) throw new SourceRateLimited(RATE_WINDOW_MS, `纷享销客 answered errorCode ${code} to ${path}`);
      if (BUSY.has(code)) throw new SourceRateLimited(undefined, `纷享销客 answered errorCode ${code} (busy) to ${path}`);
      if (code === DAILY_QUOTA_USED) {
        throw new CustosError(ErrorCode.SyncBudgetExhausted, `sync of ${this.source} paused: 纷享销客's daily OpenAPI quota is used up (errorCode ${code}, counted again from midnight); it resumes from its cursor on a later run`, { source: this.source, errorCode: code });
      }
      return json;
    });
  }

  private now(): number { return this.clock.now().getTime(); }

  private error(message: string, details: Record<string, unknown>): CustosError {
    return new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source}: ${message}`, { source: this.source, ...details });
  }
}
