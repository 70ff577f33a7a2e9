// `npm run bench -- sync [--source=salesforce]`: N accounts (BENCH_SYNC_RECORDS, default 100,000) synced
// from the fake Salesforce org (test/fakes/salesforce.ts, in this process, over HTTP on loopback) through
// real jsforce, the Salesforce connector and the sync runner (mapping, validation, AES-GCM, blind indexes,
// links, cursor) — against the raw import path on the same records in the same run: the same mapped and
// validated customers stored with CustomerStore.upsertMany in batches of the same size (what `custos
// import customers` stores through), only the upserts timed. Peak RSS is sampled up to the 20,000th
// record and to the end: it must stay flat (the connector holds one page at a time). The fake's own
// records count in this process's RSS; they are all allocated before the first page is read.
// Last stdout line: {"bench":"sync","rate":…,"baseline_rate":…,"ratio":…,"peak_rss_mb":…}
import mongoose, { type Connection } from 'mongoose';
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
import { mapRecord, parseMapping } from '../bot/sync/mapping.ts';
import { RateBudget } from '../bot/sync/rate-budget.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { salesforceConnector } from '../bot/sync/salesforce/connector.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { FakeSalesforce } from '../test/fakes/salesforce.ts';
import { now, peakRss, report, requireEnv, round } from './lib.ts';

const N = Number(process.env.BENCH_SYNC_RECORDS ?? 100_000);
const RSS_MARK = Math.min(20_000, Math.round(N / 5));
const BATCH = 2000;
const SOURCES = ['salesforce'];
const source = (process.argv.find((a) => a.startsWith('--source='))?.slice(9) ?? process.env.BENCH_SYNC_SOURCE ?? 'salesforce');
if (!SOURCES.includes(source)) { process.stderr.write(`sync bench: --source must be one of ${SOURCES.join(', ')}\n`); process.exit(2); }

const OWNER: Employee = { employeeId: 'E-0001', email: 'owner@example.com', name: 'owner', department: 'sales', roles: ['staff'], region: 'east', timezone: 'Asia/Shanghai', locale: 'en', status: 'active', external: false, chat: {} };
const MAPPING = parseMapping(`
source: salesforce
object: Account
customerId: { from: AccountNumber, numeric: true }
fields: { name: Name, company: Name, region: { from: Region__c, values: { CN-N: north, CN-E: east, CN-S: south } }, tier: { from: Tier__c, values: { A: gold, B: silver, C: standard } }, phone: Phone }
constants: { type: company, status: active }
owner: { from: Owner.Email }
`);
const REGIONS = ['CN-N', 'CN-E', 'CN-S'];
const TIERS = ['A', 'B', 'C'];
const log = (msg: string) => process.stderr.write(`sync bench: ${msg}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

async function freshDatabase(uri: string, name: string): Promise<Connection> {
  const conn = await mongoose.createConnection(uri, { dbName: name, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  await conn.dropDatabase();
  await ensureIndexes(conn);
  return conn;
}

function fillOrg(fake: FakeSalesforce): void {
  for (let i = 1; i <= N; i++) {
    fake.create({ Name: `Bench Account ${i}`, AccountNumber: String(i), Phone: `139${String(i).padStart(8, '0')}`, Region__c: REGIONS[i % 3]!, Tier__c: TIERS[i % 3]!, ownerEmail: OWNER.email });
  }
}

/** The org's accounts as the runner would store them (mapping, then the import's validation). */
function* mappedCustomers(fake: FakeSalesforce): Generator<Customer> {
  for (const a of fake.accounts.values()) {
    const m = mapRecord(MAPPING, { ...a, Owner: { Email: OWNER.email } });
    if (!m.ok) throw new Error('bench record does not map');
    const p = parseCustomerRow({ ...m.value.row, ownerId: OWNER.employeeId });
    if (!p.ok) throw new Error('bench record is invalid');
    yield p.value;
  }
}

/** CustomerStore.upsertMany of records [from, to) in batches of BATCH; only the upserts are timed. */
async function baseline(store: CustomerStore, fake: FakeSalesforce, from: number, to: number): Promise<number> {
  let timed = 0;
  let i = 0;
  let batch: Customer[] = [];
  const flush = async () => { const t0 = now(); await store.upsertMany(batch); timed += now() - t0; batch = []; };
  for (const c of mappedCustomers(fake)) {
    if (i++ < from) continue;
    if (i > to) break;
    batch.push(c);
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length) await flush();
  return timed / 1000;
}

async function main(): Promise<void> {
  const uri = requireEnv('MONGODB_URI');
  const cipher = new FieldCipher({ dataKeys: [{ id: 'bench', key: Buffer.alloc(32, 1) }], blindIndexKey: Buffer.alloc(32, 2) });
  const clock = { now: () => new Date() };
  const fake = new FakeSalesforce({ dailyLimit: 10_000_000 });
  await fake.start();
  const syncConn = await freshDatabase(uri, `bench_sync_${process.pid}`);
  const rawConn = await freshDatabase(uri, `bench_sync_raw_${process.pid}`);
  try {
    fillOrg(fake);
    await new EmployeeStore(syncConn).upsertMany([OWNER]);
    const store = new SyncStore(syncConn);
    await store.ensureIndexes();
    const customers = new CustomerStore(syncConn, cipher);
    const runner = new SyncRunner({
      customers, store, clock, employees: new EmployeeStore(syncConn), recorder: { record: async () => undefined },
      revoker: new StoreCustomerRevoker(new MongoGrantStore(syncConn), new MongoRequestStore(syncConn)),
    }, salesforceConnector({
      source, mapping: MAPPING, clock, logger: createLogger({ level: 'silent' }),
      env: { CUSTOS_SYNC_SALESFORCE_LOGIN_URL: fake.url, CUSTOS_SYNC_SALESFORCE_CLIENT_ID: fake.clientId, CUSTOS_SYNC_SALESFORCE_CLIENT_SECRET: fake.clientSecret, CUSTOS_SYNC_SALESFORCE_BATCH_SIZE: String(BATCH), CUSTOS_SYNC_SALESFORCE_REQUESTS_PER_SECOND: '1000' },
      budget: (perSecond) => new RateBudget({ source, perSecond, share: 1, clock }),
    }), MAPPING);
    const rawStore = new CustomerStore(rawConn, cipher);

    // The shared machine's load drifts: half the baseline just before the sync, half just after.
    const half = Math.floor(N / 2);
    const rawBefore = await baseline(rawStore, fake, 0, half);
    gc();
    const upTo20k = peakRss(10);
    let mark20k = 0;
    let served = 0;
    fake.onRequest = (c) => { if (c.path.startsWith('/query') && (served++) * BATCH >= RSS_MARK && !mark20k) mark20k = upTo20k.stop(); };
    const whole = peakRss(10);
    const t0 = now();
    const r = await runner.run();
    const seconds = (now() - t0) / 1000;
    const peakMb = whole.stop();
    if (!mark20k) mark20k = upTo20k.stop();
    if (r.upserted !== N || r.rejected !== 0) throw new Error(`sync bench: expected ${N} upserted, got ${JSON.stringify({ ...r, rejections: r.rejections.slice(0, 3) })}`);
    const rawAfter = await baseline(rawStore, fake, half, N);
    const rate = N / seconds;
    const baselineRate = N / (rawBefore + rawAfter);
    log(`${source}: ${N} records in ${round(seconds, 1)} s (${round(rate, 0)}/s, ${r.pages} pages, ${fake.calls.length} API calls)`);
    log(`raw CustomerStore.upsertMany: ${round(baselineRate, 0)}/s (${round(rawBefore, 1)} s before + ${round(rawAfter, 1)} s after)`);
    log(`peak RSS up to ${RSS_MARK} records: ${round(mark20k, 1)} MB; to ${N}: ${round(peakMb, 1)} MB`);
    process.stdout.write(`${JSON.stringify({ source, records: N, sync_seconds: round(seconds, 2), api_calls: fake.calls.length, peak_rss_at_mark_mb: round(mark20k, 1), mark_records: RSS_MARK })}\n`);
    report({ bench: 'sync', rate: round(rate, 1), baseline_rate: round(baselineRate, 1), ratio: round(rate / baselineRate, 3), peak_rss_mb: round(peakMb, 1) });
  } finally {
    await fake.close();
    for (const c of [syncConn, rawConn]) { await c.dropDatabase().catch(() => undefined); await c.close().catch(() => undefined); }
  }
}

await main();
