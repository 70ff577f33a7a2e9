// A local 纷享销客 (ShareCRM / fxiaoke) OpenAPI v2, following its developer documents
// (developer.fxiaoke.com/openapi_v2: 获取企业 corpAccessToken, 查询对象数据列表 /cgi/crm/v2/data/query, 全局返回码,
// 调用频率限制 and the deep-paging FAQ), in the body convention (token, corpId and currentOpenUserId in the body):
//   POST /cgi/corpAccessToken/get/V2?thirdTraceId=…  {appId, appSecret, permanentCode} →
//        {errorCode: 0, errorMessage: 'success', corpAccessToken, corpId, expiresIn}; the same token for its
//        first 6600 s, then a new one (the old one lives out its 7200 s); wrong appId/appSecret → 20006,
//        wrong permanentCode → 20015
//   POST /cgi/crm/v2/data/query?thirdTraceId=…  {corpAccessToken, corpId, currentOpenUserId, data:
//        {dataObjectApiName, search_query_info: {limit, offset, filters: [{field_name, field_values,
//        operator}], orders: [{fieldName, isAsc}], fieldProjection}}} → {errorCode: 0, data: {dataList, total}}
//        (total 0: it is only counted when find_explicit_total_num is asked for)
//   POST /cgi/crm/v2/object/describe?thirdTraceId=…  {corpAccessToken, corpId, currentOpenUserId, includeDetail,
//        data: {apiName}} (查询对象描述) → {errorCode: 0, data: {describe: {api_name, display_name, fields:
//        {<api_name>: {api_name, label, type, define_type, is_required, is_active, options?}}}}}; the
//        account object's fields are `describeFields` (a test adds or removes one as an admin would)
// Every answer is HTTP 200, failures included: 20016 a missing or expired token, 20012 an unknown
// openUserId, 10013 an offset past 10,000, 14001 more than 100 calls in 20 s on one interface, 30002 the
// day's quota used up, 10006 an unknown path. last_modified_time is epoch milliseconds, stamped on every
// save; 作废 sets life_status 'invalid'; a deletion from the recycle bin removes the record.
// Filters and orders: the fake understands the forms a careful client needs (comparisons on _id,
// last_modified_time and life_status; orders by last_modified_time then _id, or by _id) and refuses
// anything else with 15002, so custos cannot come to rely on a form it never tested.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeClock { now(): Date }
export interface ShareCrmCredentials { appId: string; appSecret: string; permanentCode: string; openUserId: string }
interface Row { _id: string; last_modified_time: number; life_status: 'normal' | 'invalid'; fields: Record<string, unknown> }
type Answer = Record<string, unknown>;
type Pred = (r: Row) => boolean;

const TOKEN = '/cgi/corpAccessToken/get/V2';
const QUERY = '/cgi/crm/v2/data/query';
const DESCRIBE = '/cgi/crm/v2/object/describe';
export interface FakeField { api_name: string; label: string; type: string; define_type: 'system' | 'package' | 'custom'; is_required: boolean; options?: { label: string; value: string }[] }
/** AccountObj's fields as 查询对象描述 describes them: system, preset (package) and one custom. */
export const ACCOUNT_FIELDS: FakeField[] = [
  { api_name: '_id', label: '_id', type: 'text', define_type: 'system', is_required: false },
  { api_name: 'last_modified_time', label: '最后修改时间', type: 'date_time', define_type: 'system', is_required: false },
  { api_name: 'created_by', label: '创建人', type: 'employee', define_type: 'system', is_required: false },
  { api_name: 'life_status', label: '生命状态', type: 'select_one', define_type: 'system', is_required: false },
  { api_name: 'is_deleted', label: 'is_deleted', type: 'true_or_false', define_type: 'system', is_required: false },
  { api_name: 'name', label: '客户名称', type: 'text', define_type: 'package', is_required: true },
  { api_name: 'account_no', label: '客户编号', type: 'text', define_type: 'package', is_required: false },
  { api_name: 'tel', label: '电话', type: 'phone_number', define_type: 'package', is_required: false },
  { api_name: 'owner', label: '负责人', type: 'employee', define_type: 'package', is_required: true },
  { api_name: 'industry_level', label: '客户级别', type: 'select_one', define_type: 'package', is_required: false },
  { api_name: 'region__c', label: '区域', type: 'select_one', define_type: 'custom', is_required: false, options: [{ label: '华北', value: 'huabei' }, { label: '华东', value: 'huadong' }, { label: '华南', value: 'huanan' }] },
];
export const CORP_ID = 'FSCID_5A1E6C0B2D3F4A59B8C7D6E5F4A3B2C1';
const TOKEN_MS = 7200_000;
const SAME_TOKEN_MS = 6600_000;
const WINDOW_MS = 20_000;
const WINDOW_CALLS = 100;
const MAX_OFFSET = 10_000;
const FIELDS = new Set(['_id', 'last_modified_time', 'life_status']);
const fail = (errorCode: number, errorMessage: string): Answer => ({ errorCode, errorMessage, errorDescription: errorMessage, traceId: randomBytes(8).toString('hex') });

export class FakeShareCrm {
  readonly rows = new Map<string, Row>();
  /** AccountObj's fields for 查询对象描述 (a copy: a test edits it as an admin edits the object). */
  describeFields: FakeField[] = ACCOUNT_FIELDS.map((f) => ({ ...f }));
  readonly requests: { path: string; traceId: string | null; query?: Record<string, unknown>; errorCode: number }[] = [];
  private readonly tokens = new Map<string, { issued: number }>();
  private current: string | null = null;
  private server: Server | null = null;
  private nextId = 1;
  private sorted: { byStamp: Row[]; byId: Row[] } | null = null;
  private windowCalls: number[] = [];
  private failures = { count: 0, errorCode: 0 };
  /** The 100-calls-per-20-s limit; the bench turns it off (it paces with the real clock). */
  enforceRate = true;
  /** Calls allowed per day (the purchased resource packs); exhaustQuota() uses them up. */
  dailyQuota = Number.POSITIVE_INFINITY;
  private usedToday = 0;
  /** Called after each data query is answered (a test edits records between the pages of one scan). */
  afterQuery: ((served: number) => void) | null = null;
  private served = 0;
  url = '';

  constructor(readonly opts: { credentials: ShareCrmCredentials; clock: FakeClock }) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((resolve) => { this.server!.closeAllConnections(); this.server!.close(() => resolve()); });
  }

  // ---- control API for tests (saves in the CRM: each stamps last_modified_time) ----

  create(fields: Record<string, unknown>, at = this.now()): string {
    const _id = (0x650c0000_0000 + this.nextId++).toString(16).padStart(24, '0');
    this.rows.set(_id, { _id, last_modified_time: at, life_status: 'normal', fields });
    this.sorted = null;
    return _id;
  }

  update(id: string, fields: Record<string, unknown>, at = this.now()): void {
    const row = this.rows.get(id)!;
    this.rows.set(id, { ...row, last_modified_time: at, fields: { ...row.fields, ...fields } });
    this.sorted = null;
  }

  /** 作废: the record goes to the recycle bin, life_status 'invalid'. */
  invalidate(id: string): void { this.rows.set(id, { ...this.rows.get(id)!, life_status: 'invalid', last_modified_time: this.now() }); this.sorted = null; }
  /** 删除 from the recycle bin: gone, with no trace in any query. */
  remove(id: string): void { this.rows.delete(id); this.sorted = null; }
  /** Every issued token stops working (as at its expiry). */
  expireTokens(): void { this.tokens.clear(); this.current = null; }
  exhaustQuota(): void { this.dailyQuota = 0; this.usedToday = 0; }
  restoreQuota(): void { this.dailyQuota = Number.POSITIVE_INFINITY; this.usedToday = 0; }
  /** The next `count` requests answer `errorCode` (30004 秒频次超限, -1 系统繁忙, …). */
  failNext(count: number, errorCode: number): void { this.failures = { count, errorCode }; }
  tokenCalls(): number { return this.requests.filter((r) => r.path === TOKEN).length; }

  // ---- HTTP ----

  private now(): number { return this.opts.clock.now().getTime(); }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const answer = this.answer(req.method ?? '', url.pathname, Buffer.concat(chunks).toString('utf8'));
    this.requests.push({ path: url.pathname, traceId: url.searchParams.get('thirdTraceId'), query: answer.query, errorCode: answer.body.errorCode as number });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer.body));
    if (url.pathname === QUERY && answer.body.errorCode === 0) this.afterQuery?.(++this.served);
  }

  private answer(method: string, path: string, text: string): { body: Answer; query?: Record<string, unknown> } {
    if (method !== 'POST' || (path !== TOKEN && path !== QUERY && path !== DESCRIBE)) return { body: fail(10006, `the request uri=[${path}], apiName=[null] is not exists`) };
    if (this.failures.count > 0) { this.failures.count--; return { body: fail(this.failures.errorCode, 'failing on purpose') }; }
    if (this.enforceRate) {
      const now = this.now();
      this.windowCalls = this.windowCalls.filter((t) => t > now - WINDOW_MS);
      if (this.windowCalls.length >= WINDOW_CALLS) return { body: fail(14001, '接口调用超过限制') };
      this.windowCalls.push(now);
    }
    if (this.usedToday >= this.dailyQuota) return { body: fail(30002, '当天访问频次超限（0点重新统计）') };
    this.usedToday++;
    let body: Record<string, unknown>;
    try { body = JSON.parse(text) as Record<string, unknown>; } catch { return { body: fail(12004, 'POST的数据包为空') }; }
    if (path === DESCRIBE) return { body: this.describe(body) };
    return path === TOKEN ? { body: this.token(body) } : this.query(body);
  }

  private token(body: Record<string, unknown>): Answer {
    const c = this.opts.credentials;
    if (!body.appId) return fail(10001, '缺少参数appId');
    if (!body.permanentCode) return fail(10012, '缺少参数permanentCode');
    if (body.appId !== c.appId || body.appSecret !== c.appSecret) return fail(20006, 'appId或appSecret错误');
    if (body.permanentCode !== c.permanentCode) return fail(20015, '永久授权码错误');
    const now = this.now();
    const live = this.current ? this.tokens.get(this.current) : undefined;
    if (!this.current || !live || now - live.issued >= SAME_TOKEN_MS) {
      this.current = randomBytes(16).toString('hex').toUpperCase();
      this.tokens.set(this.current, { issued: now });
    }
    const issued = this.tokens.get(this.current)!.issued;
    return { errorCode: 0, errorMessage: 'success', corpAccessToken: this.current, corpId: CORP_ID, expiresIn: Math.ceil((issued + TOKEN_MS - now) / 1000), traceId: randomBytes(8).toString('hex') };
  }

  /** The body convention's credentials: a failure answer, or null when the token, corpId and openUserId hold. */
  private refusal(body: Record<string, unknown>): Answer | null {
    const token = typeof body.corpAccessToken === 'string' ? this.tokens.get(body.corpAccessToken) : undefined;
    if (!body.corpAccessToken) return fail(10013, '缺少参数corpAccessToken');
    if (!token || this.now() - token.issued >= TOKEN_MS) return fail(20016, 'corpAccessToken不存在或者已经过期');
    if (body.corpId !== CORP_ID) return fail(20017, 'corpId未找到');
    if (body.currentOpenUserId !== this.opts.credentials.openUserId) return fail(20012, 'openUserId未找到');
    return null;
  }

  private describe(body: Record<string, unknown>): Answer {
    const refused = this.refusal(body);
    if (refused) return refused;
    const apiName = (body.data as { apiName?: unknown } | undefined)?.apiName;
    if (typeof apiName !== 'string' || !apiName) return fail(10001, '缺少参数apiName');
    if (apiName !== 'AccountObj') return fail(15002, `对象 ${apiName} 不存在`);
    const fields = Object.fromEntries(this.describeFields.map((f) => [f.api_name, { ...f, is_active: true, ...(f.type === 'date_time' ? { date_format: 'yyyy-MM-dd HH:mm', time_zone: 'GMT+8' } : {}) }]));
    return { errorCode: 0, errorMessage: 'OK', errorDescription: 'success', traceId: randomBytes(8).toString('hex'), data: { describe: { api_name: 'AccountObj', display_name: '客户', define_type: 'package', fields } } };
  }

  private query(body: Record<string, unknown>): { body: Answer; query?: Record<string, unknown> } {
    const data = (body.data ?? {}) as Record<string, unknown>;
    const q = (data.search_query_info ?? {}) as Record<string, unknown>;
    const refused = this.refusal(body);
    if (refused) return { body: refused, query: q };
    if (data.dataObjectApiName !== 'AccountObj') return { body: fail(15002, `对象 ${String(data.dataObjectApiName)} 不存在`), query: q };
    const limit = Number(q.limit);
    const offset = Number(q.offset ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return { body: fail(15002, 'limit 不合法'), query: q };
    if (!Number.isInteger(offset) || offset < 0) return { body: fail(15002, 'offset 不合法'), query: q };
    if (offset > MAX_OFFSET) return { body: { ...fail(10013, 'offset out of range 10000'), errorDescription: 'offset 不能超过10000' }, query: q };
    const filters = parseFilters(q.filters);
    if (!filters) return { body: fail(15002, '过滤条件不合法'), query: q };
    const order = orderOf(q.orders);
    if (!order) return { body: fail(15002, '排序条件不合法'), query: q };
    const rows = this.scan(order, filters, offset + limit).slice(offset);
    const projection = Array.isArray(q.fieldProjection) && q.fieldProjection.length ? (q.fieldProjection as string[]) : null;
    const dataList = rows.map((r) => project(r, projection));
    return { body: { errorCode: 0, errorMessage: 'success', traceId: randomBytes(8).toString('hex'), data: { dataList, total: 0, offset, limit } }, query: q };
  }

  /** The first `count` matching rows in `order`, starting from a binary search where a filter bounds the scan. */
  private scan(order: 'stamp' | 'id', filters: { pred: Pred; stampFrom: number | null; idAfter: string | null }, count: number): Row[] {
    this.sorted ??= {
      byStamp: [...this.rows.values()].sort((a, b) => a.last_modified_time - b.last_modified_time || cmp(a._id, b._id)),
      byId: [...this.rows.values()].sort((a, b) => cmp(a._id, b._id)),
    };
    const list = order === 'stamp' ? this.sorted.byStamp : this.sorted.byId;
    let i = 0;
    if (order === 'stamp' && filters.stampFrom !== null) i = lowerBound(list, (r) => r.last_modified_time < filters.stampFrom!);
    if (order === 'id' && filters.idAfter !== null) i = lowerBound(list, (r) => cmp(r._id, filters.idAfter!) <= 0);
    const out: Row[] = [];
    for (; i < list.length && out.length < count; i++) if (filters.pred(list[i]!)) out.push(list[i]!);
    return out;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function lowerBound(list: Row[], before: (r: Row) => boolean): number {
  let lo = 0; let hi = list.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (before(list[mid]!)) lo = mid + 1; else hi = mid; }
  return lo;
}

function project(r: Row, projection: string[] | null): Record<string, unknown> {
  const all: Record<string, unknown> = { ...r.fields, _id: r._id, last_modified_time: r.last_modified_time, life_status: r.life_status, is_deleted: r.life_status === 'invalid', object_describe_api_name: 'AccountObj' };
  if (!projection) return all;
  const out: Record<string, unknown> = { _id: r._id };
  for (const f of projection) if (f in all) out[f] = all[f];
  return out;
}

function orderOf(orders: unknown): 'stamp' | 'id' | null {
  const o = JSON.stringify(orders ?? []);
  if (o === JSON.stringify([{ fieldName: 'last_modified_time', isAsc: true }, { fieldName: '_id', isAsc: true }])) return 'stamp';
  if (o === JSON.stringify([{ fieldName: '_id', isAsc: true }])) return 'id';
  return null;
}

/** The filter forms this fake understands (ANDed, as 纷享销客 combines them); null for anything else. */
export function parseFilters(filters: unknown): { pred: Pred; stampFrom: number | null; idAfter: string | null } | null {
  if (filters === undefined) filters = [];
  if (!Array.isArray(filters)) return null;
  const preds: Pred[] = [];
  let stampFrom: number | null = null;
  let idAfter: string | null = null;
  for (const f of filters as Record<string, unknown>[]) {
    const field = f?.field_name; const op = f?.operator; const values = f?.field_values;
    if (typeof field !== 'string' || !FIELDS.has(field) || typeof op !== 'string' || !Array.isArray(values) || values.length === 0) return null;
    const get = (r: Row): string | number => (field === '_id' ? r._id : field === 'last_modified_time' ? r.last_modified_time : r.life_status);
    const typed = field === 'last_modified_time' ? values.every((v) => typeof v === 'number') : values.every((v) => typeof v === 'string');
    if (!typed) return null;
    const v = values[0] as string | number;
    const c = (r: Row) => (typeof v === 'number' ? (get(r) as number) - v : cmp(get(r) as string, v));
    switch (op) {
      case 'EQ': preds.push((r) => c(r) === 0); break;
      case 'GT': preds.push((r) => c(r) > 0); break;
      case 'GTE': preds.push((r) => c(r) >= 0); break;
      case 'LT': preds.push((r) => c(r) < 0); break;
      case 'LTE': preds.push((r) => c(r) <= 0); break;
      case 'IN': { const set = new Set(values); preds.push((r) => set.has(get(r))); break; }
      case 'NIN': { const set = new Set(values); preds.push((r) => !set.has(get(r))); break; }
      default: return null;
    }
    if (values.length > 1 && op !== 'IN' && op !== 'NIN') return null;
    if (field === 'last_modified_time' && (op === 'GT' || op === 'GTE' || op === 'EQ')) stampFrom = Math.max(stampFrom ?? 0, v as number);
    if (field === '_id' && op === 'GT') idAfter = v as string;
  }
  return { pred: (r) => preds.every((p) => p(r)), stampFrom, idAfter };
}
