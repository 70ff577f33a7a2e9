// Card copies across platforms stay in step: the Slack bot (real Bolt, fake Slack API) and the Lark bot
// (real Lark SDK, fake Lark Open API) run side by side on one database, one Redis prefix and one
// configuration with both platforms, as a deployment with both does. The legal head and the sales
// people are bound to Slack, the DPO and the head of sales to Lark only, so an identity request (legal
// head and DPO, quorum 2) has approver copies on both platforms. A vote, an approval, a denial or an
// offboarding that arrives through one bot must update the copies on the other platform too; so must a
// Keep or a Revoke on an access-review card whose escalated copy lives on the other platform. A reveal
// approved on Lark is shown on the Slack card it was asked from.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import type { RunningLarkBot } from '../bot/lark/runtime.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { cardButtons, cardText, type SentMessage } from './fakes/lark-api.ts';
import type { RecordedCall } from './fakes/slack-api.ts';
import { reviewGrant, ReviewJobs } from './helpers/access-review.ts';
import { openIdOf } from './helpers/lark-bot.ts';
import { cardAction, post, signed, userDeleted } from './helpers/lark-sign.ts';
import { buttons, denyValues, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import { larkDmOf as larkDm, SlackAndLark } from './helpers/slack-and-lark.ts';
import { messageText, SIGNING_SECRET, type SlackHarness } from './helpers/slack-bot.ts';
import { JSON_TYPE, post as slackHttp, sign } from './helpers/slack-sign.ts';

const HOUR = 3_600_000;
const clock = movableClock();
const two = new SlackAndLark(import.meta.url, {
  customers: 60, clock,
  extraEnv: { CUSTOS_REVIEW_FOLLOW_UP_HOURS: '24', CUSTOS_REVIEW_ESCALATE_HOURS: '48', CUSTOS_REVIEW_CLOSE_HOURS: '96' },
});
const { lark, all } = two;
let h: SlackHarness;
let larkBot: RunningLarkBot;
let jobs: ReviewJobs;

test.before(async () => {
  ({ h, larkBot } = await two.start());
  jobs = await new ReviewJobs(h.prefix).ready();
});
test.after.always(async () => {
  await jobs?.close();
  await two.close();
});

let nth = 0;
/** A customer of `region` that `requester` does not own (identity data masked on their card). */
function customer(requester: DemoEmployeeKey, region: string): Customer {
  return all.filter((c) => c.region === region && c.ownerId !== h.employees[requester].employeeId && c.status !== 'blocked')[nth++]!;
}

/** `requester` asks on Slack for the identity group (legal head on Slack, DPO on Lark); resolves with the Lark copy. */
async function identityRequest(requester: DemoEmployeeKey = 'salesRep', region = 'east'): Promise<{ id: string; larkCopy: SentMessage }> {
  const reply = await h.ask(h.userId(requester), h.dmOf(requester), customer(requester, region).customerId);
  const access = buttons(reply.body).find((b) => b.actionId.startsWith('approval_access'))!;
  const since = h.fake.calls.length;
  await h.click(h.userId(requester), h.dmOf(requester), access.actionId, access.value);
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId(requester), modal.callback_id, modal.private_metadata, requestValues('合同核对', 30, ['identity']));
  if (res.body) throw new Error(res.body);
  const own = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf(requester) && /#R-[A-P]{10}/.test(String(x.body.text)));
  const id = /#(R-[A-P]{10})/.exec(String(own.body.text))![1]!;
  await slackCopy('legalHead', id, 'chat.postMessage');
  const larkCopy = await lark.waitFor((m) => m.receiveId === openIdOf(h.employees.dpo) && cardText(m.card).includes(id));
  return { id, larkCopy };
}

/** The latest call of `method` on `key`'s Slack DM about request `id` whose text matches `pattern`. */
function slackCopy(key: DemoEmployeeKey, id: string, method: 'chat.postMessage' | 'chat.update', pattern = /./): Promise<RecordedCall> {
  return h.fake.waitFor((x) => x.method === method && x.body.channel === h.dmOf(key) && String(x.body.text).includes(id) && pattern.test(messageText(x.body)));
}

/** The Lark copy once it has been patched to text matching `pattern` (the fake patches it in place). */
function larkPatched(copy: SentMessage, pattern: RegExp): Promise<SentMessage> {
  return lark.waitFor((m) => m.messageId === copy.messageId && m.patches.length > 0 && pattern.test(cardText(m.card)));
}

/** A signed card callback to the Lark bot as `key`; resolves with its answer (toast and card). */
async function larkClick(key: DemoEmployeeKey, message: SentMessage, value: Record<string, string>, formValue?: Record<string, unknown>) {
  const e = h.employees[key];
  const res = await post(`${larkBot.url}/lark/events`, signed(cardAction({ openId: openIdOf(e), value, messageId: message.messageId, chatId: larkDm(e), ...(formValue ? { formValue } : {}) })));
  return res.text ? JSON.parse(res.text) as { toast?: { content: string }; card?: { data: Record<string, unknown> } } : {};
}

test.serial('a vote on Slack updates the Lark copy; the deciding approval on Lark updates the Slack copies', async (t) => {
  const { id, larkCopy } = await identityRequest();
  t.deepEqual(cardButtons(larkCopy.card).map((b) => b.value.a), ['approve', 'deny'], 'the DPO\'s Lark copy is live');

  const click = await h.click(h.userId('legalHead'), h.dmOf('legalHead'), 'approval_approve', id);
  t.regex(String((await h.replyTo(click.responseUrl)).body.text), /1\/2/);
  const voted = await larkPatched(larkCopy, /1\/2/);
  t.deepEqual(cardButtons(voted.card).map((b) => b.value.a), ['approve', 'deny'], 'still live on Lark: one more approval is needed');

  const decided = await larkClick('dpo', larkCopy, { a: 'approve', r: id });
  t.regex(decided.toast?.content ?? '', new RegExp(`已批准申请 #${id}`));
  for (const key of ['legalHead', 'salesRep'] as DemoEmployeeKey[]) {
    const update = await slackCopy(key, id, 'chat.update', /已由 (诸葛亮, 欧阳明|欧阳明, 诸葛亮) 于 .* 批准，授权 #G-/);
    t.is(buttons(update.body).length, 0, `${key}'s Slack copy has no buttons left`);
  }
  const patched = await larkPatched(larkCopy, /批准，授权 #G-/);
  t.is(cardButtons(patched.card).length, 0, 'nor the Lark copy');
  await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && String(x.body.text).includes(`#${id}`) && /已由 .*批准/.test(String(x.body.text)));
});

test.serial('a denial on Lark updates the Slack copies and tells the requester on Slack; a denial on Slack updates the Lark copy', async (t) => {
  const first = await identityRequest();
  const form = await larkClick('dpo', first.larkCopy, { a: 'deny', r: first.id });
  const submit = cardButtons(form.card?.data).find((b) => b.value.a === 'deny_submit')!;
  const denied = await larkClick('dpo', first.larkCopy, submit.value, { reason: '用途不充分' });
  t.regex(denied.toast?.content ?? '', new RegExp(`#${first.id}`));
  for (const key of ['legalHead', 'salesRep'] as DemoEmployeeKey[]) {
    const update = await slackCopy(key, first.id, 'chat.update', /已由 欧阳明 于 .* 拒绝，理由：用途不充分/);
    t.is(buttons(update.body).length, 0, `${key}'s Slack copy has no buttons left`);
  }
  await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && String(x.body.text).includes('用途不充分'));
  t.false(lark.sentTo(openIdOf(h.employees.salesRep)).some((m) => cardText(m.card).includes('用途不充分')), 'not on Lark as well: Slack is the requester\'s first bound platform');

  const second = await identityRequest();
  const since = h.fake.calls.length;
  await h.click(h.userId('legalHead'), h.dmOf('legalHead'), 'approval_deny', second.id);
  const modal = openedView(await modalAfter(h, since));
  t.is((await submitView(h, h.userId('legalHead'), modal.callback_id, modal.private_metadata, denyValues('不属于本案'))).body, '');
  const patched = await larkPatched(second.larkCopy, /已由 诸葛亮 于 .* 拒绝，理由：不属于本案/);
  t.is(cardButtons(patched.card).length, 0, 'the Lark copy has no buttons left');
  const late = await larkClick('dpo', second.larkCopy, { a: 'approve', r: second.id });
  t.regex(late.toast?.content ?? '', /该申请已由 诸葛亮 于 .* 拒绝/, 'a late click on the other platform is told who decided');
});

test.serial('a reveal asked on Slack and approved on Lark is shown on the Slack card it was asked from', async (t) => {
  // The sales lead (Slack) asks; their manager, the head of sales, approves contact data on Lark.
  const c = all.filter((x) => x.region === 'east' && x.phone && x.status !== 'blocked' && x.ownerId !== h.employees.salesLeadEast.employeeId).at(-1)!;
  const card = await h.ask(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), c.customerId);
  t.false(messageText(card.body).includes(c.phone!), 'masked before');
  const reveal = buttons(card.body).find((b) => b.actionId.startsWith('approval_reveal') && b.text.includes('电话'))!;
  const since = h.fake.calls.length;
  const click = await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), reveal.actionId, reveal.value);
  const modal = openedView(await modalAfter(h, since));
  t.is((await submitView(h, h.userId('salesLeadEast'), modal.callback_id, modal.private_metadata, requestValues('核对来电号码', 15))).body, '');
  const larkCopy = await lark.waitFor((m) => m.receiveId === openIdOf(h.employees.salesHead) && /#R-[A-P]{10}/.test(cardText(m.card)));
  const id = /#(R-[A-P]{10})/.exec(cardText(larkCopy.card))![1]!;

  t.regex((await larkClick('salesHead', larkCopy, { a: 'approve', r: id })).toast?.content ?? '', new RegExp(`已批准申请 #${id}`));
  const path = new URL(click.responseUrl).pathname;
  const revealed = await h.fake.waitFor((x) => x.method === 'response_url' && x.path === path && x.body.replace_original === true);
  t.true(messageText(revealed.body).includes(c.phone!), 'the Slack lookup card shows the phone');
  t.is(revealed.body.response_type, 'ephemeral', 'to the requester only');
  t.false(lark.sent().some((m) => cardText(m.card).includes(c.phone!)), 'nothing of it on Lark');
  await slackCopy('salesLeadEast', id, 'chat.update', /已由 王伟 于 .* 批准/);
});

test.serial('access review: a Keep on the escalated Lark copy updates the reviewer\'s Slack copy; a Revoke on Slack patches the Lark copy', async (t) => {
  t.timeout(300_000);
  const e = h.employees;
  const grants = new MongoGrantStore(h.bot.conn);
  // Two grants of the lead's report; the lead (Slack) does not answer, the review escalates to the head of sales (Lark).
  for (const id of ['G-xp-keep', 'G-xp-revoke']) await grants.create(reviewGrant(clock.now(), id, e.salesRepNorth, e.legalHead, ['C-000002'], ['finance'], 30 * 24 * HOUR));
  const since = h.fake.calls.length;
  await jobs.run('cycle');
  const reviewerCopy = (grantId: string) => h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesLeadEast') && messageText(x.body).includes(grantId));
  const keepId = buttons((await reviewerCopy('G-xp-keep')).body)[0]!.value;
  const revokeId = buttons((await reviewerCopy('G-xp-revoke')).body)[0]!.value;
  clock.advance(49 * HOUR);
  const n = lark.sent().length;
  await jobs.run('sweep');
  const escalated = (grantId: string) => lark.waitFor((m) => lark.sent().indexOf(m) >= n && m.receiveId === openIdOf(e.salesHead) && cardText(m.card).includes(grantId));
  const keepCopy = await escalated('G-xp-keep');
  const revokeCopy = await escalated('G-xp-revoke');
  t.deepEqual(cardButtons(keepCopy.card).map((b) => b.value.a), ['review_keep', 'review_revoke']);

  const kept = await larkClick('salesHead', keepCopy, { a: 'review_keep', r: keepId });
  t.regex(kept.toast?.content ?? '', /决定保留/);
  const update = await h.fake.waitFor((x) => x.method === 'chat.update' && x.body.channel === h.dmOf('salesLeadEast') && /G-xp-keep/.test(messageText(x.body)) && /决定保留/.test(messageText(x.body)));
  t.is(buttons(update.body).length, 0, 'the reviewer\'s Slack copy has no buttons left');
  t.true(messageText(update.body).includes(e.salesHead.name), 'and says who kept it');

  const revoke = await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), 'review_revoke', revokeId);
  t.regex(String((await h.replyTo(revoke.responseUrl)).body.text), /已撤销/);
  const patched = await larkPatched(revokeCopy, new RegExp(`${e.salesLeadEast.name} \\(${e.salesLeadEast.employeeId}\\) 于 .* 已撤销`));
  t.is(cardButtons(patched.card).length, 0, 'the escalated Lark copy has no buttons left');
  t.truthy((await grants.byId('G-xp-revoke'))?.revokedAt);
  clock.advance(-49 * HOUR);
});

test.serial('offboarding cancels the pending request whichever bot hears of it; the Slack and the Lark copies say so', async (t) => {
  const offboarded = async (id: string, larkCopy: SentMessage, requester: DemoEmployeeKey) => {
    for (const key of ['legalHead', requester]) {
      const update = await slackCopy(key as DemoEmployeeKey, id, 'chat.update', /申请人已离职，申请已于 .* 自动撤销/);
      t.is(buttons(update.body).length, 0, `${key}'s Slack copy has no buttons left`);
    }
    const patched = await larkPatched(larkCopy, /申请人已离职，申请已于 .* 自动撤销/);
    t.is(cardButtons(patched.card).length, 0, 'nor the Lark copy');
    const cancel = await h.auditRecords({ requestId: id, action: 'request.cancel' });
    t.like(cancel[0], { reasonCode: 'offboarded', actor: { employeeId: null, platform: 'system' } });
  };
  // Through Lark's directory event (the Lark bot cancels; two of the copies are on Slack).
  const viaLark = await identityRequest();
  t.is((await post(`${larkBot.url}/lark/events`, signed(userDeleted(openIdOf(h.employees.salesRep))))).status, 200);
  await offboarded(viaLark.id, viaLark.larkCopy, 'salesRep');
  // Through Slack's user_change (the Slack bot cancels; the DPO's copy is on Lark).
  const viaSlack = await identityRequest('salesRepSouth', 'south');
  t.is((await slackPost(userChangeBody(h.userId('salesRepSouth')))).status, 200);
  await offboarded(viaSlack.id, viaSlack.larkCopy, 'salesRepSouth');
});

function userChangeBody(userId: string): string {
  return JSON.stringify({
    token: 'legacy-verification-token', team_id: 'T0TEST', api_app_id: 'A0TEST', type: 'event_callback',
    event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`, event_time: Math.floor(Date.now() / 1000),
    event: { type: 'user_change', user: { id: userId, team_id: 'T0TEST', deleted: true, profile: {} }, event_ts: `${Math.floor(Date.now() / 1000)}.000100` },
  });
}

const slackPost = (raw: string) => slackHttp(h.eventsUrl, sign(SIGNING_SECRET, raw, JSON_TYPE));
