// Every neutral view the conversation layer and the notifiers hand the DingTalk adapter, rendered into
// the card template's variables, in zh-CN and en: the texts the core wrote are all on the card, values
// stay strings, and every button's (id, value) is one the conversation codec decodes to the action it
// names — so whatever a DingTalk user can click reaches the layer as that action.
import test, { type ExecutionContext } from 'ava';
import { decodeAction } from '../bot/conversation/codec.ts';
import type { FormView, ReplyView } from '../bot/conversation/types.ts';
import type { Locale } from '../bot/core/messages.ts';
import type { ReviewCardView } from '../bot/core/reviews/views.ts';
import { alertView } from '../bot/core/security/views.ts';
import { helpView, noticeView } from '../bot/core/views.ts';
import type { ApprovalView } from '../bot/core/views-approval.ts';
import '../bot/core/lookup-messages.ts';
import { FORM_ACTIONS, buttonsIn, renderAlert, renderApproval, renderForm, renderReview, renderUpdate, renderView } from '../bot/dingtalk/cards.ts';
import type { CardParams } from '../bot/dingtalk/api.ts';

const LOCALES: Locale[] = ['zh-CN', 'en'];
const text = (p: CardParams) => [p.title, ...(JSON.parse(p.lines!) as string[]), ...(JSON.parse(p.fields!) as { label: string; value: string }[]).map((f) => `${f.label}: ${f.value}`), p.footer].join('\n');

/** Every button decodes to the named action, with the value it carries. */
function decodesAll(t: ExecutionContext, p: CardParams, names: string[]): void {
  const buttons = buttonsIn(p);
  t.deepEqual(buttons.map((b) => b.id), names);
  for (const b of buttons) {
    const d = decodeAction(b.id, b.value);
    t.true(d.ok, `${b.id} ${b.value}`);
    if (d.ok) t.is(d.action.name as string, b.id);
  }
  t.true(Object.values(p).every((v) => typeof v === 'string'), 'DingTalk takes strings only');
}

for (const locale of LOCALES) {
  test(`${locale}: help, notices, pick and the lookup card`, (t) => {
    const help = helpView(locale, '#security');
    t.is(renderView(help).title, (help as { title: string }).title);
    t.true(text(renderView(help)).includes('#security'));
    t.is(renderView(noticeView('x', 'refusal')).tone, 'refusal');
    const pick: ReplyView = { kind: 'pick', intro: 'two', candidates: [{ customerId: 'C-000001', summary: 'a', button: { label: 'open', value: 'C-000001' } }, { customerId: 'C-000002', summary: 'b', button: { label: 'open', value: 'C-000002' } }] };
    decodesAll(t, renderView(pick), ['pick', 'pick']);
    const card: ReplyView = {
      kind: 'card', customerId: 'C-000001', title: 'C-000001 · 张*', footer: 'ref', groups: [{ label: 'g', fields: [{ label: 'phone', value: '138****5678' }] }] as never,
      share: { label: 'share', value: 'C-000001' }, requests: [{ kind: 'reveal', label: 'reveal phone', value: '{"c":"C-000001","f":"phone"}' }, { kind: 'access', label: 'access', value: '{"c":"C-000001"}' }],
    };
    const p = renderView(card);
    decodesAll(t, p, ['share', 'reveal', 'access']);
    t.true(text(p).includes('phone: 138****5678'));
  });

  test(`${locale}: the audit table with its pages and Export results`, (t) => {
    const p = renderView({ kind: 'audit-table', title: 'audit', header: 'time | who', rows: ['r1', 'r2'], footer: 'f', older: { label: 'older', value: 'abc_1' }, newer: { label: 'newer', value: 'abc_0' }, export: { label: 'export', value: 'abc_x' } });
    decodesAll(t, p, ['audit_page', 'audit_page', 'audit_export']);
    t.deepEqual(JSON.parse(p.lines!), ['time | who', 'r1', 'r2']);
    t.deepEqual(JSON.parse(renderView({ kind: 'audit-table', title: 'a', header: 'h', rows: [], empty: 'none', footer: 'f' }).lines!), ['h', 'none']);
  });

  test(`${locale}: approval copies, review cards, alerts and the card updates`, (t) => {
    const approval: ApprovalView = { kind: 'approval', requestId: 'R-AAAAAAAAAA', title: 'req', lines: [{ label: 'who', value: 'E-1' }], status: { state: 'pending', text: '1/2' }, buttons: [{ action: 'approve', label: 'ok', value: 'R-AAAAAAAAAA', style: 'primary' }, { action: 'deny', label: 'no', value: 'R-AAAAAAAAAA', style: 'danger' }] };
    decodesAll(t, renderApproval(approval), ['approve', 'deny']);
    t.is(renderApproval({ ...approval, status: { state: 'approved', text: 'done' }, buttons: [] }).tone, 'done');
    const review: ReviewCardView = { reviewId: 'RV-20260630.G-1', title: 'review', lines: [{ label: 'grant', value: 'G-1' }], status: 'open', buttons: [{ decision: 'keep', label: 'keep', style: 'primary' }, { decision: 'revoke', label: 'revoke', style: 'danger' }] };
    decodesAll(t, renderReview(review), ['review_keep', 'review_revoke']);
    decodesAll(t, renderUpdate({ kind: 'review', view: { ...review, buttons: [] } }), []);
    const alert = alertView({ employeeId: 'E-0012', detector: 'volume' as never, count: 40, max: 30, windowMinutes: 10, frozen: true, at: new Date('2026-06-30T02:30:00Z'), auditQuery: 'by E-0012 since:10m' }, '张伟', locale);
    const a = renderAlert(alert);
    decodesAll(t, a, alert.buttons.map((b) => `security_${b.decision}`));
    t.true(text(a).includes(alert.title) && alert.lines.every((l) => text(a).includes(l)));
    const settled = renderUpdate({ kind: 'security', title: 'alert', line: 'unfrozen by 欧阳明' });
    t.deepEqual(buttonsIn(settled), [], 'an alert acted on keeps no buttons');
  });

  test(`${locale}: the request and Deny forms are cards with inputs whose submit carries the metadata`, (t) => {
    const request: FormView = { kind: 'request', form: { kind: 'request_form', title: 'ask', submit: 'send', summary: 'C-000001', reasonLabel: 'why', duration: { label: 'minutes', max: 60, initial: 30 }, groups: { label: 'groups', options: [{ value: 'contact', label: 'contact', maxDurationMinutes: 240 }] }, metadata: '{"m":1}' } };
    const p = renderForm(request);
    t.deepEqual(JSON.parse(p.inputs!).map((i: { name: string; kind: string }) => [i.name, i.kind]), [['purpose', 'text'], ['duration', 'number'], ['groups', 'multi']]);
    t.deepEqual(buttonsIn(p).map((b) => [b.id, b.value]), [[FORM_ACTIONS.request, '{"m":1}']]);
    const deny: FormView = { kind: 'deny', form: { kind: 'deny_form', title: 'deny', submit: 'deny', reasonLabel: 'why', metadata: 'R-AAAAAAAAAA' }, card: { kind: 'approval', requestId: 'R-AAAAAAAAAA', title: 't', lines: [{ label: 'c', value: 'C-1' }], status: { state: 'pending', text: '' }, buttons: [] } };
    const d = renderForm(deny);
    t.deepEqual(JSON.parse(d.inputs!).map((i: { name: string }) => i.name), ['reason']);
    t.deepEqual(buttonsIn(d).map((b) => [b.id, b.value]), [[FORM_ACTIONS.deny, 'R-AAAAAAAAAA']]);
    t.true(text(d).includes('c: C-1'), 'the Deny form shows what is denied');
  });
}
