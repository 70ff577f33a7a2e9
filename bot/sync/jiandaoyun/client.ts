// The HTTP side of the 简道云 connector, following the v5 open API (hc.jiandaoyun.com/open/11261 开发指南,
// /open/14220 查询多条数据, /open/14216 表单字段查询 V5): every call is `POST {API_URL}/api/v5/…` with a JSON
// body and `Authorization: Bearer <API key>`; success is 2xx; errors are HTTP 400 with `{code, msg}` and
// HTTP 429 when over the rate (30 requests per second for the data and widget APIs). Code 8303
// (超出请求频率限制) is the rate limit too, whichever status carries it. Rate limits become
// SourceRateLimited for the rate budget to back off; anything else a coded error naming the path, HTTP
// status and 简道云 code — never the message or the body, which may echo record values.
import { z } from 'zod';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import { SourceRateLimited, type RateBudget } from '../rate-budget.ts';

export const JDY_RATE_LIMIT_CODE = 8303;
export const JDY_PAGE_LIMIT = 100;

const errorBody = z.object({ code: z.number(), msg: z.string().optional() });
const record = z.looseObject({ _id: z.string().regex(/^[0-9a-f]{24}$/) });
export type JdyRecord = z.infer<typeof record>;
const listAnswer = z.object({ data: z.array(record) });
const widgetAnswer = z.object({
  widgets: z.array(z.looseObject({ name: z.string(), type: z.string() })),
  sysWidgets: z.array(z.looseObject({ name: z.string(), type: z.string().optional() })).optional(),
});

export interface JdyFilter { rel: 'and' | 'or'; cond: { field: string; type?: string; method: string; value?: unknown[] }[] }
export interface ListRequest { dataId?: string; limit: number; fields?: string[]; filter?: JdyFilter }

export class JdyClient {
  constructor(private readonly opts: { source: string; apiUrl: string; apiKey: string; appId: string; entryId: string; budget: RateBudget; fetch?: typeof fetch }) {}

  /** One page of the data list: records after `dataId` in id order. */
  async list(req: ListRequest): Promise<JdyRecord[]> {
    const body = {
      app_id: this.opts.appId, entry_id: this.opts.entryId, limit: req.limit,
      ...(req.dataId ? { data_id: req.dataId } : {}), ...(req.fields ? { fields: req.fields } : {}), ...(req.filter ? { filter: req.filter } : {}),
    };
    return this.parse('/api/v5/app/entry/data/list', listAnswer, await this.post('/api/v5/app/entry/data/list', body)).data;
  }

  /** The form's fields (widgets) and system fields. */
  async widgets(): Promise<z.infer<typeof widgetAnswer>> {
    return this.parse('/api/v5/app/entry/widget/list', widgetAnswer, await this.post('/api/v5/app/entry/widget/list', { app_id: this.opts.appId, entry_id: this.opts.entryId }));
  }

  private parse<T>(path: string, schema: z.ZodType<T>, value: unknown): T {
    const r = schema.safeParse(value);
    if (!r.success) throw this.failure(`简道云 answered ${path} with a body custos does not understand`, { path });
    return r.data;
  }

  private failure(message: string, details: Record<string, unknown>): CustosError {
    return new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.opts.source}: ${message}`, { source: this.opts.source, ...details });
  }

  private post(path: string, body: unknown): Promise<unknown> {
    return this.opts.budget.call(async () => {
      let res: Response;
      try {
        res = await (this.opts.fetch ?? fetch)(`${this.opts.apiUrl}${path}`, {
          method: 'POST', body: JSON.stringify(body),
          headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/json' },
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        throw this.failure(`简道云 cannot be reached at ${path} (${(err as Error).name}); check CUSTOS_SYNC_…_API_URL and the network`, { path });
      }
      const text = await res.text();
      let json: unknown = null;
      try { json = JSON.parse(text); } catch { /* an error page: judged by status below */ }
      const err = errorBody.safeParse(json);
      if (res.status === 429 || (err.success && err.data.code === JDY_RATE_LIMIT_CODE)) {
        const after = Number(res.headers.get('retry-after'));
        throw new SourceRateLimited(Number.isFinite(after) && after > 0 ? after * 1000 : undefined, `简道云 answered ${res.status} (rate limit) to ${path}`);
      }
      if (!res.ok) {
        const code = err.success ? err.data.code : null;
        throw this.failure(`简道云 refused ${path}: HTTP ${res.status}${code === null ? '' : `, code ${code}`} (see 简道云's 错误码 table; check the API key, app and form ids)`, { path, status: res.status, jdyCode: code });
      }
      return json;
    });
  }
}
