// The Lark side of test/sync-bot-delete-cards.test.ts: deletions that reach the Lark bot itself — a signed
// push line, a 简道云 data_remove webhook — cancel the pending request on the customer through the bot's
// approval service, so the approver's and the requester's card copies are patched in place to say the
// customer was deleted in the CRM, with no buttons left. The real Lark bot (real SDK, signed callbacks)
// serves both routes on its HTTP server; only Lark and 简道云 are fakes. The harness also runs the workers,
// whose sync worker pulls the (empty) 简道云 form: its first reconciliation finds no linked customer, the
// next is an hour away (default CUSTOS_SYNC_RECONCILE_INTERVAL), and `deleted: 1` in the route's answer
// shows the bot's route made the deletion.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import type { Customer } from '../bot/core/domain.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { PUSH_PATH } from '../bot/sync/push-route.ts';
import { pushSignature } from '../bot/sync/push-signature.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { WEBHOOK_PATH } from '../bot/sync/webhook-route.ts';
import { FakeJiandaoyun } from './fakes/jiandaoyun.ts';
import { cardButtons, cardFormFields, cardText, type SentMessage } from './fakes/lark-api.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { movableClock } from './helpers/slack-approval.ts';

const PUSH_SECRET = 'erp-secret-0123456789abcdef0123456789abcdef';
const JDY = { apiKey: 'jdy-api-key-0123456789abcdef0123', appId: '59264073a2a60c0c08e20bfb', entryId: '59264073a2a60c0c08e20bfd', secret: 'jdy-webhook-secret-0123456789' };
const DELETED = /该客户已在 CRM 中删除，申请已于 .* 自动撤销，无需审批/;
const clock = movableClock();
const jdy = new FakeJiandaoyun({ apiKey: JDY.apiKey, appId: JDY.appId, entryId: JDY.entryId, clock });
const h = new LarkHarness(import.meta.url, { customers: 60, clock, overrides: { callbackBudgetMs: 60_000 } });
const all: Customer[] = [];

test.before(async () => {
  // The bot reads its sync sources from the environment (bot/sync/http-routes.ts); this file's process only.
  Object.assign(process.env, {
    CUSTOS_SYNC_SOURCES: 'erp,jiandaoyun', CUSTOS_SYNC_MAPPINGS: fileURLToPath(new URL('./fixtures/sync', import.meta.url)),
    CUSTOS_SYNC_PUSH_SECRET_ERP: PUSH_SECRET,
    CUSTOS_SYNC_JIANDAOYUN_API_URL: await jdy.start(), CUSTOS_SYNC_JIANDAOYUN_API_KEY: JDY.apiKey, CUSTOS_SYNC_JIANDAOYUN_APP_ID: JDY.appId,
    CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: JDY.entryId, CUSTOS_SYNC_JIANDAOYUN_WEBHOOK_SECRET: JDY.secret,
  });
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); await jdy.close(); });

const sentAfter = (n: number) => (m: SentMessage) => h.fake.sent().indexOf(m) >= n;

/** A pending Reveal-phone request by salesRep on an east customer they do not own (a different one per test), with both card copies out. */
async function pendingRequest(skip: number): Promise<{ target: Customer; requestId: string; approverCard: SentMessage; ownCard: SentMessage }> {
  const target = all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.phone && c.status !== 'blocked')[skip]!;
  const lookup = await h.ask('salesRep', target.customerId);
  const reveal = cardButtons(lookup.card).find((b) => b.value.a === 'reveal' && b.label.includes('电话'));
  if (!reveal) throw new Error(`no reveal button: ${cardText(lookup.card)}`);
  let n = h.fake.sent().length;
  await h.click('salesRep', lookup, reveal.value);
  const form = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardFormFields(m.card).includes('reason'));
  const submit = cardButtons(form.card).find((b) => b.value.a === 'request_submit')!;
  n = h.fake.sent().length;
  const res = await h.click('salesRep', form, submit.value, { reason: '核对来电号码', duration: '15' });
  const requestId = /#(R-[A-P]{10})/.exec(res.answer.toast?.content ?? '')?.[1];
  if (!requestId) throw new Error(`not submitted: ${JSON.stringify(res.answer.toast)}`);
  const approverCard = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesLeadEast') && cardText(m.card).includes(requestId));
  const ownCard = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).startsWith(`权限申请 #${requestId}`));
  return { target, requestId, approverCard, ownCard };
}

/** Both copies patched in place: the deletion notice, no button left. */
async function copiesSayDeleted(t: { regex(s: string, r: RegExp): void; is(a: unknown, b: unknown, m?: string): void }, ...cards: SentMessage[]): Promise<void> {
  for (const card of cards) {
    const patched = await h.fake.waitFor((m) => m.messageId === card.messageId && m.patches.length > 0 && DELETED.test(cardText(m.card)));
    t.regex(cardText(patched.card), DELETED);
    t.is(cardButtons(patched.card).length, 0, 'no Approve, Deny or Cancel left on a cancelled request');
  }
}

test.serial('a delete line pushed to the Lark bot cancels the pending request; the approver\'s and the requester\'s cards say so in place', async (t) => {
  const { target, requestId, approverCard, ownCard } = await pendingRequest(0);
  t.deepEqual(cardButtons(approverCard.card).map((b) => b.value.a), ['approve', 'deny']);
  const store = new SyncStore(h.conn);
  await store.link('erp', [{ sourceId: 'ERP-77', customerId: target.customerId }]);
  const body = JSON.stringify({ op: 'delete', id: 'ERP-77' });
  const ts = String(Math.floor(clock.now().getTime() / 1000));
  const res = await fetch(`${h.bot.url}${PUSH_PATH('erp')}`, {
    method: 'POST', body,
    headers: { 'content-type': 'application/x-ndjson', 'x-custos-request-timestamp': ts, 'x-custos-signature': pushSignature(PUSH_SECRET, ts, Buffer.from(body)), 'x-custos-batch-id': 'del-1' },
  });
  t.is(res.status, 200);
  t.deepEqual(((await res.json()) as { results: unknown[] }).results, [{ line: 1, id: 'ERP-77', status: 'deleted' }]);
  t.like(await new MongoRequestStore(h.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  await copiesSayDeleted(t, approverCard, ownCard);
  t.is(await h.customers.get(target.customerId), null);
  // A late Approve on the (stale) card decides nothing.
  const late = await h.click('salesLeadEast', approverCard, { a: 'approve', r: requestId });
  t.notRegex(late.answer.toast?.content ?? '', /已批准|approved/i);
  t.is((await h.auditRecords({ requestId, action: 'grant.start' }, 0, 500)).length, 0);
});

test.serial('a 简道云 data_remove webhook to the Lark bot cancels the pending request; both card copies say so in place', async (t) => {
  const { target, requestId, approverCard, ownCard } = await pendingRequest(1);
  const store = new SyncStore(h.conn);
  // The record the customer came from, already gone from 简道云 (the webhook is re-read: absent = deleted).
  const recordId = '64f0a1b2c3d4e5f6000000aa';
  await store.link('jiandaoyun', [{ sourceId: recordId, customerId: target.customerId }]);
  const res = await jdy.deliver(`${h.bot.url}${WEBHOOK_PATH('jiandaoyun')}`, JDY.secret, 'data_remove', recordId);
  t.is(res.status, 200);
  t.like(await res.json(), { duplicate: false, deleted: 1 });
  t.like(await new MongoRequestStore(h.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  await copiesSayDeleted(t, approverCard, ownCard);
  t.truthy(await store.tombstoned(target.customerId));
});
