// "Export results" on Lark audit cards, end to end: signed card callbacks to the bot's real endpoint, the
// real Lark SDK against the fake Open API, real Redis, database, audit and export workers. An auditor's
// `audit who-viewed …` card carries the button; a click sends the request form card, its submission
// creates an `audit-export` request the DPO approves on their own card; the export worker delivers the
// CSV of exactly the matching events (ids and codes, no customer PII) as a Lark file message. Someone
// who may not query the audit log is refused with the mapped sentence, and with the audit queue
// unreachable the request is refused and nothing is created (fail closed).
import test from 'ava';
import { ErrorCode } from '../bot/core/errors.ts';
import { findMarkers, MARKER_CHARS, verifyMarker, watermarkKey, ZERO_WIDTH } from '../bot/core/export-watermark.ts';
import { t as tr } from '../bot/core/messages.ts';
import { ACTION_AUDIT_EXPORT } from '../bot/lark/audit-cards.ts';
import { startLarkBot } from '../bot/lark/runtime.ts';
import { createAuditProducer } from '../bot/queue/audit-producer.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { cardButtons, cardFormFields, cardText, type SentMessage } from './fakes/lark-api.ts';
import { auditExportRows } from './helpers/audit-export-csv.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { cardAction, eventId, post, signed } from './helpers/lark-sign.ts';

// The 3 s callback budget is lark-flows' subject; here a loaded CI machine must not turn an answer into "working…".
const h = new LarkHarness(import.meta.url, { customers: 30, overrides: { callbackBudgetMs: 60_000 } });
const CUSTOMER = demoCustomerId(4);
const VIEW_ACTIONS = ['lookup', 'share', 'reveal'];
const PURPOSE = 'purpose: 季度访问审计';
let exportValue: Record<string, string> | undefined; // a real button value, for the refusal tests

test.before(async () => {
  await h.start();
  // The log to query: two lookups of one customer by the support agent.
  for (let i = 0; i < 2; i++) await h.ask('supportAgent', CUSTOMER);
  await h.auditRecords({ customerIds: CUSTOMER, action: 'lookup' }, 2);
});
test.after.always(async () => { await h.close(); });

const sentAfter = (n: number) => (m: SentMessage) => h.fake.sent().indexOf(m) >= n;
const strip = (s: string) => s.replace(new RegExp(ZERO_WIDTH.join('|'), 'g'), '');

/** The Export results button's callback value on an audit card. */
function exportButton(card: Record<string, unknown> | undefined): { label: string; value: Record<string, string> } | undefined {
  return cardButtons(card).find((b) => b.value.a === ACTION_AUDIT_EXPORT);
}

/** The same card as if it were in `key`'s own DM (so the click comes from their chat). */
function asSeenBy(key: DemoEmployeeKey, message: SentMessage): SentMessage {
  return { ...message, receiveIdType: 'chat_id', receiveId: h.dm(key) };
}

test.serial('an auditor exports a who-viewed result: form card → DPO approves → the CSV of exactly those events arrives as a Lark file', async (t) => {
  const table = await h.ask('auditor', `audit who-viewed ${CUSTOMER} ${PURPOSE}`);
  const button = exportButton(table.card);
  if (!button) return t.fail(`no Export results button: ${cardText(table.card)}`);
  t.is(button.label, '导出结果');
  exportValue = button.value;

  // The click answers with a toast; the form arrives as a card of its own in the auditor's DM.
  const n = h.fake.sent().length;
  const click = await h.click('auditor', table, button.value);
  t.is(click.status, 200);
  t.is(click.answer.toast?.content, tr('lark.approval.formSent', 'zh-CN'));
  const form = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('auditor') && cardFormFields(m.card).includes('reason'));
  t.deepEqual(cardFormFields(form.card), ['reason', 'duration'], 'reason and duration, as for other requests');
  t.true(cardText(form.card).includes(`customer=${CUSTOMER}`), 'the form says which audit query');

  const submitButton = cardButtons(form.card).find((b) => b.value.a === 'request_submit')!;
  const values = { reason: '季度访问审计抽查', duration: '60' };
  const submitted = await h.click('auditor', form, submitButton.value, values);
  const requestId = /#(R-[A-P]{10})/.exec(submitted.answer.toast?.content ?? '')?.[1];
  if (!requestId) return t.fail(`not submitted: ${JSON.stringify(submitted.answer)}`);
  t.regex(cardText(submitted.answer.card?.data), new RegExp(`已提交申请 #${requestId}`), 'the form is replaced by what happened');
  const again = await h.click('auditor', form, submitButton.value, values);
  t.is(again.answer.toast?.content, tr('lark.approval.alreadySubmitted', 'zh-CN'), 'the same form copy submits once');

  const approverCard = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('dpo') && cardText(m.card).includes(requestId));
  t.true(cardText(approverCard.card).includes(`customer=${CUSTOMER}`), 'the DPO sees which audit query');
  t.deepEqual(cardButtons(approverCard.card).map((b) => b.value.a), ['approve', 'deny']);
  const approve = cardButtons(approverCard.card).find((b) => b.value.a === 'approve')!;
  const self = await h.click('auditor', asSeenBy('auditor', approverCard), approve.value);
  t.is(self.answer.toast?.content, tr('approval.refused.self_approval', 'zh-CN'), 'the auditor cannot approve their own export');
  const approved = await h.click('dpo', approverCard, approve.value);
  t.is(approved.answer.toast?.content, tr('approval.done.approved', 'zh-CN', { id: requestId }));

  const exportId = `X-${requestId.slice(2)}`;
  const fileMessage = await h.fake.waitFor((m) => m.msgType === 'file' && m.receiveId === h.openId('auditor'), 60_000);
  const file = h.fake.files.get(fileMessage.fileKey!)!;
  t.is(file.name, `custos-audit-export-${exportId}.csv`);
  const auditorId = h.employees.auditor.employeeId;
  const rows = auditExportRows(t, file.bytes, exportId, auditorId);
  const csv = file.bytes.toString('utf8');

  // Exactly the stored views of that customer, newest first, as ids and codes.
  const stored = await h.auditRecords({ customerIds: CUSTOMER, action: { $in: VIEW_ACTIONS } }, 2);
  t.deepEqual(rows.map((r) => strip(r[0]!)), stored.map((d) => `#${String(d.seq)}`).reverse());
  t.true(rows.every((r) => r[2] === h.employees.supportAgent.employeeId && r[3] === 'lookup' && r[6] === CUSTOMER), 'actor, action and customer as ids');
  t.true(rows.every((r) => r[0]!.length === strip(r[0]!).length + MARKER_CHARS), 'every row carries the invisible marker');
  const markers = findMarkers(csv);
  t.is(markers.length, 1);
  t.true(verifyMarker(watermarkKey(h.config.audit!.hmacKey), markers[0]!, exportId, auditorId), 'the marker names this export and the auditor');
  const customer = await h.customers.get(CUSTOMER);
  for (const pii of [customer?.name, customer?.phone, customer?.email].filter((v): v is string => typeof v === 'string' && v.length > 0)) {
    t.false(csv.includes(pii), 'no raw personal data in the file');
  }

  const told = await h.fake.waitFor((m) => m.receiveId === h.openId('auditor') && cardText(m.card).includes(`#${requestId}`) && /导出文件稍后发送/.test(cardText(m.card)));
  t.truthy(told, 'the auditor is told on Lark');
  const steps = ['request.create', 'request.approve', 'export.start', 'export.complete', 'export.download'];
  await h.auditRecords({ requestId, action: 'export.download' }); // the last step (the refused self-approval is a record too)
  const trail = await h.auditRecords({ requestId, action: { $in: steps } });
  for (const a of steps) t.true(trail.some((r) => r.action === a), `audited: ${a}`);
  const created = trail.find((r) => r.action === 'request.create')!;
  t.like(created, { meta: { kind: 'audit-export' }, actor: { platform: 'lark' } });
  t.deepEqual(created.customerIds, [], 'the request names no customer itself');
  t.is(await h.conn.collection('grants').countDocuments({ requestId }), 0, 'no customer-data grant');
});

test.serial('an Export results click must be signed, and a redelivered click (same event id) sends one form', async (t) => {
  if (!exportValue) return t.fail('needs the value from the first test');
  const formsAfter = (n: number) => h.fake.sent().filter((m) => sentAfter(n)(m) && m.receiveId === h.openId('auditor') && cardFormFields(m.card).includes('reason'));
  const n = h.fake.sent().length;
  const click = (id: string, signKey?: string) => h.push(cardAction({ openId: h.openId('auditor'), value: exportValue!, messageId: 'om_audit_card', chatId: h.dm('auditor'), eventId: id }), signKey ? { signKey } : {});
  t.is((await click(eventId(), 'not-the-encrypt-key')).status, 401, 'a forged signature reaches no handler');
  await new Promise((r) => setTimeout(r, 500));
  t.is(formsAfter(n).length, 0, 'no form for a forged click');

  const id = eventId();
  const answers = await Promise.all([click(id), click(id)]);
  t.deepEqual(answers.map((a) => a.status), [200, 200], 'both deliveries are answered');
  await h.fake.waitFor((m) => formsAfter(n).includes(m));
  await new Promise((r) => setTimeout(r, 1000));
  t.is(formsAfter(n).length, 1, 'one form for one click delivered twice');
});

test.serial('someone who may not query the audit log cannot ask for an audit export, even with a real button value', async (t) => {
  const table = await h.ask('salesRep', `audit who-viewed ${CUSTOMER}`);
  t.is(exportButton(table.card), undefined, 'a refused query has no Export results button');
  if (!exportValue) return t.fail('needs the value from the first test');
  const n = h.fake.sent().length;
  const before = await h.conn.collection('access_requests').countDocuments({ requesterId: h.employees.salesRep.employeeId });
  const click = await h.click('salesRep', table, exportValue);
  t.is(click.answer.toast?.content, tr('approval.refused.export_denied', 'zh-CN', { reason: 'no_rule' }));
  t.regex(click.answer.toast?.content ?? '', /无法申请导出（原因：no_rule）/);
  await new Promise((r) => setTimeout(r, 500));
  t.false(h.fake.sent().some((m) => sentAfter(n)(m) && cardFormFields(m.card).includes('reason')), 'no form card');
  t.is(await h.conn.collection('access_requests').countDocuments({ requesterId: h.employees.salesRep.employeeId }), before, 'nothing created');

  const forged = await h.click('auditor', asSeenBy('auditor', table), { a: ACTION_AUDIT_EXPORT, v: 'not-a-token' });
  t.is(forged.answer.toast?.content, tr('approval.refused.malformed', 'zh-CN'), 'a malformed value is refused');
});

test.serial('with the audit queue unreachable the export request is refused with the mapped sentence and nothing is created', async (t) => {
  if (!exportValue) return t.fail('needs the value from the first test');
  // A second bot on the same database and fake, whose audit producer points at a dead Redis.
  const dead = createAuditProducer({ redis: 'redis://127.0.0.1:1', prefix: h.prefix, timeoutMs: 300 });
  const bot = await startLarkBot(h.config, h.logger, { clock: h.clock, recorder: dead, callbackBudgetMs: 60_000 });
  try {
    const url = `${bot.url}/lark/events`;
    const click = async (value: Record<string, string>, messageId: string, formValue?: Record<string, unknown>) => {
      const res = await post(url, signed(cardAction({ openId: h.openId('auditor'), value, messageId, chatId: h.dm('auditor'), ...(formValue ? { formValue } : {}) })));
      return (res.text ? JSON.parse(res.text) : {}) as { toast?: { content: string }; card?: { data: Record<string, unknown> } };
    };
    const n = h.fake.sent().length;
    const before = await h.conn.collection('access_requests').countDocuments({ requesterId: h.employees.auditor.employeeId });
    await click(exportValue, 'om_audit_card');
    const form = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('auditor') && cardFormFields(m.card).includes('reason'));
    const submitButton = cardButtons(form.card).find((b) => b.value.a === 'request_submit')!;
    const answer = await click(submitButton.value, form.messageId, { reason: '审计抽查（队列不可用）', duration: '30' });
    t.is(answer.toast?.content, tr(ErrorCode.AuditUnavailable, 'zh-CN'), 'refused: the audit log cannot record it');
    t.deepEqual(cardFormFields(answer.card?.data), ['reason', 'duration'], 'the form stays, with the problem on top');
    t.is(await h.conn.collection('access_requests').countDocuments({ requesterId: h.employees.auditor.employeeId }), before, 'no request created');
    await new Promise((r) => setTimeout(r, 500));
    t.false(h.fake.sent().some((m) => sentAfter(n)(m) && m.receiveId === h.openId('dpo')), 'no approver card');
  } finally {
    await bot.close();
    await dead.close();
  }
});
