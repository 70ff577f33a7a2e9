// The approval flow's neutral views render into card JSON 2.0 that Lark accepts (the fake's validator):
// the request card for approvers and the requester, the request form and the deny form as form
// containers; and the fake refuses the form mistakes Lark refuses.
import test from 'ava';
import '../bot/core/lookup-messages.ts';
import type { AccessRequest } from '../bot/core/approvals/types.ts';
import { approvalCardView, denyFormView, requestFormView } from '../bot/core/views-approval.ts';
import { renderApproval, renderRequestForm } from '../bot/lark/approval-cards.ts';
import { cardButtons, cardFormFields, cardProblem, cardText } from './fakes/lark-api.ts';

const at = new Date('2026-06-30T02:30:00Z');
const request: AccessRequest = {
  requestId: 'R-ABCDEFGHIJ', kind: 'access', requesterId: 'E-0012', customerIds: ['C-000001'], groups: ['contact', 'finance'], fields: [],
  purpose: '续约跟进', durationMinutes: 60, ruleIds: [], status: 'pending',
  parts: [
    { name: 'contact', approverTiers: [['E-0011'], ['E-0002']], tiersAsked: 1, quorum: 1, maxDurationMinutes: 240, ruleId: 'approval.contact' },
    { name: 'finance', approverTiers: [['E-0007', 'E-0011']], tiersAsked: 1, quorum: 2, maxDurationMinutes: 480, ruleId: 'approval.finance' },
  ],
  createdAt: at, remindAt: at, escalateAt: at, expiresAt: new Date(at.getTime() + 86_400_000), cards: [],
};
const names = new Map([['E-0012', '张伟'], ['E-0011', '李娜'], ['E-0007', '赵敏']]);

function checked(card: unknown): Record<string, unknown> {
  const json = JSON.stringify(card);
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const problem = cardProblem(parsed, json.length);
  if (problem) throw new Error(problem);
  return parsed;
}

test('approver and requester copies: Approve / Deny, Cancel; a decided card has no buttons', (t) => {
  const approver = checked(renderApproval(approvalCardView(request, { names, voters: ['E-0007'], audience: 'approver', locale: 'zh-CN', timezone: 'Asia/Shanghai', readerId: 'E-0011' })));
  t.deepEqual(cardButtons(approver).map((b) => b.value), [{ a: 'approve', r: 'R-ABCDEFGHIJ' }, { a: 'deny', r: 'R-ABCDEFGHIJ' }]);
  for (const part of ['张伟 (E-0012)', 'C-000001', '续约跟进', '60 分钟', '待审批']) t.true(cardText(approver).includes(part), part);
  // Each part names its own approvers and progress; this approver is told which parts they decide.
  t.true(cardText(approver).includes('可审批人: 联系方式：李娜 · 财务：赵敏, 李娜'), cardText(approver));
  t.true(cardText(approver).includes('所需批准: 联系方式 0/1 · 财务 1/2'), cardText(approver));
  t.true(cardText(approver).includes('请您审批: 联系方式, 财务'), cardText(approver));
  const other = checked(renderApproval(approvalCardView(request, { names, voters: [], audience: 'approver', locale: 'en', timezone: 'Asia/Shanghai', readerId: 'E-0007' })));
  t.true(cardText(other).includes('You are asked to decide: Finance'), cardText(other));
  const requester = checked(renderApproval(approvalCardView(request, { names, voters: [], audience: 'requester', locale: 'en', timezone: 'Asia/Shanghai' })));
  t.deepEqual(cardButtons(requester).map((b) => b.value.a), ['cancel']);
  t.false(cardText(requester).includes('You are asked to decide'));
  const decided = { ...request, status: 'denied' as const, decidedBy: ['E-0011'], decidedAt: at, denyReason: 'no' };
  const done = checked(renderApproval(approvalCardView(decided, { names, voters: ['E-0011'], audience: 'approver', locale: 'zh-CN', timezone: 'Asia/Shanghai' })));
  t.is(cardButtons(done).length, 0);
  t.is((done.header as { template: string }).template, 'red');
});

test('Deny shows the reason form in place of the buttons, with a problem line when there is one', (t) => {
  const view = approvalCardView(request, { names, voters: [], audience: 'approver', locale: 'zh-CN', timezone: 'Asia/Shanghai' });
  const card = checked(renderApproval(view, { form: denyFormView(request.requestId, 'zh-CN'), problem: '请填写申请理由。' }));
  t.deepEqual(cardFormFields(card), ['reason']);
  t.deepEqual(cardButtons(card).map((b) => b.value), [{ a: 'deny_submit', r: 'R-ABCDEFGHIJ' }]);
  t.true(cardText(card).includes('请填写申请理由。'));
});

test('the request form: reason, duration (bounded), field groups for access; the submit carries metadata and nonce', (t) => {
  const prepared = { target: { kind: 'access' as const }, requestable: ['contact', 'finance'] as const, fields: [], groups: [], maxDurationMinutes: 480, groupMax: { contact: 240, finance: 480 } };
  const form = requestFormView({ ...prepared, requestable: [...prepared.requestable] }, 'C-000001', 'zh-CN', '{"m":1}');
  const card = checked(renderRequestForm(form, 'a'.repeat(24)));
  t.deepEqual(cardFormFields(card), ['reason', 'duration', 'groups']);
  t.deepEqual(cardButtons(card).map((b) => b.value), [{ a: 'request_submit', m: '{"m":1}', n: 'a'.repeat(24) }]);
  // The duration's bound is per group: each option states its own maximum, the label says the shortest ticked applies.
  t.regex(JSON.stringify(card), /不超过所选字段组中最短的上限/);
  t.regex(JSON.stringify(card), /联系方式（最多 240 分钟）/);
  t.regex(JSON.stringify(card), /财务（最多 480 分钟）/);
});

test('the fake refuses form mistakes: inputs outside a form, a form without submit, nested forms, unnamed fields', (t) => {
  const base = (elements: unknown[]) => ({ schema: '2.0', config: { update_multi: true }, body: { elements } });
  const input = { tag: 'input', name: 'reason', required: true, label: { tag: 'plain_text', content: 'r' } };
  const submit = { tag: 'button', name: 's', form_action_type: 'submit', text: { tag: 'plain_text', content: 's' }, type: 'primary', behaviors: [{ type: 'callback', value: { a: 'x' } }] };
  t.regex(cardProblem(base([input]), 10)!, /must sit inside a form/);
  t.regex(cardProblem(base([{ tag: 'form', name: 'f', elements: [input] }]), 10)!, /needs a submit button/);
  t.regex(cardProblem(base([{ tag: 'form', name: 'f', elements: [{ tag: 'form', name: 'g', elements: [submit] }, submit] }]), 10)!, /cannot contain a form/);
  t.regex(cardProblem(base([{ tag: 'form', name: 'f', elements: [{ ...input, name: '' }, submit] }]), 10)!, /needs a name/);
  t.is(cardProblem(base([{ tag: 'form', name: 'f', elements: [input, submit] }]), 10), undefined);
});
