// "Export results" under an `/audit` table (issue 8), through the real bot endpoints, Bolt, Redis,
// the database and the export worker: the click opens the request modal, the DPO approves (never the
// auditor themselves), and the CSV of the matching audit events arrives in the auditor's DM with BOM,
// header, the table's columns, footer and the recipient's marker on every row, and no personal data.
// A denial delivers nothing; someone who may not query the audit log cannot ask at all.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { findMarkers, MARKER_CHARS, verifyMarker, watermarkKey, ZERO_WIDTH } from '../bot/core/export-watermark.ts';
import { VIEW_DENY } from '../bot/slack/approval-blocks.ts';
import { ACTION_AUDIT_EXPORT } from '../bot/slack/audit-blocks.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { MongoAuditLogReader } from '../bot/store/audit-query-store.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { runAuditExport } from '../workers/export/audit-run.ts';
import { auditExportRows } from './helpers/audit-export-csv.ts';
import { buttons, denyValues, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import { messageText, SIGNING_SECRET, SlackHarness } from './helpers/slack-bot.ts';
import { FORM, post, sign, slashCommandBody } from './helpers/slack-sign.ts';

const clock = movableClock();
const h = new SlackHarness(import.meta.url, { customers: 30, grants: true, clock });
const VIEW_ACTIONS = new Set(['lookup', 'share', 'reveal']);
let customer: Customer;
let query = '';

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({ region: 'east' })) { customer = c; break; }
  // Two lookups of the customer give the audit query something to find.
  for (let i = 0; i < 2; i++) await h.ask(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), customer.customerId);
  await h.auditRecords({ customerIds: customer.customerId, action: 'lookup' }, 2);
});
test.after.always(async () => { await h.close(); });

/** `/audit text` in the user's DM; the reply's Block Kit body. */
async function audit(key: DemoEmployeeKey, text: string): Promise<Record<string, unknown>> {
  const responseUrl = h.fake.responseUrl();
  const raw = slashCommandBody({ command: '/audit', text, userId: h.userId(key), channelId: h.dmOf(key), responseUrl });
  const res = await post(h.eventsUrl, sign(SIGNING_SECRET, raw, FORM));
  if (res.status !== 200) throw new Error(`/audit answered ${res.status}`);
  return (await h.replyTo(responseUrl, 60_000)).body;
}

/** The auditor asks who viewed the customer, clicks Export results and submits the modal: the DPO's card. */
async function auditorRequestsExport(reason: string): Promise<{ requestId: string; card: Record<string, unknown> }> {
  const table = await audit('auditor', `who-viewed ${customer.customerId} purpose: 季度访问审计`);
  const exportButton = buttons(table).find((b) => b.actionId === ACTION_AUDIT_EXPORT);
  if (!exportButton) throw new Error('no Export results button');
  query = exportButton.value;
  const since = h.fake.calls.length;
  await h.click(h.userId('auditor'), h.dmOf('auditor'), ACTION_AUDIT_EXPORT, exportButton.value);
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId('auditor'), modal.callback_id, modal.private_metadata, requestValues(reason, 60));
  if (res.body !== '') throw new Error(`the modal answered ${res.body}`);
  const card = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('dpo'));
  return { requestId: /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!, card: card.body };
}

const strip = (s: string) => s.replace(new RegExp(ZERO_WIDTH.join('|'), 'g'), '');

test.serial('auditor exports a who-viewed result: the DPO approves and the watermarked CSV of exactly those events arrives in the DM', async (t) => {
  const { requestId, card } = await auditorRequestsExport('季度访问审计抽查');
  t.true(messageText(card).includes(`customer=${customer.customerId}`), 'the DPO sees which audit query');
  t.deepEqual(buttons(card).map((b) => b.actionId), ['approval_approve', 'approval_deny']);
  const approved = await h.click(h.userId('dpo'), h.dmOf('dpo'), 'approval_approve', requestId);
  t.is(String((await h.replyTo(approved.responseUrl)).body.text), `您已批准申请 #${requestId}。`);

  const exportId = `X-${requestId.slice(2)}`;
  const upload = await h.fake.waitFor((x) => x.method === 'files.completeUploadExternal' && x.ok, 60_000);
  t.is(upload.body.channel_id, h.dmOf('auditor'), 'uploaded into the auditor DM');
  const file = [...h.fake.files.values()].find((f) => f.completed && f.bytes.toString('utf8').includes(exportId))!;
  const auditorId = h.employees.auditor.employeeId;
  const rows = auditExportRows(t, file.bytes, exportId, auditorId);
  const csv = file.bytes.toString('utf8');

  // Exactly the stored events the query matches (views of that customer), newest first.
  const stored = await h.auditRecords({ customerIds: customer.customerId }, 2);
  const want = stored.filter((d) => VIEW_ACTIONS.has(String(d.action))).map((d) => `#${String(d.seq)}`).reverse();
  t.deepEqual(rows.map((r) => strip(r[0]!)), want);
  t.true(rows.every((r) => r[2] === h.employees.salesLeadEast.employeeId && r[3] === 'lookup' && r[6] === customer.customerId), 'actor, action and customer as ids');
  t.true(rows.every((r) => r[0]!.length === strip(r[0]!).length + MARKER_CHARS), 'every row carries the invisible marker');
  const key = watermarkKey(h.config.audit!.hmacKey);
  const markers = findMarkers(csv);
  t.is(markers.length, 1);
  t.true(verifyMarker(key, markers[0]!, exportId, auditorId), 'the marker names this export and the auditor');
  for (const pii of [customer.name, customer.phone, customer.email].filter((v): v is string => typeof v === 'string' && v.length > 0)) {
    t.false(csv.includes(pii), 'no raw personal data in the file');
  }

  const steps = ['request.create', 'request.approve', 'export.start', 'export.complete', 'export.download'];
  const trail = await h.auditRecords({ requestId, action: { $in: steps } }, steps.length);
  for (const a of steps) t.true(trail.some((r) => r.action === a), `audited: ${a}`);
  const created = trail.find((r) => r.action === 'request.create')!;
  t.like(created, { meta: { kind: 'audit-export', filters: `customer=${customer.customerId} action=lookup,share,reveal`.slice(0, 200) } });
  t.deepEqual(created.customerIds, [], 'the request names no customer itself');
  const told = await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('auditor') && String(x.body.text).includes(`#${requestId}`) && /批准/.test(String(x.body.text)));
  t.regex(String(told.body.text), /导出文件稍后发送/, 'the auditor is told by DM');
  t.is(await h.bot.conn.collection('grants').countDocuments({ requestId }), 0, 'no customer-data grant');
});

test.serial('the auditor cannot approve their own export; the DPO denies it and nothing is delivered', async (t) => {
  const { requestId } = await auditorRequestsExport('审计抽查（拒绝路径）');
  const self = await h.click(h.userId('auditor'), h.dmOf('auditor'), 'approval_approve', requestId);
  t.is(String((await h.replyTo(self.responseUrl)).body.text), '不能审批自己的申请。');
  const refused = await h.auditRecords({ requestId, action: 'request.vote', decision: 'denied' });
  t.is(refused[0]!.reasonCode, 'self_approval', 'the attempt is audited');

  const since = h.fake.calls.length;
  await h.click(h.userId('dpo'), h.dmOf('dpo'), 'approval_deny', requestId);
  const modal = openedView(await modalAfter(h, since));
  t.is(modal.callback_id, VIEW_DENY);
  t.is((await submitView(h, h.userId('dpo'), VIEW_DENY, modal.private_metadata, denyValues('范围过大，请缩小时间段'))).body, '');
  const told = await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('auditor') && String(x.body.text).includes(`#${requestId}`) && /拒绝/.test(String(x.body.text)));
  t.regex(String(told.body.text), /范围过大/);
  await h.auditRecords({ requestId, action: 'request.deny' });
  await new Promise((r) => setTimeout(r, 1500)); // a wrongly queued export would have started by now
  const exportId = `X-${requestId.slice(2)}`;
  t.false([...h.fake.files.values()].some((f) => f.bytes.toString('utf8').includes(exportId)), 'no file');
  t.is((await h.bot.conn.collection('exports').countDocuments({ exportId })), 0, 'no export record');
});

test.serial('someone who may not query the audit log cannot request an audit export, even with a valid button value', async (t) => {
  t.truthy(query, 'a real Export results value from the earlier test');
  const since = h.fake.calls.length;
  const before = await h.bot.conn.collection('access_requests').countDocuments({ requesterId: h.employees.salesLeadEast.employeeId });
  const click = await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), ACTION_AUDIT_EXPORT, query);
  t.regex(messageText((await h.replyTo(click.responseUrl)).body), /无法申请导出（原因：no_rule）/);
  t.false(h.fake.calls.slice(since).some((c) => c.method === 'views.open'), 'no modal');
  t.is(await h.bot.conn.collection('access_requests').countDocuments({ requesterId: h.employees.salesLeadEast.employeeId }), before, 'nothing created');

  const forged = await h.click(h.userId('auditor'), h.dmOf('auditor'), ACTION_AUDIT_EXPORT, 'not-a-token');
  t.regex(messageText((await h.replyTo(forged.responseUrl)).body), /按钮或表单内容无效，未创建任何申请/, 'a malformed value is refused, nothing created');
});

test.serial('the audit export walks the log page by page, newest first, and the row cap cuts it and says so', async (t) => {
  const log = new MongoAuditLogReader(await auditModels(h.bot.conn));
  const file = join(await mkdtemp(join(tmpdir(), 'custos-audit-cap-')), 'cap.csv');
  const auditor = h.employees.auditor;
  // Events up to now only (later ones, e.g. still in the queue, cannot shift the expectation).
  await new Promise((r) => setTimeout(r, 1500));
  const until = clock.now();
  const result = await runAuditExport(log, { exportId: 'X-AUDITCAP', filter: { to: until }, requester: auditor, at: clock.now(), maxRows: 5, key: watermarkKey(h.config.audit!.hmacKey), tagId: '0123456789ab', batch: 2 }, file);
  t.like(result, { rows: 5, capped: true });
  const lines = (await readFile(file, 'utf8')).slice(1).split('\r\n').filter(Boolean);
  t.is(lines.length, 1 + 1 + 5 + 1, 'header, column row, 5 rows, footer');
  t.regex(lines.at(-1)!, /cut at 5/);
  const newest = (await h.auditRecords({ occurredAt: { $lt: until } }, 5)).map((d) => `#${String(d.seq)}`).reverse().slice(0, 5);
  t.deepEqual(lines.slice(2, -1).map((l) => strip(l.split(',')[0]!)), newest, 'the five newest events, in order, across pages of two');
});
