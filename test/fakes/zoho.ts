// A fake Zoho CRM org, REST API v8, following Zoho's published OpenAPI files (github.com/zoho/crm-oas,
// v8.0: record getRecords / getDeletedRecords, notifications createNotifications / updateNotificationInfo,
// fields) and its OAuth and API-limit documents:
//   POST /oauth/v2/token   form grant_type=refresh_token&client_id&client_secret&refresh_token
//        → 200 {access_token, api_domain, token_type:"Bearer", expires_in:3600}; a wrong client or refresh
//        token → 200 {"error":"invalid_code"} (Zoho answers OAuth errors in a 200 body)
//   Every /crm/v8 call needs `Authorization: Zoho-oauthtoken <token>`; an unknown or expired (one hour)
//   token → 401 {"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}.
//   Each call costs one API credit; credits used up, or more calls in flight than the concurrency limit,
//   → 429 {"code":"TOO_MANY_REQUESTS",…} (the documents give the status and code, not a usage header).
//   GET  /crm/v8/Accounts  `fields` required (400 REQUIRED_PARAM_MISSING), `per_page` 1–200, `page` within
//        the first 2,000 records (400 DISCRETE_PAGINATION_LIMIT_EXCEEDED), `page_token` (from next_page_token,
//        a day long: 400 EXPIRED_VALUE after; `pageTokenLimit` records at most, default 100,000 as Zoho's
//        Get Records document says ("for more than 2,000 and up to a maximum of 100,000 records, use
//        page_token"): a token past it → 400 PAGINATION_LIMIT_EXCEEDED),
//        `sort_by` id|Modified_Time|Created_Time, `sort_order`, `ids` (at most 100), header If-Modified-Since
//        (records modified after it) → {data:[…], info:{per_page,count,page,sort_by,sort_order,more_records,
//        next_page_token,previous_page_token,page_token_expiry,call,email}}, or 204 with no body
//   GET  /crm/v8/Accounts/deleted  type=all|recycle|permanent, page, per_page, If-Modified-Since
//        → {data:[{id, display_name, type, deleted_time, deleted_by, created_by}], info} or 204
//   POST /crm/v8/coql {select_query} (the Query API, v8 coql.json and its COQL documents): only what custos
//        sends is parsed — `select <fields> from Accounts where <id is not null | id > 'N'> order by id asc
//        limit [<offset>,] <n>` (or `limit n offset o`); anything else → 400 SYNTAX_ERROR; LIMIT 1–2,000,
//        LIMIT plus OFFSET within `coqlOffsetLimit` (100,000) → else 400 LIMIT_EXCEEDED; costs 1 credit for
//        LIMIT ≤ 200, 2 for ≤ 1,000, 3 for ≤ 2,000 → {data:[…], info:{count, more_records}} or 204
//   GET  /crm/v8/settings/fields?module=Accounts → {fields:[{api_name, data_type, field_label, id}]}
//   POST|PATCH /crm/v8/actions/watch {watch:[{channel_id, events, channel_expiry, token, notify_url}]}
//        → {watch:[{code:"SUCCESS", details:{events:[{channel_expiry, resource_uri, resource_id,
//        resource_name, channel_id}]}, message, status:"success"}]}; an expiry left out or more than a week
//        ahead becomes one hour
//   Notifications (sent by `notify`) POST {server_time, query_params, module, resource_uri, ids,
//   affected_fields, operation, channel_id, token} to the channel's notify_url while it has not expired.
// Date-times have second precision and read 2026-06-01T02:00:00+00:00.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ZohoClock { now(): Date }
export interface ZohoAccountInput { Account_Name: string; Account_Number?: string; Phone?: string; Region?: string; ownerEmail: string }
interface Stored { id: string; Account_Name: string; Account_Number: string | null; Phone: string | null; Region: string | null; ownerEmail: string; Created_Time: number; Modified_Time: number }
interface Deleted { id: string; name: string; type: 'recycle' | 'permanent'; at: number }
interface Channel { channel_id: string; events: string[]; expiry: number; token: string; notify_url: string }
interface PageToken { ids: string[]; offset: number; expires: number; sortBy: string; sortOrder: string; perPage: number }
export interface ZohoCall { method: string; path: string; query: Record<string, string>; ifModifiedSince?: string; status: number; body?: string; answer?: unknown }

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const FIELDS: Record<string, string> = {
  id: 'bigint', Account_Name: 'text', Account_Number: 'text', Phone: 'phone', Region: 'picklist', Owner: 'ownerlookup',
  Created_Time: 'datetime', Modified_Time: 'datetime',
};
const zohoTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const err = (code: string, message: string, details: Record<string, unknown> = {}) => ({ code, details, message, status: 'error' });

export class FakeZoho {
  readonly accounts = new Map<string, Stored>();
  readonly deleted: Deleted[] = [];
  readonly calls: ZohoCall[] = [];
  channel: Channel | null = null;
  /** Called as each API request arrives (benches mark memory from here). */
  onRequest: ((path: string) => void) | null = null;
  creditLimit = 50_000;
  creditsUsed = 0;
  concurrencyLimit = 10;
  url = '';
  private inFlight = 0;
  private busyFor = 0;
  private server: http.Server | null = null;
  private tokens = new Map<string, number>();
  private pageTokens = new Map<string, PageToken>();
  private nextId = 4150868000000200001n;

  /** Records a page_token walk can reach (Zoho's 100,000; tests lower it to stay small). */
  readonly pageTokenLimit: number;
  /** LIMIT plus OFFSET a COQL query can reach (Zoho's 100,000). */
  readonly coqlOffsetLimit: number;

  constructor(readonly opts: { clock: ZohoClock; clientId: string; clientSecret: string; refreshToken: string; pageTokenLimit?: number; coqlOffsetLimit?: number }) {
    this.pageTokenLimit = opts.pageTokenLimit ?? 100_000;
    this.coqlOffsetLimit = opts.coqlOffsetLimit ?? 100_000;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((resolve) => { this.server!.closeAllConnections(); this.server!.close(() => resolve()); });
  }

  private now(): number { return this.opts.clock.now().getTime(); }

  // ---- control API (what the CRM's users and admins do) ----

  create(input: ZohoAccountInput): string {
    const id = String(this.nextId++);
    const at = this.now();
    this.accounts.set(id, { id, Account_Name: input.Account_Name, Account_Number: input.Account_Number ?? null, Phone: input.Phone ?? null, Region: input.Region ?? null, ownerEmail: input.ownerEmail, Created_Time: at, Modified_Time: at });
    return id;
  }

  update(id: string, patch: Partial<Omit<ZohoAccountInput, 'ownerEmail'>> & { ownerEmail?: string }): void {
    const a = this.accounts.get(id);
    if (!a) throw new Error(`fake Zoho: no account ${id}`);
    Object.assign(a, patch, { Modified_Time: this.now() });
  }

  remove(id: string): void {
    const a = this.accounts.get(id);
    if (!a) throw new Error(`fake Zoho: no account ${id}`);
    this.accounts.delete(id);
    this.deleted.push({ id, name: a.Account_Name, type: 'recycle', at: this.now() });
  }

  /** The deleted-records list forgets `id` (the recycle bin emptied past its retention). */
  forgetDeleted(id: string): void { this.deleted.splice(0, this.deleted.length, ...this.deleted.filter((d) => d.id !== id)); }

  /** The next `n` calls find the org's concurrency limit reached (other integrations busy). */
  busy(n: number): void { this.busyFor = n; }
  exhaustCredits(): void { this.creditsUsed = this.creditLimit; }
  restoreCredits(): void { this.creditsUsed = 0; }
  expireTokens(): void { this.tokens.clear(); }

  /** The notification Zoho would send now for `ids`, or null when no live channel subscribes to it. */
  notification(ids: string[], operation: 'insert' | 'update' | 'delete'): string | null {
    const ch = this.channel;
    const event = { insert: 'create', update: 'edit', delete: 'delete' }[operation];
    if (!ch || ch.expiry <= this.now() || !ch.events.some((e) => e === 'Accounts.all' || e === `Accounts.${event}`)) return null;
    return JSON.stringify({
      server_time: this.now(), query_params: {}, module: 'Accounts', resource_uri: `${this.url}/crm/v8/Accounts`, ids,
      affected_fields: [], operation, channel_id: ch.channel_id, token: ch.token,
    });
  }

  /** POSTs a notification body to `url` as Zoho does (JSON, no signature). */
  deliver(url: string, body: string): Promise<Response> {
    return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const call: ZohoCall = { method: req.method ?? '', path: url.pathname, query, status: 0 };
    const ims = req.headers['if-modified-since'];
    if (typeof ims === 'string') call.ifModifiedSince = ims;
    if (url.pathname === '/crm/v8/coql') call.body = raw;
    this.calls.push(call);
    this.onRequest?.(url.pathname);
    const send = (status: number, body?: unknown) => {
      call.status = status;
      if (status >= 400) call.answer = body; // error bodies kept for tests (the data pages are not)
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (url.pathname === '/oauth/v2/token' && req.method === 'POST') return send(200, this.token(new URLSearchParams(raw)));
    if (!url.pathname.startsWith('/crm/v8/')) return send(404, err('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one'));
    const auth = req.headers.authorization ?? '';
    const issued = this.tokens.get(auth.replace(/^Zoho-oauthtoken /, ''));
    if (!auth.startsWith('Zoho-oauthtoken ') || issued === undefined || this.now() - issued >= HOUR) return send(401, err('INVALID_TOKEN', 'invalid oauth token'));
    if (this.creditsUsed >= this.creditLimit) return send(429, err('TOO_MANY_REQUESTS', 'API credit limit for the 24-hour window is exceeded'));
    if (this.busyFor > 0) { this.busyFor--; return send(429, err('TOO_MANY_REQUESTS', 'concurrency limit exceeded')); }
    if (this.inFlight >= this.concurrencyLimit) return send(429, err('TOO_MANY_REQUESTS', 'concurrency limit exceeded'));
    this.creditsUsed += this.credits(url.pathname, raw);
    this.inFlight++;
    try {
      const [status, body] = this.route(req.method ?? 'GET', url.pathname.slice('/crm/v8/'.length), query, typeof ims === 'string' ? ims : undefined, raw);
      send(status, body);
    } finally { this.inFlight--; }
  }

  /** A COQL query costs by its LIMIT (1–200: 1, 201–1,000: 2, 1,001–2,000: 3); every other call 1. */
  private credits(path: string, raw: string): number {
    if (path !== '/crm/v8/coql') return 1;
    const n = Number(/limit\s+(?:\d+\s*,\s*)?(\d+)/i.exec(raw)?.[1] ?? 200);
    return n <= 200 ? 1 : n <= 1000 ? 2 : 3;
  }

  private token(form: URLSearchParams): unknown {
    const o = this.opts;
    if (form.get('grant_type') !== 'refresh_token' || form.get('client_id') !== o.clientId || form.get('client_secret') !== o.clientSecret || form.get('refresh_token') !== o.refreshToken) {
      return { error: 'invalid_code' };
    }
    const token = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
    this.tokens.set(token, this.now());
    return { access_token: token, api_domain: this.url, token_type: 'Bearer', expires_in: 3600 };
  }

  private route(method: string, path: string, q: Record<string, string>, ims: string | undefined, raw: string): [number, unknown?] {
    if (path === 'Accounts' && method === 'GET') return this.records(q, ims);
    if (path === 'Accounts/deleted' && method === 'GET') return this.deletedList(q, ims);
    if (path === 'coql' && method === 'POST') return this.coql(raw);
    if (path === 'settings/fields' && method === 'GET') {
      if (q.module !== 'Accounts') return [400, err('INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 })];
      return [200, { fields: Object.entries(FIELDS).map(([api_name, data_type], i) => ({ api_name, data_type, field_label: api_name.replace(/_/g, ' '), id: String(4150868000000002000n + BigInt(i)) })) }];
    }
    if (path === 'actions/watch' && (method === 'POST' || method === 'PATCH')) return this.watch(method, raw);
    return [404, err('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one')];
  }

  private view(a: Stored, fields: string[]): Record<string, unknown> {
    const all: Record<string, unknown> = {
      id: a.id, Account_Name: a.Account_Name, Account_Number: a.Account_Number, Phone: a.Phone, Region: a.Region,
      Owner: { name: a.ownerEmail.split('@')[0], id: String(4150868000000225000n + BigInt(a.ownerEmail.length)), email: a.ownerEmail },
      Created_Time: zohoTime(a.Created_Time), Modified_Time: zohoTime(a.Modified_Time),
    };
    return Object.fromEntries(Object.entries(all).filter(([k]) => k === 'id' || fields.includes(k)));
  }

  private records(q: Record<string, string>, ims: string | undefined): [number, unknown?] {
    if (!q.fields) return [400, err('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: 'fields' })];
    const fields = q.fields.split(',');
    if (fields.some((f) => !(f in FIELDS))) return [400, err('INVALID_DATA', 'invalid data', { param_name: 'fields' })];
    const perPage = Number(q.per_page ?? 200);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200) return [400, err('INVALID_DATA', 'invalid data', { param_name: 'per_page' })];
    if (q.ids !== undefined) {
      const ids = q.ids.split(',');
      if (ids.length > 100) return [400, err('LIMIT_EXCEEDED', 'limit exceeded', { limit: 100, param_name: 'ids' })];
      const data = ids.map((id) => this.accounts.get(id)).filter((a): a is Stored => a !== undefined).map((a) => this.view(a, fields));
      return data.length ? [200, { data, info: { per_page: perPage, count: data.length, page: 1, more_records: false, sort_by: 'id', sort_order: 'desc', next_page_token: null, previous_page_token: null, page_token_expiry: null } }] : [204];
    }
    let page: PageToken;
    if (q.page_token) {
      const known = this.pageTokens.get(q.page_token);
      if (!known) return [400, err('INVALID_DATA', 'invalid data', { param_name: 'page_token' })];
      if (known.expires <= this.now()) return [400, err('EXPIRED_VALUE', 'Page token expired', { api_name: 'page_token', json_path: '$.query.page_token' })];
      page = known;
      if (page.offset >= this.pageTokenLimit) return [400, err('PAGINATION_LIMIT_EXCEEDED', 'pagination limit exceeded', { param_name: 'page_token', limit: this.pageTokenLimit })];
    } else {
      const sortBy = q.sort_by ?? 'id';
      const sortOrder = q.sort_order ?? 'desc';
      if (!['id', 'Modified_Time', 'Created_Time'].includes(sortBy)) return [400, err('INVALID_DATA', 'invalid data', { param_name: 'sort_by', supported_values: ['id', 'Created_Time', 'Modified_Time'] })];
      const pageNo = Number(q.page ?? 1);
      if (pageNo * perPage > 2000) return [400, err('DISCRETE_PAGINATION_LIMIT_EXCEEDED', 'discrete pagination limit exceeded', { limit: 2000 })];
      const since = ims === undefined ? null : Date.parse(ims);
      if (since !== null && Number.isNaN(since)) return [400, err('INVALID_DATA', 'invalid data', { param_name: 'If-Modified-Since' })];
      // Keys computed once (100,000 records sort in the bench): time first, then the id as a tie-break.
      const key = (a: Stored) => (sortBy === 'id' ? BigInt(a.id) : BigInt(sortBy === 'Modified_Time' ? a.Modified_Time : a.Created_Time) * 10n ** 20n + BigInt(a.id));
      const keyed = [...this.accounts.values()].filter((a) => since === null || Math.floor(a.Modified_Time / 1000) * 1000 > since).map((a) => ({ a, k: key(a) }));
      const matching = keyed.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0)).map((x) => x.a);
      if (sortOrder === 'desc') matching.reverse();
      page = { ids: matching.map((a) => a.id), offset: (pageNo - 1) * perPage, expires: this.now() + DAY, sortBy, sortOrder, perPage };
    }
    const slice = page.ids.slice(page.offset, page.offset + page.perPage);
    const data = slice.map((id) => this.accounts.get(id)).filter((a): a is Stored => a !== undefined).map((a) => this.view(a, fields));
    const more = page.offset + page.perPage < page.ids.length;
    let next: string | null = null;
    if (more) {
      next = randomBytes(20).toString('hex');
      this.pageTokens.set(next, { ...page, offset: page.offset + page.perPage, expires: this.now() + DAY });
    }
    if (data.length === 0 && !more) return [204];
    return [200, {
      data, info: {
        call: false, per_page: page.perPage, next_page_token: next, count: data.length, sort_by: page.sortBy, page: Math.floor(page.offset / page.perPage) + 1,
        page_token_expiry: next ? zohoTime(this.now() + DAY) : null, sort_order: page.sortOrder, email: false, more_records: more, previous_page_token: null,
      },
    }];
  }

  /** The Query API, for the one query shape custos sends (an id keyset); see the header. */
  private coql(raw: string): [number, unknown?] {
    const syntax = (near: string) => [400, err('SYNTAX_ERROR', 'invalid query formed', { line: 1, column: 1, near })] as [number, unknown];
    let query: unknown;
    try { query = (JSON.parse(raw) as { select_query?: unknown }).select_query; } catch { return [400, err('INVALID_DATA', 'invalid data', { api_name: 'select_query' })]; }
    if (typeof query !== 'string') return [400, err('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: 'select_query' })];
    const m = /^select\s+([\w,\s]+?)\s+from\s+(\w+)\s+where\s+(id is not null|id\s*>\s*'?(\d{1,19})'?)\s+order\s+by\s+id(?:\s+asc)?\s+limit\s+(?:(\d+)\s*,\s*)?(\d+)(?:\s+offset\s+(\d+))?$/i.exec(query.trim());
    if (!m) return syntax(query.slice(0, 20));
    const fields = m[1]!.split(',').map((f) => f.trim());
    if (m[2] !== 'Accounts') return [400, err('INVALID_QUERY', 'invalid query formed', { reason: 'invalid module', module: m[2] })];
    if (fields.some((f) => !(f in FIELDS))) return [400, err('INVALID_QUERY', 'column given seems to be invalid', { column_name: fields.find((f) => !(f in FIELDS)), clause: 'select' })];
    const limit = Number(m[6]);
    const offset = Number(m[5] ?? m[7] ?? 0);
    if (limit < 1 || limit > 2000) return [400, err('LIMIT_EXCEEDED', 'limit exceeded', { by: 'limit', limit: 2000 })];
    if (offset + limit > this.coqlOffsetLimit) return [400, err('LIMIT_EXCEEDED', 'limit exceeded', { by: 'offset', limit: this.coqlOffsetLimit })];
    const after = m[4] === undefined ? -1n : BigInt(m[4]);
    const ids = [...this.accounts.keys()].map(BigInt).filter((id) => id > after).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const data = ids.slice(offset, offset + limit).map((id) => this.view(this.accounts.get(String(id))!, fields));
    if (data.length === 0) return [204];
    return [200, { data, info: { count: data.length, more_records: offset + limit < ids.length } }];
  }

  private deletedList(q: Record<string, string>, ims: string | undefined): [number, unknown?] {
    const type = q.type ?? 'all';
    if (!['all', 'recycle', 'permanent'].includes(type)) return [400, { data: [err('PATTERN_NOT_MATCHED', 'Please check whether the input values are correct', { param_name: 'type' })] }];
    const perPage = Math.min(Number(q.per_page ?? 200), 200);
    const pageNo = Number(q.page ?? 1);
    const since = ims === undefined ? null : Date.parse(ims);
    const all = this.deleted.filter((d) => (type === 'all' || d.type === type) && (since === null || Math.floor(d.at / 1000) * 1000 > since)).sort((a, b) => b.at - a.at);
    const data = all.slice((pageNo - 1) * perPage, pageNo * perPage).map((d) => ({
      deleted_by: { name: 'Ann', id: '4150868000000225013' }, id: d.id, display_name: d.name, type: d.type,
      created_by: { name: 'Ann', id: '4150868000000225013' }, deleted_time: zohoTime(d.at),
    }));
    if (data.length === 0) return [204];
    return [200, { data, info: { per_page: perPage, count: data.length, page: pageNo, more_records: pageNo * perPage < all.length } }];
  }

  private watch(method: string, raw: string): [number, unknown?] {
    let body: { watch?: Partial<Channel & { channel_expiry: string }>[] };
    try { body = JSON.parse(raw) as typeof body; } catch { return [400, err('INVALID_DATA', 'invalid data', { api_name: 'watch' })]; }
    const w = body.watch?.[0];
    if (!w) return [400, err('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'watch' })];
    for (const f of ['channel_id', ...(method === 'POST' ? ['notify_url', 'events'] as const : [])] as const) {
      if (!w[f]) return [400, err('MANDATORY_NOT_FOUND', 'required field not found', { api_name: f })];
    }
    if (w.events && !w.events.every((e) => /^Accounts\.(all|create|edit|delete)$/.test(e))) return [400, err('INVALID_DATA', 'invalid data', { api_name: 'events' })];
    if (w.token !== undefined && String(w.token).length > 50) return [400, err('INVALID_DATA', 'invalid data', { api_name: 'token' })];
    if (method === 'PATCH' && this.channel?.channel_id !== String(w.channel_id)) return [400, err('INVALID_DATA', 'invalid data', { api_name: 'channel_id' })];
    const asked = Date.parse(w.channel_expiry ?? '');
    const expiry = Number.isFinite(asked) && asked > this.now() && asked <= this.now() + 7 * DAY ? asked : this.now() + HOUR;
    const base = method === 'PATCH' ? this.channel! : null;
    this.channel = {
      channel_id: String(w.channel_id), events: w.events ?? base!.events, expiry, token: w.token ?? base?.token ?? '', notify_url: w.notify_url ?? base!.notify_url,
    };
    return [method === 'POST' ? 201 : 200, {
      watch: [{
        code: 'SUCCESS', details: { events: [{ channel_expiry: zohoTime(expiry), resource_uri: `${this.url}/crm/v8/Accounts`, resource_id: '4150868000000002175', resource_name: 'Accounts', channel_id: String(w.channel_id) }] },
        message: 'Successfully subscribed for actions-watch of the given module', status: 'success',
      }],
    }];
  }
}
