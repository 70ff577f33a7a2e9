// Every neutral view the conversation layer and the notifiers hand the DingTalk adapter, rendered into
// the card template's variables, in zh-CN and en: the texts the core wrote are all on the card, values
// stay strings, and every button's (id, value) is one the conversation codec decodes to the action it
// names — so whatever a DingTalk user can click reaches the layer as that action.
import test, { type ExecutionContext } from 'ava';
import { FORM_ACTIONS } from '../bot/conversation/card-parts.ts';
import { decodeAction } from '../bot/conversation/codec.ts';
import type { FormView, ReplyView } from '../bot/conversation/types.ts';
import type { Locale } from '../bot/core/messages.ts';
import type { ReviewCardView } from '../bot/core/reviews/views.ts';
import { alertView } from '../bot/core/security/views.ts';
import { helpView, noticeView } from '../bot/core/views.ts';
import type { ApprovalView } from '../bot/core/views-approval.ts';
import '../bot/core/lookup-messages.ts';
import { buttonsIn, renderAlert, renderApproval, renderForm, renderReview, renderUpdate, renderView } from '../bot/dingtalk/cards.ts';
import type { CardParams } from '../bot/dingtalk/api.ts';
import { textWithMentionIds } from '../bot/dingtalk/mentions.ts';
import { dingtalkPlatform } from '../bot/dingtalk/module.ts';

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

// A picked @mention (bot/dingtalk/mentions.ts): `@<name>` in the text, the ids in atUsers, the robot
// (dingtalkId = chatbotUserId, no staffId) among them. Names come from the contact API, here a table.
const ROBOT = '$:LWCP_v1:$robot';
const NAMES: Record<string, string> = { dt1001: '张三', dt1002: '张三丰', dt1003: 'Mary Ann Lee', dt1004: '李四', dt1005: '李四', dt1006: 'a.b' };
const at = (...staff: (string | undefined)[]) => [{ dingtalkId: ROBOT }, ...staff.map((s, i) => ({ dingtalkId: `$:LWCP_v1:$u${i}`, ...(s ? { staffId: s } : {}) }))];
const MENTIONS: { row: string; text: string; atUsers: { dingtalkId?: string; staffId?: string }[]; want: string; asked: string[] }[] = [
  { row: 'one member', text: 'audit by @张三 action:lookup', atUsers: at('dt1001'), want: 'audit by @dt1001 action:lookup', asked: ['dt1001'] },
  { row: 'atUsers in another order than the text', text: 'by @张三丰 by @张三', atUsers: at('dt1001', 'dt1002'), want: 'by @dt1002 by @dt1001', asked: ['dt1001', 'dt1002'] },
  { row: 'a name that holds spaces, at the end', text: 'audit by @Mary Ann Lee', atUsers: at('dt1003'), want: 'audit by @dt1003', asked: ['dt1003'] },
  { row: 'a Unicode space (U+2005) after a mention', text: 'by @张三\u2005since:7d', atUsers: at('dt1001'), want: 'by @dt1001\u2005since:7d', asked: ['dt1001'] },
  { row: 'an outsider (no staffId) stays a name', text: 'by @王五 since:7d', atUsers: at(undefined), want: 'by @王五 since:7d', asked: [] },
  { row: 'two members of one name: neither is guessed', text: 'by @李四', atUsers: at('dt1004', 'dt1005'), want: 'by @李四', asked: ['dt1004', 'dt1005'] },
  { row: 'a name only as the start of a longer word is left', text: 'by @张三x', atUsers: at('dt1001'), want: 'by @张三x', asked: ['dt1001'] },
  { row: 'a name with regex characters is matched literally', text: 'by @a.b by @axb', atUsers: at('dt1006'), want: 'by @dt1006 by @axb', asked: ['dt1006'] },
  { row: 'the robot alone (a plain group ask): no lookup', text: 'C-000123', atUsers: at(), want: 'C-000123', asked: [] },
  { row: 'no @ in the text: no lookup', text: 'audit since:7d', atUsers: at('dt1001'), want: 'audit since:7d', asked: [] },
  { row: 'a staffId mentioned twice is asked once', text: 'by @张三', atUsers: at('dt1001', 'dt1001'), want: 'by @dt1001', asked: ['dt1001'] },
];
for (const c of MENTIONS) {
  test(`mentions: ${c.row}`, async (t) => {
    const asked: string[] = [];
    const api = { user: async (id: string) => { asked.push(id); return NAMES[id] ? { name: NAMES[id], email: null } : null; } };
    t.is(await textWithMentionIds({ text: c.text, atUsers: c.atUsers, chatbotUserId: ROBOT }, api), c.want);
    t.deepEqual(asked.sort(), c.asked);
    for (const id of c.want.match(/@dt\d+/g) ?? []) t.truthy(dingtalkPlatform.mention!.exec(id), 'in the module\'s mention form');
  });
}
