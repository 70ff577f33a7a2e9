// The 金蝶云星空 connector against the fake K/3 Cloud WebAPI (test/fakes/kingdee.ts) on real MongoDB
// (FerretDB), through the framework's runner: backfill by keyset pages, incremental runs that re-read the
// last minutes (a late commit with an earlier stamp is not lost), a row edited mid-scan not skipped,
// 禁用 customers and hard deletions removed (reconciliation), a lost session re-established without losing
// the cursor, a refused sign-in that changes nothing, and one use organisation's copy of each customer.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { createLogger } from '../bot/logger.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { kingdeeConnector } from '../bot/sync/kingdee/index.ts';
import { loadKingdeeSettings } from '../bot/sync/kingdee/settings.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { FakeKingdee, parseFilter } from './fakes/kingdee.ts';
import { connectorRunner, TestClock } from './helpers/sync-db.ts';

const CREDENTIALS = { acctId: '64f0a1b2c3d4e5', username: 'custos-sync', appId: '279841_7d1/0bDo6rDcXf+v0w2A1Z3L', appSecret: 'b3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6' };
const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/kingdee.yaml', import.meta.url), 'utf8'));
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 5) }], blindIndexKey: Buffer.alloc(32, 6) });

const customer = (n: number, extra: Record<string, unknown> = {}) => ({
  FNumber: String(n), FName: `金蝶客户${n}`, 'FGroup.FNumber': 'HB', FTEL: '13900000000', 'FSeller.FNumber': 'XS001', 'FUseOrgId.FNumber': '100', ...extra,
});

function envFor(url: string, extra: Record<string, string> = {}) {
  return {
    CUSTOS_SYNC_KINGDEE_SERVER_URL: url, CUSTOS_SYNC_KINGDEE_ACCT_ID: CREDENTIALS.acctId, CUSTOS_SYNC_KINGDEE_USERNAME: CREDENTIALS.username,
    CUSTOS_SYNC_KINGDEE_APP_ID: CREDENTIALS.appId, CUSTOS_SYNC_KINGDEE_APP_SECRET: CREDENTIALS.appSecret, CUSTOS_SYNC_KINGDEE_PAGE_SIZE: '100', ...extra,
  };
}

async function setup(t: ExecutionContext, extraEnv: Record<string, string> = {}) {
  const clock = new TestClock();
  const fake = new FakeKingdee({ credentials: CREDENTIALS, clock });
  const url = await fake.start();
  t.teardown(() => fake.close());
  const { store, customers, audit, runner, sleeps } = await connectorRunner(t, import.meta.url, {
    source: 'kingdee', mapping, cipher, clock,
    connector: (budget) => kingdeeConnector({ source: 'kingdee', mapping, env: envFor(url, extraEnv), clock, logger: createLogger({ level: 'silent' }), budget }),
  });
  const seed = (from: number, count: number) => Array.from({ length: count }, (_, i) => fake.create(customer(from + i)));
  return { clock, fake, store, customers, audit, runner, seed, sleeps };
}

const queries = (fake: FakeKingdee) => fake.requests.filter((r) => r.service === 'query' && r.answer === 'rows').map((r) => r.data!);

test('settings: every problem at once, each saying what to set', (t) => {
  const err = t.throws(() => loadKingdeeSettings('kingdee', { CUSTOS_SYNC_KINGDEE_SERVER_URL: 'http://erp.example.com/k3cloud', CUSTOS_SYNC_KINGDEE_LCID: '1234', CUSTOS_SYNC_KINGDEE_PAGE_SIZE: '50', CUSTOS_SYNC_KINGDEE_USE_ORG: "100' OR 1=1" }));
  const text = err!.message;
  for (const want of [/SERVER_URL must use https/, /ACCT_ID is required/, /USERNAME is required/, /APP_ID is required/, /APP_SECRET \(or CUSTOS_SYNC_KINGDEE_APP_SECRET_FILE\) is required/, /LCID must be 2052/, /PAGE_SIZE must be at least 100/, /USE_ORG must be an organisation number/]) t.regex(text, want);
  t.is(loadKingdeeSettings('kingdee', envFor('https://erp.example.com/k3cloud/')).serverUrl, 'https://erp.example.com/k3cloud');
});

test('the fake refuses filter forms it does not know, so custos relies on none it never tested', (t) => {
  t.not(parseFilter("FCUSTID > 5 AND (FModifyDate > '2026-06-01 08:00:00.000' OR FCUSTID IN (1,2))"), null);
  for (const bad of ['FName LIKE \'%x%\'', 'FCUSTID > 5 AND', "FModifyDate > 5", 'FCUSTID > 5; DROP', '(FCUSTID > 5']) t.is(parseFilter(bad), null, bad);
});

test('a backfill signs in once, reads keyset pages of the mapped field keys only, and stores encrypted customers', async (t) => {
  const w = await setup(t);
  w.seed(1, 250);
  const r = await w.runner.run();
  t.like(r, { upserted: 250, rejected: 0, pages: 3 });
  t.is((await w.customers.get('C-000007'))!.name, '金蝶客户7');
  t.is((await w.customers.get('C-000007'))!.region, 'north');
  t.is((await w.customers.get('C-000007'))!.ownerId, 'E-0001');
  t.is(w.fake.requests.filter((x) => x.service === 'login').length, 1, 'one session, reused');
  const q = queries(w.fake);
  t.is(q[0]!.FieldKeys, 'FCUSTID,FModifyDate,FForbidStatus,FNumber,FSeller.FNumber,FName,FGroup.FNumber,FTEL');
  t.is(q[0]!.FilterString, '');
  t.regex(String(q[1]!.FilterString), /^\(FModifyDate > '2026-06-01 08:00:00\.000' OR \(FModifyDate = '2026-06-01 08:00:00\.000' AND FCUSTID > 100100\)\)$/);
  t.deepEqual(q.map((x) => x.StartRow), [0, 0, 0], 'keyset, never row offsets');
  const raw = JSON.stringify(await w.customers.model.find({}).lean());
  t.false(raw.includes('金蝶客户7') || raw.includes('13900000000'), 'names and phones are encrypted at rest');
});

test('incremental runs re-read the last minutes: a late commit stamped before the cursor still arrives', async (t) => {
  const w = await setup(t);
  const ids = w.seed(1, 30);
  await w.runner.run();
  w.clock.advance(60_000);
  const late = w.fake.stamp(new Date(w.clock.t - 120_000)); // committed now, stamped two minutes ago
  w.fake.update(ids[4]!, { FName: '晚到的改名' }, late);
  w.fake.update(ids[9]!, { FTEL: '13911112222' });
  const r = await w.runner.run();
  t.is((await w.customers.get('C-000005'))!.name, '晚到的改名');
  t.is((await w.customers.get('C-000010'))!.phone, '13911112222');
  t.is(r.upserted, 2);
  t.true(r.unchanged <= 30, 'only the re-read minutes, unchanged rows not rewritten');
});

test('rows edited while a scan passes over them are met again further on; none is skipped (row offsets would skip one)', async (t) => {
  const w = await setup(t);
  const ids = w.seed(1, 250);
  await w.runner.run();
  w.clock.advance(10 * 60_000);
  for (const id of ids.slice(0, 200)) w.fake.update(id, { 'FGroup.FNumber': 'HD' });
  w.clock.advance(1_000);
  let edited = false;
  // After the first page of the next run (rows 1–100 of the 200 edits): one row already read is edited
  // again, which moves it behind the rest; with StartRow paging row 101 would now be skipped.
  w.fake.afterQuery = () => { if (!edited) { edited = true; w.clock.advance(1_000); w.fake.update(ids[10]!, { FName: '扫描中改名' }); } };
  const r = await w.runner.run();
  t.true(edited);
  t.is((await w.customers.get('C-000011'))!.name, '扫描中改名');
  for (const n of [1, 100, 101, 102, 200]) t.is((await w.customers.get(`C-${String(n).padStart(6, '0')}`))!.region, 'east', `customer ${n}`);
  t.is(r.upserted, 201, 'the 200 edits and the edit during the scan');
});

test('禁用 customers and hard deletions leave tombstones only; reconciliation finds the deletion K/3 never reports', async (t) => {
  const w = await setup(t);
  const ids = w.seed(1, 120);
  await w.runner.run();
  w.clock.advance(60_000);
  w.fake.forbid(ids[2]!);
  w.fake.remove(ids[110]!);
  const r = await w.runner.run();
  t.is(r.deleted, 1, 'the forbidden customer, seen by the incremental run');
  t.is(await w.customers.get('C-000003'), null);
  t.truthy(await w.store.tombstoned('C-000003'));
  t.truthy(await w.customers.get('C-000111'), 'a hard deletion leaves no trace in a change query');
  const rec = await w.runner.reconcile();
  t.is(rec.deleted, 1);
  t.is(await w.customers.get('C-000111'), null);
  t.truthy(await w.store.tombstoned('C-000111'));
  t.is(await w.customers.model.countDocuments(), 118);
  const deletes = w.audit.events.filter((e) => e.action === 'sync.delete');
  t.deepEqual(deletes.map((e) => e.customerIds[0]).sort(), ['C-000003', 'C-000111']);
});

test('a lost session mid-run signs in again and repeats the page: nothing lost or doubled; a refused sign-in changes nothing', async (t) => {
  const w = await setup(t);
  w.seed(1, 150);
  const connector = (w.runner as unknown as { connector: { readChanges(c: string | null): Promise<{ nextCursor: string | null }> } }).connector;
  await connector.readChanges(null);
  w.fake.expireSessions();
  const r = await w.runner.run();
  t.is(r.upserted, 150);
  t.is(w.fake.requests.filter((x) => x.answer === 'session-lost').length, 1);
  t.is(w.fake.requests.filter((x) => x.answer === 'login-ok').length, 2);

  const before = await w.store.cursor('kingdee');
  w.fake.expireSessions();
  (w.fake.opts.credentials as { appSecret: string }).appSecret = 'rotated-in-k3-but-not-in-custos';
  w.fake.create(customer(900));
  const refused = await w.runner.run().then(() => null, (e: Error) => e);
  t.regex(refused!.message, /refused the sign-in \(LoginResultType 0\); check ACCT_ID, USERNAME, APP_ID and APP_SECRET/);
  t.false(refused!.message.includes(CREDENTIALS.appSecret));
  t.deepEqual(await w.store.cursor('kingdee'), before, 'cursor unchanged');
  t.is(await w.customers.get('C-000900'), null);
});

test('a gateway refusing for a while (503 + Retry-After) is waited out; the run finishes', async (t) => {
  const w = await setup(t);
  w.seed(1, 20);
  w.fake.failNext(2);
  const r = await w.runner.run();
  t.is(r.upserted, 20);
  t.true(w.sleeps.some((ms) => ms >= 2000), 'waited at least Retry-After');
});

test('with USE_ORG, only that organisation\'s copy of a distributed customer is read', async (t) => {
  const w = await setup(t, { CUSTOS_SYNC_KINGDEE_USE_ORG: '100' });
  w.fake.create(customer(1));
  w.fake.create(customer(1, { 'FUseOrgId.FNumber': '200', FName: '分配给另一组织' }));
  w.fake.create(customer(2, { 'FUseOrgId.FNumber': '200' }));
  const r = await w.runner.run();
  t.is(r.upserted, 1);
  t.is((await w.customers.get('C-000001'))!.name, '金蝶客户1');
  t.is(await w.customers.get('C-000002'), null);
  for (const q of queries(w.fake)) t.true(String(q.FilterString).startsWith("FUseOrgId.FNumber = '100'"));
});
