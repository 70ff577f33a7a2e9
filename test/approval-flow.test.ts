// Approvals through the real Bolt app, the fake Slack API, real Redis and database and the real audit
// pipeline: lookup → request (modal) → approve → the next lookup shows the field under the grant →
// the grant expires (clock moved, sweep) → masked again; reveals update the original card; concurrent
// clicks; self-approval; non-approvers; quorum; reminders, escalation and expiry; bad input.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { createAuditProducer, type AuditProducer } from '../bot/queue/audit-producer.ts';
import { workerApprovalParts, type WorkerApprovalParts } from '../workers/approvals/service.ts';
import { SlackHarness, cardFields, messageText, type SlackHarness as Harness } from './helpers/slack-bot.ts';
import { buttons, denyValues, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';

const clock = movableClock();
const h = new SlackHarness(import.meta.url, { customers: 150, grants: true, clock });
let worker: WorkerApprovalParts;
let producer: AuditProducer;
const all: Customer[] = [];
const MINUTE = 60_000;

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
  producer = createAuditProducer({ redis: h.config.redis!, prefix: h.config.redis!.queuePrefix, timeoutMs: 2000 });
  worker = await workerApprovalParts(h.bot.conn, h.config, h.logger, clock, producer);
});
test.after.always(async () => {
  await producer?.close();
  await h.close();
});

/** An east-region customer with a phone that `salesRep` does not own (phone masked on their card). */
function maskedPhoneCustomer(skip: number): Customer {
  const list = all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.phone && c.status !== 'blocked');
  return list[skip]!;
}

async function lookupCard(key: DemoEmployeeKey, customerId: string): Promise<Record<string, unknown>> {
  const reply = await h.ask(h.userId(key), h.dmOf(key), customerId);
  return reply.body;
}

/** Clicks a card button and returns the modal it opened. */
async function openModal(key: DemoEmployeeKey, actionId: string, value: string) {
  const since = h.fake.calls.length;
  await h.click(h.userId(key), h.dmOf(key), actionId, value);
  return openedView(await modalAfter(h, since));
}

function dmsTo(key: DemoEmployeeKey, since: number): string[] {
  return h.fake.calls.slice(since).filter((c) => c.method === 'chat.postMessage' && c.body.channel === h.dmOf(key)).map((c) => messageText(c.body) || String(c.body.text));
}

async function requestAccess(key: DemoEmployeeKey, customerId: string, reason: string, minutes: number, groups: string[]): Promise<string> {
  const card = await lookupCard(key, customerId);
  const access = buttons(card).find((b) => b.actionId.startsWith('approval_access'))!;
  const modal = await openModal(key, access.actionId, access.value);
  const since = h.fake.calls.length;
  const res = await submitView(h, h.userId(key), modal.callback_id, modal.private_metadata, requestValues(reason, minutes, groups));
  if (res.body) throw new Error(`submission refused: ${res.body}`);
  const card2 = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= since && c.method === 'chat.postMessage' && /#R-[A-P]{10}/.test(String(c.body.text)));
  return /#(R-[A-P]{10})/.exec(String(card2.body.text))![1]!;
}

test.serial('lookup → request access → approve → field shown under the grant → expiry → masked again, each step audited', async (t) => {
  const c = maskedPhoneCustomer(0);
  const phoneLabel = '电话';
  const before = cardFields(await lookupCard('salesRep', c.customerId));
  t.not(before.get(phoneLabel), c.phone, 'phone is masked before any grant');

  const card = await lookupCard('salesRep', c.customerId);
  const btns = buttons(card);
  t.true(btns.some((b) => b.actionId.startsWith('approval_reveal') && b.text.includes(phoneLabel)), 'a Reveal button for the masked phone');
  const access = btns.find((b) => b.actionId.startsWith('approval_access'))!;
  const modal = await openModal('salesRep', access.actionId, access.value);
  t.regex(JSON.stringify(modal.blocks), /最多 1440/, 'the modal bounds the duration by the loosest requestable group (legal: 1440 min)');

  const since = h.fake.calls.length;
  const res = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('续约跟进', 60, ['contact']));
  t.is(res.body, '', 'accepted');
  // The manager (sales lead east) gets the approver card; the requester a card with Cancel.
  const leadCard = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesLeadEast'));
  const leadText = messageText(leadCard.body);
  for (const part of ['张伟', c.customerId, '电话', '续约跟进', '60 分钟', '李娜']) t.true(leadText.includes(part), `approver card shows ${part}`);
  const requestId = /#(R-[A-P]{10})/.exec(String(leadCard.body.text))![1]!;
  t.deepEqual(buttons(leadCard.body).map((b) => b.actionId), ['approval_approve', 'approval_deny']);
  const own = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && String(x.body.text).includes(requestId));
  t.deepEqual(buttons(own.body).map((b) => b.actionId), ['approval_cancel']);

  // Approve: every copy updated in place, the requester told by DM.
  const s2 = h.fake.calls.length;
  const click = await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), 'approval_approve', requestId);
  const answer = await h.replyTo(click.responseUrl);
  t.regex(String(answer.body.text), new RegExp(`已批准申请 #${requestId}`));
  const updates = await waitCalls(s2, (x) => x.method === 'chat.update' && String(x.body.text).includes(requestId), 2);
  t.true(updates.every((u) => /已由 李娜 于 .* 批准，授权 #G-/.test(messageText(u.body))), 'both cards say approved, by whom, the grant and until when');
  t.true(updates.every((u) => buttons(u.body).length === 0), 'no buttons left on a decided card');
  await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= s2 && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && String(x.body.text).includes('已由 李娜 批准'));

  // The next lookup shows the phone under the grant.
  const grantId = `G-${requestId.slice(2)}`;
  const after = await lookupCard('salesRep', c.customerId);
  t.is(cardFields(after).get(phoneLabel), c.phone);
  t.regex(messageText(after), new RegExp(`以下字段依据授权 #${grantId} 显示，有效期至`));

  // Expiry: the clock moves past the grant, the sweep notices; cards and DM update; masked again.
  clock.advance(61 * MINUTE);
  const s3 = h.fake.calls.length;
  const swept = await worker.approvals.sweep();
  t.true(swept.grantsExpired >= 1);
  t.is((await worker.approvals.sweep()).grantsExpired, 0, 'a second sweep notices nothing twice');
  const expiredCards = await waitCalls(s3, (x) => x.method === 'chat.update' && String(x.body.text).includes(requestId), 2);
  t.true(expiredCards.every((u) => messageText(u.body).includes(`授权 #${grantId} 已于`)));
  t.true(dmsTo('salesRep', s3).some((m) => m.includes(`授权 #${grantId} 已到期`)));
  const masked = await lookupCard('salesRep', c.customerId);
  t.not(cardFields(masked).get(phoneLabel), c.phone);
  t.false(messageText(masked).includes(grantId));

  const trail = await h.auditRecords({ requestId }, 4);
  const actions = trail.map((r) => r.action);
  for (const a of ['request.create', 'request.approve', 'grant.start', 'grant.expire']) t.true(actions.includes(a), `audited: ${a}`);
  const uses = await h.auditRecords({ action: 'grant.use', grantId }, 1);
  t.true(uses.length >= 1 && (uses[0]!.customerIds as string[]).includes(c.customerId), 'the lookup under the grant is audited as grant.use with the grant id');
  clock.advance(-61 * MINUTE);
});

test.serial('reveal: approved reveal updates the original card for the requester only, and re-masks it at expiry', async (t) => {
  const c = maskedPhoneCustomer(1);
  const card = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), c.customerId);
  const reveal = buttons(card.body).find((b) => b.actionId.startsWith('approval_reveal') && b.text.includes('电话'))!;
  const since = h.fake.calls.length;
  const click = await h.click(h.userId('salesRep'), h.dmOf('salesRep'), reveal.actionId, reveal.value);
  const modal = openedView(await modalAfter(h, since));
  t.is(JSON.parse(modal.private_metadata).responseUrl, click.responseUrl);
  const submitted = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('核对来电号码', 15));
  t.is(submitted.body, '');
  const leadCard = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesLeadEast'));
  const requestId = /#(R-[A-P]{10})/.exec(String(leadCard.body.text))![1]!;
  await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), 'approval_approve', requestId);
  const path = new URL(click.responseUrl).pathname;
  const revealed = await h.fake.waitFor((x) => x.method === 'response_url' && x.path === path && x.body.replace_original === true);
  const fields = cardFields(revealed.body);
  const label = [...fields.keys()].find((k) => k.startsWith(`电话（依据授权 #G-${requestId.slice(2)} 显示至`));
  t.truthy(label, 'the card says under which grant and until when');
  t.is(fields.get(label!), c.phone);
  t.is(revealed.body.response_type, 'ephemeral', 'only the requester sees it');
  const audit = await h.auditRecords({ requestId, action: 'reveal' }, 1);
  t.is(audit[0]!.grantId, `G-${requestId.slice(2)}`);

  clock.advance(16 * MINUTE);
  const n = h.fake.calls.filter((x) => x.path === path).length;
  await worker.approvals.sweep();
  const remasked = await h.fake.waitFor((x) => x.method === 'response_url' && x.path === path && h.fake.calls.filter((y) => y.path === path).indexOf(x) >= n);
  t.not(cardFields(remasked.body).get('电话'), c.phone, 're-masked at expiry');
  clock.advance(-16 * MINUTE);
});

test.serial('reveal after the card\'s response_url has expired (30 minutes): the value comes as a new ephemeral card to the requester only', async (t) => {
  const c = maskedPhoneCustomer(2);
  const card = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), c.customerId);
  const reveal = buttons(card.body).find((b) => b.actionId.startsWith('approval_reveal') && b.text.includes('电话'))!;
  const since = h.fake.calls.length;
  const click = await h.click(h.userId('salesRep'), h.dmOf('salesRep'), reveal.actionId, reveal.value);
  const modal = openedView(await modalAfter(h, since));
  await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('核对来电号码', 15));
  const leadCard = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesLeadEast'));
  const requestId = /#(R-[A-P]{10})/.exec(String(leadCard.body.text))![1]!;
  // The approver takes longer than Slack keeps the requester's card updatable.
  h.fake.expireResponseUrl(click.responseUrl);
  await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), 'approval_approve', requestId);
  const path = new URL(click.responseUrl).pathname;
  const refused = await h.fake.waitFor((x) => x.method === 'response_url' && x.path === path && x.body.replace_original === true);
  t.false(refused.ok, 'the expired response_url is refused');
  const shown = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postEphemeral' && x.ok && messageText(x.body).includes(c.phone!));
  t.is(shown.body.user, h.userId('salesRep'), 'to the requester only');
  t.is(shown.body.channel, h.dmOf('salesRep'), 'where the reveal was asked from');
  const label = [...cardFields(shown.body).keys()].find((k) => k.startsWith(`电话（依据授权 #G-${requestId.slice(2)} 显示至`));
  t.truthy(label, 'the card says under which grant and until when');
  t.is(cardFields(shown.body).get(label!), c.phone);
  t.false(h.fake.calls.slice(since).some((x) => x.method === 'chat.postMessage' && messageText(x.body).includes(c.phone!)), 'never as a message kept in history');
});

async function waitCalls(since: number, pred: (c: Harness['fake']['calls'][number]) => boolean, atLeast: number, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = h.fake.calls.slice(since).filter(pred);
    if (found.length >= atLeast || Date.now() > until) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { requestAccess, denyValues, dmsTo };
