// A fake Salesforce org (REST API v62.0 shapes; developer.salesforce.com "REST API Developer Guide":
// Query, Query More Results, sObject Get Deleted, sObject Describe, Status Codes and Error Responses;
// "OAuth 2.0 Client Credentials Flow" and "OAuth 2.0 JWT Bearer Flow"; "API Request Limits and
// Allocations"), talked to by real jsforce:
//   POST /services/oauth2/token  form grant_type=client_credentials&client_id&client_secret, or
//        grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<RS256 JWT iss/sub/aud/exp>
//        200 {access_token, instance_url, id, token_type:"Bearer", issued_at, signature}
//        400 {"error":"invalid_client"|"invalid_grant","error_description":…}
//   Every /services/data/vXX.X/… call needs `Authorization: Bearer <token>` (401 INVALID_SESSION_ID),
//   counts against the daily API request limit (403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit
//   exceeded." once used up) and answers `Sforce-Limit-Info: api-usage=<used>/<limit>`.
//   GET  query?q=SOQL        {totalSize, done, nextRecordsUrl?, records:[{attributes:{type,url}, …}]},
//        batches of `Sforce-Query-Options: batchSize=N` (200–2000, default 2000); the SOQL subset of
//        ./salesforce-soql.ts, else 400 MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE
//   GET  query/<locator>-<offset>  the next batch (400 INVALID_QUERY_LOCATOR for an unknown one)
//   GET  sobjects/Account/deleted/?start&end  {deletedRecords:[{id, deletedDate}], earliestDateAvailable,
//        latestDateCovered}; 400 INVALID_REPLICATION_DATE when start is not a minute before end or is
//        more than 15 days back
//   GET  sobjects/Account/describe  {name, label, fields:[{name, type, label, relationshipName, referenceTo}]}
//   GET  query?q=SELECT COUNT() FROM Account  {totalSize, done: true, records: []}
//   Bulk API 2.0 query jobs (POST jobs/query, GET jobs/query/<id>, GET jobs/query/<id>/results): ./salesforce-bulk.ts
// Errors are JSON arrays [{"message":…,"errorCode":…}]. Record dateTimes have second precision and read
// 2026-06-01T08:00:00.000+0000. `throttle(n, s)` answers the next n calls 429 with Retry-After: s.
// The control API (create, update, remove, moveOwner, exhaust/restore quota, purge the delete log,
// expire tokens) and `calls` are for the tests.
import { createVerify, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeBulkQueries, sfBulkDateTime } from './salesforce-bulk.ts';
import { SoqlError, matches, namedFields, parseSoql, type SoqlQuery } from './salesforce-soql.ts';

export const FAKE_API_VERSION = '62.0';
const DAY = 24 * 3600_000;

export interface FakeAccount {
  Id: string; Name: string; AccountNumber: string | null; Phone: string | null; Region__c: string | null; Tier__c: string | null;
  OwnerId: string; CreatedDate: number; SystemModstamp: number;
}
export type AccountInput = { Name: string; AccountNumber?: string | null; Phone?: string | null; Region__c?: string | null; Tier__c?: string | null; ownerEmail: string };

interface User { Id: string; Email: string; Name: string }
export interface FakeCall { method: string; path: string; soql?: string; search?: string; status: number }

const ACCOUNT_FIELDS: Record<string, string> = {
  Id: 'id', Name: 'string', AccountNumber: 'string', Phone: 'phone', Region__c: 'picklist', Tier__c: 'picklist',
  OwnerId: 'reference', CreatedDate: 'datetime', SystemModstamp: 'datetime', LastModifiedDate: 'datetime', IsDeleted: 'boolean',
};
const USER_FIELDS = ['Id', 'Email', 'Name'];

const sfDateTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
const errorBody = (errorCode: string, message: string) => JSON.stringify([{ message, errorCode }]);

export interface FakeSalesforceOptions {
  clientId?: string; clientSecret?: string; dailyLimit?: number;
  /** PEM public key of the connected app's certificate (JWT bearer flow) and the user it may sign in as. */
  jwt?: { publicKey: string; username: string };
  now?: () => Date;
}

export class FakeSalesforce {
  readonly accounts = new Map<string, FakeAccount>();
  readonly users = new Map<string, User>();
  readonly calls: FakeCall[] = [];
  readonly deleteLog: { id: string; at: number }[] = [];
  dailyLimit: number;
  used = 0;
  /** Called as each data request arrives (before it is answered): tests kill a process mid-page from here. */
  onRequest: ((call: { path: string; soql?: string }) => void) | null = null;
  private server: http.Server | null = null;
  private tokens = new Set<string>();
  private locators = new Map<string, unknown[]>();
  private seq = 0;
  private throttled = { count: 0, retryAfterS: 0 };
  private earliestDeleteLog = 0;
  url = '';
  readonly clientId: string;
  readonly clientSecret: string;
  /** Bulk API 2.0 query jobs; `bulk.created` lists the jobs custos created. */
  readonly bulk: FakeBulkQueries;

  constructor(private readonly opts: FakeSalesforceOptions = {}) {
    this.clientId = opts.clientId ?? '3MVG9fake.consumer.key';
    this.clientSecret = opts.clientSecret ?? 'fake-consumer-secret-0123456789';
    this.dailyLimit = opts.dailyLimit ?? 15000;
    this.bulk = new FakeBulkQueries((soql) => this.bulkRows(soql), () => this.now(), '005FK0000000000AAA');
  }

  now(): number { return Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000) * 1000; }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  // ---- control API -------------------------------------------------------------------------------

  private newId(prefix: string): string { return `${prefix}FK${String(++this.seq).padStart(10, '0')}AAA`; }

  userByEmail(email: string): User {
    for (const u of this.users.values()) if (u.Email === email) return u;
    const u = { Id: this.newId('005'), Email: email, Name: email.split('@')[0]! };
    this.users.set(u.Id, u);
    return u;
  }

  create(input: AccountInput): string {
    const now = this.now();
    const a: FakeAccount = {
      Id: this.newId('001'), Name: input.Name, AccountNumber: input.AccountNumber ?? null, Phone: input.Phone ?? null,
      Region__c: input.Region__c ?? null, Tier__c: input.Tier__c ?? null, OwnerId: this.userByEmail(input.ownerEmail).Id, CreatedDate: now, SystemModstamp: now,
    };
    this.accounts.set(a.Id, a);
    return a.Id;
  }

  update(id: string, changes: Partial<Omit<AccountInput, 'ownerEmail'>>): void {
    const a = this.accounts.get(id);
    if (!a) throw new Error(`no account ${id}`);
    Object.assign(a, changes, { SystemModstamp: this.now() });
  }

  moveOwner(id: string, email: string): void {
    const a = this.accounts.get(id);
    if (!a) throw new Error(`no account ${id}`);
    a.OwnerId = this.userByEmail(email).Id;
    a.SystemModstamp = this.now();
  }

  remove(id: string): void {
    if (!this.accounts.delete(id)) throw new Error(`no account ${id}`);
    this.deleteLog.push({ id, at: this.now() });
  }

  /** The org's delete log loses everything before `at` (Salesforce purges it; an admin can empty the Recycle Bin). */
  purgeDeleteLog(at: Date): void {
    this.earliestDeleteLog = at.getTime();
    this.deleteLog.splice(0, this.deleteLog.length, ...this.deleteLog.filter((d) => d.at >= this.earliestDeleteLog));
  }

  exhaustQuota(): void { this.used = this.dailyLimit; }
  restoreQuota(): void { this.used = 0; }
  throttle(count: number, retryAfterS: number): void { this.throttled = { count, retryAfterS }; }
  expireTokens(): void { this.tokens.clear(); }
  /** Every open query locator expires (Salesforce drops them after about 15 minutes idle). */
  expireLocators(): void { this.locators.clear(); }

  // ---- HTTP --------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const send = (status: number, payload: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
      res.end(payload);
    };
    if (url.pathname === '/services/oauth2/token' && req.method === 'POST') { this.token(new URLSearchParams(body), send); return; }
    const m = /^\/services\/data\/v(\d+\.0)(\/.*)$/.exec(url.pathname);
    if (!m) { send(404, errorBody('NOT_FOUND', 'The requested resource does not exist')); return; }
    const rest = m[2]!;
    const isJobCreate = rest === '/jobs/query' && req.method === 'POST';
    const soql = rest === '/query' || rest === '/query/' ? url.searchParams.get('q') ?? undefined : isJobCreate ? jobSoql(body) : undefined;
    const call: FakeCall = { method: req.method ?? 'GET', path: rest, ...(soql !== undefined ? { soql } : {}), ...(url.search ? { search: url.search } : {}), status: 0 };
    this.calls.push(call);
    const answer = (status: number, payload: string, headers: Record<string, string> = {}) => {
      call.status = status;
      send(status, payload, { 'Sforce-Limit-Info': `api-usage=${this.used}/${this.dailyLimit}`, ...headers });
    };
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !this.tokens.has(auth.slice(7))) { answer(401, errorBody('INVALID_SESSION_ID', 'Session expired or invalid')); return; }
    if (Number(m[1]) < 31 || Number(m[1]) > Number(FAKE_API_VERSION)) { answer(404, errorBody('NOT_FOUND', 'The requested resource does not exist')); return; }
    this.onRequest?.({ path: rest, ...(soql !== undefined ? { soql } : {}) });
    if (this.throttled.count > 0) {
      this.throttled.count--;
      answer(429, errorBody('REQUEST_LIMIT_EXCEEDED', 'Too many requests'), { 'Retry-After': String(this.throttled.retryAfterS) });
      return;
    }
    if (this.used >= this.dailyLimit) { answer(403, errorBody('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.')); return; }
    this.used++;
    try {
      const v = `/services/data/v${m[1]}`;
      const job = /^\/jobs\/query\/(\w+)(\/results)?\/?$/.exec(rest);
      if (isJobCreate) this.bulk.create(body, m[1]!, answer);
      else if (req.method !== 'GET') answer(405, errorBody('METHOD_NOT_ALLOWED', `HTTP Method '${req.method}' not allowed. Allowed are GET`));
      else if (job?.[2]) this.bulk.results(job[1]!, url.searchParams, answer);
      else if (job) this.bulk.get(job[1]!, answer);
      else if (soql !== undefined) answer(200, JSON.stringify(this.query(soql, v, batchSizeOf(req.headers['sforce-query-options']))));
      else if (/^\/query\/[\w-]+$/.test(rest)) this.queryMore(rest.slice(7), v, batchSizeOf(req.headers['sforce-query-options']), answer);
      else if (/^\/sobjects\/Account\/deleted\/?$/.test(rest)) this.deleted(url.searchParams, answer);
      else if (/^\/sobjects\/Account\/describe\/?$/.test(rest)) answer(200, JSON.stringify(this.describe()));
      else answer(404, errorBody('NOT_FOUND', 'The requested resource does not exist'));
    } catch (err) {
      if (err instanceof SoqlError) answer(400, errorBody(err.errorCode, err.message));
      else throw err;
    }
  }

  private token(form: URLSearchParams, send: (s: number, p: string) => void): void {
    const grant = form.get('grant_type');
    let ok = false;
    if (grant === 'client_credentials') {
      if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
        send(400, JSON.stringify({ error: 'invalid_client', error_description: 'invalid client credentials' }));
        return;
      }
      ok = true;
    } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      ok = this.jwtValid(form.get('assertion') ?? '');
      if (!ok) { send(400, JSON.stringify({ error: 'invalid_grant', error_description: 'invalid assertion' })); return; }
    }
    if (!ok) { send(400, JSON.stringify({ error: 'unsupported_grant_type', error_description: 'grant type not supported' })); return; }
    const token = `00DFK0000000001!${randomBytes(24).toString('base64url')}`;
    this.tokens.add(token);
    send(200, JSON.stringify({
      access_token: token, instance_url: this.url, id: `${this.url}/id/00DFK0000000001AAA/005FK0000000000AAA`,
      token_type: 'Bearer', issued_at: String(Date.now()), signature: randomBytes(32).toString('base64'),
    }));
  }

  private jwtValid(assertion: string): boolean {
    const jwt = this.opts.jwt;
    const parts = assertion.split('.');
    if (!jwt || parts.length !== 3) return false;
    const [head, claims, sig] = parts as [string, string, string];
    if (!createVerify('RSA-SHA256').update(`${head}.${claims}`).verify(jwt.publicKey, Buffer.from(sig, 'base64url'))) return false;
    const h = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
    const c = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss?: string; sub?: string; aud?: string; exp?: number };
    return h.alg === 'RS256' && c.iss === this.clientId && c.sub === jwt.username && c.aud === this.url && typeof c.exp === 'number' && c.exp * 1000 > this.now();
  }

  private fieldValue(a: FakeAccount, field: string): string | number | null {
    if (field.startsWith('Owner.')) {
      const u = this.users.get(a.OwnerId)!;
      return (u as unknown as Record<string, string>)[field.slice(6)] ?? null;
    }
    if (field === 'LastModifiedDate') return a.SystemModstamp;
    if (field === 'IsDeleted') return 0;
    return (a as unknown as Record<string, string | number | null>)[field] ?? null;
  }

  private project(a: FakeAccount, fields: string[], v: string): Record<string, unknown> {
    const out: Record<string, unknown> = { attributes: { type: 'Account', url: `${v}/sobjects/Account/${a.Id}` } };
    for (const f of fields) {
      if (f.startsWith('Owner.')) {
        const owner = (out.Owner ??= { attributes: { type: 'User', url: `${v}/sobjects/User/${a.OwnerId}` } }) as Record<string, unknown>;
        owner[f.slice(6)] = this.fieldValue(a, f);
      } else if (ACCOUNT_FIELDS[f] === 'datetime') out[f] = sfDateTime(Number(this.fieldValue(a, f)));
      else if (f === 'IsDeleted') out[f] = false;
      else out[f] = this.fieldValue(a, f);
    }
    return out;
  }

  private check(q: SoqlQuery): void {
    if (q.object !== 'Account') throw new SoqlError('INVALID_TYPE', `sObject type '${q.object}' is not supported.`);
    for (const f of namedFields(q)) {
      const ok = f.startsWith('Owner.') ? USER_FIELDS.includes(f.slice(6)) : f in ACCOUNT_FIELDS;
      if (!ok) throw new SoqlError('INVALID_FIELD', `No such column '${f}' on entity 'Account'.`);
    }
    if (new Set(q.fields).size !== q.fields.length) throw new SoqlError('MALFORMED_QUERY', 'duplicate field selected');
  }

  private query(soql: string, v: string, batchSize: number): unknown {
    const q = parseSoql(soql);
    this.check(q);
    let rows = [...this.accounts.values()].filter((a) => matches(q.where, (f) => this.fieldValue(a, f)));
    if (q.count) return { totalSize: rows.length, done: true, records: [] };
    rows.sort((x, y) => {
      for (const o of q.orderBy) {
        const a = this.fieldValue(x, o.field);
        const b = this.fieldValue(y, o.field);
        const d = a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1;
        if (d !== 0) return o.desc ? -d : d;
      }
      return 0;
    });
    if (q.limit !== null) rows = rows.slice(0, q.limit);
    // Like a real query cursor, later pages show the records as they were when the query ran.
    const snapshot = rows.map((a) => this.project(a, q.fields, v));
    return this.batch(snapshot, 0, v, batchSize, `01gFK${String(++this.seq).padStart(13, '0')}`);
  }

  private batch(rows: unknown[], offset: number, v: string, batchSize: number, locator: string): unknown {
    const records = rows.slice(offset, offset + batchSize);
    const done = offset + batchSize >= rows.length;
    if (!done) this.locators.set(locator, rows); else this.locators.delete(locator);
    return { totalSize: rows.length, done, ...(done ? {} : { nextRecordsUrl: `${v}/query/${locator}-${offset + batchSize}` }), records };
  }

  private queryMore(id: string, v: string, batchSize: number, answer: (s: number, p: string) => void): void {
    const m = /^(01gFK\d{13})-(\d+)$/.exec(id);
    const rows = m ? this.locators.get(m[1]!) : undefined;
    if (!m || !rows) { answer(400, errorBody('INVALID_QUERY_LOCATOR', 'invalid query locator')); return; }
    answer(200, JSON.stringify(this.batch(rows, Number(m[2]), v, batchSize, m[1]!)));
  }

  private deleted(params: URLSearchParams, answer: (s: number, p: string) => void): void {
    const start = Date.parse(params.get('start') ?? '');
    const end = Date.parse(params.get('end') ?? '');
    if (Number.isNaN(start) || Number.isNaN(end)) { answer(400, errorBody('MALFORMED_QUERY', 'start and end must be dateTimes')); return; }
    if (end - start <= 60_000) { answer(400, errorBody('INVALID_REPLICATION_DATE', 'startDate must chronologically precede endDate by more than one minute')); return; }
    if (start < this.now() - 15 * DAY) { answer(400, errorBody('INVALID_REPLICATION_DATE', 'startDate cannot be more than 15 days ago')); return; }
    const latest = Math.min(end, Math.floor(this.now() / 60_000) * 60_000);
    const deletedRecords = this.deleteLog.filter((d) => d.at >= start && d.at < latest).map((d) => ({ id: d.id, deletedDate: sfDateTime(d.at) }));
    // earliestDateAvailable is "the timestamp of the last physically deleted object" (GetDeletedResult):
    // when the log was last purged, not its oldest entry — a deletion logged after the caller's cursor
    // must not look like a purge.
    answer(200, JSON.stringify({ deletedRecords, earliestDateAvailable: sfDateTime(this.earliestDeleteLog), latestDateCovered: sfDateTime(latest) }));
  }

  /** A bulk query's rows as CSV text values (dateTimes as 2026-06-01T08:00:00.000Z), in storage order. */
  private bulkRows(soql: string): { fields: string[]; object: string; rows: (string | null)[][] } {
    const q = parseSoql(soql);
    this.check(q);
    const rows = [...this.accounts.values()].filter((a) => matches(q.where, (f) => this.fieldValue(a, f))).map((a) => q.fields.map((f) => {
      const v = this.fieldValue(a, f);
      return v === null ? null : ACCOUNT_FIELDS[f] === 'datetime' ? sfBulkDateTime(Number(v)) : f === 'IsDeleted' ? 'false' : String(v);
    }));
    return { fields: q.fields, object: q.object, rows };
  }

  private describe(): unknown {
    return {
      name: 'Account', label: 'Account', queryable: true, replicateable: true,
      fields: Object.entries(ACCOUNT_FIELDS).map(([name, type]) => ({
        name, type, label: name.replace(/__c$/, ''), ...(name === 'OwnerId' ? { relationshipName: 'Owner', referenceTo: ['User'] } : { relationshipName: null, referenceTo: [] }),
      })),
    };
  }
}

function jobSoql(body: string): string | undefined {
  try { const q = (JSON.parse(body) as { query?: unknown }).query; return typeof q === 'string' ? q : undefined; } catch { return undefined; }
}

function batchSizeOf(header: string | string[] | undefined): number {
  const m = /batchSize=(\d+)/.exec(String(header ?? ''));
  const n = m ? Number(m[1]) : 2000;
  return Math.min(2000, Math.max(200, n));
}
