// The 纷享销客 connector against the fake OpenAPI v2 (test/fakes/sharecrm.ts) on real MongoDB (FerretDB),
// through the framework's runner: one corpAccessToken reused and renewed before its expiry and on 20016,
// a refused token that changes nothing, keyset pages (offset always 0) that survive thousands of records
// sharing one stamp, the last minutes re-read (a late commit is not lost), 作废 and recycle-bin deletions,
// rate limits (30004, and the fake's own 100-calls-in-20-s window answering 14001) waited out, and
// errors that name the errorCode and never the CRM's message.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../bot/logger.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { shareCrmConnector } from '../bot/sync/sharecrm/index.ts';
import { loadShareCrmSettings } from '../bot/sync/sharecrm/settings.ts';
import { RateBudget } from '../bot/sync/rate-budget.ts';
import { ACCOUNT_FIELDS, FakeShareCrm, parseFilters } from './fakes/sharecrm.ts';
import { runCli } from './helpers/run-custos.ts';
import { connectorRunner, TestClock } from './helpers/sync-db.ts';

const CREDENTIALS = { appId: 'FSAID_131a2b3', appSecret: '5f0e1d2c3b4a59687f6e5d4c3b2a1908', permanentCode: '0A1B2C3D4E5F60718293A4B5C6D7E8F9', openUserId: 'FSUID_0A1B2C3D4E5F60718293A4B5C6D7E8F9' };
const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/sharecrm.yaml', import.meta.url), 'utf8'));
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 7) }], blindIndexKey: Buffer.alloc(32, 8) });

const account = (n: number, extra: Record<string, unknown> = {}) => ({ account_no: String(n), name: `纷享客户${n}`, region__c: 'huabei', tel: '13700000000', owner: ['1000'], ...extra });

function envFor(url: string, extra: Record<string, string> = {}) {
  return {
    CUSTOS_SYNC_SHARECRM_API_URL: url, CUSTOS_SYNC_SHARECRM_APP_ID: CREDENTIALS.appId, CUSTOS_SYNC_SHARECRM_APP_SECRET: CREDENTIALS.appSecret,
    CUSTOS_SYNC_SHARECRM_PERMANENT_CODE: CREDENTIALS.permanentCode, CUSTOS_SYNC_SHARECRM_OPEN_USER_ID: CREDENTIALS.openUserId, CUSTOS_SYNC_SHARECRM_PAGE_SIZE: '100', ...extra,
  };
}

async function setup(t: ExecutionContext, extraEnv: Record<string, string> = {}) {
  const clock = new TestClock();
  const fake = new FakeShareCrm({ credentials: { ...CREDENTIALS }, clock }); // a copy: one test rotates a secret
  const url = await fake.start();
  t.teardown(() => fake.close());
  const { store, customers, audit, runner, sleeps } = await connectorRunner(t, import.meta.url, {
    source: 'sharecrm', mapping, cipher, clock,
    connector: (budget) => shareCrmConnector({ source: 'sharecrm', mapping, env: envFor(url, extraEnv), clock, logger: createLogger({ level: 'silent' }), budget }),
  });
  const seed = (from: number, count: number) => Array.from({ length: count }, (_, i) => fake.create(account(from + i)));
  return { clock, fake, store, customers, audit, runner, seed, sleeps };
}

const queries = (fake: FakeShareCrm) => fake.requests.filter((r) => r.path === '/cgi/crm/v2/data/query' && r.errorCode === 0).map((r) => r.query!);

test('settings: every problem at once, each saying what to set', (t) => {
  const err = t.throws(() => loadShareCrmSettings('sharecrm', { CUSTOS_SYNC_SHARECRM_API_URL: 'http://open.fxiaoke.com', CUSTOS_SYNC_SHARECRM_PAGE_SIZE: '500', CUSTOS_SYNC_SHARECRM_OPEN_USER_ID: "FSUID' OR 1" }));
  const text = err!.message;
  for (const want of [/API_URL must use https/, /APP_ID is required/, /APP_SECRET \(or CUSTOS_SYNC_SHARECRM_APP_SECRET_FILE\) is required/, /PERMANENT_CODE \(or CUSTOS_SYNC_SHARECRM_PERMANENT_CODE_FILE\) is required/, /OPEN_USER_ID must be an openUserId/, /PAGE_SIZE must be at most 100/]) t.regex(text, want);
  const ok = loadShareCrmSettings('sharecrm', { ...envFor('https://open.fxiaoke.com/'), CUSTOS_SYNC_SHARECRM_API_URL: '' });
  t.like(ok, { apiUrl: 'https://open.fxiaoke.com', pageSize: 100, perSecond: 4 });
});

test('the fake refuses filter forms it does not know, so custos relies on none it never tested', (t) => {
  t.not(parseFilters([{ field_name: 'last_modified_time', field_values: [5], operator: 'GT' }, { field_name: '_id', field_values: ['a', 'b'], operator: 'IN' }]), null);
  for (const bad of [[{ field_name: 'name', field_values: ['x'], operator: 'LIKE' }], [{ field_name: 'last_modified_time', field_values: ['5'], operator: 'GT' }], [{ field_name: '_id', field_values: ['a', 'b'], operator: 'GT' }], [{ field_name: 'tel', field_values: ['1'], operator: 'EQ' }], {}]) {
    t.is(parseFilters(bad), null, JSON.stringify(bad));
  }
});

test('a backfill takes one token, reads keyset pages of the mapped fields only (offset always 0, a fresh thirdTraceId each), and stores encrypted customers', async (t) => {
  const w = await setup(t);
  w.seed(1, 250);
  const r = await w.runner.run();
  t.like(r, { upserted: 250, rejected: 0, pages: 3 });
  const c = (await w.customers.get('C-000007'))!;
  t.like(c, { name: '纷享客户7', region: 'north', ownerId: 'E-0001', phone: '13700000000' });
  t.is(w.fake.tokenCalls(), 1, 'one corpAccessToken, reused');
  const q = queries(w.fake);
  t.deepEqual(q[0]!.fieldProjection, ['_id', 'last_modified_time', 'life_status', 'is_deleted', 'account_no', 'owner', 'name', 'region__c', 'tel']);
  t.deepEqual(q[0]!.filters, []);
  t.true(q.every((x) => x.offset === 0), 'keyset, never offsets (纷享销客 refuses offsets past 10,000)');
  const traces = w.fake.requests.map((x) => x.traceId);
  t.true(traces.every((x) => typeof x === 'string' && x.length >= 32));
  t.is(new Set(traces).size, traces.length, 'thirdTraceId differs on every request');
  const raw = JSON.stringify(await w.customers.model.find({}).lean());
  t.false(raw.includes('纷享客户7') || raw.includes('13700000000'), 'names and phones are encrypted at rest');
});

test('many pages of records sharing one last_modified_time (a bulk import) are all read: the keyset continues within the stamp', async (t) => {
  const w = await setup(t, { CUSTOS_SYNC_SHARECRM_PAGE_SIZE: '10' });
  const stamp = w.clock.t;
  for (let i = 1; i <= 105; i++) w.fake.create(account(i), stamp);
  w.clock.advance(1000);
  w.fake.create(account(2000));
  const r = await w.runner.run();
  t.is(r.upserted, 106);
  t.is(await w.customers.model.countDocuments(), 106);
  const sameStamp = queries(w.fake).filter((q) => JSON.stringify(q.filters).includes('"EQ"'));
  t.true(sameStamp.length >= 9, 'pages within the stamp, by _id');
});

test('the token is renewed before it expires and again when a call answers 20016; nothing is lost', async (t) => {
  const w = await setup(t);
  w.seed(1, 20);
  await w.runner.run();
  t.is(w.fake.tokenCalls(), 1);
  w.clock.advance(6_700_000); // past 6600 s: the documents ask for a new token now, before the old one's 7200 s end
  w.seed(21, 5);
  await w.runner.run();
  t.is(w.fake.tokenCalls(), 2);
  t.is(w.fake.requests.filter((x) => x.errorCode === 20016).length, 0, 'renewed before expiry: no call refused');

  w.fake.expireTokens(); // the token is gone early (revoked, or the platform restarted)
  w.clock.advance(60_000);
  w.seed(26, 5);
  const r = await w.runner.run();
  t.is(w.fake.requests.filter((x) => x.errorCode === 20016).length, 1, 'one refusal, then a new token and the same query');
  t.is(w.fake.tokenCalls(), 3);
  t.true(r.upserted >= 5);
  t.is(await w.customers.model.countDocuments(), 30);
});

test('a refused token (wrong permanentCode) stops the run with what to check: cursor unchanged, no secret in the message', async (t) => {
  const w = await setup(t);
  w.seed(1, 5);
  await w.runner.run();
  const before = await w.store.cursor('sharecrm');
  w.fake.expireTokens();
  (w.fake.opts.credentials as { permanentCode: string }).permanentCode = 'reissued-in-the-admin-console';
  w.fake.create(account(900));
  const refused = await w.runner.run().then(() => null, (e: Error) => e);
  t.regex(refused!.message, /refused the corpAccessToken \(errorCode 20015\); check APP_ID, APP_SECRET and PERMANENT_CODE/);
  for (const s of [CREDENTIALS.appSecret, CREDENTIALS.permanentCode, '永久授权码错误']) t.false(refused!.message.includes(s));
  t.deepEqual(await w.store.cursor('sharecrm'), before, 'cursor unchanged');
  t.is(await w.customers.get('C-000900'), null);
});

test('errors name the errorCode, never the CRM message: an unknown openUserId (20012)', async (t) => {
  const w = await setup(t, { CUSTOS_SYNC_SHARECRM_OPEN_USER_ID: 'FSUID_NOBODY' });
  w.seed(1, 3);
  const err = await w.runner.run().then(() => null, (e: Error & { code?: string }) => e);
  t.is((err as { code?: string }).code, 'custos_sync_source_failed');
  t.regex(err!.message, /refused \/cgi\/crm\/v2\/data\/query on AccountObj: errorCode 20012 \(check OPEN_USER_ID/);
  t.false(err!.message.includes('openUserId未找到'));
});

test('a late commit stamped before the cursor still arrives (the last minutes are re-read); unchanged records are not rewritten', async (t) => {
  const w = await setup(t);
  const ids = w.seed(1, 30);
  await w.runner.run();
  w.clock.advance(60_000);
  w.fake.update(ids[4]!, { name: '晚到的改名' }, w.clock.t - 120_000);
  w.fake.update(ids[9]!, { tel: '13711112222' });
  const r = await w.runner.run();
  t.is((await w.customers.get('C-000005'))!.name, '晚到的改名');
  t.is((await w.customers.get('C-000010'))!.phone, '13711112222');
  t.is(r.upserted, 2);
});

test('作废 is seen by the incremental run; a deletion from the recycle bin by reconciliation; both leave tombstones only', async (t) => {
  const w = await setup(t);
  const ids = w.seed(1, 30);
  await w.runner.run();
  w.clock.advance(60_000);
  w.fake.invalidate(ids[2]!);
  w.fake.remove(ids[25]!);
  const r = await w.runner.run();
  t.is(r.deleted, 1);
  t.is(await w.customers.get('C-000003'), null);
  t.truthy(await w.store.tombstoned('C-000003'));
  t.truthy(await w.customers.get('C-000026'), 'a hard deletion leaves no trace in a query');
  const rec = await w.runner.reconcile();
  t.is(rec.deleted, 1);
  t.is(await w.customers.get('C-000026'), null);
  t.is(await w.customers.model.countDocuments(), 28);
  t.deepEqual(w.audit.events.filter((e) => e.action === 'sync.delete').map((e) => e.customerIds[0]).sort(), ['C-000003', 'C-000026']);
});

test('rate limits are waited out: 30004 answers and the 100-calls-in-20-s window (14001); the run finishes', async (t) => {
  const w = await setup(t, { CUSTOS_SYNC_SHARECRM_PAGE_SIZE: '10', CUSTOS_SYNC_SHARECRM_REQUESTS_PER_SECOND: '50' });
  for (let i = 1; i <= 600; i++) w.fake.create(account(i), w.clock.t + i); // one stamp each: two queries a page
  w.clock.advance(1000);
  w.fake.failNext(2, 30004);
  const r = await w.runner.run();
  t.is(r.upserted, 600);
  t.true(w.fake.requests.filter((x) => x.errorCode === 30004).length === 2);
  t.true(w.fake.requests.some((x) => x.errorCode === 14001), 'pacing at 50/s outran the documented 100 calls per 20 s');
  t.true(w.sleeps.filter((ms) => ms >= 20_000).length >= 3, 'each refusal waited the 20-second window');
});

test('the day\'s quota used up (30002) pauses the run at once with custos_sync_budget_exhausted, cursor kept', async (t) => {
  const w = await setup(t);
  w.seed(1, 5);
  await w.runner.run();
  const before = await w.store.cursor('sharecrm');
  w.fake.exhaustQuota();
  w.fake.create(account(50));
  const err = await w.runner.run().then(() => null, (e: Error & { code?: string }) => e);
  t.is((err as { code?: string }).code, 'custos_sync_budget_exhausted');
  t.regex(err!.message, /daily OpenAPI quota is used up \(errorCode 30002/);
  t.deepEqual(await w.store.cursor('sharecrm'), before);
  t.is(w.fake.requests.filter((x) => x.errorCode === 30002).length, 1, 'no retries against a daily quota');
});

test('custos sync check reads AccountObj\'s fields from 查询对象描述: a mapped field the object lacks is a problem, business fields not mapped are listed, system ones not', async (t) => {
  const clock = new TestClock();
  const fake = new FakeShareCrm({ credentials: { ...CREDENTIALS }, clock });
  const url = await fake.start();
  t.teardown(() => fake.close());
  for (let i = 1; i <= 3; i++) fake.create(account(i));
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-sharecrm-check-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = readFileSync(new URL('./fixtures/sync/sharecrm.yaml', import.meta.url), 'utf8');
  writeFileSync(path.join(dir, 'sharecrm.yaml'), good.replace('  phone: tel\n', '  phone: tel\n  email: email__c\n'));
  fake.describeFields = fake.describeFields.filter((f) => f.api_name !== 'region__c'); // an admin removed the custom field
  const env = { CUSTOS_SYNC_SOURCES: 'sharecrm', CUSTOS_SYNC_MAPPINGS: dir, ...envFor(url) };

  const bad = await runCli(['sync', 'check', 'sharecrm'], env);
  t.not(bad.code, 0);
  t.regex(bad.stdout, /problem: email: maps from "email__c", which sharecrm does not have/);
  t.regex(bad.stdout, /problem: region: maps from "region__c", which sharecrm does not have/);
  t.regex(bad.stderr, /the sharecrm mapping has 2 problem\(s\)/);
  const describes = fake.requests.filter((r) => r.path === '/cgi/crm/v2/object/describe');
  t.deepEqual(describes.map((r) => r.errorCode), [0], 'one describe call, answered');
  t.truthy(describes[0]!.traceId, 'with a thirdTraceId like every call');

  writeFileSync(path.join(dir, 'sharecrm.yaml'), good);
  fake.describeFields = ACCOUNT_FIELDS.map((f) => ({ ...f }));
  const ok = await runCli(['sync', 'check', 'sharecrm'], env);
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.regex(ok.stdout, /mapping OK/);
  t.regex(ok.stdout, /not mapped \(information\): industry_level\n/, 'the preset field custos does not read; system fields (_id, created_by, …) are not listed');
});

test('describeFields repeats once with a new token after 20016 and names the errorCode for an unknown object', async (t) => {
  const w = await setup(t);
  const connector = shareCrmConnector({ source: 'sharecrm', mapping, env: envFor(w.fake.url), clock: w.clock, logger: createLogger({ level: 'silent' }), budget: (perSecond) => new RateBudget({ source: 'sharecrm', perSecond, share: 1, clock: w.clock, sleep: async () => {} }) });
  const first = await connector.describeFields!();
  t.deepEqual(first.find((f) => f.name === 'region__c'), { name: 'region__c', type: 'select_one' });
  t.deepEqual(first.find((f) => f.name === 'created_by'), { name: 'created_by', type: 'system' });
  w.fake.expireTokens();
  t.is((await connector.describeFields!()).length, ACCOUNT_FIELDS.length);
  t.deepEqual(w.fake.requests.filter((r) => r.path === '/cgi/crm/v2/object/describe').map((r) => r.errorCode), [0, 20016, 0]);
  const other = shareCrmConnector({ source: 'sharecrm', mapping: { ...mapping, object: 'LeadsObj' }, env: envFor(w.fake.url), clock: w.clock, logger: createLogger({ level: 'silent' }), budget: (perSecond) => new RateBudget({ source: 'sharecrm', perSecond, share: 1, clock: w.clock, sleep: async () => {} }) });
  const err = await t.throwsAsync(other.describeFields!());
  t.regex(err.message, /refused \/cgi\/crm\/v2\/object\/describe on LeadsObj: errorCode 15002/);
  t.false(err.message.includes('不存在'), 'the CRM\'s message is never repeated');
});
