// A local 金蝶云星空 (Kingdee K/3 Cloud) WebAPI, following its documents (open.kingdee.com, 金蝶云星空 WebAPI:
// 第三方系统登录授权 LoginByAppSecret and 单据查询 ExecuteBillQuery, as the official SDKs call them):
//   POST /Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc
//        {parameters: [acctId, username, appId, appSecret, lcid]} → {LoginResultType: 1, KDSVCSessionId, …}
//        and Set-Cookie kdservice-sessionid; wrong credentials → LoginResultType 0
//   POST /Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc
//        {data: {FormId, FieldKeys, FilterString, OrderString, TopRowCount, StartRow, Limit}} → rows as arrays
//        in FieldKeys order; failures are HTTP 200 with [[{Result: {ResponseStatus: {ErrorCode: 500,
//        IsSuccess: false, Errors: [{FieldName, Message, DIndex}], MsgCode}}}]] — MsgCode 1 when the session
//        cookie is missing, unknown or expired ("会话信息已丢失，请重新登录").
// FModifyDate is stamped by the server on every save, in its local time (UTC+8 here), without a zone.
// FilterString is SQL-like; this fake understands the few forms a careful client needs (comparisons on
// FModifyDate, FCUSTID, FForbidStatus and FUseOrgId.FNumber joined by AND/OR with parentheses, and
// FCUSTID IN (…)) and refuses anything else, so custos cannot come to rely on a form it never tested.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeClock { now(): Date }
export interface KingdeeCredentials { acctId: string; username: string; appId: string; appSecret: string }
interface Row { id: number; modified: string; forbid: 'A' | 'B'; fields: Record<string, unknown> }

const LOGIN = '/Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc';
const QUERY = '/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc';
export const KINGDEE_FIELDS = ['FCUSTID', 'FNumber', 'FName', 'FShortName', 'FTEL', 'FGroup.FNumber', 'FSeller.FNumber', 'FUseOrgId.FNumber', 'FModifyDate', 'FForbidStatus', 'FDocumentStatus'];

const failure = (msgCode: number, message: string) => [[{ Result: { ResponseStatus: { ErrorCode: 500, IsSuccess: false, Errors: [{ FieldName: null, Message: message, DIndex: 0 }], SuccessEntitys: [], SuccessMessages: [], MsgCode: msgCode } } }]];

export class FakeKingdee {
  readonly rows = new Map<number, Row>();
  readonly requests: { service: 'login' | 'query'; data?: Record<string, unknown>; answer: 'rows' | 'session-lost' | 'error' | 'login-ok' | 'login-refused' | 'http' }[] = [];
  private readonly sessions = new Set<string>();
  private server: Server | null = null;
  private nextId = 100_001;
  private failures = { count: 0, status: 503 };
  /** Called after each query is answered (a test edits rows between the pages of one scan). */
  afterQuery: ((served: number) => void) | null = null;
  private served = 0;
  url = '';

  constructor(readonly opts: { credentials: KingdeeCredentials; clock: FakeClock }) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/k3cloud`;
    return this.url;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((resolve) => { this.server!.closeAllConnections(); this.server!.close(() => resolve()); });
  }

  // ---- control API for tests (saves in the K/3 client: each stamps FModifyDate) ----

  /** The server's local time (UTC+8), as K/3 writes FModifyDate. */
  stamp(at = this.opts.clock.now()): string {
    return new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 23);
  }

  create(fields: Record<string, unknown>, modified = this.stamp()): number {
    const id = this.nextId++;
    this.rows.set(id, { id, modified, forbid: 'A', fields: { FDocumentStatus: 'C', ...fields } });
    return id;
  }

  update(id: number, fields: Record<string, unknown>, modified = this.stamp()): void {
    const row = this.rows.get(id)!;
    this.rows.set(id, { ...row, modified, fields: { ...row.fields, ...fields } });
  }

  forbid(id: number): void { this.rows.set(id, { ...this.rows.get(id)!, forbid: 'B', modified: this.stamp() }); }
  remove(id: number): void { this.rows.delete(id); }
  /** Every session ends (the server restarted, or the session timed out). */
  expireSessions(): void { this.sessions.clear(); }
  /** The next `count` requests get HTTP `status` (a gateway in front of K/3 refusing for a while). */
  failNext(count: number, status = 503): void { this.failures = { count, status }; }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => { res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }); res.end(JSON.stringify(body)); };
    if (this.failures.count > 0) { this.failures.count--; this.requests.push({ service: (req.url ?? '').endsWith(LOGIN) ? 'login' : 'query', answer: 'http' }); return send(this.failures.status, { message: 'busy' }, { 'retry-after': '2' }); }
    const path = (req.url ?? '').replace(/^\/k3cloud/, '');
    let body: Record<string, unknown>;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>; } catch { return send(200, failure(8, '参数格式错误')); }
    if (req.method === 'POST' && path === LOGIN) return this.login(body, send);
    if (req.method === 'POST' && path === QUERY) return this.query(req, body, send);
    send(404, { message: 'not found' });
  }

  private login(body: Record<string, unknown>, send: (s: number, b: unknown, h?: Record<string, string>) => void): void {
    const c = this.opts.credentials;
    const p = body.parameters;
    const ok = Array.isArray(p) && p[0] === c.acctId && p[1] === c.username && p[2] === c.appId && p[3] === c.appSecret && [2052, 1033, 3076].includes(Number(p[4]));
    if (!ok) { this.requests.push({ service: 'login', answer: 'login-refused' }); return send(200, { Message: '登录失败', MessageCode: 'CheckPasswordPolicy', LoginResultType: 0, Context: null, KDSVCSessionId: null }); }
    const session = randomBytes(16).toString('hex');
    this.sessions.add(session);
    this.requests.push({ service: 'login', answer: 'login-ok' });
    send(200, { Message: null, MessageCode: null, LoginResultType: 1, Context: { UserName: c.username, DataCenterNumber: c.acctId }, KDSVCSessionId: session, IsSuccessByAPI: true },
      { 'set-cookie': `kdservice-sessionid=${session}; path=/` });
  }

  private query(req: IncomingMessage, body: Record<string, unknown>, send: (s: number, b: unknown) => void): void {
    const session = /(?:^|;\s*)kdservice-sessionid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const data = (body.data ?? {}) as Record<string, unknown>;
    if (!session || !this.sessions.has(session)) { this.requests.push({ service: 'query', data, answer: 'session-lost' }); return send(200, failure(1, '会话信息已丢失，请重新登录')); }
    const refuse = (message: string) => { this.requests.push({ service: 'query', data, answer: 'error' }); send(200, failure(0, message)); };
    if (data.FormId !== 'BD_Customer') return refuse(`业务对象 ${String(data.FormId)} 不存在`);
    const keys = String(data.FieldKeys ?? '').split(',').map((k) => k.trim());
    const unknown = keys.find((k) => !KINGDEE_FIELDS.includes(k));
    if (unknown !== undefined) return refuse(`字段 ${unknown} 不存在`);
    const limit = Number(data.Limit ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return refuse('Limit 必须在 1 到 10000 之间');
    const matches = parseFilter(String(data.FilterString ?? ''));
    if (matches === null) return refuse('过滤条件语法错误');
    const order = String(data.OrderString ?? '').replace(/\s+/g, ' ').trim();
    const byStampThenId = (a: Row, b: Row) => cmpStamp(a.modified, b.modified) || a.id - b.id;
    const sorter = order === 'FModifyDate ASC,FCUSTID ASC' ? byStampThenId : order === 'FCUSTID ASC' ? (a: Row, b: Row) => a.id - b.id : null;
    if (!sorter) return refuse('排序条件语法错误');
    const start = Number(data.StartRow ?? 0);
    const found = [...this.rows.values()].filter((r) => matches(valueOf(r))).sort(sorter).slice(start, start + limit);
    this.requests.push({ service: 'query', data, answer: 'rows' });
    send(200, found.map((r) => keys.map((k) => valueOf(r)(k) ?? null)));
    this.afterQuery?.(++this.served);
  }
}

const valueOf = (r: Row) => (key: string): unknown =>
  key === 'FCUSTID' ? r.id : key === 'FModifyDate' ? r.modified : key === 'FForbidStatus' ? r.forbid : r.fields[key];

const cmpStamp = (a: string, b: string) => Date.parse(`${a.replace(' ', 'T')}Z`) - Date.parse(`${b.replace(' ', 'T')}Z`);

type Pred = (get: (key: string) => unknown) => boolean;

/** The FilterString forms this fake understands; null for anything else. */
export function parseFilter(text: string): Pred | null {
  const tokens = text.match(/\(|\)|'[^']*'|[A-Za-z_.]+|>=|<=|<>|[=<>,]|\d+/g) ?? [];
  // Every character must belong to a token: anything the tokenizer skips is a form this fake refuses.
  if (tokens.join('') !== text.replace(/('[^']*')|\s+/g, (_m, q: string | undefined) => q ?? '')) return null;
  let i = 0;
  const peek = () => tokens[i];
  const or = (): Pred | null => {
    let left = and(); if (!left) return null;
    while (peek()?.toUpperCase() === 'OR') { i++; const right = and(); if (!right) return null; const l: Pred = left; left = (g) => l(g) || right(g); }
    return left;
  };
  const and = (): Pred | null => {
    let left = atom(); if (!left) return null;
    while (peek()?.toUpperCase() === 'AND') { i++; const right = atom(); if (!right) return null; const l: Pred = left; left = (g) => l(g) && right(g); }
    return left;
  };
  const atom = (): Pred | null => {
    if (peek() === '(') { i++; const inner = or(); if (!inner || tokens[i++] !== ')') return null; return inner; }
    const field = tokens[i++];
    const op = tokens[i++];
    if (field === 'FCUSTID' && op?.toUpperCase() === 'IN') {
      if (tokens[i++] !== '(') return null;
      const ids = new Set<number>();
      for (;;) { const n = tokens[i++]; if (!n || !/^\d+$/.test(n)) return null; ids.add(Number(n)); const sep = tokens[i++]; if (sep === ')') break; if (sep !== ',') return null; }
      return (g) => ids.has(g('FCUSTID') as number);
    }
    const lit = tokens[i++];
    if (!field || !op || !lit || !['=', '>', '<', '>=', '<=', '<>'].includes(op)) return null;
    const cmp = (a: number) => ({ '=': a === 0, '>': a > 0, '<': a < 0, '>=': a >= 0, '<=': a <= 0, '<>': a !== 0 })[op]!;
    if (field === 'FCUSTID' && /^\d+$/.test(lit)) return (g) => cmp((g('FCUSTID') as number) - Number(lit));
    if (field === 'FModifyDate' && /^'\d{4}-\d{2}-\d{2}[ T][\d:.]+'$/.test(lit)) return (g) => cmp(cmpStamp(String(g('FModifyDate')), lit.slice(1, -1)));
    if ((field === 'FForbidStatus' || field === 'FUseOrgId.FNumber') && /^'[^']*'$/.test(lit) && (op === '=' || op === '<>')) return (g) => cmp(g(field) === lit.slice(1, -1) ? 0 : 1);
    return null;
  };
  if (text.trim() === '') return () => true;
  const pred = or();
  return pred && i === tokens.length ? pred : null;
}
