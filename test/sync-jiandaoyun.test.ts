// The 简道云 connector against the fake 简道云 (test/fakes/jiandaoyun.ts) on real MongoDB (FerretDB), through
// the framework's runner and the bot's HTTP server: backfill, incremental windows (records sharing one
// updateTime across a page boundary), deletions only reconciliation can see, webhooks re-read and
// stored (duplicates applied once, reordered deliveries ending on the current record), a forgery
// battery with no side effect, and quota exhaustion then recovery from the stored cursor.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { loadSyncConfig } from '../bot/config-sync.ts';
import { closeServer, createHttpServer, listen } from '../bot/http/server.ts';
import { createLogger } from '../bot/logger.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { loadJdyConfig } from '../bot/sync/jiandaoyun/config.ts';
import { jiandaoyunConnector } from '../bot/sync/jiandaoyun/index.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { RateBudget } from '../bot/sync/rate-budget.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { buildSync } from '../bot/sync/setup.ts';
import { WEBHOOK_PATH, webhookRoutes } from '../bot/sync/webhook-route.ts';
import { FakeJiandaoyun } from './fakes/jiandaoyun.ts';
import { runCli } from './helpers/run-custos.ts';
import { RecordingAudit } from './helpers/sync-model-source.ts';
import { testDatabase } from './helpers/services.ts';
import { syncDatabase } from './helpers/sync-db.ts';

const API_KEY = 'jdy-api-key-0123456789abcdef0123';
const APP_ID = '59264073a2a60c0c08e20bfb';
const ENTRY_ID = '59264073a2a60c0c08e20bfd';
const SECRET = 'jdy-webhook-secret-0123456789';
const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/jiandaoyun.yaml', import.meta.url), 'utf8'));
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 3) }], blindIndexKey: Buffer.alloc(32, 4) });
const EMPLOYEES: Record<string, string> = { 'ann@example.com': 'E-0001', 'bob@example.com': 'E-0002' };
const FORGERY_COUNT = Number(process.env.SYNC_FORGERY_COUNT ?? 520);

/** One clock for custos and the fake; the rate budget's waits move it instead of sleeping. */
class TestClock { t = Date.parse('2026-06-01T08:00:00Z'); now = () => new Date(this.t); advance(ms: number) { this.t += ms; } }

const customer = (n: number, extra: Record<string, unknown> = {}) => ({ number: String(n), name: `客户${n}`, region: '华北', tier: 'A', phone: '13800000000', owner: 'ann@example.com', ...extra });

async function setup(t: ExecutionContext, opts: { secret?: string } = {}) {
  const clock = new TestClock();
  const fake = new FakeJiandaoyun({ apiKey: API_KEY, appId: APP_ID, entryId: ENTRY_ID, clock });
  const url = await fake.start();
  t.teardown(() => fake.close());
  const { db, store, grants, requests } = await syncDatabase(t, import.meta.url);
  const customers = new CustomerStore(db.conn, cipher);
  const audit = new RecordingAudit();
  const logger = createLogger({ level: 'silent' });
  const sleeps: number[] = [];
  const env = {
    CUSTOS_SYNC_JIANDAOYUN_API_URL: url, CUSTOS_SYNC_JIANDAOYUN_API_KEY: API_KEY, CUSTOS_SYNC_JIANDAOYUN_APP_ID: APP_ID,
    CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: ENTRY_ID, CUSTOS_SYNC_JIANDAOYUN_WEBHOOK_SECRET: opts.secret ?? SECRET,
  };
  const connector = jiandaoyunConnector({
    source: 'jiandaoyun', mapping, env, clock, logger,
    budget: (perSecond) => new RateBudget({ source: 'jiandaoyun', perSecond, share: 1, clock, random: () => 0.5, sleep: async (ms) => { sleeps.push(ms); clock.advance(ms); } }),
  });
  const runner = new SyncRunner({
    customers, store, recorder: audit, clock, employees: { byEmail: async (e) => (EMPLOYEES[e] ? { employeeId: EMPLOYEES[e] } : null) },
    revoker: new StoreCustomerRevoker(grants, requests),
  }, connector, mapping);
  const server = createHttpServer({ routes: webhookRoutes([{ source: 'jiandaoyun', connector, runner }], { store, clock, logger }), readiness: [], logger });
  const address: AddressInfo = await listen(server, '127.0.0.1', 0);
  t.teardown(() => closeServer(server, 100));
  const hook = `http://127.0.0.1:${address.port}${WEBHOOK_PATH('jiandaoyun')}`;
  const names = async () => new Map((await customers.model.find({}).lean()).map((d) => [String(d.customerId), d]));
  return { clock, fake, conn: db.conn, store, customers, audit, runner, hook, sleeps, names };
}

const seed = (fake: FakeJiandaoyun, from: number, count: number) => Array.from({ length: count }, (_, i) => fake.create(customer(from + i)));
const listCalls = (fake: FakeJiandaoyun) => fake.requests.filter((r) => r.path === '/api/v5/app/entry/data/list');

test('backfill reads every page of 100 by data_id; a bad record is skipped by id and field, never its value', async (t) => {
  const w = await setup(t);
  seed(w.fake, 1, 249);
  const bad = w.fake.create(customer(250, { phone: 'call me maybe' }));
  w.clock.advance(120_000); // past the window margin: the records are older than the window's end
  const r = await w.runner.run();
  t.is(r.upserted, 249);
  t.is(r.rejected, 1);
  t.deepEqual(r.rejections, [{ sourceId: bad, field: 'phone', reason: r.rejections[0]!.reason }]);
  t.false(JSON.stringify(r).includes('call me maybe'));
  t.is(await w.customers.model.countDocuments(), 249);
  t.is((await w.customers.get('C-000007'))!.name, '客户7');
  t.is((await w.customers.get('C-000007'))!.region, 'north');
  const calls = listCalls(w.fake);
  t.deepEqual(calls.map((c) => c.body.limit), [100, 100, 100]);
  t.is(calls[0]!.body.data_id, undefined);
  t.is(calls[1]!.body.data_id, [...w.fake.records.keys()][99]);
  t.deepEqual(calls[0]!.body.fields, ['_id', 'updateTime', 'number', 'owner', 'name', 'region', 'tier', 'phone']);
  t.regex(r.cursorAfter!, /^v1\|2026-06-01T08:01:00\.000Z\|\|$/);
  const run = w.audit.events.find((e) => e.action === 'sync.run')!;
  t.like(run.meta, { source: 'jiandaoyun', upserted: 249, rejected: 1, pages: 3 });
});

test('incremental: only the updateTime window is read, and 101 records sharing one updateTime across a page boundary all arrive', async (t) => {
  const w = await setup(t);
  const ids = seed(w.fake, 1, 150);
  w.clock.advance(120_000);
  await w.runner.run();
  w.clock.advance(5_000);
  for (const id of ids.slice(20, 121)) w.fake.update(id, { tier: 'B' }); // 101 edits in the same millisecond
  const created = w.fake.create(customer(900, { owner: 'bob@example.com' }));
  w.clock.advance(120_000);
  const before = listCalls(w.fake).length;
  const r = await w.runner.run();
  t.is(r.upserted, 102);
  t.is(r.unchanged, 0, 'nothing outside the window was read');
  t.is(r.pages, 2);
  const calls = listCalls(w.fake).slice(before);
  t.deepEqual(calls.map((c) => (c.body.filter as { cond: { method: string }[] }).cond[0]!.method), ['range', 'range']);
  for (const id of [ids[20]!, ids[119]!, ids[120]!]) {
    const n = Number(w.fake.view(id)!.number);
    t.is((await w.customers.get(`C-${String(n).padStart(6, '0')}`))!.tier, 'silver', `record ${n}`);
  }
  t.is((await w.customers.get('C-000900'))!.ownerId, 'E-0002');
  t.truthy(created);
  t.is((await w.customers.get('C-000001'))!.tier, 'gold');
  // A run right after reads an (almost) empty window: nothing, and the cursor only moves forward.
  const idle = await w.runner.run();
  t.is(idle.upserted + idle.unchanged, 0);
  t.true(idle.cursorAfter! >= r.cursorAfter!);
});

test('a deletion (no webhook in 简道云 for API edits and bulk imports) is caught by reconciliation', async (t) => {
  const w = await setup(t);
  const ids = seed(w.fake, 1, 120);
  w.clock.advance(120_000);
  await w.runner.run();
  w.fake.remove(ids[3]!);
  w.fake.remove(ids[110]!);
  w.fake.update(ids[50]!, { name: '改名客户' }); // an API edit that sent no webhook
  w.clock.advance(120_000);
  const incremental = await w.runner.run();
  t.is(incremental.deleted, 0, 'the data list never shows deletions');
  t.truthy(await w.customers.get('C-000004'));
  const r = await w.runner.reconcile();
  t.is(r.deleted, 2);
  t.is(await w.customers.get('C-000004'), null);
  t.is(await w.customers.get('C-000111'), null);
  t.is((await w.customers.get('C-000051'))!.name, '改名客户');
  t.truthy(await w.store.tombstoned('C-000004'));
  const deletes = w.audit.events.filter((e) => e.action === 'sync.delete');
  t.deepEqual(deletes.map((e) => e.customerIds).sort(), [['C-000004'], ['C-000111']]);
  t.is(await w.customers.model.countDocuments(), 118);
});

test('webhooks: the record is re-read and stored; data_remove deletes; the same DeliverId ×4 is applied once; an older delivery after a newer one still ends on the current record', async (t) => {
  const w = await setup(t);
  const [a, b] = seed(w.fake, 1, 2) as [string, string];
  w.clock.advance(120_000);
  await w.runner.run();

  w.fake.update(a, { name: '网页修改' });
  const first = await w.fake.deliver(w.hook, SECRET, 'data_update', a);
  t.is(first.status, 200);
  t.is((await w.customers.get('C-000001'))!.name, '网页修改');

  w.fake.update(a, { tier: 'C' });
  const probes = () => listCalls(w.fake).filter((c) => c.body.limit === 1).length;
  const probesBefore = probes();
  const four = await Promise.all([0, 1, 2, 3].map(() => w.fake.deliver(w.hook, SECRET, 'data_update', a, { deliverId: 'same-delivery' })));
  const bodies = await Promise.all(four.map((r) => r.json() as Promise<{ duplicate: boolean }>));
  t.deepEqual(four.map((r) => r.status), [200, 200, 200, 200]);
  t.is(bodies.filter((x) => !x.duplicate).length, 1, 'exactly one delivery applied');
  t.is(probes() - probesBefore, 1, 'the record was re-read once');
  t.is((await w.customers.get('C-000001'))!.tier, 'standard');

  const older = w.fake.view(b)!;
  w.fake.update(b, { name: '最新名称' });
  t.is((await w.fake.deliver(w.hook, SECRET, 'data_update', b, { deliverId: 'newer' })).status, 200);
  t.is((await w.fake.deliver(w.hook, SECRET, 'data_update', b, { deliverId: 'older', data: older })).status, 200);
  t.is((await w.customers.get('C-000002'))!.name, '最新名称', 'the older delivery re-read the current record');

  w.fake.remove(b);
  t.is((await w.fake.deliver(w.hook, SECRET, 'data_remove', b)).status, 200);
  t.is(await w.customers.get('C-000002'), null);
  t.truthy(await w.store.tombstoned('C-000002'));
});

const FORGERIES: [string, (n: number) => Parameters<FakeJiandaoyun['deliver']>[4] & { secret?: string }][] = [
  ['wrong secret', (n) => ({ secret: `${SECRET}-${n}` })],
  ['body altered after signing', () => ({ tamper: (d) => { d.body = d.body.replace(/"_id":"[0-9a-f]{24}"/, '"_id":"000000000000000000000001"'); } })],
  ['stale timestamp', (n) => ({ timestamp: Math.floor(Date.parse('2026-06-01T08:00:00Z') / 1000) - 400 - n })],
  ['future timestamp', (n) => ({ timestamp: Math.floor(Date.parse('2026-06-01T08:00:00Z') / 1000) + 600 + n })],
  ['timestamp changed after signing', () => ({ tamper: (d) => { d.query.set('timestamp', String(Number(d.query.get('timestamp')) + 1)); } })],
  ['nonce changed after signing', () => ({ tamper: (d) => { d.query.set('nonce', `${d.query.get('nonce')}0`); } })],
  ['no signature', () => ({ tamper: (d) => { delete d.headers['x-jdy-signature']; } })],
  ['no delivery id', () => ({ tamper: (d) => { delete d.headers['x-jdy-deliverid']; } })],
  ['no timestamp', () => ({ tamper: (d) => { d.query.delete('timestamp'); } })],
  ['no nonce', () => ({ tamper: (d) => { d.query.delete('nonce'); } })],
  ['upper-cased signature', () => ({ tamper: (d) => { d.headers['x-jdy-signature'] = d.headers['x-jdy-signature']!.toUpperCase(); } })],
  ['one hex digit flipped', (n) => ({ tamper: (d) => { const s = d.headers['x-jdy-signature']!; const i = n % 40; d.headers['x-jdy-signature'] = s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1); } })],
  ['truncated signature', (n) => ({ tamper: (d) => { d.headers['x-jdy-signature'] = d.headers['x-jdy-signature']!.slice(0, n % 39); } })],
];

test(`forgery battery: ${FORGERY_COUNT} forged or stale deliveries get 401 and change nothing`, async (t) => {
  const w = await setup(t);
  const [a] = seed(w.fake, 1, 1) as [string];
  w.clock.advance(120_000);
  await w.runner.run();
  w.fake.update(a, { name: '不应出现' }); // a forged delivery that got through would store this
  w.clock.t = Date.parse('2026-06-01T08:00:00Z'); // forgeries are timed against this instant
  const customersBefore = JSON.stringify([...(await w.names()).values()]);
  const auditBefore = w.audit.events.length;
  const statusBefore = await w.conn.collection('sync_status').find({}).toArray();
  const statuses = new Map<string, number[]>();
  for (let i = 0; i < FORGERY_COUNT; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, FORGERY_COUNT - i) }, async (_, j) => {
      const n = i + j;
      const [name, forge] = FORGERIES[n % FORGERIES.length]!;
      const { secret, ...opts } = forge(n);
      const res = await w.fake.deliver(w.hook, secret ?? SECRET, n % 2 ? 'data_update' : 'data_remove', a, { deliverId: `forged-${n}`, ...opts });
      await res.arrayBuffer();
      statuses.set(name, [...(statuses.get(name) ?? []), res.status]);
    }));
  }
  for (const [name, list] of statuses) t.true(list.every((s) => s === 401), `${name}: ${[...new Set(list)].join(',')}`);
  t.is([...statuses.values()].flat().length, FORGERY_COUNT);
  t.is(JSON.stringify([...(await w.names()).values()]), customersBefore, 'no customer changed');
  t.is(await w.conn.collection('sync_deliveries').countDocuments(), 0, 'no delivery id claimed');
  t.is(w.audit.events.length, auditBefore, 'nothing audited');
  t.deepEqual(await w.conn.collection('sync_status').find({}).toArray(), statusBefore);
  t.is(listCalls(w.fake).filter((c) => c.body.limit === 1).length, 0, 'no record re-read');
  // The control: the same delivery correctly signed is applied.
  t.is((await w.fake.deliver(w.hook, SECRET, 'data_update', a)).status, 200);
  t.is((await w.customers.get('C-000001'))!.name, '不应出现');
});

test('quota exhausted (429 with code 8303) mid-backfill: the run stops with the cursor on the last stored page, and the next run resumes from it', async (t) => {
  const w = await setup(t);
  seed(w.fake, 1, 230);
  w.clock.advance(120_000);
  w.fake.exhaust(6, 1); // the first page answers, then 1 try + 5 retries all get 429
  const err = await t.throwsAsync(() => w.runner.run());
  t.is((err as { code?: string }).code, 'custos_sync_budget_exhausted');
  t.true(w.fake.requests.filter((r) => r.status === 429).length === 6);
  t.true(w.sleeps.length >= 5, 'backed off between retries');
  const stored = await w.store.cursor('jiandaoyun');
  t.regex(stored.cursor!, new RegExp(`^v1\\|1970-01-01T00:00:00\\.000Z\\|[^|]+\\|${[...w.fake.records.keys()][99]!}$`));
  t.is(await w.customers.model.countDocuments(), 100);
  t.like(w.audit.events.at(-1)!, { action: 'sync.run', decision: 'error', reasonCode: 'custos_sync_budget_exhausted' });

  const before = w.fake.requests.length;
  const r = await w.runner.run();
  t.is(w.fake.requests[before]!.body.data_id, [...w.fake.records.keys()][99], 'resumed after the last stored record');
  t.is(r.upserted, 130);
  t.is(await w.customers.model.countDocuments(), 230);
});

test('the fake enforces the documented limits: 30 requests per second, limit 1–100, Bearer key', async (t) => {
  const clock = new TestClock();
  const fake = new FakeJiandaoyun({ apiKey: API_KEY, appId: APP_ID, entryId: ENTRY_ID, clock });
  const url = await fake.start();
  t.teardown(() => fake.close());
  const call = (body: Record<string, unknown>, key = API_KEY) => fetch(`${url}/api/v5/app/entry/data/list`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ app_id: APP_ID, entry_id: ENTRY_ID, ...body }) });
  const burst = await Promise.all(Array.from({ length: 31 }, () => call({ limit: 10 })));
  t.is(burst.filter((r) => r.status === 200).length, 30);
  const limited = burst.find((r) => r.status === 429)!;
  t.deepEqual(await limited.json(), { code: 8303, msg: '超出请求频率限制' });
  clock.advance(1001);
  t.is((await call({ limit: 101 })).status, 400);
  t.is((await call({ limit: 10 }, 'wrong')).status, 401);
});

test('settings: every problem at once, named by its full setting', (t) => {
  const err = t.throws(() => loadJdyConfig('crm-cn', { CUSTOS_SYNC_CRM_CN_APP_ID: 'nope', CUSTOS_SYNC_CRM_CN_API_URL: 'ftp://x' }));
  t.regex(err!.message, /CUSTOS_SYNC_CRM_CN_API_KEY is required/);
  t.regex(err!.message, /CUSTOS_SYNC_CRM_CN_APP_ID must be the 应用 ID/);
  t.regex(err!.message, /CUSTOS_SYNC_CRM_CN_ENTRY_ID is required/);
  t.regex(err!.message, /CUSTOS_SYNC_CRM_CN_API_URL must be an http\(s\) URL/);
  const ok = loadJdyConfig('jiandaoyun', { CUSTOS_SYNC_JIANDAOYUN_API_KEY: API_KEY, CUSTOS_SYNC_JIANDAOYUN_APP_ID: APP_ID, CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: ENTRY_ID });
  t.deepEqual(ok, { apiUrl: 'https://api.jiandaoyun.com', apiKey: API_KEY, appId: APP_ID, entryId: ENTRY_ID, webhookSecret: null });
});

test('custos sync check names the mapped field the form lacks and the field whose sample values fail (never a value); a good mapping passes', async (t) => {
  const clock = new TestClock();
  const fake = new FakeJiandaoyun({ apiKey: API_KEY, appId: APP_ID, entryId: ENTRY_ID, clock });
  const url = await fake.start();
  t.teardown(() => fake.close());
  for (let i = 1; i <= 5; i++) fake.create(customer(i, i <= 2 ? { phone: 'not-a-phone-555' } : {}));
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-jdy-check-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = readFileSync(new URL('./fixtures/sync/jiandaoyun.yaml', import.meta.url), 'utf8');
  writeFileSync(path.join(dir, 'jiandaoyun.yaml'), good.replace('  phone: phone\n', '  phone: phone\n  email: mail\n'));
  const env = {
    CUSTOS_SYNC_SOURCES: 'jiandaoyun', CUSTOS_SYNC_MAPPINGS: dir, CUSTOS_SYNC_JIANDAOYUN_API_URL: url, CUSTOS_SYNC_JIANDAOYUN_API_KEY: API_KEY,
    CUSTOS_SYNC_JIANDAOYUN_APP_ID: APP_ID, CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: ENTRY_ID,
  };
  const bad = await runCli(['sync', 'check', 'jiandaoyun'], env);
  t.not(bad.code, 0);
  t.regex(bad.stdout, /5 sample record\(s\)/);
  t.regex(bad.stdout, /problem: email: maps from "mail", which jiandaoyun does not have/);
  t.regex(bad.stdout, /problem: phone: 2 of 5 sample record\(s\) fail/);
  t.false(`${bad.stdout}${bad.stderr}`.includes('not-a-phone-555'), 'no value is shown');
  t.regex(bad.stderr, /the jiandaoyun mapping has 2 problem\(s\)/);

  writeFileSync(path.join(dir, 'jiandaoyun.yaml'), good);
  for (const id of [...fake.records.keys()].slice(0, 2)) fake.update(id, { phone: '13900000000' });
  const ok = await runCli(['sync', 'check', 'jiandaoyun'], env);
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.regex(ok.stdout, /mapping OK/);
});

test('buildSync registers the 简道云 connector and mounts its webhook route only when a secret is set', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const fixtures = fileURLToPath(new URL('./fixtures/sync/', import.meta.url));
  const env = { CUSTOS_SYNC_JIANDAOYUN_API_KEY: API_KEY, CUSTOS_SYNC_JIANDAOYUN_APP_ID: APP_ID, CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: ENTRY_ID };
  const deps = { conn: db.conn, cipher, recorder: new RecordingAudit(), clock: new TestClock(), logger: createLogger({ level: 'silent' }) };
  const config = loadSyncConfig({ CUSTOS_SYNC_SOURCES: 'jiandaoyun', CUSTOS_SYNC_MAPPINGS: fixtures });
  const without = await buildSync(config, { ...deps, env });
  t.true(without.pulled.has('jiandaoyun'));
  t.deepEqual(without.routes.map((r) => ('path' in r ? r.path : r.prefix)), []);
  const withSecret = await buildSync(config, { ...deps, env: { ...env, CUSTOS_SYNC_JIANDAOYUN_WEBHOOK_SECRET: SECRET } });
  t.deepEqual(withSecret.routes.map((r) => ('path' in r ? r.path : r.prefix)), ['/sync/v1/jiandaoyun/webhook']);
  const broken = await t.throwsAsync(() => buildSync(config, { ...deps, env: {} }));
  t.regex(broken!.message, /CUSTOS_SYNC_JIANDAOYUN_API_KEY is required/);
});

test('a record edited again while its window is being paged (behind the scan) lands in the next window, not lost', async (t) => {
  const clock = new TestClock();
  const fake = new FakeJiandaoyun({ apiKey: API_KEY, appId: APP_ID, entryId: ENTRY_ID, clock });
  const url = await fake.start();
  t.teardown(() => fake.close());
  const ids = seed(fake, 1, 150);
  clock.advance(120_000);
  const connector = jiandaoyunConnector({
    source: 'jiandaoyun', mapping, clock, logger: createLogger({ level: 'silent' }),
    env: { CUSTOS_SYNC_JIANDAOYUN_API_URL: url, CUSTOS_SYNC_JIANDAOYUN_API_KEY: API_KEY, CUSTOS_SYNC_JIANDAOYUN_APP_ID: APP_ID, CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: ENTRY_ID },
    budget: (perSecond) => new RateBudget({ source: 'jiandaoyun', perSecond, share: 1, clock, sleep: async (ms) => { clock.advance(ms); } }),
  });
  const first = await connector.readChanges(null);
  t.false(first.done);
  fake.update(ids[5]!, { name: '翻页时修改' }); // behind the scan: its id was on the first page
  const second = await connector.readChanges(first.nextCursor);
  t.true(second.done);
  t.false(second.changes.some((c) => c.sourceId === ids[5]), 'this window has passed the record');
  clock.advance(120_000);
  const next = await connector.readChanges(second.nextCursor);
  const again = next.changes.find((c) => c.sourceId === ids[5]);
  t.is(again?.op === 'upsert' ? again.fields.name : undefined, '翻页时修改');
  t.is(next.changes.length, 1, 'only that record changed since');
});
