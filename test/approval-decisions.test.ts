// Decisions under pressure and over time, through the real Bolt app and fake Slack API: 50 concurrent
// Approve clicks → one decision; self-approval and non-approvers refused; a quorum of 2; Deny with a
// reason and the stale click after it; reminders, escalation and expiry with the clock moved forward;
// bad input refused with clear messages and nothing created.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { createAuditProducer, type AuditProducer } from '../bot/queue/audit-producer.ts';
import { workerApprovalParts, type WorkerApprovalParts } from '../workers/approvals/service.ts';
import { SlackHarness, messageText } from './helpers/slack-bot.ts';
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

let nth = 0;
function customer(): Customer {
  const list = all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.phone && c.status !== 'blocked');
  return list[nth++]!;
}

async function request(key: DemoEmployeeKey, customerId: string, groups: string[], minutes: number): Promise<string> {
  const reply = await h.ask(h.userId(key), h.dmOf(key), customerId);
  const access = buttons(reply.body).find((b) => b.actionId.startsWith('approval_access'))!;
  const since = h.fake.calls.length;
  await h.click(h.userId(key), h.dmOf(key), access.actionId, access.value);
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId(key), modal.callback_id, modal.private_metadata, requestValues('客户回访', minutes, groups));
  if (res.body) throw new Error(res.body);
  const card = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && /#R-[A-P]{10}/.test(String(x.body.text)));
  return /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!;
}

async function clickAnswer(key: DemoEmployeeKey, actionId: string, value: string): Promise<string> {
  const click = await h.click(h.userId(key), h.dmOf(key), actionId, value);
  return String((await h.replyTo(click.responseUrl)).body.text);
}

const count = (collection: string, filter: Record<string, unknown> = {}) => h.bot.conn.collection(collection).countDocuments(filter);

test.serial('50 concurrent Approve clicks → exactly one decision; the others are told who decided and when; self and non-approvers refused', async (t) => {
  const id = await request('salesRep', customer().customerId, ['contact'], 60);
  t.regex(await clickAnswer('salesRep', 'approval_approve', id), /不能审批自己的申请/);
  t.regex(await clickAnswer('supportAgent', 'approval_approve', id), new RegExp(`您不是申请 #${id} 的审批人`));
  t.regex(await clickAnswer('salesHead', 'approval_approve', id), /不是申请/, 'the next tier is not asked before escalation');
  const answers = await Promise.all(Array.from({ length: 50 }, () => clickAnswer('salesLeadEast', 'approval_approve', id)));
  t.is(answers.filter((a) => a.includes(`您已批准申请 #${id}`)).length, 1);
  t.is(answers.filter((a) => /该申请已由 李娜 于 .* 批准/.test(a)).length, 49);
  t.is(await count('request_decisions', { requestId: id }), 1);
  t.is(await count('grants', { requestId: id }), 1);
  // Refused clicks are refused votes; the decision is one event by the winner; each losing click is `request.lost`.
  const refusals = await h.auditRecords({ requestId: id, action: 'request.vote', decision: 'denied' }, 3);
  t.deepEqual(refusals.map((r) => r.reasonCode).sort(), ['not_approver', 'not_approver', 'self_approval']);
  const lost = await h.auditRecords({ requestId: id, action: 'request.lost' }, 49);
  t.is(lost.length, 49);
  t.true(lost.every((e) => (e.meta as Record<string, unknown>).outcome === 'approved' && (e.actor as Record<string, unknown>).employeeId === h.employees.salesLeadEast.employeeId));
  const decisions = await h.auditRecords({ requestId: id, action: { $in: ['request.approve', 'request.deny', 'request.cancel', 'request.expire'] } });
  t.deepEqual(decisions.map((e) => [e.action, e.decision]), [['request.approve', 'allowed']]);
  const attempts = await h.auditRecords({ requestId: id, action: 'request.vote', decision: 'allowed' });
  t.true(attempts.length >= 1 && attempts.length <= 50, 'each counted click was recorded as an attempt before the compare-and-swap');
  const [attempt] = attempts;
  t.true((attempt!.seq as number) < (decisions[0]!.seq as number), 'the attempt precedes the decision');
});

test.serial('contact + identity by a support agent: each group is decided by its own approvers (contact 1 of manager / sales head; identity 2 of legal head / DPO)', async (t) => {
  const id = await request('supportAgent', customer().customerId, ['contact', 'identity'], 30);
  const card = (key: DemoEmployeeKey) => h.fake.calls.filter((x) => (x.method === 'chat.postMessage' || x.method === 'chat.update') && x.body.channel === h.dmOf(key) && String(x.body.text).includes(id)).at(-1);
  // The support lead (manager) is asked for contact only; the legal head and the DPO for identity only.
  t.regex(messageText(card('supportLead')!.body), /请您审批\*?: 联系方式/);
  t.regex(messageText(card('legalHead')!.body), /请您审批\*?: 身份信息/);
  t.regex(messageText(card('dpo')!.body), /所需批准\*?: 联系方式 0\/1 · 身份信息 0\/2/);
  t.regex(await clickAnswer('supportLead', 'approval_approve', id), /联系方式 1\/1 · 身份信息 0\/2/, 'the manager decides contact, not identity');
  t.regex(await clickAnswer('legalHead', 'approval_approve', id), /联系方式 1\/1 · 身份信息 1\/2/);
  t.is(await count('request_decisions', { requestId: id }), 0, 'identity still needs its second approver');
  t.is(await count('grants', { requestId: id }), 0);
  t.regex(await clickAnswer('dpo', 'approval_approve', id), new RegExp(`您已批准申请 #${id}`));
  const grant = await h.bot.conn.collection('grants').findOne({ requestId: id });
  t.deepEqual([...(grant!.groups as string[])].sort(), ['contact', 'identity']);
  t.deepEqual([...(grant!.grantedBy as string[])].sort(), [h.employees.supportLead.employeeId, h.employees.legalHead.employeeId, h.employees.dpo.employeeId].sort());
  const decision = await h.auditRecords({ requestId: id, action: 'request.approve' });
  t.is(decision.length, 1);
  t.is((decision[0]!.actor as Record<string, unknown>).employeeId, h.employees.dpo.employeeId, 'the decision is recorded by the click that completed it');
});

test.serial('an empty group selection is refused with a message, and an identical pending request is not made twice', async (t) => {
  const c = customer();
  const before = await count('access_requests');
  const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), c.customerId);
  const access = buttons(reply.body).find((b) => b.actionId.startsWith('approval_access'))!;
  const since = h.fake.calls.length;
  await h.click(h.userId('salesRep'), h.dmOf('salesRep'), access.actionId, access.value);
  const modal = openedView(await modalAfter(h, since));
  // The form states each group's own maximum, and that the shortest ticked one applies.
  t.regex(JSON.stringify(modal), /联系方式（最多 240 分钟）/);
  t.regex(JSON.stringify(modal), /不超过所选字段组中最短的上限/);
  const empty = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('客户回访', 60, []));
  t.regex(empty.body, /请至少勾选一个字段组/);
  t.is(await count('access_requests'), before, 'nothing was created');
  const first = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('客户回访', 60, ['contact']));
  t.is(first.body, '');
  await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && /#R-[A-P]{10}/.test(String(x.body.text)));
  const [pending] = await h.bot.conn.collection('access_requests').find({ customerIds: c.customerId, status: 'pending' }).toArray();
  const again = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('再次回访', 30, ['contact']));
  t.regex(again.body, new RegExp(`您已有相同的待审批申请 #${String(pending!.requestId)}`));
  t.is(await count('access_requests', { customerIds: c.customerId }), 1, 'the identical request was not duplicated');
  t.regex(await clickAnswer('salesRep', 'approval_cancel', String(pending!.requestId)), /已撤回/);
  const cancelled = await h.auditRecords({ requestId: pending!.requestId, action: 'request.cancel' });
  t.deepEqual(cancelled.map((e) => (e.actor as Record<string, unknown>).employeeId), [h.employees.salesRep.employeeId]);
});

test.serial('quorum of 2 (identity: legal head and the DPO); Deny asks a reason; a stale click is answered', async (t) => {
  const id = await request('salesRep', customer().customerId, ['identity'], 30);
  t.regex(await clickAnswer('legalHead', 'approval_approve', id), /1\/2/);
  t.is(await count('request_decisions', { requestId: id }), 0, 'one approval is not enough');
  t.regex(await clickAnswer('dpo', 'approval_approve', id), new RegExp(`您已批准申请 #${id}`));
  const card = h.fake.calls.filter((x) => x.method === 'chat.update' && String(x.body.text).includes(id)).at(-1)!;
  t.regex(messageText(card.body), /已由 (诸葛亮, 欧阳明|欧阳明, 诸葛亮) 于/);

  const denied = await request('salesRep', customer().customerId, ['contact'], 60);
  const since = h.fake.calls.length;
  await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), 'approval_deny', denied);
  const modal = openedView(await modalAfter(h, since));
  const empty = await submitView(h, h.userId('salesLeadEast'), modal.callback_id, modal.private_metadata, denyValues('  '));
  t.regex(empty.body, /请填写申请理由/);
  t.is((await submitView(h, h.userId('salesLeadEast'), modal.callback_id, modal.private_metadata, denyValues('不属于本区域'))).body, '');
  await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && String(x.body.text).includes('不属于本区域'));
  t.regex(await clickAnswer('salesLeadEast', 'approval_approve', denied), /该申请已由 李娜 于 .* 拒绝/);
});

test.serial('reminder, escalation to the next approver, and expiry, with the clock moved forward', async (t) => {
  const id = await request('salesRep', customer().customerId, ['contact'], 60);
  const s0 = h.fake.calls.length;
  clock.advance(61 * MINUTE);
  t.like(await worker.approvals.sweep(), { reminded: 1, escalated: 0, expired: 0 });
  t.like(await worker.approvals.sweep(), { reminded: 0 }, 'idempotent');
  await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= s0 && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesLeadEast') && String(x.body.text).includes(`提醒：申请 #${id}`));
  clock.advance(180 * MINUTE);
  t.like(await worker.approvals.sweep(), { escalated: 1 });
  const headCard = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= s0 && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesHead') && String(x.body.text).includes(id));
  t.deepEqual(buttons(headCard.body).map((b) => b.actionId), ['approval_approve', 'approval_deny']);
  clock.advance(1200 * MINUTE);
  t.like(await worker.approvals.sweep(), { expired: 1 });
  t.like(await worker.approvals.sweep(), { expired: 0 });
  await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && String(x.body.text).includes(`您的申请 #${id} 无人审批，已过期`));
  t.regex(await clickAnswer('salesHead', 'approval_approve', id), /过期/);
  const trail = (await h.auditRecords({ requestId: id, action: { $in: ['request.remind', 'request.escalate', 'request.expire'] } }, 3)).map((r) => r.action);
  t.deepEqual(trail, ['request.remind', 'request.escalate', 'request.expire']);
  clock.advance(-1441 * MINUTE);
});

test.serial('bad input: unknown customer, duration above the maximum, a field the policy never allows, malformed payloads → clear messages, nothing created', async (t) => {
  const before = await count('access_requests');
  const refusal = async (key: DemoEmployeeKey, actionId: string, value: string) => clickAnswer(key, actionId, value);
  t.regex(await refusal('salesRep', 'approval_access:1', JSON.stringify({ c: 'C-999999' })), /找不到您可查看的客户 C-999999/);
  t.regex(await refusal('salesRep', 'approval_reveal:1', '{"c":'), /按钮或表单内容无效/);
  t.regex(await refusal('salesRep', 'approval_reveal:1', JSON.stringify({ c: 'C-000001', f: '$where' })), /按钮或表单内容无效/);
  t.regex(await refusal('salesRep', 'approval_approve', 'R-NOPE'), /按钮或表单内容无效/);
  const mkt = all.find((c) => c.status === 'active')!;
  t.regex(await refusal('marketingStaff', 'approval_reveal:1', JSON.stringify({ c: mkt.customerId, f: 'ownerId' })), /策略不允许为您申请“ownerId”/);

  const c = customer();
  const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), c.customerId);
  const access = buttons(reply.body).find((b) => b.actionId.startsWith('approval_access'))!;
  const since = h.fake.calls.length;
  await h.click(h.userId('salesRep'), h.dmOf('salesRep'), access.actionId, access.value);
  const modal = openedView(await modalAfter(h, since));
  const tooLong = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('客户回访', 300, ['contact']));
  t.regex(tooLong.body, /"duration":"时长须为 1 到 240 分钟之间的整数。"/);
  const pii = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('回拨 13812345678', 60, ['contact']));
  t.regex(pii.body, /理由中似乎包含个人信息/);
  t.false(pii.body.includes('13812345678'), 'the refusal does not echo the value');
  const forged = await submitView(h, h.userId('salesRep'), modal.callback_id, '{"target":', requestValues('客户回访', 60, ['contact']));
  t.regex(forged.body, /按钮或表单内容无效/);
  t.is(await count('access_requests'), before, 'nothing was created');
});
