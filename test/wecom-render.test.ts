// WeCom rendering of every neutral view, in zh-CN and en, against WeCom's documented limits (text
// messages ≤ 2048 bytes; button_interaction cards: main_title.title ≤ 26 characters, sub_title_text ≤
// 112, source.desc ≤ 13, 1–6 buttons of ≤ 10 characters, keys ≤ 1024 bytes and unique, task_id ≤ 128
// bytes of [A-Za-z0-9_-@]); every button key is one the conversation codec decodes to the action it
// was made from. Generated views (fast-check) with long and multi-byte texts; and the reason prompts.
import fc from 'fast-check';
import test from 'ava';
import { decodeAction, encodeAction } from '../bot/conversation/codec.ts';
import type { ReplyView } from '../bot/conversation/types.ts';
import type { Locale } from '../bot/core/messages.ts';
import { alertView } from '../bot/core/security/views.ts';
import { answerInputs, promptText } from '../bot/wecom/reasons.ts';
import { parseButtonKey, renderView, type Rendered } from '../bot/wecom/render.ts';

const chars = (s: string) => Array.from(s).length;

function withinLimits(out: Rendered): string | null {
  if (Buffer.byteLength(out.text) > 2048) return 'text bytes';
  const c = out.card;
  if (!c) return null;
  if (chars(c.main_title.title) > 26 || c.main_title.title === '') return 'title';
  if (c.sub_title_text !== undefined && chars(c.sub_title_text) > 112) return 'subtitle';
  if (chars(c.source.desc) > 13) return 'source';
  if (!/^[A-Za-z0-9_\-@]{1,128}$/.test(c.task_id)) return 'task_id';
  if (c.button_list.length < 1 || c.button_list.length > 6) return 'buttons';
  if (new Set(c.button_list.map((b) => b.key)).size !== c.button_list.length) return 'keys repeated';
  for (const b of c.button_list) {
    if (chars(b.text) > 10 || b.text === '') return 'button text';
    if (Buffer.byteLength(b.key) > 1024) return 'key bytes';
    const k = parseButtonKey(b.key);
    const d = k && decodeAction(k.wireId, k.value);
    if (!d?.ok || `${d.action.name}|${encodeAction(d.action)}` !== b.key) return `key not the codec's: ${b.key}`;
  }
  return null;
}

const text = fc.string({ unit: 'grapheme', maxLength: 400 });
const customerId = fc.integer({ min: 1, max: 999_999 }).map((n) => `C-${String(n).padStart(6, '0')}`);
const field = fc.constantFrom('phone', 'email', 'address', 'idNumber');
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,1900}$/);

const view: fc.Arbitrary<ReplyView> = fc.oneof(
  fc.record({ kind: fc.constant('notice' as const), tone: fc.constantFrom('info' as const, 'refusal' as const, 'error' as const), text }),
  fc.record({ kind: fc.constant('help' as const), title: text, lines: fc.array(text, { maxLength: 30 }) }),
  fc.record({
    kind: fc.constant('pick' as const), intro: text,
    candidates: fc.array(fc.record({ customerId, summary: text }).map((c) => ({ ...c, button: { label: c.customerId, value: c.customerId } })), { minLength: 1, maxLength: 12 }).map((cs) => cs.filter((c, i) => cs.findIndex((x) => x.customerId === c.customerId) === i)),
  }),
  fc.record({
    kind: fc.constant('card' as const), customerId, title: text, footer: text,
    groups: fc.array(fc.record({ group: fc.constant('contact' as const), label: text, fields: fc.array(fc.record({ field: fc.constant('phone' as const), label: text, value: text, masked: fc.boolean() }), { maxLength: 8 }) }), { maxLength: 6 }),
    requests: fc.uniqueArray(fc.tuple(customerId, field), { maxLength: 9, selector: ([, f]) => f }).map((rs) => rs.map(([c, f]) => ({ kind: 'reveal' as const, label: `查看${f}`, value: JSON.stringify({ c, f }) }))),
  }),
  fc.record({
    kind: fc.constant('audit-table' as const), title: text, header: text, rows: fc.array(text, { maxLength: 40 }), footer: text,
    older: fc.record({ label: text, value: token }), newer: fc.record({ label: text, value: token }), export: fc.record({ label: text, value: token }),
  }),
);

test('every generated view renders within WeCom\'s limits, with buttons the codec reads back', (t) => {
  fc.assert(fc.property(view, (v) => withinLimits(renderView(v)) === null), { numRuns: 300 });
  t.pass();
});

test('review cards, alert cards and notices in zh-CN and en stay within the limits and carry the codec\'s actions', (t) => {
  for (const locale of ['zh-CN', 'en'] as Locale[]) {
    const alert = renderView(alertView({ employeeId: 'E-0042', detector: 'distinctCustomers', count: 120, max: 50, windowMinutes: 10, frozen: true, at: new Date(), auditQuery: 'by E-0042 since:10m' }, '欧阳'.repeat(40), locale));
    t.is(withinLimits(alert), null);
    t.deepEqual(alert.card!.button_list.map((b) => b.key), ['security_unfreeze|E-0042', 'security_keep|E-0042', 'security_revoke|E-0042']);
    const review = renderView({ reviewId: 'RV-20260630.g1', title: 'x'.repeat(300), lines: [{ label: 'grant', value: 'y'.repeat(3000) }], status: 'pending', buttons: [{ decision: 'keep', label: locale === 'en' ? 'Keep' : '保留', style: 'primary' }, { decision: 'revoke', label: locale === 'en' ? 'Revoke' : '撤销', style: 'danger' }] });
    t.is(withinLimits(review), null);
    t.deepEqual(review.card!.button_list.map((b) => b.key), ['review_keep|RV-20260630.g1', 'review_revoke|RV-20260630.g1']);
    t.is(withinLimits(renderView({ key: 'k', title: '同步延迟', lines: ['a'.repeat(5000)], tone: 'alert' })), null);
  }
});

test('an audit page token too long for a key (1024 bytes) leaves its button out; the rest stay', (t) => {
  const out = renderView({ kind: 'audit-table', title: 'Audit', header: 'h', rows: ['r'], footer: 'f', older: { label: 'Older', value: 'a'.repeat(1500) }, export: { label: 'Export', value: 'b'.repeat(20) } });
  t.deepEqual(out.card!.button_list.map((b) => b.key), [`audit_export|${'b'.repeat(20)}`]);
});

const requestForm = (locale: Locale) => ({
  kind: 'request' as const,
  form: {
    kind: 'request_form' as const, title: locale === 'en' ? 'Request access' : '申请权限', submit: 's', summary: 'C-000036', reasonLabel: locale === 'en' ? 'purpose' : '理由', metadata: '{}',
    duration: { label: 'd', max: 1440, initial: 60 },
    groups: { label: locale === 'en' ? 'Field groups' : '字段组', options: [{ value: 'identity' as const, label: locale === 'en' ? 'Identity (at most 60 minutes)' : '身份信息（最多 60 分钟）', maxDurationMinutes: 60 }, { value: 'finance' as const, label: locale === 'en' ? 'Finance (at most 480 minutes)' : '财务（最多 480 分钟）', maxDurationMinutes: 480 }] },
  },
});

test('the reason prompts say how to answer and cancel, in zh-CN and en, within a text message', (t) => {
  const zh = promptText(requestForm('zh-CN'), 'zh-CN');
  const en = promptText(requestForm('en'), 'en');
  t.regex(zh, /10 分钟内回复[\s\S]*取消[\s\S]*身份信息/);
  t.regex(en, /within 10 minutes[\s\S]*cancel[\s\S]*Identity/);
  for (const p of [zh, en]) t.true(Buffer.byteLength(p) <= 2048);
});

test('a reply is read as groups, minutes and purpose; 取消 / cancel drops it', (t) => {
  const awaited = { form: 'request' as const, metadata: '{}', initialMinutes: 60, groups: [{ value: 'identity', label: '身份信息（最多 60 分钟）' }, { value: 'finance', label: 'Finance (at most 480 minutes)' }] };
  t.deepEqual(answerInputs(awaited, '身份信息 finance 30 核对 合同'), { purpose: '核对 合同', duration: '30', groups: ['identity', 'finance'] });
  t.deepEqual(answerInputs(awaited, '60 核对合同'), { purpose: '核对合同', duration: '60' });
  t.deepEqual(answerInputs(awaited, '核对合同'), { purpose: '核对合同', duration: '60' });
  t.deepEqual(answerInputs(awaited, '30'), { purpose: '30', duration: '60' }, 'a lone number is the purpose (the service judges it)');
  t.is(answerInputs(awaited, ' 取消 '), null);
  t.is(answerInputs({ form: 'deny', metadata: 'R-AAAAAAAAAA' }, 'Cancel'), null);
  t.deepEqual(answerInputs({ form: 'deny', metadata: 'R-AAAAAAAAAA' }, ' 用途不充分 '), { reason: '用途不充分' });
});
