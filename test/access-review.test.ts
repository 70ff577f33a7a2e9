// The periodic access review through the real parts: the review worker's BullMQ job schedulers on real
// Redis, a cycle run over grants seeded in the database (FerretDB), cards recorded by the fake Slack API,
// Keep / Revoke as signed clicks on the bot's real endpoint, the audit records written by the real audit
// worker, and follow-up, escalation and the DPO summary with the clock moved forward, each audited once
// (and not taken while the audit queue is unreachable).
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import type { Employee } from '../bot/core/domain.ts';
import { reviewCardView } from '../bot/core/reviews/views.ts';
import { renderReviewCard } from '../bot/lark/review-cards.ts';
import { ACTION_REVIEW } from '../bot/slack/review-blocks.ts';
import { createAuditProducer } from '../bot/queue/audit-producer.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { EMPLOYEE_COLLECTION } from '../bot/store/models.ts';
import { prepareReviewService } from '../bot/store/review-service.ts';
import { workerChat } from '../workers/approvals/chat.ts';
import { CYCLE_SCHEDULER, SWEEP_SCHEDULER } from '../workers/reviews/worker.ts';
import type { Grant } from '../policies/grants.ts';
import { cardButtons, cardProblem, cardText } from './fakes/lark-api.ts';
import type { RecordedCall } from './fakes/slack-api.ts';
import { buttons, movableClock } from './helpers/slack-approval.ts';
import { messageText, slackIdOf, SlackHarness } from './helpers/slack-bot.ts';
import { testEnv } from './helpers/services.ts';
import { reviewGrant, ReviewJobs } from './helpers/access-review.ts';

const HOUR = 3_600_000;
const clock = movableClock();
const h = new SlackHarness(import.meta.url, {
  customers: 20, clock, grants: true,
  extraEnv: {
    CUSTOS_REVIEW_SCHEDULE: '0 30 8 * * 1', CUSTOS_REVIEW_TZ: 'Asia/Shanghai',
    CUSTOS_REVIEW_FOLLOW_UP_HOURS: '24', CUSTOS_REVIEW_ESCALATE_HOURS: '48', CUSTOS_REVIEW_CLOSE_HOURS: '96',
  },
});
let jobs: ReviewJobs;
let grants: MongoGrantStore;

test.before(async () => {
  await h.start();
  jobs = await new ReviewJobs(h.prefix).ready();
  grants = new MongoGrantStore(h.bot.conn);
});
test.after.always(async () => {
  await jobs?.close();
  await h.close();
});

const runJob = (name: 'cycle' | 'sweep') => jobs.run(name);

/** Moves the clock on by `hours` and sweeps twice (the repeat must change nothing); returns how many calls came before. */
async function sweepTwiceAfter(hours: number): Promise<number> {
  clock.advance(hours * HOUR);
  const since = h.fake.calls.length;
  await runJob('sweep');
  await runJob('sweep');
  return since;
}

const dm = (e: Employee) => `D${slackIdOf(e).slice(1)}`;
const postsTo = (e: Employee, since = 0) => h.fake.calls.slice(since).filter((c) => c.method === 'chat.postMessage' && c.body.channel === dm(e));
const reviewCards = (e: Employee, since = 0) => postsTo(e, since).filter((c) => buttons(c.body).some((b) => b.actionId === ACTION_REVIEW.keep));
const reviewIdOf = (card: RecordedCall) => buttons(card.body).find((b) => b.actionId === ACTION_REVIEW.revoke)!.value;

function grant(grantId: string, grantee: Employee, customerIds: string[], groups: Grant['groups'], expiresInMs: number): Grant {
  return reviewGrant(clock.now(), grantId, grantee, h.employees.legalHead, customerIds, groups, expiresInMs);
}

/** The review service as the worker builds it, but with its audit queue unreachable (Redis on a closed port). */
async function reviewsWithoutAudit() {
  const recorder = createAuditProducer({ redis: 'redis://127.0.0.1:1', prefix: h.prefix, timeoutMs: 500 });
  const build = await prepareReviewService(h.bot.conn);
  return { reviews: build({ notifier: workerChat(h.config, h.logger).reviews, recorder, clock, timing: h.config.review }), close: () => recorder.close() };
}

/** A click on a review button and the ephemeral reply to the clicker. */
async function click(who: Employee, actionId: string, reviewId: string): Promise<string> {
  const { responseUrl } = await h.click(slackIdOf(who), dm(who), actionId, reviewId);
  return String((await h.replyTo(responseUrl, 60_000)).body.text);
}

async function lookupText(who: Employee, customerId: string): Promise<string> {
  const { responseUrl } = await h.command(slackIdOf(who), dm(who), customerId);
  return messageText((await h.replyTo(responseUrl, 120_000)).body);
}

test('the review settings are validated with a message that says how to fix them', (t) => {
  const env = (extra: Record<string, string>) => testEnv('db', 'p', extra);
  const bad = t.throws(() => loadConfig(env({ CUSTOS_REVIEW_SCHEDULE: '0 99 * *', CUSTOS_REVIEW_TZ: 'Mars/Olympus' })));
  t.true(isCustosError(bad));
  t.regex(bad!.message, /CUSTOS_REVIEW_SCHEDULE must be a cron pattern of 5 or 6 fields .*e\.g\. '0 0 9 1 \* \*'/);
  t.regex(bad!.message, /CUSTOS_REVIEW_TZ must be an IANA time zone/);
  const order = t.throws(() => loadConfig(env({ CUSTOS_REVIEW_FOLLOW_UP_HOURS: '200', CUSTOS_REVIEW_ESCALATE_HOURS: '100' })));
  t.regex(order!.message, /CUSTOS_REVIEW_FOLLOW_UP_HOURS \(200\) < CUSTOS_REVIEW_ESCALATE_HOURS \(100\)/);
  const ok = loadConfig(env({ CUSTOS_REVIEW_SCHEDULE: ' 0  9 * * 1 ' }));
  t.deepEqual(ok.review.schedule, { pattern: '0 9 * * 1', tz: 'Asia/Shanghai' });
  t.deepEqual(loadConfig(env({})).review.schedule, { pattern: '0 0 9 1 * *', tz: 'Asia/Shanghai' }, 'monthly by default');
});

test('the Lark card is an accepted 2.0 card whose buttons carry the review id', (t) => {
  const view = reviewCardView({
    item: { reviewId: 'RV-20260630.G-1', cycleId: 'RV-20260630', grantId: 'G-1', granteeId: 'E-0012', reviewerId: 'E-0011', createdAt: new Date(0), cards: [] },
    cycle: { cycleId: 'RV-20260630', openedAt: new Date('2026-06-30T00:30:00Z'), periodStart: new Date('2026-05-31T00:30:00Z') },
    grant: grant('G-1', h.employees.salesRep, ['C-000001'], ['identity'], HOUR), grantee: '张伟 (E-0012)',
    activity: { lookups: 3, distinctCustomers: 2, top: [{ customerId: 'C-000001', count: 2 }] }, deadline: new Date('2026-07-02T00:30:00Z'),
  }, { locale: 'en', timezone: 'Europe/London' });
  const card = renderReviewCard(view) as unknown as Record<string, unknown>;
  t.is(cardProblem(card, JSON.stringify(card).length), undefined);
  t.regex(cardText(card), /Access review: 张伟 \(E-0012\)[\s\S]*Lookups this period: 3 lookups of 2 customers; most: C-000001 ×2/);
  // The deadline on the reviewer's clock (London in summer: UTC+1), the zone named.
  t.true(cardText(card).includes('2026-07-02 01:30 (Europe/London)'), cardText(card));
  t.deepEqual(cardButtons(card).map((b) => [b.label, b.value]), [['Keep', { a: 'review_keep', r: 'RV-20260630.G-1' }], ['Revoke', { a: 'review_revoke', r: 'RV-20260630.G-1' }]]);
});

test.serial('the worker registers the cycle scheduler with the configured pattern, and the sweep', async (t) => {
  const cycle = await jobs.queue.getJobScheduler(CYCLE_SCHEDULER);
  t.is(cycle?.pattern, '0 30 8 * * 1');
  t.is(cycle?.tz, 'Asia/Shanghai');
  t.is(cycle?.name, 'cycle');
  // The next run is the next Monday 08:30 in Shanghai (00:30 UTC).
  const next = new Date(Number(cycle?.next));
  t.is(next.getUTCDay(), 1);
  t.is(next.toISOString().slice(11, 16), '00:30');
  const sweep = await jobs.queue.getJobScheduler(SWEEP_SCHEDULER);
  t.is(Number(sweep?.every), 60 * 60_000);
});

test.serial('a cycle sends each manager a card per grant; Revoke, Keep, duplicates, refusals, follow-up, escalation and the DPO summary, each step audited once', async (t) => {
  t.timeout(900_000);
  const e = h.employees;
  const own = await h.bot.conn.collection('customers').findOne({ ownerId: e.salesRep.employeeId });
  const customerId = String(own!.customerId);
  const [customer] = await h.customers.find({ kind: 'id', value: customerId }, {}, 1);
  const idNumber = customer!.idNumber!;
  await grants.create(grant('G-rv-rep', e.salesRep, [customerId], ['identity'], 30 * 24 * HOUR));
  await grants.create(grant('G-rv-north', e.salesRepNorth, ['C-000002'], ['finance'], 30 * 24 * HOUR));
  await grants.create(grant('G-rv-support', e.supportAgent, ['C-000003'], ['finance'], 30 * 24 * HOUR));
  await grants.create(grant('G-rv-orders', e.ordersClerk, ['C-000004'], ['legal'], 30 * 24 * HOUR));
  await grants.create(grant('G-rv-expired', e.marketingStaff, ['C-000005'], ['contact'], -HOUR));
  await grants.create(grant('G-rv-revoked', e.financeClerk, ['C-000006'], ['contact'], 30 * 24 * HOUR));
  await grants.revoke('G-rv-revoked', e.admin.employeeId, clock.now());

  // The grantee's lookups of the period appear on the card; under the grant the ID number is shown.
  t.true((await lookupText(e.salesRep, customerId)).includes(idNumber), 'the grant shows the ID number');
  await lookupText(e.salesRep, customerId);
  await h.auditRecords({ action: 'lookup', 'actor.employeeId': e.salesRep.employeeId }, 2);
  clock.advance(60_000);

  const before = h.fake.calls.length;
  await runJob('cycle');
  const lead = reviewCards(e.salesLeadEast, before);
  t.is(lead.length, 2, 'the sales lead reviews both reports\' grants');
  t.is(reviewCards(e.supportLead, before).length, 1);
  t.is(reviewCards(e.ordersLead, before).length, 1);
  t.is(h.fake.calls.slice(before).filter((c) => c.method === 'chat.postMessage').length, 4, 'no card for expired or revoked grants, nobody else asked');
  const repCard = lead.find((c) => messageText(c.body).includes('G-rv-rep'))!;
  const text = messageText(repCard.body);
  t.true(text.includes(`权限复核：${e.salesRep.name} (${e.salesRep.employeeId})`), 'titled with the grantee');
  t.true(text.includes('身份信息'), 'the field groups');
  t.regex(text, new RegExp(`本期查询\\*: 2 次，涉及 1 位客户; 最多：${customerId} ×2`), 'the grantee\'s heaviest lookups of the period');
  t.false(text.includes(idNumber), 'no customer data on the card');
  t.deepEqual(buttons(repCard.body).map((b) => b.text), ['保留', '撤销']);

  // The same cycle again (schedule fired twice, a retry): nothing is asked twice.
  const again = h.fake.calls.length;
  await runJob('cycle');
  t.is(h.fake.calls.slice(again).filter((c) => c.method === 'chat.postMessage').length, 0);
  const cycleId = String((await h.bot.conn.collection('review_cycles').findOne({}))!.cycleId);
  const system = { employeeId: null, platform: 'system' };
  const [openEvent] = await h.auditRecords({ action: 'review.open' });
  t.like(openEvent, { actor: system, channelKind: 'none', decision: 'allowed', customerIds: [], meta: { cycleId, grants: 4, reason: 'access_review' } });

  // Someone else's manager may not answer; the attempt is audited and changes nothing.
  const repReview = reviewIdOf(repCard);
  t.regex(await click(e.salesHead, ACTION_REVIEW.revoke, repReview), /只有该复核的负责人/);
  t.truthy((await grants.activeFor(e.salesRep.employeeId, clock.now())).length);
  const refused = await h.auditRecords({ action: 'review.revoke', decision: 'denied' });
  t.like(refused[0], { grantId: 'G-rv-rep', reasonCode: 'not_reviewer', actor: { employeeId: e.salesHead.employeeId, platform: 'slack', platformUserId: slackIdOf(e.salesHead) } });

  // Revoke: the grant is revoked, audited with the reason, every card copy updated, the grantee told.
  const updatesBefore = h.fake.callsTo('chat.update').length;
  t.regex(await click(e.salesLeadEast, ACTION_REVIEW.revoke, repReview), /已撤销/);
  t.truthy((await grants.byId('G-rv-rep'))?.revokedAt);
  const revoked = await h.auditRecords({ action: 'review.revoke', decision: 'allowed' });
  t.like(revoked[0], { grantId: 'G-rv-rep', actor: { employeeId: e.salesLeadEast.employeeId }, meta: { subject: e.salesRep.employeeId, reviewId: repReview, reason: 'access_review', revoked: true } });
  const updated = h.fake.callsTo('chat.update').slice(updatesBefore);
  t.is(updated.length, 1);
  t.is(buttons(updated[0]!.body).length, 0, 'the buttons are gone');
  t.regex(messageText(updated[0]!.body), new RegExp(`${e.salesLeadEast.name} .*已撤销`));
  t.true(postsTo(e.salesRep, before).some((c) => messageText(c.body).includes('G-rv-rep')), 'the grantee is told');
  t.false((await lookupText(e.salesRep, customerId)).includes(idNumber), 'a later lookup masks the ID number again');

  // A second click (a double click, the other button) is answered with the first decision.
  t.regex(await click(e.salesLeadEast, ACTION_REVIEW.keep, repReview), new RegExp(`已由 ${e.salesLeadEast.name}.*处理：撤销`));
  t.is((await h.auditRecords({ 'meta.reviewId': repReview, decision: 'allowed' })).length, 1);

  // Keep is recorded and leaves the grant alone; concurrent double clicks decide once.
  const northReview = reviewIdOf(lead.find((c) => messageText(c.body).includes('G-rv-north'))!);
  t.regex(await click(e.salesLeadEast, ACTION_REVIEW.keep, northReview), /决定保留/);
  const supportReview = reviewIdOf(reviewCards(e.supportLead, before)[0]!);
  const replies = await Promise.all([1, 2].map(() => click(e.supportLead, ACTION_REVIEW.keep, supportReview)));
  t.is(replies.filter((r) => /决定保留/.test(r)).length, 1);
  t.is(replies.filter((r) => /已由/.test(r)).length, 1);
  const kept = await h.auditRecords({ action: 'review.keep', decision: 'allowed' }, 2);
  t.is(kept.length, 2);
  t.deepEqual(kept.map((r) => r.grantId).sort(), ['G-rv-north', 'G-rv-support']);
  t.is((await grants.activeFor(e.salesRepNorth.employeeId, clock.now())).length, 1, 'a kept grant stays');

  // Unanswered: reminded once after the follow-up time, escalated to the reviewer's manager after the
  // escalation time, and at closing the DPO gets counts only.
  // Without the audit queue the reminder is neither sent nor claimed: it waits for a sweep that can record it.
  clock.advance(25 * HOUR);
  const blind = await reviewsWithoutAudit();
  const blindSince = h.fake.calls.length;
  const failed = await t.throwsAsync(() => blind.reviews.sweep());
  await blind.close();
  t.true(isCustosError(failed, ErrorCode.AuditUnavailable), String(failed));
  t.is(postsTo(e.ordersLead, blindSince).length, 0, 'no reminder without its audit record');
  const sweep1 = await sweepTwiceAfter(0);
  const [reminded] = await h.auditRecords({ action: 'review.remind' });
  t.like(reminded, { actor: system, meta: { cycleId, reviewer: e.ordersLead.employeeId, waiting: 1 } });
  const reminders = postsTo(e.ordersLead, sweep1);
  t.is(reminders.length, 1, 'one reminder, however many sweeps');
  t.regex(messageText(reminders[0]!.body), /还有 1 项权限复核未处理/);
  t.is(postsTo(e.salesLeadEast, sweep1).length, 0, 'answered reviews are not followed up');

  const sweep2 = await sweepTwiceAfter(24);
  const escalated = reviewCards(e.ordersHead, sweep2);
  t.is(escalated.length, 1, 'escalated once, to the reviewer\'s manager');
  t.regex(messageText(escalated[0]!.body), new RegExp(`${e.ordersLead.name}.*未在期限内答复`));
  t.true(messageText(escalated[0]!.body).includes('G-rv-orders'));
  const [escalation] = await h.auditRecords({ action: 'review.escalate' });
  t.like(escalation, { actor: system, grantId: 'G-rv-orders', meta: { cycleId, subject: e.ordersClerk.employeeId, reviewer: e.ordersLead.employeeId, escalatedTo: e.ordersHead.employeeId } });

  const sweep3 = await sweepTwiceAfter(48);
  const summaries = postsTo(e.dpo, sweep3);
  t.is(summaries.length, 1, 'one summary per cycle');
  const summary = messageText(summaries[0]!.body);
  t.regex(summary, /复核 4 项：保留 2，撤销 1，未答复 1（其中升级 1）/);
  const opened = (await h.bot.conn.collection('review_cycles').findOne({}))!.openedAt as Date;
  const lookups = (await h.auditRecords({ action: 'lookup' })).filter((r) => (r.occurredAt as Date) < opened).length;
  t.regex(summary, new RegExp(`查询 ${lookups}，拒绝 \\d+，揭示 \\d+，导出 \\d+，冻结 \\d+`));
  for (const pii of [e.ordersClerk.name, e.salesRep.name, 'C-0', 'G-rv']) t.false(summary.includes(pii), `no names, customers or grants: ${pii}`);
  const closedCards = h.fake.callsTo('chat.update').slice(-2).filter((c) => messageText(c.body).includes('未答复'));
  t.is(closedCards.length, 2, 'both copies of the unanswered card say it closed unanswered');
  t.is((await grants.activeFor(e.ordersClerk.employeeId, clock.now())).length, 1, 'an unanswered review revokes nothing by itself');

  // Each of the system's steps is in the audit log exactly once, however often the jobs ran, with
  // what the DPOs were told — counts and ids, no names.
  const dpos = await h.bot.conn.collection(EMPLOYEE_COLLECTION).countDocuments({ roles: 'dpo', status: 'active' });
  const [closing] = await h.auditRecords({ action: 'review.close' });
  t.like(closing, { actor: system, meta: { cycleId, total: 4, kept: 2, revoked: 1, unanswered: 1, escalated: 1, lookups, dpos } });
  const steps = (await h.allAuditRecords(1000)).filter((r) => ['review.open', 'review.remind', 'review.escalate', 'review.close'].includes(String(r.action)));
  t.deepEqual(steps.map((r) => r.action), ['review.open', 'review.remind', 'review.escalate', 'review.close'], 'one event per step, in order');
  for (const name of [e.ordersClerk.name, e.ordersLead.name, e.ordersHead.name, e.dpo.name]) t.false(JSON.stringify(steps).includes(name), `no names: ${name}`);
});
