// A local 简道云 (Jiandaoyun) open API, v5, following its documents: 开发指南 (hc.jiandaoyun.com/open/11261:
// POST + JSON, `Authorization: Bearer <API key>`, errors as HTTP 400 `{code, msg}`, 429 over the rate),
// 查询多条数据 (/open/14220: `app_id`, `entry_id`, `data_id` = the last id of the previous page, `limit`
// 1–100 default 10, `fields`, `filter {rel, cond[{field, type, method, value}]}`; answers `{data: [...]}`
// always in ascending id order), 表单字段查询 V5 (/open/14216: `{widgets, sysWidgets, dataModifyTime}`) and
// 数据推送 (/open/11507: deliveries signed with SHA-1 over "nonce:payload:secret:timestamp").
// Deleted records are simply absent. 30 requests per second (by the injected clock) and more get 429
// with `{code: 8303, msg: "超出请求频率限制"}`; a test may also exhaust the quota for the next n requests.
// The signer below is written from the document, not imported from custos, so the two can disagree.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeClock { now(): Date }
interface Stored { fields: Record<string, unknown>; createTime: string; updateTime: string }
interface Cond { field?: unknown; type?: unknown; method?: unknown; value?: unknown }

export const FAKE_WIDGETS = [
  { name: 'number', widgetName: '_widget_1700000000001', label: '客户编号', type: 'text' },
  { name: 'name', widgetName: '_widget_1700000000002', label: '客户名称', type: 'text' },
  { name: 'region', widgetName: '_widget_1700000000003', label: '区域', type: 'combo' },
  { name: 'tier', widgetName: '_widget_1700000000004', label: '等级', type: 'combo' },
  { name: 'phone', widgetName: '_widget_1700000000005', label: '电话', type: 'phone' },
  { name: 'owner', widgetName: '_widget_1700000000006', label: '负责人邮箱', type: 'text' },
];
const SYS_WIDGETS = ['creator', 'updater', 'createTime', 'updateTime', 'flowState'].map((name) => ({ name }));

const RATE_PER_SECOND = 30;

export class FakeJiandaoyun {
  readonly records = new Map<string, Stored>();
  readonly requests: { path: string; body: Record<string, unknown>; status: number }[] = [];
  widgets = FAKE_WIDGETS;
  private server: Server | null = null;
  private nextId = 0x64f0a1b2c3d4e5f600000000n;
  private recent: number[] = [];
  /** The ids in order, kept between list calls (a bench lists 100,000 records a page at a time). */
  private sortedIds: string[] | null = null;
  private exhausted = { after: 0, count: 0 };
  url = '';

  constructor(readonly opts: { apiKey: string; appId: string; entryId: string; clock: FakeClock }) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((resolve) => { this.server!.closeAllConnections(); this.server!.close(() => resolve()); });
  }

  // ---- control API for tests (these are 简道云 UI / API edits: they fire no webhook by themselves) ----

  /** Creates a record; returns its data id (ids grow, like 简道云's ObjectIds). */
  create(fields: Record<string, unknown>): string {
    const id = (this.nextId++).toString(16).padStart(24, '0');
    const at = this.opts.clock.now().toISOString();
    this.records.set(id, { fields: structuredClone(fields), createTime: at, updateTime: at });
    this.sortedIds = null;
    return id;
  }

  update(id: string, patch: Record<string, unknown>): void {
    const r = this.records.get(id);
    if (!r) throw new Error(`fake 简道云: no record ${id}`);
    r.fields = { ...r.fields, ...structuredClone(patch) };
    r.updateTime = this.opts.clock.now().toISOString();
  }

  remove(id: string): void { this.records.delete(id); this.sortedIds = null; }

  /** After `after` more accepted requests, the next `count` requests get 429 (quota exhausted). */
  exhaust(count: number, after = 0): void { this.exhausted = { after, count }; }

  /** The record as the API shows it (system fields included). */
  view(id: string): Record<string, unknown> | null {
    const r = this.records.get(id);
    return r ? { _id: id, appId: this.opts.appId, entryId: this.opts.entryId, createTime: r.createTime, updateTime: r.updateTime, ...structuredClone(r.fields) } : null;
  }

  /** Sends one 数据推送 delivery to `url`, signed as documented; `tamper` alters it after signing. */
  async deliver(url: string, secret: string, op: 'data_create' | 'data_update' | 'data_remove', id: string, opts: {
    deliverId?: string; timestamp?: number; nonce?: string; data?: Record<string, unknown>; tamper?: (d: { body: string; headers: Record<string, string>; query: URLSearchParams }) => void;
  } = {}): Promise<Response> {
    // `data` lets a test send an older snapshot (a delivery that arrives after a newer one).
    const data = opts.data ?? (op === 'data_remove' ? { _id: id } : this.view(id) ?? { _id: id });
    const body = JSON.stringify({ op, data });
    const timestamp = String(opts.timestamp ?? Math.floor(this.opts.clock.now().getTime() / 1000));
    const nonce = opts.nonce ?? randomBytes(3).toString('hex');
    const signature = createHash('sha1').update(`${nonce}:${body}:${secret}:${timestamp}`, 'utf8').digest('hex');
    const d = { body, headers: { 'content-type': 'application/json', 'x-jdy-signature': signature, 'x-jdy-deliverid': opts.deliverId ?? randomBytes(12).toString('hex') } as Record<string, string>, query: new URLSearchParams({ timestamp, nonce }) };
    opts.tamper?.(d);
    return fetch(`${url}?${d.query.toString()}`, { method: 'POST', headers: d.headers, body: d.body });
  }

  // ---- the API ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    let body: Record<string, unknown> = {};
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>; } catch { return this.answer(res, req.url ?? '', body, 400, { code: 1, msg: 'The request is invalid.' }); }
    const path = req.url ?? '';
    if (req.method !== 'POST') return this.answer(res, path, body, 404, { code: 1, msg: 'not found' });
    if (req.headers.authorization !== `Bearer ${this.opts.apiKey}`) return this.answer(res, path, body, 401, { code: 1, msg: 'Invalid API key' });
    if (this.overRate()) return this.answer(res, path, body, 429, { code: 8303, msg: '超出请求频率限制' });
    if (body.app_id !== this.opts.appId || body.entry_id !== this.opts.entryId) return this.answer(res, path, body, 400, { code: 1, msg: 'The request is invalid.' });
    if (path === '/api/v5/app/entry/data/list') return this.list(res, path, body);
    if (path === '/api/v5/app/entry/data/get') {
      const view = typeof body.data_id === 'string' ? this.view(body.data_id) : null;
      return view ? this.answer(res, path, body, 200, { data: view }) : this.answer(res, path, body, 400, { code: 1, msg: 'The request is invalid.' });
    }
    if (path === '/api/v5/app/entry/widget/list') return this.answer(res, path, body, 200, { widgets: this.widgets, sysWidgets: SYS_WIDGETS, dataModifyTime: this.latestUpdate() });
    return this.answer(res, path, body, 404, { code: 1, msg: 'not found' });
  }

  private overRate(): boolean {
    if (this.exhausted.after > 0) this.exhausted.after--;
    else if (this.exhausted.count > 0) { this.exhausted.count--; return true; }
    const now = this.opts.clock.now().getTime();
    this.recent = this.recent.filter((t) => t > now - 1000);
    if (this.recent.length >= RATE_PER_SECOND) return true;
    this.recent.push(now);
    return false;
  }

  private list(res: ServerResponse, path: string, body: Record<string, unknown>): void {
    const limit = body.limit === undefined ? 10 : body.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100) return this.answer(res, path, body, 400, { code: 1, msg: 'limit must be 1 to 100' });
    const after = typeof body.data_id === 'string' ? body.data_id : '';
    const fields = Array.isArray(body.fields) ? body.fields.map(String) : null;
    const match = this.filter(body.filter);
    if (match === 'invalid') return this.answer(res, path, body, 400, { code: 1, msg: 'The request is invalid.' });
    const ids = (this.sortedIds ??= [...this.records.keys()].sort());
    let lo = 0; let hi = ids.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (ids[mid]! <= after) lo = mid + 1; else hi = mid; }
    const out: Record<string, unknown>[] = [];
    for (let i = lo; i < ids.length; i++) {
      const id = ids[i]!;
      const v = this.view(id)!;
      if (!match(v)) continue;
      out.push(fields ? Object.fromEntries(Object.entries(v).filter(([k]) => k === '_id' || fields.includes(k))) : v);
      if (out.length === limit) break;
    }
    this.answer(res, path, body, 200, { data: out });
  }

  /** The documented filter on the date-time system fields (updateTime / createTime): eq, ne, range, gt, lt. */
  private filter(f: unknown): ((v: Record<string, unknown>) => boolean) | 'invalid' {
    if (f === undefined) return () => true;
    const { rel, cond } = (f ?? {}) as { rel?: unknown; cond?: unknown };
    if ((rel !== 'and' && rel !== 'or') || !Array.isArray(cond)) return 'invalid';
    const tests: ((v: Record<string, unknown>) => boolean)[] = [];
    for (const c of cond as Cond[]) {
      if ((c.field !== 'updateTime' && c.field !== 'createTime') || !Array.isArray(c.value)) return 'invalid';
      const field = c.field;
      const [a = null, b = null] = c.value.map((x: unknown) => (x === null || x === undefined ? null : Date.parse(String(x))));
      if (a !== null && Number.isNaN(a)) return 'invalid';
      const at = (v: Record<string, unknown>) => Date.parse(String(v[field]));
      if (c.method === 'range') tests.push((v) => (a === null || at(v) >= a) && (b === null || at(v) <= b));
      else if (c.method === 'gt') tests.push((v) => at(v) > a!);
      else if (c.method === 'lt') tests.push((v) => at(v) < a!);
      else if (c.method === 'eq') tests.push((v) => at(v) === a);
      else if (c.method === 'ne') tests.push((v) => at(v) !== a);
      else return 'invalid';
    }
    return rel === 'and' ? (v) => tests.every((t) => t(v)) : (v) => tests.some((t) => t(v));
  }

  private latestUpdate(): string | null {
    return [...this.records.values()].map((r) => r.updateTime).sort().at(-1) ?? null;
  }

  private answer(res: ServerResponse, path: string, body: Record<string, unknown>, status: number, payload: unknown): void {
    this.requests.push({ path, body, status });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  }
}
