// What a deletion in the source does in custos: the customer is gone (a tombstone with id and time only),
// pending requests on it are cancelled, grants on it revoked, and `sync.delete` is recorded before any
// of it. Records that fail validation are skipped and reported by source id and field, never the value;
// the rest of the page is stored. An owner move changes who owns the customer on the next lookup.
import { standaloneSettings } from '../bot/config-redis.ts';
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import type { AccessRequest } from '../bot/core/approvals/types.ts';
import { createMetrics } from '../bot/metrics.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { SyncFreshness } from '../bot/sync/freshness.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { ModelSource, RecordingAudit } from './helpers/sync-model-source.ts';
import { requireEnv, uniqueName } from './helpers/services.ts';
import { syncDatabase } from './helpers/sync-db.ts';

const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8'));
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 7) }], blindIndexKey: Buffer.alloc(32, 8) });
const NOW = new Date('2026-06-01T00:00:00Z');
const OWNERS: Record<string, string> = { 'ann@example.com': 'E-0001', 'bo@example.com': 'E-0002' };

async function setup(t: ExecutionContext) {
  const { db, store, grants, requests } = await syncDatabase(t, import.meta.url);
  const customers = new CustomerStore(db.conn, cipher);
  const source = new ModelSource('model');
  const audit = new RecordingAudit();
  const order: string[] = [];
  const runner = new SyncRunner({
    customers: { upsertMany: (c) => customers.upsertMany(c), remove: async (id) => { order.push(`remove:${id}`); return customers.remove(id); } },
    store, recorder: { record: async (e) => { order.push(`audit:${e.action}`); await audit.record(e); } }, clock: { now: () => NOW },
    employees: { byEmail: async (e) => (OWNERS[e] ? { employeeId: OWNERS[e] } : null) },
    revoker: new StoreCustomerRevoker(grants, requests),
  }, source, mapping);
  return { conn: db.conn, store, grants, requests, customers, source, audit, runner, order };
}

const acme = (n: string, owner = 'ann@example.com') => ({ Number__c: n, Name: '测试客户', Region__c: 'CN-E', Owner: { Email: owner }, Phone: '13800138000' });

function pendingRequest(requestId: string, customerId: string): AccessRequest {
  return {
    requestId, kind: 'access', requesterId: 'E-0002', customerIds: [customerId], groups: ['contact'], fields: [], purpose: 'callback',
    durationMinutes: 30, parts: [{ name: 'request', approverTiers: [['E-0001']], tiersAsked: 1, quorum: 1, maxDurationMinutes: 60, ruleId: 'r1' }],
    ruleIds: ['r1'], status: 'pending', createdAt: NOW, remindAt: NOW, escalateAt: NOW, expiresAt: new Date(NOW.getTime() + 3600_000), cards: [],
  };
}

test('a deletion tombstones the customer, cancels its pending requests, revokes its grants, audited first', async (t) => {
  const w = await setup(t);
  w.source.put('a1', acme('1'));
  w.source.put('a2', acme('2'));
  await w.runner.run();
  t.truthy(await w.customers.get('C-000001'));
  await w.grants.create({ grantId: 'g1', granteeId: 'E-0002', target: { kind: 'customers', customerIds: ['C-000001'] }, groups: ['contact'], actions: ['lookup'], expiresAt: new Date(NOW.getTime() + 3600_000), grantedBy: ['E-0001'], purpose: 'callback', createdAt: NOW });
  await w.grants.create({ grantId: 'g2', granteeId: 'E-0002', target: { kind: 'customers', customerIds: ['C-000002'] }, groups: ['contact'], actions: ['lookup'], expiresAt: new Date(NOW.getTime() + 3600_000), grantedBy: ['E-0001'], purpose: 'callback', createdAt: NOW });
  await w.requests.create(pendingRequest('r1', 'C-000001'));
  await w.requests.create(pendingRequest('r2', 'C-000002'));

  w.source.remove('a1');
  const report = await w.runner.run();
  t.is(report.deleted, 1);
  t.is(await w.customers.get('C-000001'), null);
  t.truthy(await w.customers.get('C-000002'));
  const stone = await w.store.tombstoned('C-000001');
  t.deepEqual(stone, { customerId: 'C-000001', deletedAt: NOW });
  const raw = await w.conn.collection('sync_tombstones').findOne({ _id: 'C-000001' as never });
  t.deepEqual(Object.keys(raw!).sort(), ['_id', 'customerId', 'deletedAt'], 'id and time only');
  t.truthy((await w.grants.byId('g1'))!.revokedAt);
  t.falsy((await w.grants.byId('g2'))!.revokedAt);
  t.like(await w.requests.get('r1'), { status: 'cancelled', denyReason: 'deletedAtSource' }, 'without a chat platform, the store alone, with the same reason');
  t.is((await w.requests.get('r2'))!.status, 'pending');
  const del = w.audit.events.filter((e) => e.action === 'sync.delete');
  t.deepEqual(del.map((e) => [e.customerIds, e.meta]), [[['C-000001'], { source: 'model' }]]);
  t.true(w.order.indexOf('audit:sync.delete') < w.order.indexOf('remove:C-000001'), 'recorded before it takes effect');

  await w.runner.run({ full: true });
  t.is(w.audit.events.filter((e) => e.action === 'sync.delete').length, 1, 'a full re-run deletes nothing twice');
});

test('an invalid record is skipped and reported by source id and field; the rest of the page is stored', async (t) => {
  const w = await setup(t);
  w.source.put('ok', acme('10'));
  w.source.put('badphone', { ...acme('11'), Phone: 'call me maybe' });
  w.source.put('noowner', acme('12', 'nobody@example.com'));
  const report = await w.runner.run();
  t.is(report.upserted, 1);
  t.is(report.rejected, 2);
  t.deepEqual(report.rejections.map((r) => [r.sourceId, r.field]).sort(), [['badphone', 'phone'], ['noowner', 'ownerId']]);
  t.false(JSON.stringify(report.rejections).includes('call me maybe'));
  t.false(JSON.stringify(report.rejections).includes('nobody@example.com'));
  const run = w.audit.events.find((e) => e.action === 'sync.run')!;
  t.like(run.meta, { source: 'model', upserted: 1, rejected: 2, deleted: 0, cursorBefore: '', cursorAfter: '3' });
  t.false(JSON.stringify(w.audit.events).includes('测试客户'));
});

test('an owner move in the source moves the customer to the new owner on the next run', async (t) => {
  const w = await setup(t);
  w.source.put('a1', acme('20'));
  await w.runner.run();
  t.is((await w.customers.get('C-000020'))!.ownerId, 'E-0001');
  w.source.put('a1', acme('20', 'bo@example.com'));
  await w.runner.run();
  t.is((await w.customers.get('C-000020'))!.ownerId, 'E-0002');
  const status = await w.store.statusOf('model');
  t.like(status, { source: 'model', cursor: '2', version: 2, lastError: null });
  const freshness = new SyncFreshness(w.store);
  t.deepEqual(await freshness.freshnessOf('C-000020'), { source: 'model', at: NOW }, 'lookup cards name the source (no label, no product name: its own name) and its last good run');
  t.is(await freshness.freshnessOf('C-999999'), null);
});

test('/metrics shows each source\'s lag, records by operation and failed runs', async (t) => {
  const w = await setup(t);
  w.source.put('a1', acme('30'));
  w.source.put('bad', { ...acme('31'), Phone: 'nope' });
  await w.runner.run();
  w.source.down = true;
  await t.throwsAsync(w.runner.run());
  const metrics = createMetrics({ conn: w.conn, redis: standaloneSettings(requireEnv('REDIS_URL'), uniqueName(import.meta.url, 'prefix')), clock: { now: () => new Date(NOW.getTime() + 90_000) } });
  t.teardown(() => metrics.close());
  const text = await metrics.registry.metrics();
  t.regex(text, /custos_sync_lag_seconds\{source="model"\} 90\n/);
  t.regex(text, /custos_sync_records_total\{source="model",op="upserted"\} 1\n/);
  t.regex(text, /custos_sync_records_total\{source="model",op="rejected"\} 1\n/);
  t.regex(text, /custos_sync_errors_total\{source="model"\} 1\n/);
});
