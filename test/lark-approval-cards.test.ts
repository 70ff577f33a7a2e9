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
  purpose: '续约跟进', durationMinutes: 60, quorum: 1, approverTiers: [['E-0011'], ['E-0002']], tiersAsked: 1, ruleIds: [], status: 'pending',
  createdAt: at, remindAt: at, escalateAt: at, expiresAt: new Date(at.getTime() + 86_400_000), cards: [],
};
const names = new Map([['E-0012', '张伟'], ['E-0011', '李娜']]);

function checked(card: unknown): Record<string, unknown> {
  const json = JSON.stringify(card);
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const problem = cardProblem(parsed, json.length);
  if (problem) throw new Error(problem);
  return parsed;
}

test('approver and requester copies: Approve / Deny, Cancel; a decided card has no buttons', (t) => {
  const approver = checked(renderApproval(approvalCardView(request, { names, votes: 0, audience: 'approver', locale: 'zh-CN' })));
  t.deepEqual(cardButtons(approver).map((b) => b.value), [{ a: 'approve', r: 'R-ABCDEFGHIJ' }, { a: 'deny', r: 'R-ABCDEFGHIJ' }]);
  for (const part of ['张伟 (E-0012)', 'C-000001', '续约跟进', '60 分钟', '李娜', '待审批']) t.true(cardText(approver).includes(part), part);
  const requester = checked(renderApproval(approvalCardView(request, { names, votes: 0, audience: 'requester', locale: 'en' })));
  t.deepEqual(cardButtons(requester).map((b) => b.value.a), ['cancel']);
  const decided = { ...request, status: 'denied' as const, decidedBy: ['E-0011'], decidedAt: at, denyReason: 'no' };
  const done = checked(renderApproval(approvalCardView(decided, { names, votes: 1, audience: 'approver', locale: 'zh-CN' })));
  t.is(cardButtons(done).length, 0);
  t.is((done.header as { template: string }).template, 'red');
});

test('Deny shows the reason form in place of the buttons, with a problem line when there is one', (t) => {
  const view = approvalCardView(request, { names, votes: 0, audience: 'approver', locale: 'zh-CN' });
  const card = checked(renderApproval(view, { form: denyFormView(request.requestId, 'zh-CN'), problem: '请填写申请理由。' }));
  t.deepEqual(cardFormFields(card), ['reason']);
  t.deepEqual(cardButtons(card).map((b) => b.value), [{ a: 'deny_submit', r: 'R-ABCDEFGHIJ' }]);
  t.true(cardText(card).includes('请填写申请理由。'));
});

test('the request form: reason, duration (bounded), field groups for access; the submit carries metadata and nonce', (t) => {
  const prepared = { target: { kind: 'access' as const }, requestable: ['contact', 'finance'] as const, fields: [], groups: [], maxDurationMinutes: 1440 };
  const form = requestFormView({ ...prepared, requestable: [...prepared.requestable] }, 'C-000001', 'zh-CN', '{"m":1}');
  const card = checked(renderRequestForm(form, 'a'.repeat(24)));
  t.deepEqual(cardFormFields(card), ['reason', 'duration', 'groups']);
  t.deepEqual(cardButtons(card).map((b) => b.value), [{ a: 'request_submit', m: '{"m":1}', n: 'a'.repeat(24) }]);
  t.regex(JSON.stringify(card), /最多 1440/, 'the duration label states the bound');
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
