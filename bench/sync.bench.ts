// `npm run bench -- sync [--source=salesforce|zoho|kingdee|sharecrm|jiandaoyun]` (or BENCH_SYNC_SOURCE): N accounts
// (BENCH_SYNC_RECORDS, default 100,000) synced from the source's fake CRM (test/fakes/salesforce.ts through
// real jsforce, test/fakes/zoho.ts, kingdee.ts, sharecrm.ts or jiandaoyun.ts; in this process, over HTTP on loopback)
// through the source's connector and the sync runner (mapping,
// validation, AES-GCM, blind indexes, links, cursor) — against the raw import path on the same records in
// the same run: the same mapped and validated customers stored with CustomerStore.upsertMany in batches of
// the same size (what `custos import customers` stores through), only the upserts timed. Peak RSS is
// sampled up to the 20,000th record and to the end: it must stay flat (the connector holds one page at a
// time). The fake's own records count in this process's RSS; they are all allocated before the first
// page is read.
// Last stdout line: {"bench":"sync","source":…,"rate":…,"baseline_rate":…,"ratio":…,"peak_rss_mb":…}
import { readFileSync } from 'node:fs';
import mongoose, { type Connection } from 'mongoose';
import type { Clock } from '../bot/core/ports.ts';
import type { Customer, Employee } from '../bot/core/domain.ts';
import { createLogger } from '../bot/logger.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { parseCustomerRow } from '../bot/store/import-schemas.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { mapRecord, parseMapping, type SyncMapping } from '../bot/sync/mapping.ts';
import { RateBudget } from '../bot/sync/rate-budget.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { salesforceConnector } from '../bot/sync/salesforce/connector.ts';
import type { ConnectorContext } from '../bot/sync/setup.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import type { Connector } from '../bot/sync/types.ts';
import { jiandaoyunConnector } from '../bot/sync/jiandaoyun/index.ts';
import { kingdeeConnector } from '../bot/sync/kingdee/index.ts';
import { shareCrmConnector } from '../bot/sync/sharecrm/index.ts';
import { zohoConnector } from '../bot/sync/zoho/index.ts';
import { FakeJiandaoyun } from '../test/fakes/jiandaoyun.ts';
import { FakeKingdee } from '../test/fakes/kingdee.ts';
import { FakeSalesforce } from '../test/fakes/salesforce.ts';
import { FakeShareCrm } from '../test/fakes/sharecrm.ts';
import { FakeZoho } from '../test/fakes/zoho.ts';
import { now, peakRss, report, requireEnv, round } from './lib.ts';

const N = Number(process.env.BENCH_SYNC_RECORDS ?? 100_000);
const RSS_MARK = Math.min(20_000, Math.round(N / 5));
const BATCH = 2000;
const OWNER: Employee = { employeeId: 'E-0001', email: 'owner@example.com', name: 'owner', department: 'sales', roles: ['staff'], region: 'east', timezone: 'Asia/Shanghai', locale: 'en', status: 'active', external: false, chat: {} };
const log = (msg: string) => process.stderr.write(`sync bench: ${msg}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** What the bench needs of a source: its fake filled with N accounts, the records as its connector maps them, its connector. */
interface BenchSource {
  mapping: SyncMapping;
  /** Records per page the connector reads. */
  pageSize: number;
  start(): Promise<void>;
  fill(n: number): void;
  records(): Iterable<Record<string, unknown>>;
  connector(ctx: Omit<ConnectorContext, 'env' | 'mapping'>): Connector;
  /** Calls `cb` as each record page is requested. */
  onPage(cb: () => void): void;
  calls(): number;
  close(): Promise<void>;
}

function salesforce(): BenchSource {
  const fake = new FakeSalesforce({ dailyLimit: 10_000_000 });
  const regions = ['CN-N', 'CN-E', 'CN-S'];
  const tiers = ['A', 'B', 'C'];
  const mapping = parseMapping(`
source: salesforce
object: Account
customerId: { from: AccountNumber, numeric: true }
fields: { name: Name, company: Name, region: { from: Region__c, values: { CN-N: north, CN-E: east, CN-S: south } }, tier: { from: Tier__c, values: { A: gold, B: silver, C: standard } }, phone: Phone }
constants: { type: company, status: active }
owner: { from: Owner.Email }
`);
  return {
    mapping, pageSize: BATCH, start: () => fake.start().then(() => undefined), close: () => fake.close(), calls: () => fake.calls.length,
    fill: (n) => { for (let i = 1; i <= n; i++) fake.create({ Name: `Bench Account ${i}`, AccountNumber: String(i), Phone: `139${String(i).padStart(8, '0')}`, Region__c: regions[i % 3]!, Tier__c: tiers[i % 3]!, ownerEmail: OWNER.email }); },
    *records() { for (const a of fake.accounts.values()) yield { ...a, Owner: { Email: OWNER.email } }; },
    connector: (ctx) => salesforceConnector({ ...ctx, mapping, env: { CUSTOS_SYNC_SALESFORCE_LOGIN_URL: fake.url, CUSTOS_SYNC_SALESFORCE_CLIENT_ID: fake.clientId, CUSTOS_SYNC_SALESFORCE_CLIENT_SECRET: fake.clientSecret, CUSTOS_SYNC_SALESFORCE_BATCH_SIZE: String(BATCH), CUSTOS_SYNC_SALESFORCE_REQUESTS_PER_SECOND: '1000', CUSTOS_SYNC_SALESFORCE_BULK_THRESHOLD: '0' } }),
    onPage: (cb) => { fake.onRequest = (c) => { if (c.path.startsWith('/query')) cb(); }; },
  };
}

function zoho(clock: Clock): BenchSource {
  const fake = new FakeZoho({ clock, clientId: '1000.BENCHCLIENT', clientSecret: 'bench-client-secret', refreshToken: '1000.bench.refresh' });
  fake.creditLimit = 10_000_000;
  const regions = ['North China', 'East China', 'South China'];
  const mapping = parseMapping(readFileSync(new URL('../test/fixtures/sync/zoho/zoho.yaml', import.meta.url), 'utf8'));
  return {
    mapping, pageSize: 200, start: () => fake.start().then(() => undefined), close: () => fake.close(), calls: () => fake.calls.length,
    fill: (n) => { for (let i = 1; i <= n; i++) fake.create({ Account_Name: `Bench Account ${i}`, Account_Number: String(i), Phone: `139${String(i).padStart(8, '0')}`, Region: regions[i % 3]!, ownerEmail: OWNER.email }); },
    *records() { for (const a of fake.accounts.values()) yield { ...a, Owner: { email: OWNER.email } }; },
    connector: (ctx) => zohoConnector({ ...ctx, mapping, env: { CUSTOS_SYNC_ZOHO_ACCOUNTS_URL: fake.url, CUSTOS_SYNC_ZOHO_CLIENT_ID: fake.opts.clientId, CUSTOS_SYNC_ZOHO_CLIENT_SECRET: fake.opts.clientSecret, CUSTOS_SYNC_ZOHO_REFRESH_TOKEN: fake.opts.refreshToken, CUSTOS_SYNC_ZOHO_REQUESTS_PER_SECOND: '1000' } }),
    onPage: (cb) => { fake.onRequest = (path) => { if (path === '/crm/v8/Accounts') cb(); }; },
  };
}

function kingdee(clock: Clock): BenchSource {
  const credentials = { acctId: 'bench-acct', username: 'custos-sync', appId: 'bench_app', appSecret: 'bench-app-secret' };
  const fake = new FakeKingdee({ credentials, clock });
  const groups = ['HB', 'HD', 'HN'];
  const mapping = parseMapping(readFileSync(new URL('../test/fixtures/sync/kingdee.yaml', import.meta.url), 'utf8'));
  return {
    mapping, pageSize: BATCH, start: () => fake.start().then(() => undefined), close: () => fake.close(), calls: () => fake.requests.length,
    fill: (n) => { for (let i = 1; i <= n; i++) fake.create({ FNumber: String(i), FName: `Bench Account ${i}`, FTEL: `139${String(i).padStart(8, '0')}`, 'FGroup.FNumber': groups[i % 3]!, 'FSeller.FNumber': 'XS001', 'FUseOrgId.FNumber': '100' }); },
    *records() { for (const r of fake.rows.values()) yield { ...r.fields, FGroup: { FNumber: r.fields['FGroup.FNumber'] }, FSeller: { FNumber: r.fields['FSeller.FNumber'] } }; },
    connector: (ctx) => kingdeeConnector({ ...ctx, mapping, env: {
      CUSTOS_SYNC_KINGDEE_SERVER_URL: fake.url, CUSTOS_SYNC_KINGDEE_ACCT_ID: credentials.acctId, CUSTOS_SYNC_KINGDEE_USERNAME: credentials.username,
      CUSTOS_SYNC_KINGDEE_APP_ID: credentials.appId, CUSTOS_SYNC_KINGDEE_APP_SECRET: credentials.appSecret, CUSTOS_SYNC_KINGDEE_PAGE_SIZE: String(BATCH), CUSTOS_SYNC_KINGDEE_REQUESTS_PER_SECOND: '1000',
    } }),
    onPage: (cb) => { fake.afterQuery = () => cb(); },
  };
}

function sharecrm(clock: Clock): BenchSource {
  const credentials = { appId: 'FSAID_bench', appSecret: 'bench-app-secret', permanentCode: 'BENCHPERMANENTCODE', openUserId: 'FSUID_BENCH' };
  const fake = new FakeShareCrm({ credentials, clock });
  fake.enforceRate = false; // custos paces itself below; the fake's 100-calls-per-20-s window would measure only the wait
  const regions = ['huabei', 'huadong', 'huanan'];
  const mapping = parseMapping(readFileSync(new URL('../test/fixtures/sync/sharecrm.yaml', import.meta.url), 'utf8'));
  const pageSize = 100; // the most custos asks 纷享销客 for in one query
  return {
    mapping, pageSize, start: () => fake.start().then(() => undefined), close: () => fake.close(), calls: () => fake.requests.length,
    fill: (n) => { for (let i = 1; i <= n; i++) fake.create({ account_no: String(i), name: `Bench Account ${i}`, tel: `139${String(i).padStart(8, '0')}`, region__c: regions[i % 3]!, owner: ['1000'] }); },
    *records() { for (const r of fake.rows.values()) yield r.fields; },
    connector: (ctx) => shareCrmConnector({ ...ctx, mapping, env: {
      CUSTOS_SYNC_SHARECRM_API_URL: fake.url, CUSTOS_SYNC_SHARECRM_APP_ID: credentials.appId, CUSTOS_SYNC_SHARECRM_APP_SECRET: credentials.appSecret,
      CUSTOS_SYNC_SHARECRM_PERMANENT_CODE: credentials.permanentCode, CUSTOS_SYNC_SHARECRM_OPEN_USER_ID: credentials.openUserId,
      CUSTOS_SYNC_SHARECRM_PAGE_SIZE: String(pageSize), CUSTOS_SYNC_SHARECRM_REQUESTS_PER_SECOND: '1000',
    } }),
    onPage: (cb) => { fake.afterQuery = () => cb(); },
  };
}

function jiandaoyun(): BenchSource {
  const keys = { apiKey: 'jdy-bench-api-key-0123456789abcdef', appId: '59264073a2a60c0c08e20bfb', entryId: '59264073a2a60c0c08e20bfd' };
  // The fake's records are stamped ten minutes ago: the connector reads windows that end a minute before now.
  const fake = new FakeJiandaoyun({ ...keys, clock: { now: () => new Date(Date.now() - 600_000) } });
  const regions = ['华北', '华东', '华南'];
  const mapping = parseMapping(readFileSync(new URL('../test/fixtures/sync/jiandaoyun.yaml', import.meta.url), 'utf8'));
  let pages: (() => void) | null = null;
  return {
    mapping, pageSize: 100, start: () => fake.start().then(() => undefined), close: () => fake.close(), calls: () => fake.requests.length,
    fill: (n) => { for (let i = 1; i <= n; i++) fake.create({ number: String(i), name: `Bench Account ${i}`, region: regions[i % 3]!, tier: 'A', phone: `139${String(i).padStart(8, '0')}`, owner: OWNER.email }); },
    *records() { for (const id of fake.records.keys()) yield fake.view(id)!; },
    connector: (ctx) => {
      const c = jiandaoyunConnector({ ...ctx, mapping, env: { CUSTOS_SYNC_JIANDAOYUN_API_URL: fake.url, CUSTOS_SYNC_JIANDAOYUN_API_KEY: keys.apiKey, CUSTOS_SYNC_JIANDAOYUN_APP_ID: keys.appId, CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: keys.entryId } });
      const read = c.readChanges.bind(c);
      c.readChanges = (cursor) => { pages?.(); return read(cursor); };
      return c;
    },
    onPage: (cb) => { pages = cb; },
  };
}

const SOURCES: Record<string, (clock: Clock) => BenchSource> = { salesforce, zoho, kingdee, sharecrm, jiandaoyun };
const source = (process.argv.find((a) => a.startsWith('--source='))?.slice(9) ?? process.env.BENCH_SYNC_SOURCE ?? 'salesforce');
if (!(source in SOURCES)) { process.stderr.write(`sync bench: --source must be one of ${Object.keys(SOURCES).join(', ')}\n`); process.exit(2); }

async function freshDatabase(uri: string, name: string): Promise<Connection> {
  const conn = await mongoose.createConnection(uri, { dbName: name, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  await conn.dropDatabase();
  await ensureIndexes(conn);
  return conn;
}

/** The source's accounts as the runner would store them (mapping, then the import's validation). */
function* mappedCustomers(src: BenchSource): Generator<Customer> {
  for (const a of src.records()) {
    const m = mapRecord(src.mapping, a);
    if (!m.ok) throw new Error('bench record does not map');
    const p = parseCustomerRow({ ...m.value.row, ownerId: OWNER.employeeId });
    if (!p.ok) throw new Error('bench record is invalid');
    yield p.value;
  }
}

/** CustomerStore.upsertMany of records [from, to) in batches of the source's page size; only the upserts are timed. */
async function baseline(store: CustomerStore, src: BenchSource, from: number, to: number): Promise<number> {
  let timed = 0;
  let i = 0;
  let batch: Customer[] = [];
  const flush = async () => { const t0 = now(); await store.upsertMany(batch); timed += now() - t0; batch = []; };
  for (const c of mappedCustomers(src)) {
    if (i++ < from) continue;
    if (i > to) break;
    batch.push(c);
    if (batch.length >= src.pageSize) await flush();
  }
  if (batch.length) await flush();
  return timed / 1000;
}

async function main(): Promise<void> {
  const uri = requireEnv('MONGODB_URI');
  const cipher = new FieldCipher({ dataKeys: [{ id: 'bench', key: Buffer.alloc(32, 1) }], blindIndexKey: Buffer.alloc(32, 2) });
  const clock = { now: () => new Date() };
  const src = SOURCES[source]!(clock);
  await src.start();
  const syncConn = await freshDatabase(uri, `bench_sync_${process.pid}`);
  const rawConn = await freshDatabase(uri, `bench_sync_raw_${process.pid}`);
  try {
    src.fill(N);
    await new EmployeeStore(syncConn).upsertMany([OWNER]);
    const store = new SyncStore(syncConn);
    await store.ensureIndexes();
    const customers = new CustomerStore(syncConn, cipher);
    const runner = new SyncRunner({
      customers, store, clock, employees: new EmployeeStore(syncConn), recorder: { record: async () => undefined },
      revoker: new StoreCustomerRevoker(new MongoGrantStore(syncConn), new MongoRequestStore(syncConn)),
    }, src.connector({
      source, clock, logger: createLogger({ level: 'silent' }),
      budget: (perSecond) => new RateBudget({ source, perSecond, share: 1, clock }),
    }), src.mapping);
    const rawStore = new CustomerStore(rawConn, cipher);

    // The shared machine's load drifts: half the baseline just before the sync, half just after.
    const half = Math.floor(N / 2);
    const rawBefore = await baseline(rawStore, src, 0, half);
    gc();
    const upTo20k = peakRss(10);
    let mark20k = 0;
    let served = 0;
    src.onPage(() => { if ((served++) * src.pageSize >= RSS_MARK && !mark20k) mark20k = upTo20k.stop(); });
    const whole = peakRss(10);
    const t0 = now();
    const r = await runner.run();
    const seconds = (now() - t0) / 1000;
    const peakMb = whole.stop();
    if (!mark20k) mark20k = upTo20k.stop();
    if (r.upserted !== N || r.rejected !== 0) throw new Error(`sync bench: expected ${N} upserted, got ${JSON.stringify({ ...r, rejections: r.rejections.slice(0, 3) })}`);
    const rawAfter = await baseline(rawStore, src, half, N);
    const rate = N / seconds;
    const baselineRate = N / (rawBefore + rawAfter);
    log(`${source}: ${N} records in ${round(seconds, 1)} s (${round(rate, 0)}/s, ${r.pages} pages, ${src.calls()} API calls)`);
    log(`raw CustomerStore.upsertMany: ${round(baselineRate, 0)}/s (${round(rawBefore, 1)} s before + ${round(rawAfter, 1)} s after)`);
    log(`peak RSS up to ${RSS_MARK} records: ${round(mark20k, 1)} MB; to ${N}: ${round(peakMb, 1)} MB`);
    process.stdout.write(`${JSON.stringify({ source, records: N, sync_seconds: round(seconds, 2), api_calls: src.calls(), peak_rss_at_mark_mb: round(mark20k, 1), mark_records: RSS_MARK })}\n`);
    report({ bench: 'sync', source, rate: round(rate, 1), baseline_rate: round(baselineRate, 1), ratio: round(rate / baselineRate, 3), peak_rss_mb: round(peakMb, 1) });
  } finally {
    await src.close();
    for (const c of [syncConn, rawConn]) { await c.dropDatabase().catch(() => undefined); await c.close().catch(() => undefined); }
  }
}

await main();
