// The HTTP side of the 金蝶云星空 connector, on K/3 Cloud's WebAPI (open.kingdee.com 金蝶云星空 WebAPI:
// 第三方系统登录授权 and 单据查询). Every call is `POST {SERVER_URL}/<service>.common.kdsvc` with a JSON body.
//   LoginByAppSecret  `parameters: [acctId, username, appId, appSecret, lcid]` → `{LoginResultType: 1, KDSVCSessionId}`
//                     and the `kdservice-sessionid` cookie, which every later call carries (session reuse)
//   ExecuteBillQuery  `{data: {FormId, FieldKeys, FilterString, OrderString, TopRowCount, StartRow, Limit}}` →
//                     rows as arrays in FieldKeys order; a failure is `[[{Result: {ResponseStatus: {ErrorCode,
//                     IsSuccess: false, Errors: [...], MsgCode}}}]]`, MsgCode 1 being a lost or expired session
// A lost session signs in again once and repeats the same query, so the cursor is never lost. Errors name
// the service, HTTP status and MsgCode — never K/3 Cloud's message, which may echo filter values.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import { SourceRateLimited, type RateBudget } from '../rate-budget.ts';
import type { KingdeeSettings } from './settings.ts';

export const LOGIN_SERVICE = 'Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret';
export const QUERY_SERVICE = 'Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery';
export const SESSION_COOKIE = 'kdservice-sessionid';
/** ResponseStatus.MsgCode for "会话信息已丢失，请重新登录" (the session expired or the server restarted). */
export const MSG_SESSION_LOST = 1;

export interface BillQuery { FormId: string; FieldKeys: string; FilterString: string; OrderString: string; TopRowCount: number; StartRow: number; Limit: number }

const loginAnswer = z.looseObject({ LoginResultType: z.number(), KDSVCSessionId: z.string().nullish() });
const failedStatus = z.looseObject({ ErrorCode: z.number().optional(), IsSuccess: z.literal(false), MsgCode: z.number().optional() });
const failure = z.tuple([z.tuple([z.looseObject({ Result: z.looseObject({ ResponseStatus: failedStatus }) })]).rest(z.unknown())]).rest(z.unknown());
const rows = z.array(z.array(z.unknown()));

export class KingdeeClient {
  private session: string | null = null;
  private signingIn: Promise<string> | null = null;

  constructor(private readonly source: string, private readonly settings: KingdeeSettings, private readonly budget: RateBudget, private readonly fetchImpl: typeof fetch = fetch) {}

  /** One page of ExecuteBillQuery rows; a lost session is re-established once and the query repeated. */
  async query(q: BillQuery): Promise<unknown[][]> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.sessionId();
      const { json } = await this.post(QUERY_SERVICE, { data: q }, session);
      const failed = failure.safeParse(json);
      if (failed.success) {
        const status = failed.data[0][0].Result.ResponseStatus;
        if (status.MsgCode === MSG_SESSION_LOST && attempt === 0) { if (this.session === session) this.session = null; continue; }
        throw this.error(`金蝶云星空 refused ${QUERY_SERVICE}: ErrorCode ${status.ErrorCode ?? '?'}, MsgCode ${status.MsgCode ?? '?'} (check the user's rights on ${q.FormId} and the field keys in the mapping)`, { msgCode: status.MsgCode ?? null });
      }
      const parsed = rows.safeParse(json);
      if (!parsed.success) throw this.error(`金蝶云星空 answered ${QUERY_SERVICE} with a body custos does not understand`, {});
      return parsed.data;
    }
  }

  private sessionId(): Promise<string> {
    if (this.session) return Promise.resolve(this.session);
    // Concurrent callers share one sign-in.
    this.signingIn ??= this.login().then((s) => { this.session = s; return s; }).finally(() => { this.signingIn = null; });
    return this.signingIn;
  }

  private async login(): Promise<string> {
    const s = this.settings;
    const body = {
      format: 1, useragent: 'ApiClient', rid: String(randomInt(1, 2 ** 31)), v: '1.0', timestamp: new Date().toISOString().slice(0, 10),
      parameters: [s.acctId, s.username, s.appId, s.appSecret, s.lcid],
    };
    const { json, cookie } = await this.post(LOGIN_SERVICE, body, null);
    const answer = loginAnswer.safeParse(json);
    if (!answer.success) throw this.error(`金蝶云星空 answered ${LOGIN_SERVICE} with a body custos does not understand`, {});
    if (answer.data.LoginResultType !== 1) {
      throw this.error(`金蝶云星空 refused the sign-in (LoginResultType ${answer.data.LoginResultType}); check ACCT_ID, USERNAME, APP_ID and APP_SECRET against 第三方系统登录授权`, { loginResultType: answer.data.LoginResultType });
    }
    const session = cookie ?? answer.data.KDSVCSessionId;
    if (!session) throw this.error(`金蝶云星空 signed in but gave no session (no ${SESSION_COOKIE} cookie)`, {});
    return session;
  }

  private post(service: string, body: unknown, session: string | null): Promise<{ json: unknown; cookie: string | null }> {
    const path = `/${service}.common.kdsvc`;
    return this.budget.call(async () => {
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.settings.serverUrl}${path}`, {
          method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(60_000),
          headers: { 'content-type': 'application/json', ...(session ? { cookie: `${SESSION_COOKIE}=${session}` } : {}) },
        });
      } catch (err) {
        throw this.error(`金蝶云星空 cannot be reached at ${path} (${(err as Error).name}); check SERVER_URL and the network`, { path });
      }
      const text = await res.text();
      if (res.status === 429 || res.status === 503) {
        const after = Number(res.headers.get('retry-after'));
        throw new SourceRateLimited(Number.isFinite(after) && after > 0 ? after * 1000 : undefined, `金蝶云星空 answered ${res.status} to ${path}`);
      }
      if (!res.ok) throw this.error(`金蝶云星空 answered HTTP ${res.status} to ${path}`, { path, status: res.status });
      let json: unknown;
      try { json = JSON.parse(text); } catch { throw this.error(`金蝶云星空 answered ${path} with a body that is not JSON`, { path }); }
      const cookie = /(?:^|[;,]\s*)kdservice-sessionid=([^;,\s]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? null;
      return { json, cookie };
    });
  }

  private error(message: string, details: Record<string, unknown>): CustosError {
    return new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source}: ${message}`, { source: this.source, ...details });
  }
}
