// `custos customer erase`: what is destroyed (and found by no query kind afterwards), what stays (the
// audit event, recorded BEFORE anything is destroyed; other customers; other grants), what happens when
// the audit queue is down (nothing), and that a database restored from a backup taken before the
// erasure loses the customer again once the erasure list is re-applied; and that a CRM sync brings an
// erased customer back only from a source record re-created after the erasure, never the erased record.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditEventInput, AuditRecorder } from '../bot/core/audit.ts';
import type { AccessRequest } from '../bot/core/approvals/types.ts';
import type { Customer } from '../bot/core/domain.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import type { Grant } from '../policies/index.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { applyErasureList, CustomerEraser, TOMBSTONE_COLLECTION } from '../bot/store/erasure.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { importFile } from '../bot/store/import.ts';
import { CUSTOMER_COLLECTION } from '../bot/store/models.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { readFileSync as readText } from 'node:fs';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { erasedTombstones, markRecreated } from '../bot/store/erasure.ts';
import { runCli } from './helpers/run-custos.ts';
import { ModelSource, RecordingAudit } from './helpers/sync-model-source.ts';
import { redisDump, testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 7) }], blindIndexKey: Buffer.alloc(32, 8) });
const clock = { now: () => new Date('2026-06-01T02:00:00Z') };
const actor = { employeeId: null, platform: 'cli' } as const;

const person = (n: number, extra: Partial<Customer> = {}): Customer => ({
  customerId: `C-00000${n}`, name: ['司马云飞', '欧阳娜娜', 'Emily Brown'][n - 1]!, type: 'person', company: ['星河科技', '河科电子', 'Northwind'][n - 1]!,
  region: 'east', tier: 'gold', ownerId: 'E-0012', status: 'active', phone: `1391234567${n}`, email: `p${n}@example.cn`,
  idNumber: ['11010519491231002X', '110101199003071233', '110105198704230018'][n - 1]!, ...extra,
});

/** Records events; at each one, notes whether the customer it names still existed (recorded BEFORE the effect). */
class CheckingRecorder implements AuditRecorder {
  readonly events: { event: AuditEventInput; customerStillThere: boolean }[] = [];
  fail = false;
  constructor(private readonly store: CustomerStore) {}
  async record(event: AuditEventInput): Promise<void> {
    if (this.fail) throw new CustosError(ErrorCode.AuditUnavailable, 'audit queue down');
    this.events.push({ event, customerStillThere: (await this.store.get(event.customerIds[0]!)) !== null });
  }
}

async function setUp() {
  const db = await testDatabase(import.meta.url);
  await ensureIndexes(db.conn);
  const store = new CustomerStore(db.conn, cipher);
  await store.upsertMany([person(1), person(2), person(3)]);
  const list = path.join(mkdtempSync(path.join(os.tmpdir(), 'custos-erasure-')), 'erasures.txt');
  const recorder = new CheckingRecorder(store);
  return { db, store, list, recorder, eraser: new CustomerEraser({ conn: db.conn, recorder, clock, erasureList: list }) };
}

const grant = (grantId: string, customerIds: string[]): Grant => ({
  grantId, granteeId: 'E-0015', groups: ['contact'], actions: ['lookup'], expiresAt: new Date('2030-01-01'),
  grantedBy: ['E-0001'], purpose: 'callback', createdAt: new Date('2026-05-01'), target: { kind: 'customers', customerIds },
});

const pendingRequest = (requestId: string, customerId: string): AccessRequest => ({
  requestId, kind: 'access', requesterId: 'E-0015', customerIds: [customerId], groups: ['contact'], fields: [], purpose: 'callback',
  durationMinutes: 60, parts: [{ name: 'contact', approverTiers: [['E-0011']], tiersAsked: 1, quorum: 1, maxDurationMinutes: 240, ruleId: 'r' }],
  ruleIds: ['r'], status: 'pending', createdAt: new Date('2026-05-31'), remindAt: new Date('2026-06-02'), escalateAt: new Date('2026-06-03'),
  expiresAt: new Date('2026-06-04'), cards: [],
} as AccessRequest);

test('an erased customer is found by no query kind, its requests are cancelled and grants revoked; the event came first', async (t) => {
  const { db, store, list, recorder, eraser } = await setUp();
  t.teardown(db.drop);
  const grants = new MongoGrantStore(db.conn);
  const requests = new MongoRequestStore(db.conn);
  await grants.ensureIndexes();
  await requests.ensureIndexes();
  await grants.create(grant('G-on-1', ['C-000001']));
  await grants.create(grant('G-on-2', ['C-000002']));
  await requests.create(pendingRequest('R-on-1', 'C-000001'));
  await requests.create(pendingRequest('R-on-2', 'C-000002'));
  const backup = await db.conn.collection(CUSTOMER_COLLECTION).findOne({ customerId: 'C-000001' });

  const report = await eraser.erase('c-000001', 'DSR-2026-017', actor);
  t.like(report, { customerId: 'C-000001', requestsCancelled: 1, grantsRevoked: 1 });
  t.is(recorder.events.length, 1);
  t.like(recorder.events[0]!.event, { action: 'customer.erase', customerIds: ['C-000001'], purpose: 'DSR-2026-017', decision: 'allowed' });
  t.true(recorder.events[0]!.customerStillThere, 'customer.erase was recorded before anything was destroyed');

  const one = person(1);
  for (const q of [{ kind: 'id', value: 'C-000001' }, { kind: 'phone', value: one.phone! }, { kind: 'email', value: one.email! },
    { kind: 'idNumber', value: one.idNumber! }, { kind: 'text', value: '司马' }, { kind: 'text', value: '星河' }] as const) {
    t.deepEqual(await store.find(q, {}, 10), [], `${q.kind} ${q.value}`);
  }
  t.is(await store.get('C-000001'), null);
  t.is((await store.find({ kind: 'text', value: '河科' }, {}, 10)).map((c) => c.customerId).join(), 'C-000002', 'others are still found');
  t.like(await db.conn.collection(TOMBSTONE_COLLECTION).findOne({ _id: 'C-000001' as never }), { customerId: 'C-000001', erasedAt: clock.now() });
  const tomb = await db.conn.collection(TOMBSTONE_COLLECTION).findOne({ _id: 'C-000001' as never });
  t.deepEqual(Object.keys(tomb!).sort(), ['_id', 'customerId', 'erasedAt', 'sourceRecords'], 'the tombstone holds the id, the time and linked CRM record ids, nothing else');
  t.is(readFileSync(list, 'utf8'), 'C-000001\n');
  t.is((await grants.byId('G-on-1'))?.revokedBy, 'erasure');
  t.is((await grants.byId('G-on-2'))?.revokedAt, undefined);
  t.like(await requests.get('R-on-1'), { status: 'cancelled', denyReason: 'erased' });
  t.like(await requests.get('R-on-2'), { status: 'pending' });

  // An import carrying the erased id is refused for that row, not a silent re-creation.
  const file = path.join(path.dirname(list), 'again.jsonl');
  writeFileSync(file, `${JSON.stringify(person(1))}\n`);
  const imported = await importFile(db.conn, cipher, 'customers', file);
  t.like(imported, { inserted: 0, rejected: 1, written: false });
  t.regex(imported.errors[0]!.reason, /was erased at 2026-06-01T02:00:00.000Z .*does not bring an erased customer back/);
  t.is(await store.get('C-000001'), null);

  // A backup from before the erasure is restored: the erasure list takes the customer out again.
  await db.conn.collection(CUSTOMER_COLLECTION).insertOne(backup!);
  t.is(await applyErasureList(db.conn, list, clock), 1);
  t.is(await store.get('C-000001'), null);
  t.is(await applyErasureList(db.conn, list, clock), 0, 'applying again changes nothing');
  const again = await t.throwsAsync(() => eraser.erase('C-000001', 'DSR-2026-017', actor));
  t.regex(again!.message, /C-000001 was already erased at 2026-06-01T02:00:00.000Z/);
});

test('no audit queue, no erasure: nothing is destroyed, listed or tombstoned', async (t) => {
  const { db, store, list, recorder, eraser } = await setUp();
  t.teardown(db.drop);
  recorder.fail = true;
  await t.throwsAsync(() => eraser.erase('C-000002', 'DSR-2026-018', actor), { message: /audit queue down/ });
  t.is((await store.get('C-000002'))?.name, '欧阳娜娜');
  t.false(existsSync(list));
  t.is(await db.conn.collection(TOMBSTONE_COLLECTION).countDocuments({}), 0);
});

test('bad requests are refused with what to do, and change nothing', async (t) => {
  const { db, store, recorder, eraser } = await setUp();
  t.teardown(db.drop);
  for (const [id, reason, message] of [
    ['C-000002', '', /--reason is required/], ['C-000002', 'call 13912345672 back', /looks like it holds personal data/],
    ['Zhang', 'DSR-1', /must look like C-000123/], ['C-000999', 'DSR-1', /there is no customer C-000999/],
  ] as const) {
    const err = await t.throwsAsync(() => eraser.erase(id, reason, actor), undefined, `${id} / ${reason}`);
    t.regex(err!.message, message);
    t.false(err!.message.includes('13912345672'), 'the refusal does not echo personal data');
  }
  t.is(recorder.events.length, 0);
  t.is(await store.count(), 3);
});

test('the CLI records customer.erase in the audit queue and erases; a second run says it already did', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const list = path.join(mkdtempSync(path.join(os.tmpdir(), 'custos-erasure-')), 'erasures.txt');
  const prefix = uniqueName(import.meta.url, 'prefix');
  const env = testEnv(db.name, prefix, { CUSTOS_ERASURE_LIST: list });
  const dataKeys = env.CUSTOS_DATA_KEYS!.split(':');
  const envCipher = new FieldCipher({ dataKeys: [{ id: dataKeys[0]!, key: Buffer.from(dataKeys[1]!, 'base64') }], blindIndexKey: Buffer.from(env.CUSTOS_BLIND_INDEX_KEY!, 'base64') });
  await ensureIndexes(db.conn);
  await new CustomerStore(db.conn, envCipher).upsertMany([person(3)]);
  const r = await runCli(['customer', 'erase', 'C-000003', '--reason', 'DSR-2026-019'], env);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /erased C-000003 at .*0 pending request\(s\) cancelled, 0 grant\(s\) revoked; recorded as customer.erase/);
  t.is(await db.conn.collection(CUSTOMER_COLLECTION).countDocuments({}), 0);
  const queued = await redisDump(prefix);
  t.true(queued.text.includes('customer.erase') && queued.text.includes('C-000003'), 'the event waits in the audit queue');
  t.false(queued.text.includes('Emily'), 'and holds no personal value');
  const second = await runCli(['customer', 'erase', 'C-000003', '--reason', 'DSR-2026-019'], env);
  t.is(second.code, 1);
  t.regex(second.stderr, /C-000003 was already erased at/);
});

test('a CRM sync does not bring an erased customer back from the erased record; a record re-created after the erasure does, audited, and the list then spares it', async (t) => {
  const { db, store, list, recorder, eraser } = await setUp();
  t.teardown(db.drop);
  const mapping = parseMapping(readText(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8'));
  const syncStore = new SyncStore(db.conn);
  await syncStore.ensureIndexes();
  const source = new ModelSource('model');
  const audit = new RecordingAudit();
  const runner = new SyncRunner({
    customers: store, store: syncStore, recorder: audit, clock,
    employees: { byEmail: async (e) => (e === 'ann@example.com' ? { employeeId: 'E-0001' } : null) },
    revoker: new StoreCustomerRevoker(new MongoGrantStore(db.conn), new MongoRequestStore(db.conn)),
    erasures: { erased: (ids) => erasedTombstones(db.conn, ids), recreated: (id, record, at) => markRecreated(db.conn, id, record, at) },
  }, source, mapping);
  const acme = (phone: string) => ({ Number__c: '7', Name: '测试客户', Region__c: 'CN-E', Owner: { Email: 'ann@example.com' }, Phone: phone });
  source.put('a7', acme('13800138000'));
  t.is((await runner.run()).upserted, 1);
  t.truthy(await store.get('C-000007'));

  await eraser.erase('C-000007', 'DSR-2026-020', actor);
  t.deepEqual((await db.conn.collection(TOMBSTONE_COLLECTION).findOne({ _id: 'C-000007' as never }))!.sourceRecords, ['model:a7']);
  // The erased record changes in the CRM: refused, named by its source id, no value.
  source.put('a7', acme('13800138001'));
  const again = await runner.run();
  t.like(again, { upserted: 0, rejected: 1 });
  t.regex(again.rejections[0]!.reason, /was erased at 2026-06-01T02:00:00.000Z .*only a record re-created in model after the erasure/);
  t.is(again.rejections[0]!.sourceId, 'a7');
  t.false(JSON.stringify(again.rejections).includes('1380013800'));
  t.is(await store.get('C-000007'), null);
  t.false(audit.events.some((e) => e.action === 'customer.recreate'));

  // The record is deleted in the CRM and the person re-entered as a new record with the same number.
  source.remove('a7');
  source.put('a8', acme('13800138002'));
  const back = await runner.run();
  t.is(back.upserted, 1);
  t.is((await store.get('C-000007'))?.phone, '13800138002', 'the re-created record, with its new values');
  t.like(audit.events.find((e) => e.action === 'customer.recreate'), { customerIds: ['C-000007'], meta: { source: 'model', erasedAt: '2026-06-01T02:00:00.000Z' } });
  t.like(await db.conn.collection(TOMBSTONE_COLLECTION).findOne({ _id: 'C-000007' as never }), { recreatedFrom: 'model:a8' });
  t.is(await applyErasureList(db.conn, list, clock), 0, 'the erasure list spares a customer re-created after its erasure');
  t.truthy(await store.get('C-000007'));

  // Erased again on a second request: the old record ids are refused again, the tombstone is fresh.
  await eraser.erase('C-000007', 'DSR-2026-021', actor);
  const stone = await db.conn.collection(TOMBSTONE_COLLECTION).findOne({ _id: 'C-000007' as never });
  t.deepEqual(stone!.sourceRecords, ['model:a8']);
  t.false('recreatedAt' in stone!);
  t.is(await applyErasureList(db.conn, list, clock), 0);
  t.is(await store.get('C-000007'), null);
  t.is(recorder.events.filter((e) => e.event.action === 'customer.erase').length, 2);
});
