// The Salesforce connector end to end: real jsforce against the fake org (test/fakes/salesforce.ts), the
// real runner and stores. Backfill with nextRecordsUrl paging, incremental runs on SystemModstamp + Id,
// deletions from getDeleted (tombstone, requests cancelled, grants revoked), an owner move seen through
// the real policy engine, a missed getDeleted window caught by reconciliation, the API quota and 429s.
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection as SfConnection } from '@jsforce/jsforce-node';
import type { Connection } from 'mongoose';
import type { AccessRequest } from '../bot/core/approvals/types.ts';
import { LookupService } from '../bot/core/lookup.ts';
import { applyDecision } from '../bot/core/view.ts';
import { ErrorCode } from '../bot/core/errors.ts';
import { fingerprintCursor } from '../bot/sync/audit-cursor.ts';
import { loadSalesforceSettings } from '../bot/sync/salesforce/settings.ts';
import { SECOND_SETTLES_MS } from '../bot/sync/salesforce/connector.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import type { FakeSalesforce } from './fakes/salesforce.ts';
import { ANN, BO, createAccounts, customerIdOf, salesforceSync } from './helpers/salesforce-sync.ts';

const MINUTE = 60_000;
const DAY = 24 * 3600_000;

const sorted = (xs: Iterable<string>) => [...xs].sort();
async function storedIds(conn: Connection): Promise<string[]> {
  return sorted((await conn.collection('customers').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
}
const fakeIds = (fake: FakeSalesforce) => sorted([...fake.accounts.keys()].map((id) => customerIdOf(fake, id)));

test('a backfill reads every page through nextRecordsUrl and stores the mapped customers, encrypted', async (t) => {
  const w = await salesforceSync(t);
  const ids = createAccounts(w.fake, 450);
  const report = await w.runner.run();
  t.is(report.upserted, 450);
  t.is(report.pages, 3, '200 + 200 + 50 at batchSize=200');
  const paths = w.fake.calls.map((c) => c.path.replace(/01gFK\d+/, 'LOC'));
  t.deepEqual(paths, ['/query', '/query/LOC-200', '/query/LOC-400'], 'one SOQL query, then its nextRecordsUrl');
  t.regex(w.fake.calls[0]!.soql!, /^SELECT Id, SystemModstamp, AccountNumber, Owner\.Email, Name, Region__c, Tier__c, Phone FROM Account ORDER BY SystemModstamp ASC, Id ASC$/);
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
  const c = await w.customers.get(customerIdOf(w.fake, ids[0]!));
  t.like(c, { name: w.fake.accounts.get(ids[0]!)!.Name, region: 'east', tier: 'silver', ownerId: ANN.employeeId, phone: w.fake.accounts.get(ids[0]!)!.Phone!, type: 'company' });
  const raw = JSON.stringify(await w.conn.collection('customers').findOne({ _id: c!.customerId as never }));
  t.false(raw.includes(c!.phone!), 'stored encrypted');
  const status = await w.store.statusOf('salesforce');
  const lastId = [...w.fake.accounts.keys()].sort().at(-1)!;
  t.regex(status.cursor!, /^2026-06-01T02:\d\d:\d\dZ\|000000000000000\|2026-06-01T02:\d\d:\d\dZ$/, 'while its second is recent, the start of the last record\'s second (read again next run)');
  w.clock.jump(SECOND_SETTLES_MS);
  const settled = await w.runner.run();
  t.deepEqual([settled.upserted, settled.unchanged], [0, 450], 'that second read once more, all of it unchanged');
  t.regex((await w.store.statusOf('salesforce')).cursor!, new RegExp(`^2026-06-01T02:\\d\\d:\\d\\dZ\\|${lastId}\\|2026-06-01T02:\\d\\d:\\d\\dZ$`), 'then the last record by (SystemModstamp, Id), as Salesforce spells it');
  const run = w.audit.events.find((e) => e.action === 'sync.run')!;
  t.like(run.meta, { source: 'salesforce', upserted: 450, pages: 3, cursorBefore: '' });
  // The id's ten-digit run would fail the audit's PII guard: the event holds the cursor's fingerprint.
  t.is(run.meta?.cursorAfter, fingerprintCursor(status.cursor!));
  t.false(JSON.stringify(w.audit.events).includes('Account 1'), 'no record values in the audit');
});

test('an incremental run reads deletions, then only what changed since the cursor', async (t) => {
  const w = await salesforceSync(t);
  const ids = createAccounts(w.fake, 30);
  await w.runner.run();
  w.clock.jump(2 * MINUTE);
  w.fake.update(ids[3]!, { Phone: '13900000003' });
  w.fake.update(ids[7]!, { Region__c: 'CN-S' });
  const [fresh] = createAccounts(w.fake, 1);
  w.fake.calls.length = 0;
  const report = await w.runner.run();
  t.is(report.upserted, 3);
  t.is(w.fake.calls[0]!.path, '/sobjects/Account/deleted/', 'deletions first');
  t.regex(w.fake.calls[1]!.soql!, / WHERE SystemModstamp > 2026-06-01T02:\d\d:\d\dZ OR \(SystemModstamp = 2026-06-01T02:\d\d:\d\dZ AND Id > '000000000000000'\) ORDER BY/);
  t.is(report.unchanged, 28, 'the rest of the backfill\'s second, two minutes old, is read again');
  t.is(w.fake.calls.length, 2);
  t.is((await w.customers.get(customerIdOf(w.fake, ids[3]!)))!.phone, '13900000003');
  t.is((await w.customers.get(customerIdOf(w.fake, ids[7]!)))!.region, 'south');
  t.truthy(await w.customers.get(customerIdOf(w.fake, fresh!)));
  w.clock.jump(SECOND_SETTLES_MS);
  t.deepEqual(await w.runner.run().then((r) => [r.upserted, r.unchanged]), [0, 3], 'the last run\'s second read a last time');
  const again = await w.runner.run();
  t.is(again.upserted + again.unchanged, 0, 'nothing new, nothing re-read');
});

function pendingRequest(requestId: string, customerId: string, now: Date): AccessRequest {
  return {
    requestId, kind: 'access', requesterId: BO.employeeId, customerIds: [customerId], groups: ['contact'], fields: [], purpose: 'callback',
    durationMinutes: 30, parts: [{ name: 'request', approverTiers: [[ANN.employeeId]], tiersAsked: 1, quorum: 1, maxDurationMinutes: 60, ruleId: 'r1' }],
    ruleIds: ['r1'], status: 'pending', createdAt: now, remindAt: now, escalateAt: now, expiresAt: new Date(now.getTime() + 3600_000), cards: [],
  };
}

test('a record deleted in Salesforce leaves a tombstone only; its pending request is cancelled and its grant revoked', async (t) => {
  const w = await salesforceSync(t);
  const [gone, kept] = createAccounts(w.fake, 2) as [string, string];
  await w.runner.run();
  const goneId = customerIdOf(w.fake, gone);
  const now = w.clock.now();
  await w.grants.create({ grantId: 'g1', granteeId: BO.employeeId, target: { kind: 'customers', customerIds: [goneId] }, groups: ['contact'], actions: ['lookup'], expiresAt: new Date(now.getTime() + 3600_000), grantedBy: [ANN.employeeId], purpose: 'callback', createdAt: now });
  await w.requests.create(pendingRequest('r1', goneId, now));
  const phone = w.fake.accounts.get(gone)!.Phone!;
  w.fake.remove(gone);
  w.clock.jump(2 * MINUTE);
  const before = w.fake.calls.length;
  const report = await w.runner.run();
  t.is(report.deleted, 1);
  t.false(w.fake.calls.slice(before).some((c) => c.soql === 'SELECT Id FROM Account ORDER BY Id ASC'), 'found through getDeleted, no reconciliation needed');
  t.is(await w.customers.get(goneId), null);
  t.truthy(await w.customers.get(customerIdOf(w.fake, kept)));
  const stone = await w.conn.collection('sync_tombstones').findOne({ _id: goneId as never });
  t.deepEqual(Object.keys(stone!).sort(), ['_id', 'customerId', 'deletedAt'], 'id and time only');
  t.truthy((await w.grants.byId('g1'))!.revokedAt);
  t.is((await w.requests.get('r1'))!.status, 'cancelled');
  t.deepEqual(w.audit.events.filter((e) => e.action === 'sync.delete').map((e) => e.customerIds), [[goneId]]);
  const everything: string[] = [];
  for (const { name } of await w.conn.db!.listCollections().toArray()) everything.push(JSON.stringify(await w.conn.collection(name).find({}).toArray()));
  t.false(everything.join('\n').includes(phone), 'no trace of the deleted customer\'s phone anywhere');
});

test('an owner move in Salesforce changes who can look the customer up, through the real policy engine', async (t) => {
  const w = await salesforceSync(t);
  const [id] = createAccounts(w.fake, 1, ANN.email) as [string];
  await w.runner.run();
  const customerId = customerIdOf(w.fake, id);
  const lookup = new LookupService({
    engine: createPolicyEngine(loadPolicy('policies'), { grants: w.grants }), customers: w.customers, recorder: w.audit,
    present: applyDecision, clock: w.clock, queryHmacKey: Buffer.alloc(32, 5),
  });
  const ask = (e: typeof ANN) => lookup.lookup({ employee: e, platform: 'slack', platformUserId: e.employeeId, channel: 'dm' }, { kind: 'id', value: customerId }, undefined);
  const phoneShown = (r: Awaited<ReturnType<typeof ask>>) => r.kind === 'card' ? r.customer.fields.find((f) => f.field === 'phone')?.value : r.kind;
  // The account is in the east; Ann (north) and Bo (south) see it only as its owner.
  t.is(phoneShown(await ask(ANN)), w.fake.accounts.get(id)!.Phone!);
  t.is(phoneShown(await ask(BO)), 'none');
  // Usually within the second the run ended on: the next run reads that second again (SECOND_SETTLES_MS).
  w.fake.moveOwner(id, BO.email);
  await w.runner.run();
  t.is((await w.customers.get(customerId))!.ownerId, BO.employeeId);
  t.is(phoneShown(await ask(ANN)), 'none', 'the old owner no longer finds it');
  t.is(phoneShown(await ask(BO)), w.fake.accounts.get(id)!.Phone!, 'the new owner sees it in full');
});

test('a getDeleted window missed (cursor older than 15 days) forces a reconciliation that removes what was deleted', async (t) => {
  const w = await salesforceSync(t);
  const ids = createAccounts(w.fake, 5);
  await w.runner.run();
  w.fake.remove(ids[1]!);
  w.clock.jump(16 * DAY);
  w.fake.calls.length = 0;
  const report = await w.runner.run();
  t.is(report.deleted, 1);
  t.false(w.fake.calls.some((c) => c.path.includes('/deleted')), 'no getDeleted call that Salesforce would refuse');
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
  // The next run is back to getDeleted.
  w.clock.jump(2 * MINUTE);
  w.fake.remove(ids[2]!);
  w.clock.jump(2 * MINUTE);
  t.is((await w.runner.run()).deleted, 1);
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
});

test('a purged deletion log (earliestDateAvailable after the cursor) is caught by reconciliation too', async (t) => {
  const w = await salesforceSync(t);
  const ids = createAccounts(w.fake, 4);
  await w.runner.run();
  w.clock.jump(2 * MINUTE);
  w.fake.remove(ids[0]!);
  w.clock.jump(2 * MINUTE);
  w.fake.purgeDeleteLog(w.clock.now());
  const report = await w.runner.run();
  t.is(report.deleted, 1);
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
});

test('the daily API limit running out stops the run at its last stored page; a later run finishes, nothing lost or doubled', async (t) => {
  const w = await salesforceSync(t, { fake: { dailyLimit: 10_000 } });
  createAccounts(w.fake, 1000);
  let queries = 0;
  w.fake.onRequest = (c) => { if (c.path.startsWith('/query') && ++queries === 3) w.fake.exhaustQuota(); };
  const err = await t.throwsAsync(w.runner.run());
  t.is((err as { code?: string }).code, ErrorCode.SyncBudgetExhausted);
  t.is(w.fake.calls.at(-1)!.status, 403);
  t.is((await w.store.statusOf('salesforce')).lastError, ErrorCode.SyncBudgetExhausted);
  t.is((await storedIds(w.conn)).length, 400, 'the two pages read before the limit are stored');
  const cursor = (await w.store.statusOf('salesforce')).cursor;
  t.is((await t.throwsAsync(w.runnerOf().run()) as { code?: string }).code, ErrorCode.SyncBudgetExhausted, 'still out: the cursor stays');
  t.is((await w.store.statusOf('salesforce')).cursor, cursor);
  w.fake.onRequest = null;
  w.fake.restoreQuota();
  const report = await w.runnerOf().run();
  t.is(report.upserted, 600, 'only what was not stored yet');
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
  const runs = w.audit.events.filter((e) => e.action === 'sync.run');
  t.deepEqual(runs.map((e) => [e.decision, e.meta?.upserted]), [['error', 400], ['error', 0], ['allowed', 600]]);
});

test('custos stops at its share of the quota as Sforce-Limit-Info reports it, and waits out a 429\'s Retry-After', async (t) => {
  const w = await salesforceSync(t, { share: 0.5, fake: { dailyLimit: 100 } });
  createAccounts(w.fake, 300);
  w.fake.used = 60; // other integrations used 60% of the day's requests
  const err = await t.throwsAsync(w.runner.run());
  t.is((err as { code?: string }).code, ErrorCode.SyncBudgetExhausted);
  t.is(w.fake.calls.length, 1, 'one call told custos the usage; no second call was made');
  t.regex((err as Error).message, /61% of its API quota used and custos may use 50%/);
  t.is((await storedIds(w.conn)).length, 200, 'the page that call brought is stored');
  w.fake.used = 0; // a new day
  w.fake.throttle(1, 1);
  const started = Date.now();
  const report = await w.runnerOf().run();
  t.is(report.upserted, 100);
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
  t.deepEqual(w.fake.calls.map((c) => c.status).filter((s) => s !== 200), [429]);
  t.true(Date.now() - started >= 1000, 'Retry-After was honoured');
});

test('settings: every problem at once, with what to do', (t) => {
  const err = t.throws(() => loadSalesforceSettings('salesforce', {
    CUSTOS_SYNC_SALESFORCE_LOGIN_URL: 'http://login.example.com', CUSTOS_SYNC_SALESFORCE_BATCH_SIZE: '50', CUSTOS_SYNC_SALESFORCE_API_VERSION: 'v62',
  }));
  const msg = err!.message;
  t.regex(msg, /5 problems/);
  t.regex(msg, /LOGIN_URL must use https/);
  t.regex(msg, /CLIENT_ID is required/);
  t.regex(msg, /BATCH_SIZE must be at least 200/);
  t.regex(msg, /API_VERSION must look like 62\.0 and be 31\.0 or later/);
  t.regex(msg, /CLIENT_SECRET \(or CUSTOS_SYNC_SALESFORCE_CLIENT_SECRET_FILE\) is required/);
  const ok = loadSalesforceSettings('salesforce', { CUSTOS_SYNC_SALESFORCE_CLIENT_ID: 'id', CUSTOS_SYNC_SALESFORCE_CLIENT_SECRET: 's' });
  t.like(ok, { loginUrl: 'https://login.salesforce.com', apiVersion: '62.0', batchSize: 2000, auth: { flow: 'client-credentials' } });
});

test('the JWT bearer flow signs in with the private key; an expired token is fetched again; a wrong secret is a clear error', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-sf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'custos-sf.key');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const w = await salesforceSync(t, {
    fake: { jwt: { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), username: 'custos@example.com' } },
    env: { CUSTOS_SYNC_SALESFORCE_CLIENT_SECRET: '', CUSTOS_SYNC_SALESFORCE_PRIVATE_KEY_FILE: keyFile, CUSTOS_SYNC_SALESFORCE_USERNAME: 'custos@example.com' },
  });
  createAccounts(w.fake, 3);
  t.is((await w.runner.run()).upserted, 3);
  w.fake.expireTokens();
  createAccounts(w.fake, 2);
  t.is((await w.runner.run()).upserted, 2, 'signed in again after a 401 INVALID_SESSION_ID');
  t.deepEqual(w.fake.calls.map((c) => c.status).filter((s) => s !== 200), [401]);

  const wrong = await salesforceSync(t, { env: { CUSTOS_SYNC_SALESFORCE_CLIENT_SECRET: 'not-the-secret' } });
  const err = await t.throwsAsync(wrong.runner.run());
  t.regex(err!.message, /Salesforce refused custos's sign-in for sync source salesforce \(invalid_client\); check the connected app and its client credentials/);
  t.false(err!.message.includes('not-the-secret'));
});

test('the fake org refuses SOQL outside the subset it knows with MALFORMED_QUERY, and unknown fields with INVALID_FIELD', async (t) => {
  const w = await salesforceSync(t);
  const conn = new SfConnection({ oauth2: { loginUrl: w.fake.url, clientId: w.fake.clientId, clientSecret: w.fake.clientSecret }, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
  for (const [soql, code] of [
    ['SELECT Id FROM Account GROUP BY Name', 'MALFORMED_QUERY'], ['SELECT COUNT(Id) FROM Account', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Account WHERE Name LIKE \'A%\'', 'MALFORMED_QUERY'], ['SELECT Secret__c FROM Account', 'INVALID_FIELD'],
    ['SELECT Id FROM Contact', 'INVALID_TYPE'],
  ] as const) {
    const e = await t.throwsAsync(conn.query(soql));
    t.is((e as { errorCode?: string }).errorCode, code, soql);
  }
});

test('an expired query locator (INVALID_QUERY_LOCATOR) makes the connector re-query from its cursor; nothing lost or doubled', async (t) => {
  const w = await salesforceSync(t);
  createAccounts(w.fake, 500);
  let queries = 0;
  w.fake.onRequest = (c) => { if (c.path.startsWith('/query') && ++queries === 2) w.fake.expireLocators(); };
  const report = await w.runner.run();
  t.is(report.upserted, 500);
  t.deepEqual(w.fake.calls.map((c) => [c.path.replace(/01gFK\d+/, 'LOC'), c.status]), [['/query', 200], ['/query/LOC-200', 400], ['/query', 200], ['/query/LOC-200', 200]]);
  t.regex(w.fake.calls[2]!.soql!, /WHERE SystemModstamp > .* AND Id > '001FK\d{10}AAA'\)/);
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
});
