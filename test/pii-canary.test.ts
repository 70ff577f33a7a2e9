// The PII canary, from the outside: a whole demo company plus canary customers imported from a file
// (every personal field with a value no other record holds, names and companies included), looked up
// through the real Slack bot by every query kind and shared into a channel, revealed (request, approval,
// the value shown) and exported (request, approval, the export worker's CSV upload), with the real audit
// worker; and one canary pushed by a CRM through the signed push API (bot/sync/push-route.ts).
// Then every document of every MongoDB collection, every Redis key and value under the test's prefix
// (queued jobs included) and every captured log line at trace level are searched for each canary value:
// none may appear. And every lookup a user is allowed still shows the right values.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { PUSH_PATH } from '../bot/sync/push-route.ts';
import { pushSignature } from '../bot/sync/push-signature.ts';
import os from 'node:os';
import path from 'node:path';
import type { Customer } from '../bot/core/domain.ts';
import { FieldCipher, idCheckChar, luhnCheckDigit } from '../bot/store/crypto.ts';
import { importFile } from '../bot/store/import.ts';
import { PRIVATE_CHANNEL, SlackHarness, messageText } from './helpers/slack-bot.ts';
import { redisDump } from './helpers/services.ts';
import { buttons, modalAfter, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';

/** `requestId`'s approver card, wherever it was posted, approved by its reader. */
async function approveFirstCard(since: number, requestId: string): Promise<void> {
  const card = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && String(x.body.text).includes(requestId)
    && buttons(x.body).some((b) => b.actionId === 'approval_approve'), 60_000);
  const approver = (Object.keys(h.employees) as DemoEmployeeKey[]).find((k) => h.dmOf(k) === card.body.channel)!;
  await h.click(h.userId(approver), h.dmOf(approver), 'approval_approve', requestId);
}

/** The request id the requester's own card names, once it is posted after `since`. */
async function ownRequestId(key: DemoEmployeeKey, since: number): Promise<string> {
  const own = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf(key) && /#R-[A-P]{10}/.test(String(x.body.text)), 60_000);
  return /#(R-[A-P]{10})/.exec(String(own.body.text))![1]!;
}

const h = new SlackHarness(import.meta.url, { customers: 60, grants: true, logLevel: 'trace', privateMembers: ['salesRep', 'supportAgent'] });

const withCheck = (first17: string) => first17 + idCheckChar(first17);

/** Values chosen so that no demo record, label or message can contain them by chance. */
function canary(i: number, ownerId: string): Customer {
  return {
    customerId: `C-90000${i}`, name: `雀鸮${['甲', '乙', '丙'][i]}翎`, type: 'company', company: `Quixotic Zephyr${i} Holdings`,
    region: 'east', tier: 'gold', ownerId, status: 'active',
    phone: `1399876${i}210`, email: `zephyr.canary${i}@quixotic.example`, address: `上海市鹮鹬路${i}77号`, wechat: `wxid_canary_${i}zq`,
    idNumber: withCheck(`110105198704230${i}${i + 3}`), birthDate: '1987-04-23',
    bankAccount: `62220299887766${i}554${luhnCheckDigit(`62220299887766${i}554`)}`, leadSource: 'referral',
    followUps: [{ at: new Date('2026-04-20T02:00:00Z'), by: ownerId, note: `canarynote${i} 约见鹮鹬` }],
    afterSalesNotes: `canarysupport${i} 鸺鹠`, disputes: [`canarydispute${i} 鸲鹆`],
    contracts: [{ contractNo: `HT-2026-99000${i}`, title: `canarycontract${i} 鹪鹩`, signedAt: new Date('2025-06-01T00:00:00Z'), amount: 1000 }],
  };
}

/** The strings that must appear nowhere at rest, per canary (the birth date in both spellings). */
function secretsOf(c: Customer): Record<string, string> {
  return {
    name: c.name, company: c.company!, companyFragment: 'Quixotic', phone: c.phone!, email: c.email!, address: c.address!,
    wechat: c.wechat!, idNumber: c.idNumber!, birthDigits: '19870423', birthDate: c.birthDate!, bankAccount: c.bankAccount!,
    followUp: c.followUps![0]!.note, afterSales: c.afterSalesNotes!, dispute: c.disputes![0]!, contract: c.contracts![0]!.title,
  };
}

let canaries: Customer[] = [];

// A push source: the bot reads its sync settings from the process environment (this file's worker only).
const PUSH_SECRET = 'canary-push-secret-0123456789abcdef0123456789';
const mappings = mkdtempSync(path.join(os.tmpdir(), 'custos-canary-sync-'));
writeFileSync(path.join(mappings, 'erp.yaml'), readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8').replace(/^source: model$/m, 'source: erp'));
Object.assign(process.env, { CUSTOS_SYNC_SOURCES: 'erp', CUSTOS_SYNC_MAPPINGS: mappings, CUSTOS_SYNC_PUSH_SECRET_ERP: PUSH_SECRET });
/** The pushed canary's values (the mapping fills name, company and phone). */
const PUSHED = { customerId: 'C-900007', name: '雀鸮戊翎', phone: '13998767210' };

test.before(async () => {
  await h.start();
  canaries = [0, 1, 2].map((i) => canary(i, h.employees.salesRep.employeeId));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-canary-'));
  const file = path.join(dir, 'canaries.jsonl');
  writeFileSync(file, canaries.map((c) => JSON.stringify(c)).join('\n'));
  const report = await importFile(h.bot.conn, new FieldCipher(h.config.crypto!), 'customers', file);
  if (report.inserted !== canaries.length) throw new Error(`canary import: ${JSON.stringify(report)}`);
});
test.after.always(async () => { await h.close(); });

test.serial('no canary value (names included) reaches MongoDB, Redis or the logs, while every allowed lookup shows it', async (t) => {
  const [c0, c1, c2] = canaries as [Customer, Customer, Customer];
  const rep = h.userId('salesRep');
  const dm = h.dmOf('salesRep');
  // Every query kind by the owner, who sees the values in full.
  for (const [query, c, shows] of [
    [c0.customerId, c0, c0.name], [`+86 ${c1.phone!.slice(0, 3)} ${c1.phone!.slice(3)}`, c1, c1.name], [c2.email!.toUpperCase(), c2, c2.name],
    [c0.idNumber!, c0, c0.name], [c1.name.slice(0, 2), c1, c1.name], ['Zephyr2 Hold', c2, c2.name],
  ] as const) {
    const reply = await h.ask(rep, dm, query);
    const text = messageText(reply.body);
    t.true(reply.ok, query);
    t.true(text.includes(shows), `"${query}" shows ${c.customerId}'s name: ${text.slice(0, 200)}`);
  }
  const byId = messageText((await h.ask(rep, dm, c0.customerId)).body);
  for (const v of [c0.phone!, c0.email!, c0.company!]) t.true(byId.includes(v), `the owner sees ${v}`);
  // A one-character name is refused with the usage hint, never run as a scan.
  t.regex(messageText((await h.ask(rep, dm, '雀')).body), /两个汉字|two Chinese characters/);
  // Shared into a channel.
  const mine = await h.ask(rep, PRIVATE_CHANNEL, c0.customerId);
  const share = (mine.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions')!.elements![0]!;
  await h.replyTo((await h.click(rep, PRIVATE_CHANNEL, share.action_id, share.value)).responseUrl);
  // A reveal: the east lead asks for a canary's masked phone, the approver approves, the value is shown.
  const leadCard = await h.ask(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), c1.customerId);
  const reveal = buttons(leadCard.body).find((b) => b.actionId.startsWith('approval_reveal'));
  t.truthy(reveal, `the lead's card offers a reveal: ${messageText(leadCard.body).slice(0, 200)}`);
  let since = h.fake.calls.length;
  const click = await h.click(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), reveal!.actionId, reveal!.value);
  let modal = openedView(await modalAfter(h, since));
  t.is((await submitView(h, h.userId('salesLeadEast'), modal.callback_id, modal.private_metadata, requestValues('核对来电号码', 15))).body, '');
  await approveFirstCard(since, await ownRequestId('salesLeadEast', since));
  const revealPath = new URL(click.responseUrl).pathname;
  const revealed = await h.fake.waitFor((x) => x.method === 'response_url' && x.path === revealPath && x.body.replace_original === true, 60_000);
  t.true(Object.values(secretsOf(c1)).some((v) => messageText(revealed.body).includes(v)), 'the revealed value is shown to the requester');
  // An export of the region: approved, the worker writes and uploads the CSV holding the canaries.
  since = h.fake.calls.length;
  await h.command(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), 'export region:east fields:name,company,email,address');
  modal = openedView(await modalAfter(h, since));
  t.is((await submitView(h, h.userId('salesLeadEast'), modal.callback_id, modal.private_metadata, requestValues('季度客户回访', 120))).body, '');
  await approveFirstCard(since, await ownRequestId('salesLeadEast', since));
  await h.fake.waitFor((x) => x.method === 'files.completeUploadExternal' && x.ok, 60_000);
  const csv = [...h.fake.files.values()].find((f) => f.completed)!.bytes.toString('utf8');
  t.true(canaries.some((c) => csv.includes(c.customerId)), 'the export holds the canaries');
  await h.auditRecords({ action: 'export.complete' }, 1);
  // A CRM pushes a canary through the signed push API; the owner finds it by name and by phone.
  const body = JSON.stringify({ op: 'upsert', id: 'ERP-CANARY-7', fields: { Number__c: '900007', Name: PUSHED.name, Region__c: 'CN-E', Owner: { Email: h.employees.salesRep.email }, Phone: PUSHED.phone } });
  const ts = String(Math.floor(h.clock.now().getTime() / 1000)); // the bot's clock judges the window
  const pushed = await fetch(`${h.bot.url}${PUSH_PATH('erp')}`, {
    method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', 'x-custos-request-timestamp': ts, 'x-custos-signature': pushSignature(PUSH_SECRET, ts, Buffer.from(body)), 'x-custos-batch-id': 'canary-batch-1' },
  });
  const pushText = await pushed.text();
  t.is(pushed.status, 200, pushText);
  t.regex(pushText, /"status":"upserted"/);
  t.true(messageText((await h.ask(rep, dm, PUSHED.phone)).body).includes(PUSHED.name), 'the pushed canary is found by phone, name shown');
  t.true(messageText((await h.ask(rep, dm, PUSHED.name.slice(0, 2))).body).includes(PUSHED.customerId), 'and by a name fragment');
  // Support sees the canary masked; a rep of another region does not find it at all.
  await h.ask(h.userId('supportAgent'), h.dmOf('supportAgent'), c0.phone!);
  await h.ask(h.userId('salesRepNorth'), h.dmOf('salesRepNorth'), c0.name);

  await h.auditRecords({ 'meta.stage': 'shown' }, 8);
  const mongo: string[] = [];
  const db = h.bot.conn.db!;
  const collections = await db.listCollections().toArray();
  for (const { name } of collections) mongo.push(name, JSON.stringify(await db.collection(name).find({}).toArray()));
  const mongoText = mongo.join('\n');
  t.true(collections.some((x) => x.name === 'customers') && mongoText.includes(c0.customerId), 'the scan sees the customers collection');
  t.true(collections.length >= 4, `the scan sees every collection (${collections.map((x) => x.name).join(', ')})`);
  const redis = await redisDump(h.prefix);
  t.true(redis.keys > 0 && redis.text.includes('audit'), 'the scan sees the Redis keys, job payloads included');
  const logs = h.logLines.join('');
  t.true(logs.length > 0, 'the scan sees log lines');
  t.true(mongoText.includes(PUSHED.customerId), 'the scan sees the pushed customer');
  const pushedSecrets = { name: PUSHED.name, phone: PUSHED.phone };
  for (const [id, secrets] of [...canaries.map((c) => [c.customerId, secretsOf(c)] as const), [PUSHED.customerId, pushedSecrets] as const]) {
    for (const [where, haystack] of [['MongoDB', mongoText], ['Redis', redis.text], ['logs', logs]] as const) {
      for (const [kind, value] of Object.entries(secrets)) {
        t.false(haystack.toLowerCase().includes(value.toLowerCase()), `canary ${id} ${kind} found in ${where}`);
      }
    }
  }
});
