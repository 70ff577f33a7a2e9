// The one flattening of neutral views into what a flat card says (bot/conversation/card-parts.ts), which
// DingTalk's card template and WeCom's text and template_card are mapped from: a table of every view kind
// and its parts, and a property over generated views — each button's (id, value) is one the codec
// decodes to the action it names, and every text the view holds is somewhere in its parts.
import fc from 'fast-check';
import test from 'ava';
import { alertParts, approvalParts, FORM_ACTIONS, formParts, replyParts, reviewParts, submittedForm, updateParts, type CardParts } from '../bot/conversation/card-parts.ts';
import { decodeAction } from '../bot/conversation/codec.ts';
import type { FormView, ReplyView } from '../bot/conversation/types.ts';
import type { ReviewCardView } from '../bot/core/reviews/views.ts';
import type { ApprovalView } from '../bot/core/views-approval.ts';

const review: ReviewCardView = { reviewId: 'RV-20260630.G-1', title: 'review', lines: [{ label: 'grant', value: 'G-1' }], status: 'open', buttons: [{ decision: 'revoke', label: 'revoke', style: 'danger' }] };
const approval: ApprovalView = { kind: 'approval', requestId: 'R-AAAAAAAAAA', title: 'req', lines: [{ label: 'who', value: 'E-1' }], status: { state: 'approved', text: 'done' }, buttons: [] };
const group = { group: 'contact' as const, label: 'Contact', fields: [{ field: 'phone' as const, label: 'phone', value: '138****5678', masked: true }] };

const TABLE: [string, CardParts, CardParts][] = [
  ['a notice', replyParts({ kind: 'notice', tone: 'error', text: 'x' }), { tone: 'error', lines: ['x'], buttons: [] }],
  ['a Pick: candidates as entries, each button naming its customer', replyParts({ kind: 'pick', intro: 'two', candidates: [{ customerId: 'C-000001', summary: 'a', button: { label: 'open', value: 'C-000001' } }] }),
    { tone: 'info', lines: ['two'], entries: [{ head: 'C-000001', text: 'a' }], buttons: [{ id: 'pick', label: 'open', value: 'C-000001', subject: 'C-000001' }] }],
  ['the lookup card: groups, Share first, then its requests', replyParts({ kind: 'card', customerId: 'C-000001', title: 'C-000001', footer: 'ref', groups: [group] as never, share: { label: 'share', value: 'C-000001' }, requests: [{ kind: 'access', label: 'access', value: '{"c":"C-000001"}' }] }),
    { title: 'C-000001', tone: 'card', lines: [], groups: [group], footer: 'ref', buttons: [{ id: 'share', label: 'share', value: 'C-000001' }, { id: 'access', label: 'access', value: '{"c":"C-000001"}' }] }],
  ['an empty audit table: its sentence as the one row, Newer before Older', replyParts({ kind: 'audit-table', title: 'a', header: 'h', rows: [], empty: 'none', footer: 'f', older: { label: 'older', value: 'o' }, newer: { label: 'newer', value: 'n' } }),
    { title: 'a', tone: 'info', lines: ['h'], rows: ['none'], footer: 'f', buttons: [{ id: 'audit_page', label: 'newer', value: 'n' }, { id: 'audit_page', label: 'older', value: 'o' }] }],
  ['a decided approval copy', approvalParts(approval), { title: 'req', tone: 'done', lines: ['who: E-1'], footer: 'done', buttons: [] }],
  ['an open review card', reviewParts(review), { title: 'review', tone: 'pending', lines: ['grant: G-1'], footer: 'open', buttons: [{ id: 'review_revoke', label: 'revoke', value: 'RV-20260630.G-1', style: 'danger' }] }],
  ['a settled review, as its update', updateParts({ kind: 'review', view: { ...review, buttons: [] } }), { title: 'review', tone: 'done', lines: ['grant: G-1'], footer: 'open', buttons: [] }],
  ['an alert acted on', updateParts({ kind: 'security', title: 'alert', line: 'unfrozen' }), { title: 'alert', tone: 'done', lines: ['unfrozen'], buttons: [] }],
  ['an alert: Revoke all is the dangerous one', alertParts({ title: 't', lines: ['l'], employeeId: 'E-1', buttons: [{ decision: 'keep', label: 'k' }, { decision: 'revoke', label: 'r' }] }),
    { title: 't', tone: 'refusal', lines: ['l'], buttons: [{ id: 'security_keep', label: 'k', value: 'E-1' }, { id: 'security_revoke', label: 'r', value: 'E-1', style: 'danger' }] }],
  ['the Deny form: the card it denies, a reason, submit with the request id', formParts({ kind: 'deny', form: { kind: 'deny_form', title: 'deny', submit: 'send', reasonLabel: 'why', metadata: 'R-AAAAAAAAAA' }, card: approval }),
    { title: 'deny', tone: 'pending', lines: ['who: E-1'], inputs: [{ name: 'reason', label: 'why', kind: 'text' }], buttons: [{ id: FORM_ACTIONS.deny, label: 'send', value: 'R-AAAAAAAAAA', style: 'danger' }] }],
];
for (const [row, got, want] of TABLE) test(`parts of ${row}`, (t) => t.deepEqual(got, want));

test('the request form asks for purpose, minutes and groups; its submit carries the metadata', (t) => {
  const form: FormView = { kind: 'request', form: { kind: 'request_form', title: 'ask', submit: 'send', summary: 's', reasonLabel: 'why', duration: { label: 'min', max: 60, initial: 30 }, groups: { label: 'g', options: [{ value: 'contact', label: 'Contact', maxDurationMinutes: 60 }] }, metadata: '{"m":1}' } };
  const p = formParts(form);
  t.deepEqual(p.inputs?.map((i) => [i.name, i.kind, i.initial]), [['purpose', 'text', undefined], ['duration', 'number', '30'], ['groups', 'multi', undefined]]);
  t.deepEqual(p.buttons, [{ id: FORM_ACTIONS.request, label: 'send', value: '{"m":1}', style: 'primary' }]);
  t.is(submittedForm(p.buttons[0]!.id), 'request');
});

const text = fc.string({ maxLength: 20 });
const customerId = fc.integer({ min: 1, max: 999_999 }).map((n) => `C-${String(n).padStart(6, '0')}`);
const views: fc.Arbitrary<ReplyView> = fc.oneof(
  fc.record({ kind: fc.constant('help' as const), title: text, lines: fc.array(text, { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('pick' as const), intro: text, candidates: fc.array(fc.record({ customerId, summary: text }).map((c) => ({ ...c, button: { label: 'open', value: c.customerId } })), { maxLength: 8 }) }),
  fc.record({
    kind: fc.constant('card' as const), customerId, title: text, footer: text, share: fc.record({ label: text, value: customerId }),
    groups: fc.array(fc.record({ group: fc.constant('contact' as const), label: text, fields: fc.array(fc.record({ field: fc.constant('phone' as const), label: text, value: text, masked: fc.boolean() }), { maxLength: 4 }) }), { maxLength: 3 }),
    requests: fc.array(customerId.map((c) => ({ kind: 'reveal' as const, label: 'reveal', value: JSON.stringify({ c, f: 'phone' }) })), { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('audit-table' as const), title: text, header: text, rows: fc.array(text, { maxLength: 8 }), footer: text, older: fc.record({ label: text, value: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/) }) }),
);

/** Every string a view holds that a reader is meant to see (labels, texts, a field's value), nested; not ids or codec values. */
function texts(v: unknown, key = '', field = false): string[] {
  if (typeof v === 'string') return ['kind', 'customerId', 'group', 'field', 'id'].includes(key) || (key === 'value' && !field) ? [] : [v];
  if (Array.isArray(v)) return v.flatMap((x) => texts(x, key, key === 'fields'));
  return v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => texts(x, k, field)) : [];
}

test("a form's submit button names its form; no other button submits one", (t) => {
  t.is(submittedForm(FORM_ACTIONS.request), 'request');
  t.is(submittedForm(FORM_ACTIONS.deny), 'deny');
  for (const id of ['deny', 'approve', 'form_', 'form_request ', 'toString', '']) t.is(submittedForm(id), null, id);
});

test('generated views: every button decodes to the action it names, and every text is in the parts', (t) => {
  fc.assert(fc.property(views, (v) => {
    const p = replyParts(v);
    const shown = new Set(texts(p));
    return p.buttons.every((b) => { const d = decodeAction(b.id, b.value); return d.ok && d.action.name === b.id; }) && texts(v).every((s) => shown.has(s));
  }), { numRuns: 200 });
  t.pass();
});
