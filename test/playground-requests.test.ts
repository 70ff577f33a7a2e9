// Requests typed in the playground's message box, through its HTTP routes like a user on the page: an
// erasure (`erase C-… reason: REF`, issue 19) asked by the admin and decided by the DPO in their
// playground inbox, run exactly once; refusals answered and recorded like on Slack and Lark.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { PlaygroundHarness, textOf } from './helpers/playground.ts';

const h = new PlaygroundHarness(import.meta.url, { customers: 40 });
const admin = demoEmployee('admin');
const dpo = demoEmployee('dpo');
const rep = demoEmployee('salesRep');
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(() => h.close());

async function inboxOf(employeeId: string, after?: number): Promise<{ kind: string; html: string }[]> {
  const res = await fetch(h.url('/playground/api/inbox'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId, after }) });
  return ((await res.json()) as { inbox: { kind: string; html: string }[] }).inbox;
}

/** Audit records matching the filter, once at least `min` are stored by the worker. */
async function records(filter: Record<string, unknown>, min = 1): Promise<Record<string, unknown>[]> {
  const { events } = await auditModels(h.conn);
  for (let i = 0; ; i++) {
    const found = await events.find(filter).sort({ seq: 1 }).lean<Record<string, unknown>[]>();
    if (found.length >= min || i > 150) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls an inbox until an item's visible text matches. */
async function waitInbox(employeeId: string, match: RegExp): Promise<string[]> {
  let texts: string[] = [];
  for (let i = 0; i < 600 && !texts.some((x) => match.test(x)); i++) {
    texts = (await inboxOf(employeeId)).map((x) => textOf(x.html));
    if (!texts.some((x) => match.test(x))) await new Promise((r) => setTimeout(r, 100));
  }
  return texts;
}

test.serial('erase typed by the admin asks the DPO; approved in the DPO inbox it runs once; the admin is told', async (t) => {
  const target = all.find((c) => c.phone && c.status !== 'blocked')!;
  const asked = await h.say(admin.employeeId, `erase ${target.customerId} reason: DSR-2026-071`);
  t.is(asked.command, 'erase');
  const said = textOf(asked.replies[0]!.html);
  t.regex(said, /已提交删除申请 #R-[A-P]{10}.*欧阳明.*批准后才会删除/);
  const requestId = /#(R-[A-P]{10})/.exec(said)![1]!;
  t.truthy(await h.customers.get(target.customerId), 'nothing is erased before the decision');

  const card = (await inboxOf(dpo.employeeId)).find((i) => i.kind === 'approval' && i.html.includes(requestId));
  if (!card) return t.fail('no erasure card in the DPO inbox');
  t.regex(textOf(card.html), new RegExp(`删除客户个人信息[\\s\\S]*${target.customerId}[\\s\\S]*DSR-2026-071`));
  t.false(textOf(card.html).includes(target.name), 'the card names the customer by id only');

  // Two approve clicks at once: one wins and erases; the customer's data is gone exactly once.
  const [a, b] = await Promise.all([h.click(dpo.employeeId, 'approval_approve', requestId), h.click(dpo.employeeId, 'approval_approve', requestId)]);
  t.true([a, b].some((x) => textOf(x.replies[0]!.html).includes(`#${requestId}`)));
  t.is(await h.customers.get(target.customerId), null, 'erased once approved');
  const erased = await records({ action: 'customer.erase', decision: 'allowed', customerIds: target.customerId });
  t.is(erased.length, 1, 'erased exactly once');
  t.like(erased[0], { purpose: 'DSR-2026-071', actor: { employeeId: admin.employeeId, platform: 'playground' } });
  t.like((await records({ action: 'request.create', requestId }))[0], { decision: 'allowed', meta: { kind: 'erase' } });
  t.like((await records({ action: 'request.approve', requestId }))[0], { decision: 'allowed', actor: { employeeId: dpo.employeeId } });
  const told = await waitInbox(admin.employeeId, /个人信息已删除/);
  t.true(told.some((x) => x.includes(`#${requestId}`) && x.includes(target.customerId) && /个人信息已删除/.test(x)), told.join('\n'));

  // Asked again: nothing left to ask for (recorded as a refusal).
  const again = await h.say(admin.employeeId, `/customer erase ${target.customerId} reason: DSR-2026-072`);
  t.regex(textOf(again.replies[0]!.html), new RegExp(`找不到您可查看的客户 ${target.customerId}`));
});

test.serial('erase typed by someone who may not admin is refused, told why and recorded; nothing is asked or erased', async (t) => {
  const target = all.find((c) => c.phone && c.customerId !== all.find((x) => x.phone)!.customerId)!;
  const refused = await h.say(rep.employeeId, `erase ${target.customerId} reason: DSR-2026-080`);
  t.is(refused.replies[0]!.kind, 'notice');
  t.regex(textOf(refused.replies[0]!.html), /无权申请删除客户个人信息（原因：.+）.*已记录/);
  const denied = await records({ action: 'customer.erase', decision: 'denied', 'actor.employeeId': rep.employeeId });
  t.like(denied[0], { reasonCode: 'erase_denied', customerIds: [target.customerId], actor: { platform: 'playground' } });
  t.deepEqual(await records({ action: 'request.create', 'actor.employeeId': rep.employeeId }, 0), []);

  // A malformed command says how to write it, and is recorded too.
  const usage = await h.say(admin.employeeId, `erase ${target.customerId}`);
  t.regex(textOf(usage.replies[0]!.html), /用法：\s*\/customer erase C-000123 reason:/);
  t.like((await records({ action: 'customer.erase', decision: 'denied', reasonCode: 'malformed', 'actor.employeeId': admin.employeeId }))[0], { customerIds: [] });
  t.truthy(await h.customers.get(target.customerId), 'nothing erased');
  // The help names the command.
  const help = await h.say(rep.employeeId, 'help');
  t.regex(textOf(help.replies[0]!.html), /删除客户个人信息（管理员）：\s*\/customer erase C-000123 reason:/);
});

// Reports from chat (issue 20): `audit report …` by a holder of `audit.query` is an audit export the DPO
// approves; the export worker delivers the CLI's report for that period into the asker's inbox.
test.serial('audit report typed by the auditor, approved by the DPO, delivers the CLI report; a sales rep is refused and recorded', async (t) => {
  const auditor = demoEmployee('auditor');
  const c = [...all].reverse().find((x) => x.phone && x.ownerId !== rep.employeeId && x.region === 'east')!; // not one erased above
  const seen = await h.say(rep.employeeId, c.customerId);
  await h.auditFor(seen.requestId, 1);

  const form = await h.say(auditor.employeeId, `audit report customer ${c.customerId} from 2026-06-01 to 2026-07-31`);
  t.is(form.replies[0]!.kind, 'request_form', textOf(form.replies[0]!.html));
  t.true(textOf(form.replies[0]!.html).includes(`report customer ${c.customerId} 2026-06-01 2026-07-31`));
  const metadata = /data-action="approval_submit" data-value="([^"]+)"/.exec(form.replies[0]!.html)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const sent = await h.click(auditor.employeeId, 'approval_submit', metadata, { form: { purpose: '客户访问报告', duration: '60' } });
  const requestId = /(R-[A-P]{10})/.exec(textOf(sent.replies[0]!.html))?.[1];
  if (!requestId) return t.fail(textOf(sent.replies[0]!.html));
  const card = (await inboxOf(dpo.employeeId)).find((i) => i.kind === 'approval' && i.html.includes(requestId));
  if (!card) return t.fail('no approval card in the DPO inbox');
  t.true(textOf(card.html).includes(`report customer ${c.customerId}`), 'the DPO sees which report');
  await h.click(dpo.employeeId, 'approval_approve', requestId);

  let link: string | undefined;
  for (let i = 0; i < 600 && !link; i++) {
    link = (await inboxOf(auditor.employeeId)).map((x) => /href="([^"]+)"[^>]*download="custos-report-customer-/.exec(x.html)?.[1]).find(Boolean);
    if (!link) await new Promise((r) => setTimeout(r, 100));
  }
  if (!link) return t.fail('no report file delivered');
  const delivered = await (await fetch(h.url(link.replace(/&amp;/g, '&')))).text();
  const exportId = `X-${requestId.slice(2)}`;
  const { ExportStore } = await import('../bot/store/export-store.ts');
  const record = (await new ExportStore(h.conn).byId(exportId))!;
  const { reportCsv } = await import('../workers/export/report-run.ts');
  const { ReportSource } = await import('../bot/reports/source.ts');
  const { watermarkKey } = await import('../bot/core/export-watermark.ts');
  const expected = await reportCsv(new ReportSource(h.conn), {
    exportId, ask: { kind: 'customer', customerId: c.customerId, from: '2026-06-01', to: '2026-07-31' },
    requester: auditor, at: record.createdAt, key: watermarkKey(h.config.audit!.hmacKey), tagId: record.tagId,
  });
  t.is(delivered.replace(/^\uFEFF/, ''), expected.text.replace(/^\uFEFF/, ''), 'the file is the report module\'s CSV for that period');
  t.true(expected.rows >= 1, 'the rep\'s view is in the report');
  t.true(delivered.includes(rep.employeeId), delivered);
  for (const action of ['export.start', 'export.complete', 'export.download']) {
    t.like((await records({ action, exportId }))[0], { decision: 'allowed', actor: { employeeId: auditor.employeeId } }, action);
  }
  t.like((await records({ action: 'export.start', exportId }))[0], { meta: { report: 'customer' } });

  // Someone without audit.query is refused and the attempt recorded; a malformed ask gets the usage.
  const refused = await h.say(rep.employeeId, 'audit report disclosures from 2026-06-01 to 2026-06-30');
  t.regex(textOf(refused.replies[0]!.html), /无法申请导出（原因：no_rule）/);
  t.like((await records({ action: 'report.generate', decision: 'denied', 'actor.employeeId': rep.employeeId }))[0], { reasonCode: 'no_rule', meta: { report: 'disclosures' } });
  const usage = await h.say(auditor.employeeId, 'audit report disclosures from 2026-02-30 to 2026-03-01');
  t.regex(textOf(usage.replies[0]!.html), /用法：\s*audit report customer C-000123/);
});

// Issue 17, stage c: every click goes through the conversation layer, so an identity refusal on an
// approval button is answered and recorded the same way on every platform (slack-everywhere and
// lark-everywhere hold the same check for Slack and Lark).
test.serial('an unknown or offboarded employee clicking Approve, or submitting a Deny form, is refused with the reason and the refusal is audited', async (t) => {
  const target = [...all].reverse().find((c) => c.phone && c.status !== 'blocked')!;
  const asked = await h.say(admin.employeeId, `erase ${target.customerId} reason: DSR-2026-090`);
  const requestId = /#(R-[A-P]{10})/.exec(textOf(asked.replies[0]!.html))?.[1];
  if (!requestId) return t.fail(textOf(asked.replies[0]!.html));
  const gone = demoEmployee('legalLead');
  await h.directory.setStatus(gone.employeeId, 'offboarded');
  const clickers = [
    { who: 'E-9999999', employeeId: null, code: 'custos_employee_unknown', text: /未找到与您的账号对应的员工记录/ },
    { who: gone.employeeId, employeeId: gone.employeeId, code: 'custos_employee_offboarded', text: /已离职停用/ },
  ];
  for (const c of clickers) {
    const approve = await h.click(c.who, 'approval_approve', requestId);
    t.is(approve.replies.length, 1);
    t.regex(textOf(approve.replies[0]!.html), c.text, `${c.code}: approve`);
    const deny = await h.click(c.who, 'approval_deny', requestId, { form: { reason: '不属于本区域' } });
    t.regex(textOf(deny.replies[0]!.html), c.text, `${c.code}: deny form`);
    const refused = await records({ action: 'interaction.refused', 'actor.platformUserId': c.who }, 2);
    t.is(refused.length, 2);
    for (const r of refused) {
      t.like(r, { decision: 'denied', reasonCode: c.code, requestId, meta: { interaction: 'approval' }, actor: { employeeId: c.employeeId, platform: 'playground', platformUserId: c.who } });
    }
  }
  t.deepEqual(await records({ action: 'request.approve', requestId }, 0), [], 'no refused click decided anything');
  t.truthy(await h.customers.get(target.customerId), 'nothing erased');
});

// Issue 20 item 3, the pack: `audit report pack …` through the same audit-export approval, delivered as
// one ZIP whose entries are the files `custos report pack` renders (one renderer for both) with this
// export's stamp. The period ends before the harness's day, so its tables cannot move while the test
// reads; what depends on the whole chain (its verification line, the latest checkpoint: summary.csv's
// first two rows, the HTML pages and the manifest listing them) is checked for shape and consistency.
test.serial('audit report pack asked in the playground: approved by the DPO, delivered as one ZIP of the CLI pack\'s files', async (t) => {
  const auditor = demoEmployee('auditor');
  const form = await h.say(auditor.employeeId, 'audit report pack from 2026-06-01 to 2026-06-29');
  t.is(form.replies[0]!.kind, 'request_form', textOf(form.replies[0]!.html));
  t.true(textOf(form.replies[0]!.html).includes('report pack - 2026-06-01 2026-06-29'));
  const metadata = /data-action="approval_submit" data-value="([^"]+)"/.exec(form.replies[0]!.html)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const sent = await h.click(auditor.employeeId, 'approval_submit', metadata, { form: { purpose: '年度合规审计', duration: '60' } });
  const requestId = /(R-[A-P]{10})/.exec(textOf(sent.replies[0]!.html))?.[1];
  if (!requestId) return t.fail(textOf(sent.replies[0]!.html));
  const card = (await inboxOf(dpo.employeeId)).find((i) => i.kind === 'approval' && i.html.includes(requestId));
  if (!card) return t.fail('no approval card in the DPO inbox');
  t.true(textOf(card.html).includes('report pack'), 'the DPO sees which report');
  await h.click(dpo.employeeId, 'approval_approve', requestId);

  let link: string | undefined;
  for (let i = 0; i < 600 && !link; i++) {
    link = (await inboxOf(auditor.employeeId)).map((x) => /href="([^"]+)"[^>]*download="custos-report-pack-[^"]+\.zip"/.exec(x.html)?.[1]).find(Boolean);
    if (!link) await new Promise((r) => setTimeout(r, 100));
  }
  if (!link) return t.fail('no pack delivered');
  const res = await fetch(h.url(link.replace(/&amp;/g, '&')));
  t.is(res.headers.get('content-type'), 'application/zip');
  const { readZip } = await import('./helpers/zip-read.ts');
  const entries = readZip(Buffer.from(await res.arrayBuffer()));

  const exportId = `X-${requestId.slice(2)}`;
  const { ExportStore } = await import('../bot/store/export-store.ts');
  const record = (await new ExportStore(h.conn).byId(exportId))!;
  const { reportFiles } = await import('../workers/export/report-run.ts');
  const { reportChainOf } = await import('../bot/reports/chain.ts');
  const { ReportSource } = await import('../bot/reports/source.ts');
  const { watermarkKey } = await import('../bot/core/export-watermark.ts');
  const { digest } = await import('../bot/reports/render.ts');
  const expected = await reportFiles(new ReportSource(h.conn), {
    exportId, ask: { kind: 'pack', from: '2026-06-01', to: '2026-06-29' }, requester: auditor, at: record.createdAt, key: watermarkKey(h.config.audit!.hmacKey), tagId: record.tagId,
  }, await reportChainOf(h.conn, h.config));
  t.deepEqual(entries.map((e) => e.name), expected.map((f) => f.file), 'the same files, in the same order');
  t.true(entries.every((e) => e.utf8 || /^[\x20-\x7e]+$/.test(e.name)), 'names are ASCII or flagged UTF-8');
  const byName = new Map(entries.map((e) => [e.name, e.data.toString('utf8')]));
  for (const f of expected.filter((x) => !['summary.csv', 'manifest.csv'].includes(x.file) && !x.file.endsWith('.html'))) {
    t.is(byName.get(f.file), f.text, `${f.file}: byte for byte`);
  }
  const lines = (text: string) => text.split('\r\n');
  const summary = expected.find((f) => f.file === 'summary.csv')!.text;
  t.deepEqual(lines(byName.get('summary.csv')!).slice(4), lines(summary).slice(4), 'summary.csv past the chain and checkpoint rows');
  t.deepEqual(lines(byName.get('summary.csv')!).slice(0, 2), lines(summary).slice(0, 2), 'the same watermark header and titles');
  for (const locale of ['en', 'zh-CN']) {
    const html = byName.get(`summary.${locale}.html`)!;
    t.true(html.includes(`custos report ${exportId} · pack summary.${locale}.html · 2026-06-01`), `${locale}: stamped with the export id`);
    t.true(html.includes('class="watermark"'));
  }
  // The manifest lists every other file with its real size and hash.
  const manifest = lines(byName.get('manifest.csv')!).slice(2, -2).map((l) => l.split(','));
  t.deepEqual(manifest.map((r) => r[0]!.replace(/[\u200b-\u200d\u2060\ufeff]/g, '')), entries.map((e) => e.name).filter((n) => n !== 'manifest.csv'));
  for (const [file, bytes, sha] of manifest) {
    const name = file!.replace(/[\u200b-\u200d\u2060\ufeff]/g, '');
    t.deepEqual([Number(bytes), sha], [digest(byName.get(name)!).bytes, digest(byName.get(name)!).sha256], `${name} as listed`);
  }
  for (const action of ['export.start', 'export.complete', 'export.download']) {
    t.like((await records({ action, exportId }))[0], { decision: 'allowed', actor: { employeeId: auditor.employeeId } }, action);
  }
  t.like((await records({ action: 'export.start', exportId }))[0], { meta: { report: 'pack' } });
  t.like((await records({ action: 'export.complete', exportId }))[0], { meta: { columns: expected.length } });
  t.true(record.tagId.length > 0, 'the tag custos export trace follows');

  // And against the real `custos report pack` for the same period, recipient and language: the same files;
  // each period table the same rows once its own stamp (header, footer, the invisible per-copy marker) is
  // set aside — those name the report and its copy, which is what tells the two apart when one leaks.
  const { mkdtempSync, readFileSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { runCli } = await import('./helpers/run-custos.ts');
  const { testEnv } = await import('./helpers/services.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-pack-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'pack');
  const cli = await runCli(['report', 'pack', '--from', '2026-06-01', '--to', '2026-06-29', '--for', auditor.employeeId, '--lang', auditor.locale, '--out', out],
    testEnv(h.conn.name, h.prefix, { CUSTOS_AUDIT_HMAC_KEY: h.config.audit!.hmacKey.toString('base64'), CUSTOS_AUDIT_SIGNING_KEY: h.config.audit!.signingKey.toString('base64') }));
  t.is(cli.code, 0, cli.stderr);
  t.deepEqual(readdirSync(out).sort(), entries.map((e) => e.name).sort(), 'the CLI writes the same files');
  const body = (text: string) => text.replace(/[\u200b-\u200d\u2060]/g, '').split('\r\n').slice(1, -2).join('\r\n');
  for (const file of ['checkpoints.csv', 'policies.csv', 'access-reviews.csv', 'freezes.csv', 'erasures.csv', 'refusals.csv', 'disclosures.csv']) {
    t.is(body(byName.get(file)!), body(readFileSync(path.join(out, file), 'utf8')), `${file}: the CLI's rows`);
  }
});
