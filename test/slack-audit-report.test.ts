// `/audit report …` on Slack (issue 20), through the real endpoint with signed requests, Bolt, Redis, the
// database and the export worker: the same ask as the playground's (bot/core/audit-report-command.ts)
// opens the request modal, the DPO approves it on their card like any audit export, and the export
// worker uploads the report module's CSV for that period into the auditor's DM. Someone without
// `audit.query` is refused, the refusal recorded; words that are not a well-formed ask get the usage.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { t as tr } from '../bot/core/messages.ts';
import { buttons, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import { messageText, SIGNING_SECRET, SlackHarness } from './helpers/slack-bot.ts';
import { expectedReportCsv } from './helpers/report-csv.ts';
import { readZip } from './helpers/zip-read.ts';
import { watermarkKey } from '../bot/core/export-watermark.ts';
import { reportChainOf } from '../bot/reports/chain.ts';
import { digest } from '../bot/reports/render.ts';
import { ReportSource } from '../bot/reports/source.ts';
import { ExportStore } from '../bot/store/export-store.ts';
import { reportFiles } from '../workers/export/report-run.ts';
import { FORM, post, sign, slashCommandBody } from './helpers/slack-sign.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';

const h = new SlackHarness(import.meta.url, { customers: 30, grants: true, clock: movableClock() });
let customer: Customer;

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({ region: 'east' })) { customer = c; break; }
  await h.ask(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), customer.customerId); // a view the report must show
  await h.auditRecords({ customerIds: customer.customerId, action: 'lookup' });
});
test.after.always(async () => { await h.close(); });

/** `/audit text` typed in the user's DM; resolves once the command is acknowledged. */
async function slash(key: DemoEmployeeKey, text: string): Promise<string> {
  const responseUrl = h.fake.responseUrl();
  const raw = slashCommandBody({ command: '/audit', text, userId: h.userId(key), channelId: h.dmOf(key), responseUrl });
  const res = await post(h.eventsUrl, sign(SIGNING_SECRET, raw, FORM));
  if (res.status !== 200) throw new Error(`/audit answered ${res.status}`);
  return responseUrl;
}

test.serial('/audit report by the auditor: the modal names the report, the DPO approves, and the report CSV arrives in the DM', async (t) => {
  const since = h.fake.calls.length;
  await slash('auditor', `report customer ${customer.customerId} from 2026-06-01 to 2026-07-31`);
  const modal = openedView(await modalAfter(h, since));
  t.true(JSON.stringify(modal.blocks).includes(`report customer ${customer.customerId} 2026-06-01 2026-07-31`), 'the form says which report');
  const res = await submitView(h, h.userId('auditor'), modal.callback_id, modal.private_metadata, requestValues('客户访问报告（个人查询请求）', 60));
  t.is(res.body, '', 'the modal closes');

  const card = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('dpo'));
  const requestId = /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!;
  t.true(messageText(card.body).includes(`report customer ${customer.customerId}`), 'the DPO sees which report');
  t.deepEqual(buttons(card.body).map((b) => b.actionId), ['approval_approve', 'approval_deny']);
  const approved = await h.click(h.userId('dpo'), h.dmOf('dpo'), 'approval_approve', requestId);
  t.is(String((await h.replyTo(approved.responseUrl)).body.text), `您已批准申请 #${requestId}。`);

  const exportId = `X-${requestId.slice(2)}`;
  const upload = await h.fake.waitFor((x) => x.method === 'files.completeUploadExternal' && x.ok, 60_000);
  t.is(upload.body.channel_id, h.dmOf('auditor'), 'uploaded into the auditor DM');
  const file = [...h.fake.files.values()].find((f) => f.completed && f.filename.startsWith('custos-report-customer') && f.bytes.toString('utf8').includes(exportId));
  if (!file) return t.fail('no report file');
  const expected = await expectedReportCsv(h.bot.conn, exportId, { kind: 'customer', customerId: customer.customerId, from: '2026-06-01', to: '2026-07-31' }, h.employees.auditor, h.config.audit!.hmacKey);
  t.is(file.bytes.toString('utf8').replace(/^\uFEFF/, ''), expected.text, 'the file is the report module\'s CSV for that period');
  t.true(expected.rows >= 1 && expected.text.includes(h.employees.salesLeadEast.employeeId), 'the lead\'s view is in the report');
  for (const pii of [customer.name, customer.phone, customer.email].filter((v): v is string => typeof v === 'string' && v.length > 0)) {
    t.false(file.bytes.toString('utf8').includes(pii), 'no raw personal data in the file');
  }

  const steps = ['request.create', 'request.approve', 'export.start', 'export.complete', 'export.download'];
  await h.auditRecords({ requestId, action: 'export.download' });
  const trail = await h.auditRecords({ requestId, action: { $in: steps } }, steps.length);
  for (const a of steps) t.true(trail.some((r) => r.action === a), `audited: ${a}`);
  t.like(trail.find((r) => r.action === 'request.create'), { meta: { kind: 'audit-export' }, actor: { platform: 'slack' } });
  t.like(trail.find((r) => r.action === 'export.start'), { meta: { report: 'customer' }, actor: { employeeId: h.employees.auditor.employeeId } });
});

// The pack (issue 20 item 3): the same approval, delivered as one ZIP whose entries are the files the
// CLI's renderer gives for this export's stamp. The period ends before the harness's day, so its tables
// are fixed; the chain's own lines (verification, latest checkpoint) move with every event and are
// checked for consistency instead: the manifest lists every other entry with its real size and hash.
test.serial('/audit report pack: approved by the DPO, one ZIP of the CLI pack\'s files arrives in the auditor\'s DM', async (t) => {
  const since = h.fake.calls.length;
  await slash('auditor', 'report pack from 2026-06-01 to 2026-06-29');
  const modal = openedView(await modalAfter(h, since));
  t.true(JSON.stringify(modal.blocks).includes('report pack - 2026-06-01 2026-06-29'), 'the form says which report');
  await submitView(h, h.userId('auditor'), modal.callback_id, modal.private_metadata, requestValues('年度合规审计（个人信息保护法第五十四条）', 60));
  const card = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('dpo'));
  const requestId = /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!;
  t.true(messageText(card.body).includes('report pack'), 'the DPO sees which report');
  await h.click(h.userId('dpo'), h.dmOf('dpo'), 'approval_approve', requestId);

  const exportId = `X-${requestId.slice(2)}`;
  await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'files.completeUploadExternal' && x.ok, 60_000);
  const file = [...h.fake.files.values()].find((f) => f.completed && f.filename === `custos-report-pack-${exportId}.zip`);
  if (!file) return t.fail('no pack file');
  const entries = readZip(file.bytes);
  const record = (await new ExportStore(h.bot.conn).byId(exportId))!;
  const expected = await reportFiles(new ReportSource(h.bot.conn), {
    exportId, ask: { kind: 'pack', from: '2026-06-01', to: '2026-06-29' }, requester: h.employees.auditor, at: record.createdAt,
    key: watermarkKey(h.config.audit!.hmacKey), tagId: record.tagId,
  }, await reportChainOf(h.bot.conn, h.config));
  t.deepEqual(entries.map((e) => e.name), expected.map((f) => f.file), 'the CLI pack\'s files, in its order');
  const got = new Map(entries.map((e) => [e.name, e.data.toString('utf8')]));
  const chainFree = expected.filter((f) => !['summary.csv', 'manifest.csv'].includes(f.file) && !f.file.endsWith('.html'));
  t.is(chainFree.length, 7);
  for (const f of chainFree) t.is(got.get(f.file), f.text, `${f.file}: byte for byte`);
  const summary = expected.find((f) => f.file === 'summary.csv')!.text.split('\r\n');
  t.deepEqual(got.get('summary.csv')!.split('\r\n').slice(4), summary.slice(4), 'summary.csv past the chain lines');
  const listed = got.get('manifest.csv')!.split('\r\n').slice(2, -2).map((l) => l.split(','));
  t.is(listed.length, entries.length - 1);
  for (const [name, bytes, sha] of listed) {
    const clean = name!.replace(/[\u200b-\u200d\u2060]/g, '');
    t.deepEqual([Number(bytes), sha], [digest(got.get(clean)!).bytes, digest(got.get(clean)!).sha256], `${clean} as listed`);
  }
  const [start] = await h.auditRecords({ exportId, action: 'export.start' });
  t.like(start, { meta: { report: 'pack' }, actor: { employeeId: h.employees.auditor.employeeId } });
  await h.auditRecords({ exportId, action: 'export.download' });
});

test.serial('/audit report by someone without audit.query is refused and recorded; a malformed ask gets the usage', async (t) => {
  const rep = h.employees.salesLeadEast.employeeId;
  const since = h.fake.calls.length;
  const before = await h.bot.conn.collection('access_requests').countDocuments({ requesterId: rep });
  const refused = await h.replyTo(await slash('salesLeadEast', 'report disclosures from 2026-06-01 to 2026-06-30'), 60_000);
  t.regex(messageText(refused.body), /无法申请导出（原因：no_rule）/);
  const [record] = await h.auditRecords({ action: 'report.generate', decision: 'denied', 'actor.employeeId': rep });
  t.like(record, { reasonCode: 'no_rule', meta: { report: 'disclosures' }, actor: { platform: 'slack' } });
  t.false(h.fake.calls.slice(since).some((c) => c.method === 'views.open'), 'no modal');
  t.is(await h.bot.conn.collection('access_requests').countDocuments({ requesterId: rep }), before, 'nothing created');

  const usage = await h.replyTo(await slash('auditor', 'report disclosures from 2026-02-30 to 2026-03-01'), 60_000);
  t.regex(messageText(usage.body), /用法：.*audit report customer C-000123 from 2026-06-01 to 2026-06-30/, tr('approval.report.usage', 'zh-CN'));
});
