// The local playground over HTTP: the same cards, refusals and audit records as the chat adapters, with
// the identity chosen on the page. What is asserted is what a user reads (the rendered HTML) and what
// the audit log holds (records linked by the request id).
import { request } from 'node:http';
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { PlaygroundHarness, textOf } from './helpers/playground.ts';

const h = new PlaygroundHarness(import.meta.url);
const rep = demoEmployee('salesRep'); // 张伟, sales staff, east
const guest = demoEmployee('guestPartner');
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(() => h.close());

const owned = () => all.find((c) => c.ownerId === rep.employeeId && c.region === 'east' && c.phone)!;
const eastNotOwned = () => all.find((c) => c.ownerId !== rep.employeeId && c.region === 'east' && c.phone)!;

test('the page warns loudly that it is for local use and lists the directory in the picker', async (t) => {
  const res = await fetch(h.url('/?lang=en'));
  t.is(res.status, 200);
  const html = await res.text();
  t.regex(html, /id="local-only"[^>]*>For local use only: the playground verifies nobody/);
  t.true(html.includes(`value="${rep.employeeId}"`));
  t.true(html.includes(rep.name));
  t.regex(res.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  const js = await fetch(h.url('/playground/app.js'));
  t.is(js.status, 200);
  t.regex(js.headers.get('content-type') ?? '', /javascript/);
});

test('a sales rep sees their own account with full contact details, on a card linked to its audit records', async (t) => {
  const c = owned();
  const a = await h.say(rep.employeeId, c.customerId);
  t.is(a.status, 200);
  t.is(a.replies.length, 1);
  const card = a.replies[0]!;
  t.is(card.kind, 'card');
  t.true(card.html.includes(`data-customer-id="${c.customerId}"`));
  t.true(textOf(card.html).includes(c.phone!), 'own account: the phone number is shown in full');
  // The request id is the correlation id of both audit records (query, then shown).
  t.is(a.headerRequestId, a.requestId);
  const records = await h.auditFor(a.requestId, 2);
  t.deepEqual(records.map((r) => [r.action, r.actor.platform, r.actor.employeeId, r.decision]), [
    ['lookup', 'playground', rep.employeeId, 'allowed'],
    ['lookup', 'playground', rep.employeeId, 'allowed'],
  ]);
  t.deepEqual(records[1]!.customerIds, [c.customerId]);
  t.true(textOf(card.html).includes(records[1]!.eventId), 'the card footer names the audit record');
});

test('someone else\'s account in the region is shown with contact details masked, never the raw value', async (t) => {
  const c = eastNotOwned();
  const a = await h.say(rep.employeeId, c.customerId);
  const card = a.replies[0]!;
  t.is(card.kind, 'card');
  t.false(card.html.includes(c.phone!), 'the raw phone number never reaches the page');
  t.regex(card.html, /<div class="field masked" data-field="phone">/);
});

test('help, a malformed query and a missing employee get the catalogue\'s words, without echoing input', async (t) => {
  const help = await h.say(rep.employeeId, 'help');
  t.is(help.replies[0]!.kind, 'help');
  t.true(textOf(help.replies[0]!.html).includes('custos 客户查询帮助'));
  const bad = await h.say(rep.employeeId, '!!13800138000??');
  t.is(bad.replies[0]!.kind, 'notice');
  t.true(textOf(bad.replies[0]!.html).includes('无法理解该查询'));
  t.false(bad.replies[0]!.html.includes('13800138000'));
  const nobody = await h.say('E-9999', 'C-000001');
  t.true(textOf(nobody.replies[0]!.html).includes('未找到与您的账号对应的员工记录'));
  const records = await h.auditFor(nobody.requestId);
  t.is(records[0]!.action, 'lookup.refused');
  t.is(records[0]!.reasonCode, 'custos_employee_unknown');
});

test('a frozen employee is refused and the refusal is audited', async (t) => {
  const frozen = demoEmployee('marketingStaff');
  await h.directory.setStatus(frozen.employeeId, 'frozen');
  t.teardown(() => h.directory.setStatus(frozen.employeeId, 'active'));
  const a = await h.say(frozen.employeeId, all[0]!.customerId);
  t.true(textOf(a.replies[0]!.html).includes('您的账号已被冻结'));
  t.true(textOf(a.replies[0]!.html).includes('#security-desk'));
  const [r] = await h.auditFor(a.requestId);
  t.is(r!.reasonCode, 'custos_employee_frozen');
});

test('the pick list\'s buttons post back and open the chosen customer', async (t) => {
  // A name fragment shared by several of the rep's visible customers gives a pick list.
  const visible = all.filter((c) => c.region === 'east' && c.company);
  const word = visible.map((c) => c.company!.slice(0, 2)).find((w, _i, arr) => arr.filter((x) => x === w).length >= 2);
  t.truthy(word, 'the seed has two east customers whose companies start alike');
  const a = await h.say(rep.employeeId, word!);
  t.is(a.status, 200, JSON.stringify(a.body));
  const pick = a.replies[0]!;
  t.is(pick.kind, 'pick', textOf(pick.html));
  const value = /data-action="customer_pick" data-value="([^"]+)"/.exec(pick.html)![1]!;
  const opened = await h.click(rep.employeeId, 'customer_pick', value);
  t.is(opened.command, 'pick');
  t.is(opened.replies[0]!.kind, 'card');
  t.true(opened.replies[0]!.html.includes(`data-customer-id="${value}"`));
});

test('share in channel posts the card masked for the least-privileged member; a DM has nothing to share', async (t) => {
  const c = owned();
  const inChannel = await h.say(rep.employeeId, c.customerId, { channel: 'private', members: [demoEmployee('salesLeadEast').employeeId] });
  t.regex(inChannel.replies[0]!.html, /data-action="customer_share"/);
  const shared = await h.click(rep.employeeId, 'customer_share', c.customerId, { channel: 'private', members: [demoEmployee('salesLeadEast').employeeId] });
  t.deepEqual(shared.replies.map((r) => [r.to, r.kind]), [['channel', 'card'], ['you', 'notice']]);
  t.false(shared.replies[0]!.html.includes(c.phone!), 'the lead does not own the account: the channel sees the phone masked');
  t.true(textOf(shared.replies[0]!.html).includes(`由 ${rep.name} 分享`));
  const withGuest = await h.click(rep.employeeId, 'customer_share', c.customerId, { channel: 'shared', members: [guest.employeeId] });
  t.is(withGuest.replies.length, 1);
  t.false(withGuest.replies[0]!.html.includes(c.phone!));
  const dm = await h.click(rep.employeeId, 'customer_share', c.customerId);
  t.true(textOf(dm.replies[0]!.html).includes('私信中无需分享'));
});

test('requests from another site or host are refused before anything is read', async (t) => {
  const plain = await fetch(h.url('/playground/api/message'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ employeeId: rep.employeeId, text: 'C-000001' }) });
  t.is(plain.status, 415);
  const cross = await h.api('/playground/api/message', { employeeId: rep.employeeId, text: 'C-000001' }, { origin: 'https://evil.example' });
  t.is(cross.status, 403);
  // A DNS-rebound page reaches us with its own host name in the Host header.
  t.is(await statusWithHost(h.url('/'), 'evil.example:3000'), 421);
  t.is(await statusWithHost(h.url('/'), `localhost:${h.playground.address.port}`), 200);
  const invalid = await h.api('/playground/api/message', { employeeId: 'E-0012', text: 5 });
  t.is(invalid.status, 400);
  t.deepEqual(invalid.body, { error: 'invalid fields: text' });
  const { events } = await import('../bot/store/audit-model.ts').then((m) => m.auditModels(h.conn));
  t.is(await events.countDocuments({ 'actor.platform': 'playground', correlationId: { $in: [cross.requestId, ''] } }), 0);
});

function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
}

test('`audit …` typed by the auditor lists who viewed a customer; a sales rep typing it is refused', async (t) => {
  const c = owned();
  const seen = await h.say(rep.employeeId, c.customerId);
  await h.auditFor(seen.requestId, 2); // stored, so the query can find it
  const auditor = demoEmployee('auditor');
  const a = await h.say(auditor.employeeId, `audit who-viewed ${c.customerId} purpose: 例行审计抽查`);
  t.is(a.command, 'audit');
  t.is(a.replies[0]!.kind, 'audit-table');
  const text = textOf(a.replies[0]!.html);
  t.true(text.includes(rep.employeeId), 'the sales rep\'s lookup is listed');
  t.true(text.includes(c.customerId));

  const refused = await h.say(rep.employeeId, `/audit who-viewed ${c.customerId}`);
  t.is(refused.replies[0]!.kind, 'notice');
  t.regex(textOf(refused.replies[0]!.html), /无权查询审计日志|may not query the audit log/);
});

/** An HTML attribute's value as the page's script reads it (entities decoded). */
function attr(html: string, pattern: RegExp): string | undefined {
  const raw = pattern.exec(html)?.[1];
  return raw?.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

async function inboxOf(employeeId: string, after = 0): Promise<{ kind: string; html: string }[]> {
  const res = await fetch(h.url('/playground/api/inbox'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId, after }) });
  return ((await res.json()) as { inbox: { kind: string; html: string }[] }).inbox;
}

/** The inbox cursor now: items posted later have a greater seq. */
async function inboxSeq(employeeId: string): Promise<number> {
  const res = await fetch(h.url('/playground/api/inbox'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId }) });
  return ((await res.json()) as { cursor: number }).cursor;
}

test('Export results under an audit table asks the DPO through the request form; a sales rep with the same value is refused', async (t) => {
  const c = eastNotOwned();
  const seen = await h.say(rep.employeeId, c.customerId);
  await h.auditFor(seen.requestId, 2);
  const auditor = demoEmployee('auditor');
  const dpo = demoEmployee('dpo');
  const table = await h.say(auditor.employeeId, `audit who-viewed ${c.customerId} purpose: 例行审计抽查`);
  t.is(table.replies[0]!.kind, 'audit-table');
  t.regex(table.replies[0]!.html, /data-action="audit_export"[^>]*>导出结果</, 'the table has the Export results button');
  const value = attr(table.replies[0]!.html, /data-action="audit_export" data-value="([^"]+)"/)!;

  const form = await h.click(auditor.employeeId, 'audit_export', value);
  t.is(form.replies[0]!.kind, 'request_form');
  t.true(textOf(form.replies[0]!.html).includes(`customer=${c.customerId}`), 'the form says which audit query');
  const metadata = attr(form.replies[0]!.html, /data-action="approval_submit" data-value="([^"]+)"/)!;
  const sent = await h.click(auditor.employeeId, 'approval_submit', metadata, { form: { purpose: '季度访问审计', duration: '60' } });
  const requestId = /(R-[A-P]{10})/.exec(textOf(sent.replies[0]!.html))?.[1];
  if (!requestId) return t.fail(textOf(sent.replies[0]!.html));

  // The DPO finds the approval card in their inbox and approves it; the auditor is told.
  const seen0 = await inboxSeq(auditor.employeeId); // what follows is what the approval told the auditor
  const card = (await inboxOf(dpo.employeeId)).find((i) => i.kind === 'approval' && i.html.includes(requestId));
  if (!card) return t.fail('no approval card in the DPO inbox');
  t.true(textOf(card.html).includes(`customer=${c.customerId}`), 'the DPO sees which audit query');
  const approved = await h.click(dpo.employeeId, 'approval_approve', requestId);
  t.true(textOf(approved.replies[0]!.html).includes(`#${requestId}`));
  // The playground runs the export worker: the auditor is told of the approval and gets the file.
  let told: string[] = [];
  for (let i = 0; i < 600 && !told.some((x) => x.includes('下载导出文件')); i++) {
    told = (await inboxOf(auditor.employeeId, seen0)).map((i) => textOf(i.html));
    await new Promise((r) => setTimeout(r, 100));
  }
  t.true(told.some((x) => x.includes(requestId) && x.includes('批准')), told.join('\n'));
  t.true(told.some((x) => x.includes('下载导出文件')), told.join('\n'));
  const { events } = await import('../bot/store/audit-model.ts').then((m) => m.auditModels(h.conn));
  let created: { actor: { platform: string }; meta: { kind: string } } | null = null;
  for (let i = 0; i < 600 && !created; i++) {
    created = await events.findOne({ requestId, action: 'request.create' }).lean<{ actor: { platform: string }; meta: { kind: string } }>();
    if (!created) await new Promise((r) => setTimeout(r, 100));
  }
  t.like(created, { actor: { platform: 'playground' }, meta: { kind: 'audit-export' } });

  const refused = await h.click(rep.employeeId, 'audit_export', value);
  t.is(refused.replies[0]!.kind, 'notice');
  t.regex(textOf(refused.replies[0]!.html), /无法申请导出（原因：no_rule）/);
});
