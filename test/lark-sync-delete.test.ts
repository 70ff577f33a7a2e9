// The Lark side of test/sync-bot-delete-cards.test.ts: deletions that reach the Lark bot itself — a signed
// push line, a 简道云 data_remove webhook — cancel the pending request on the customer through the bot's
// approval service, so the approver's and the requester's card copies are patched in place to say the
// customer was deleted in the CRM, with no buttons left. The real Lark bot (real SDK, signed callbacks)
// serves both routes on its HTTP server; only Lark and 简道云 are fakes. The harness also runs the workers,
// whose sync worker pulls the (empty) 简道云 form: its first reconciliation finds no linked customer, the
// next is an hour away (default CUSTOS_SYNC_RECONCILE_INTERVAL), and `deleted: 1` in the route's answer
// shows the bot's route made the deletion.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { cardButtons, cardFormFields, cardText, type SentMessage } from './fakes/lark-api.ts';
import { BotDeletions, DELETED_IN_CRM as DELETED } from './helpers/bot-deletions.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { movableClock } from './helpers/slack-approval.ts';

const clock = movableClock();
const deletions = new BotDeletions(clock);
const h = new LarkHarness(import.meta.url, { customers: 60, clock, overrides: { callbackBudgetMs: 60_000 } });
const all: Customer[] = [];

test.before(async () => {
  // The bot reads its sync sources from the environment (bot/sync/http-routes.ts); this file's process only.
  await deletions.start();
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); await deletions.close(); });

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
  t.deepEqual(await deletions.push(h.bot.url, h.conn, target.customerId), { status: 200, results: [{ line: 1, id: 'ERP-77', status: 'deleted' }] });
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
  t.like(await deletions.webhook(h.bot.url, h.conn, target.customerId), { status: 200, body: { duplicate: false, deleted: 1 } });
  t.like(await new MongoRequestStore(h.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  await copiesSayDeleted(t, approverCard, ownCard);
  t.truthy(await new SyncStore(h.conn).tombstoned(target.customerId));
});
