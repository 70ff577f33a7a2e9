// `audit report …` on Lark (issue 20), end to end: signed message events and card callbacks to the bot's
// real endpoint, the real Lark SDK against the fake Open API, real Redis, database, audit and export
// workers. The same ask as the playground's (bot/core/audit-report-command.ts) answers with the request
// form card; its submission is an `audit-export` request the DPO approves on their card; the export
// worker sends the report module's CSV for that period as a Lark file. Someone without `audit.query` is
// refused, the refusal recorded; words that are not a well-formed ask get the usage.
import test from 'ava';
import { t as tr } from '../bot/core/messages.ts';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { cardButtons, cardFormFields, cardText, type SentMessage } from './fakes/lark-api.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { expectedReportCsv } from './helpers/report-csv.ts';

// The 3 s callback budget is lark-flows' subject; here a loaded CI machine must not turn an answer into "working…".
const h = new LarkHarness(import.meta.url, { customers: 30, overrides: { callbackBudgetMs: 60_000 } });
const CUSTOMER = demoCustomerId(4);

test.before(async () => {
  await h.start();
  await h.ask('supportAgent', CUSTOMER); // a view the report must show
  await h.auditRecords({ customerIds: CUSTOMER, action: 'lookup' });
});
test.after.always(async () => { await h.close(); });

const sentAfter = (n: number) => (m: SentMessage) => h.fake.sent().indexOf(m) >= n;

test.serial('audit report by the auditor: form card → DPO approves → the report CSV arrives as a Lark file', async (t) => {
  const n = h.fake.sent().length;
  const form = await h.ask('auditor', `audit report customer ${CUSTOMER} from 2026-06-01 to 2026-07-31`);
  t.deepEqual(cardFormFields(form.card), ['reason', 'duration'], cardText(form.card));
  t.true(cardText(form.card).includes(`report customer ${CUSTOMER} 2026-06-01 2026-07-31`), 'the form says which report');

  const submit = cardButtons(form.card).find((b) => b.value.a === 'request_submit')!;
  const submitted = await h.click('auditor', form, submit.value, { reason: '客户访问报告（个人查询请求）', duration: '60' });
  const requestId = /#(R-[A-P]{10})/.exec(submitted.answer.toast?.content ?? '')?.[1];
  if (!requestId) return t.fail(`not submitted: ${JSON.stringify(submitted.answer)}`);

  const approverCard = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('dpo') && cardText(m.card).includes(requestId));
  t.true(cardText(approverCard.card).includes(`report customer ${CUSTOMER}`), 'the DPO sees which report');
  t.deepEqual(cardButtons(approverCard.card).map((b) => b.value.a), ['approve', 'deny']);
  const approved = await h.click('dpo', approverCard, cardButtons(approverCard.card).find((b) => b.value.a === 'approve')!.value);
  t.is(approved.answer.toast?.content, tr('approval.done.approved', 'zh-CN', { id: requestId }));

  const exportId = `X-${requestId.slice(2)}`;
  const fileMessage = await h.fake.waitFor((m) => sentAfter(n)(m) && m.msgType === 'file' && m.receiveId === h.openId('auditor'), 60_000);
  const file = h.fake.files.get(fileMessage.fileKey!)!;
  t.true(file.name.startsWith(`custos-report-customer`) && file.name.includes(exportId), file.name);
  const expected = await expectedReportCsv(h.conn, exportId, { kind: 'customer', customerId: CUSTOMER, from: '2026-06-01', to: '2026-07-31' }, h.employees.auditor, h.config.audit!.hmacKey);
  t.is(file.bytes.toString('utf8').replace(/^\uFEFF/, ''), expected.text, 'the file is the report module\'s CSV for that period');
  t.true(expected.rows >= 1 && expected.text.includes(h.employees.supportAgent.employeeId), 'the agent\'s view is in the report');
  const customer = await h.customers.get(CUSTOMER);
  for (const pii of [customer?.name, customer?.phone, customer?.email].filter((v): v is string => typeof v === 'string' && v.length > 0)) {
    t.false(file.bytes.toString('utf8').includes(pii), 'no raw personal data in the file');
  }

  const steps = ['request.create', 'request.approve', 'export.start', 'export.complete', 'export.download'];
  await h.auditRecords({ requestId, action: 'export.download' });
  const trail = await h.auditRecords({ requestId, action: { $in: steps } }, steps.length);
  for (const a of steps) t.true(trail.some((r) => r.action === a), `audited: ${a}`);
  t.like(trail.find((r) => r.action === 'request.create'), { meta: { kind: 'audit-export' }, actor: { platform: 'lark' } });
  t.like(trail.find((r) => r.action === 'export.start'), { meta: { report: 'customer' }, actor: { employeeId: h.employees.auditor.employeeId } });
});

test.serial('audit report by someone without audit.query is refused and recorded; a malformed ask gets the usage', async (t) => {
  const rep = h.employees.salesRep.employeeId;
  const before = await h.conn.collection('access_requests').countDocuments({ requesterId: rep });
  const refused = await h.ask('salesRep', 'audit report disclosures from 2026-06-01 to 2026-06-30');
  t.regex(cardText(refused.card), /无法申请导出（原因：no_rule）/);
  t.deepEqual(cardFormFields(refused.card), [], 'no form');
  const [record] = await h.auditRecords({ action: 'report.generate', decision: 'denied', 'actor.employeeId': rep });
  t.like(record, { reasonCode: 'no_rule', meta: { report: 'disclosures' }, actor: { platform: 'lark' } });
  t.is(await h.conn.collection('access_requests').countDocuments({ requesterId: rep }), before, 'nothing created');

  const usage = await h.ask('auditor', 'audit report disclosures from 2026-02-30 to 2026-03-01');
  t.regex(cardText(usage.card), /用法：.*audit report customer C-000123 from 2026-06-01 to 2026-06-30/);
});
