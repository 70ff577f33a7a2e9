// The periodic access review on Lark, through the real parts: the review worker's job on real Redis
// over grants seeded in the database (FerretDB), review cards sent by the real Lark SDK to the fake Open
// API by open_id (every demo employee is bound to Lark only), Keep / Revoke as signed card callbacks to
// the bot's real endpoint, audit records written by the real audit worker, and the DPO summary at
// closing with the clock moved forward.
import test from 'ava';
import type { Employee } from '../bot/core/domain.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import type { Grant } from '../policies/grants.ts';
import { cardButtons, cardText, type SentMessage } from './fakes/lark-api.ts';
import { reviewGrant, ReviewJobs } from './helpers/access-review.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { movableClock } from './helpers/slack-approval.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';

const HOUR = 3_600_000;
const clock = movableClock();
const h = new LarkHarness(import.meta.url, {
  customers: 20, clock,
  extraEnv: { CUSTOS_REVIEW_FOLLOW_UP_HOURS: '24', CUSTOS_REVIEW_ESCALATE_HOURS: '48', CUSTOS_REVIEW_CLOSE_HOURS: '96' },
});
let jobs: ReviewJobs;
let grants: MongoGrantStore;

test.before(async () => {
  await h.start();
  jobs = await new ReviewJobs(h.prefix).ready();
  grants = new MongoGrantStore(h.conn);
});
test.after.always(async () => {
  await jobs?.close();
  await h.close();
});

function grant(grantId: string, grantee: Employee, customerIds: string[], groups: Grant['groups']): Grant {
  return reviewGrant(clock.now(), grantId, grantee, h.employees.legalHead, customerIds, groups, 30 * 24 * HOUR);
}

const sentSince = (n: number, key: DemoEmployeeKey) => h.fake.sent().slice(n).filter((m) => m.receiveId === h.openId(key));
const reviewCards = (n: number, key: DemoEmployeeKey) => sentSince(n, key).filter((m) => cardButtons(m.card).some((b) => b.value.a === 'review_keep'));
const reviewIdOf = (m: SentMessage) => cardButtons(m.card).find((b) => b.value.a === 'review_revoke')!.value.r!;
/** The review id read once: the fake patches the SentMessage in place, and a settled card has no buttons. */
const press = (key: DemoEmployeeKey, card: SentMessage, reviewId: string, a: 'review_keep' | 'review_revoke') => h.click(key, card, { a, r: reviewId });

test.serial('a Lark-only manager gets the review card; Revoke, Keep, a stale card, duplicate and non-reviewer clicks; the DPO summary on Lark', async (t) => {
  t.timeout(600_000);
  const e = h.employees;
  const own = await h.conn.collection('customers').findOne({ ownerId: e.salesRep.employeeId });
  const customerId = String(own!.customerId);
  const [customer] = await h.customers.find({ kind: 'id', value: customerId }, {}, 1);
  const idNumber = customer!.idNumber!;
  await grants.create(grant('G-lk-rep', e.salesRep, [customerId], ['identity']));
  await grants.create(grant('G-lk-north', e.salesRepNorth, ['C-000002'], ['finance']));
  await grants.create(grant('G-lk-orders', e.ordersClerk, ['C-000004'], ['legal']));

  // Under the grant the rep's Lark lookup shows the ID number; that lookup appears on the review card.
  t.true(cardText((await h.ask('salesRep', customerId)).card).includes(idNumber), 'the grant shows the ID number');
  await h.auditRecords({ action: 'lookup', 'actor.employeeId': e.salesRep.employeeId });
  clock.advance(60_000);

  const n = h.fake.sent().length;
  await jobs.run('cycle');
  const lead = reviewCards(n, 'salesLeadEast');
  t.is(lead.length, 2, 'the sales lead reviews both reports\' grants, on Lark');
  const ordersCards = reviewCards(n, 'ordersLead');
  t.is(ordersCards.length, 1);
  const repCard = lead.find((m) => cardText(m.card).includes('G-lk-rep'))!;
  const text = cardText(repCard.card);
  t.true(text.includes(`权限复核：${e.salesRep.name} (${e.salesRep.employeeId})`), 'titled with the grantee');
  t.true(text.includes('身份信息'), 'the field groups');
  t.true(text.includes(`本期查询: 1 次，涉及 1 位客户; 最多：${customerId} ×1`), 'the grantee\'s lookups of the period');
  t.false(text.includes(idNumber), 'no customer data on the card');
  t.deepEqual(cardButtons(repCard.card).map((b) => b.label), ['保留', '撤销']);
  const repReview = reviewIdOf(repCard);

  // Someone else's manager may not answer: refused with a toast, audited, the grant and the card unchanged.
  const refused = await press('salesHead', repCard, repReview, 'review_revoke');
  t.is(refused.status, 200);
  t.regex(refused.answer.toast?.content ?? '', /只有该复核的负责人/);
  t.is(refused.answer.card, undefined);
  t.is((await grants.activeFor(e.salesRep.employeeId, clock.now())).length, 1);
  const denied = await h.auditRecords({ action: 'review.revoke', decision: 'denied' });
  t.like(denied[0], { grantId: 'G-lk-rep', reasonCode: 'not_reviewer', actor: { employeeId: e.salesHead.employeeId, platform: 'lark', platformUserId: h.openId('salesHead') } });

  // Revoke: toast and the settled card in the answer, the card patched, the grant revoked, audited, the grantee told.
  const revoke = await press('salesLeadEast', repCard, repReview, 'review_revoke');
  t.regex(revoke.answer.toast?.content ?? '', /已撤销/);
  t.is(cardButtons(revoke.answer.card?.data).length, 0, 'the answered card has no buttons');
  t.regex(cardText(revoke.answer.card?.data), new RegExp(`${e.salesLeadEast.name} .*已撤销`));
  const patched = await h.fake.waitFor((m) => m.messageId === repCard.messageId && m.patches.length > 0);
  t.regex(cardText(patched.card), /已撤销/);
  t.truthy((await grants.byId('G-lk-rep'))?.revokedAt);
  const revoked = await h.auditRecords({ action: 'review.revoke', decision: 'allowed' });
  t.like(revoked[0], { grantId: 'G-lk-rep', actor: { employeeId: e.salesLeadEast.employeeId, platform: 'lark' }, meta: { subject: e.salesRep.employeeId, reason: 'access_review', revoked: true } });
  await h.fake.waitFor((m) => m.receiveId === h.openId('salesRep') && cardText(m.card).includes('G-lk-rep'));
  t.false(cardText((await h.ask('salesRep', customerId)).card).includes(idNumber), 'the next Lark lookup masks the ID number again');

  // A second click (the other button) is answered with the first decision and the settled card.
  const again = await press('salesLeadEast', repCard, repReview, 'review_keep');
  t.regex(again.answer.toast?.content ?? '', new RegExp(`已由 ${e.salesLeadEast.name}.*处理：撤销`));
  t.is(cardButtons(again.answer.card?.data).length, 0);
  t.is((await h.auditRecords({ 'meta.reviewId': repReview, decision: 'allowed' })).length, 1);

  // Keep on a card Lark will not update any more (230054): audited, the grant stays, the outcome re-sent.
  const northCard = lead.find((m) => cardText(m.card).includes('G-lk-north'))!;
  const beforeKeep = h.fake.sent().length;
  h.fake.failNextPatches(230054);
  t.regex((await press('salesLeadEast', northCard, reviewIdOf(northCard), 'review_keep')).answer.toast?.content ?? '', /决定保留/);
  const kept = await h.auditRecords({ action: 'review.keep', decision: 'allowed' });
  t.like(kept[0], { grantId: 'G-lk-north', actor: { employeeId: e.salesLeadEast.employeeId, platform: 'lark', platformUserId: h.openId('salesLeadEast') } });
  t.is((await grants.activeFor(e.salesRepNorth.employeeId, clock.now())).length, 1, 'a kept grant stays');
  const resent = await h.fake.waitFor((m) => h.fake.sent().indexOf(m) >= beforeKeep && m.receiveId === h.openId('salesLeadEast') && /决定保留/.test(cardText(m.card)));
  t.true(cardText(resent.card).includes('G-lk-north'));

  // At closing the unanswered card says so and the Lark-bound DPO gets counts only.
  clock.advance(97 * HOUR);
  const beforeClose = h.fake.sent().length;
  await jobs.run('sweep');
  const summary = await h.fake.waitFor((m) => h.fake.sent().indexOf(m) >= beforeClose && m.receiveId === h.openId('dpo'));
  const summaryText = cardText(summary.card);
  t.regex(summaryText, /权限复核周期 RV-\d{8} 汇总[\s\S]*复核 3 项：保留 1，撤销 1，未答复 1（其中升级 0）/);
  for (const pii of [e.ordersClerk.name, e.salesRep.name, 'C-0', 'G-lk']) t.false(summaryText.includes(pii), `no names, customers or grants: ${pii}`);
  const closed = await h.fake.waitFor((m) => m.messageId === ordersCards[0]!.messageId && /未答复/.test(cardText(m.card)));
  t.is(cardButtons(closed.card).length, 0);
});
