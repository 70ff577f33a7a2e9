// Erasure keeps the evidence and tells the approvers, through the real bots: the Slack bot (real Bolt,
// fake Slack API) and the Lark bot (real Lark SDK, fake Lark Open API) on one database and audit
// pipeline, as a deployment with both runs. A customer is exported (watermarked CSV) and has a pending
// identity request with approver copies on both platforms (legal head on Slack, DPO on Lark); then
// `custos customer erase` (a separate process, with the deployment's Slack and Lark settings) erases it.
// Afterwards: both approver copies say in place that the request was cancelled because the customer's
// data was erased (no buttons), the cancel is audited; no query kind finds the customer; the export made
// before still traces to its employee; `custos audit verify` finds the chain intact with customer.erase
// in it; and a raw customer document from a dump taken before cannot be read once the list is re-applied.
// And erasure asked in chat: `/customer erase C-… reason: REF` by the admin on Slack makes a request the
// DPO decides on Lark; the erasure runs once, by the winning approval; refused attempts are recorded.
import { standaloneUrl } from '../bot/config-redis.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Customer, Employee } from '../bot/core/domain.ts';
import { startLarkBot, type RunningLarkBot } from '../bot/lark/runtime.ts';
import { demoEmployeeList, type DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { applyErasureList } from '../bot/store/erasure.ts';
import { CUSTOMER_COLLECTION } from '../bot/store/models.ts';
import { cardButtons, cardText, FakeLarkApi, type SentMessage } from './fakes/lark-api.ts';
import { openIdOf } from './helpers/lark-bot.ts';
import { cardAction, ENCRYPT_KEY, messageEvent, post, signed, VERIFICATION_TOKEN } from './helpers/lark-sign.ts';
import { runCli } from './helpers/run-custos.ts';
import { buttons, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import { messageText, SIGNING_SECRET, SlackHarness } from './helpers/slack-bot.ts';

const clock = movableClock();
const larkDm = (e: Employee) => `oc_dm_${e.employeeId.replace(/\D/g, '')}`;
const lark = new FakeLarkApi({
  users: demoEmployeeList().map((e) => ({ openId: openIdOf(e), email: e.email })),
  chats: demoEmployeeList().map((e) => ({ chatId: larkDm(e), mode: 'p2p' as const, members: [openIdOf(e)] })),
});
const erasureList = path.join(mkdtempSync(path.join(os.tmpdir(), 'custos-erasure-evidence-')), 'erasures.txt');
const larkEnv = () => ({
  LARK_APP_ID: lark.appId, LARK_APP_SECRET: lark.appSecret, LARK_ENCRYPT_KEY: ENCRYPT_KEY, LARK_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
  LARK_DOMAIN: lark.domain, LARK_HTTP_PORT: '0',
});
let h: SlackHarness;
let larkBot: RunningLarkBot;

test.before(async () => {
  await lark.start();
  h = new SlackHarness(import.meta.url, { customers: 60, grants: true, clock, unbound: ['dpo'], extraEnv: { ...larkEnv(), CUSTOS_ERASURE_LIST: erasureList } });
  await h.start();
  await h.directory.bindChatId(h.employees.dpo.employeeId, 'lark', openIdOf(h.employees.dpo));
  larkBot = await startLarkBot(h.config, h.logger, { clock, callbackBudgetMs: 60_000 });
});
test.after.always(async () => {
  await larkBot?.close().catch(() => undefined);
  await h?.close();
  await lark.stop();
});

/** The deployment's own settings (same keys, database, queue prefix, Slack and Lark) for a CLI process. */
function cliEnv(): NodeJS.ProcessEnv {
  const c = h.config;
  const b64 = (k: Buffer) => k.toString('base64');
  return {
    NODE_ENV: 'test', LOG_LEVEL: 'silent', MONGODB_URI: c.mongo!.uri, MONGODB_DB: c.mongo!.db, REDIS_URL: standaloneUrl(c.redis!), CUSTOS_QUEUE_PREFIX: h.prefix,
    CUSTOS_DATA_KEYS: c.crypto!.dataKeys.map((k) => `${k.id}:${b64(k.key)}`).join(','), CUSTOS_BLIND_INDEX_KEY: b64(c.crypto!.blindIndexKey),
    CUSTOS_AUDIT_HMAC_KEY: b64(c.audit!.hmacKey), CUSTOS_AUDIT_SIGNING_KEY: b64(c.audit!.signingKey), CUSTOS_ERASURE_LIST: erasureList,
    SLACK_BOT_TOKEN: h.fake.token, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: h.fake.apiUrl, SLACK_API_RETRIES: '0', ...larkEnv(),
  };
}

/** `/customer export region:east` by the east sales lead, approved by the head of sales; the CSV text. */
async function exportEast(): Promise<{ exportId: string; csv: string }> {
  const lead: DemoEmployeeKey = 'salesLeadEast';
  const since = h.fake.calls.length;
  await h.command(h.userId(lead), h.dmOf(lead), 'export region:east fields:name,phone');
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId(lead), modal.callback_id, modal.private_metadata, requestValues('季度客户回访', 120));
  if (res.body) throw new Error(`export refused: ${res.body}`);
  const card = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesHead'));
  const requestId = /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!;
  await h.click(h.userId('salesHead'), h.dmOf('salesHead'), 'approval_approve', requestId);
  await h.fake.waitFor((x) => x.method === 'files.completeUploadExternal' && x.ok, 60_000);
  const file = [...h.fake.files.values()].find((f) => f.completed)!;
  return { exportId: `X-${requestId.slice(2)}`, csv: file.bytes.toString('utf8') };
}

/** The sales rep asks on Slack for `customer`'s identity group: legal head (Slack) and DPO (Lark) get copies. */
async function identityRequest(customer: Customer): Promise<{ id: string; larkCopy: SentMessage }> {
  const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), customer.customerId);
  const access = buttons(reply.body).find((b) => b.actionId.startsWith('approval_access'))!;
  const since = h.fake.calls.length;
  await h.click(h.userId('salesRep'), h.dmOf('salesRep'), access.actionId, access.value);
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId('salesRep'), modal.callback_id, modal.private_metadata, requestValues('合同核对', 30, ['identity']));
  if (res.body) throw new Error(res.body);
  const own = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesRep') && /#R-[A-P]{10}/.test(String(x.body.text)));
  const id = /#(R-[A-P]{10})/.exec(String(own.body.text))![1]!;
  await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('legalHead') && String(x.body.text).includes(id));
  const larkCopy = await lark.waitFor((m) => m.receiveId === openIdOf(h.employees.dpo) && cardText(m.card).includes(id));
  return { id, larkCopy };
}

const ERASED_CARD = /个人信息已应其请求删除.*自动撤销/;

test.serial('after an erasure: approver cards on Slack and Lark say why, no query finds the customer, the export still traces, the chain verifies, an old dump stays erased', async (t) => {
  t.timeout(600_000);
  const { exportId, csv } = await exportEast();
  // A customer in the export (east), not owned by the rep, so identity needs approval.
  const all: Customer[] = [];
  for await (const c of h.customers.stream({ region: 'east' })) all.push(c);
  const target = all.find((c) => c.ownerId !== h.employees.salesRep.employeeId && c.status !== 'blocked' && csv.includes(c.customerId) && c.phone && c.email && c.idNumber)!;
  t.truthy(target, 'a customer of the export to erase');
  const { id, larkCopy } = await identityRequest(target);
  const dump = await h.bot.conn.collection(CUSTOMER_COLLECTION).findOne({ customerId: target.customerId });

  const res = await runCli(['customer', 'erase', target.customerId, '--reason', 'DSR-2026-042'], cliEnv());
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, new RegExp(`erased ${target.customerId} at .*1 pending request\\(s\\) cancelled`));

  // Every approver copy, on both platforms, says so in place, without buttons.
  const slackCopy = await h.fake.waitFor((x) => x.method === 'chat.update' && x.body.channel === h.dmOf('legalHead') && String(x.body.text).includes(id) && ERASED_CARD.test(messageText(x.body)), 60_000);
  t.deepEqual(buttons(slackCopy.body), []);
  const larkPatched = await lark.waitFor((m) => m.messageId === larkCopy.messageId && m.patches.length > 0 && ERASED_CARD.test(cardText(m.card)), 60_000);
  t.deepEqual(cardButtons(larkPatched.card), []);
  t.like((await h.auditRecords({ action: 'request.cancel', requestId: id }))[0], { reasonCode: 'erased', decision: 'allowed' });
  const erased = await h.auditRecords({ action: 'customer.erase', customerIds: target.customerId });
  t.like(erased[0], { purpose: 'DSR-2026-042', decision: 'allowed' });
  t.false(JSON.stringify(erased).includes(target.name), 'the audit event holds the id, never the name');

  // No query kind finds it, for the head of sales, who may see every region.
  const notFound = /没有您可查看的匹配客户/;
  for (const q of [target.customerId, target.phone!, target.email!, target.idNumber!, target.name.slice(0, 2), ...(target.company ? [target.company.slice(0, 3)] : [])]) {
    const text = messageText((await h.ask(h.userId('salesHead'), h.dmOf('salesHead'), q)).body);
    t.false(text.includes(target.customerId), `"${q}" does not find ${target.customerId}: ${text.slice(0, 120)}`);
    if (q === target.customerId || q === target.phone || q === target.idNumber) t.regex(text, notFound, q);
  }

  // The export made before still names its export and employee.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-trace-'));
  writeFileSync(path.join(dir, 'leak.csv'), csv);
  const traced = await runCli(['export', 'trace', path.join(dir, 'leak.csv')], cliEnv());
  t.is(traced.code, 0, traced.stderr);
  t.regex(traced.stdout, new RegExp(`export ${exportId}: employee ${h.employees.salesLeadEast.employeeId}`));

  // The chain, with customer.erase and the cancel in it, still verifies.
  const verified = await runCli(['audit', 'verify'], cliEnv());
  t.is(verified.code, 0, verified.stdout + verified.stderr);
  t.regex(verified.stdout, /\d+ events, chain intact/);

  // A dump taken before the erasure is restored: once the erasure list is re-applied (every start does),
  // the document holding the wrapped key is gone again and no lookup reads it.
  await h.bot.conn.collection(CUSTOMER_COLLECTION).insertOne(dump!);
  t.is(await applyErasureList(h.bot.conn, erasureList, clock), 1);
  t.is(await h.customers.get(target.customerId), null);
  t.regex(messageText((await h.ask(h.userId('salesHead'), h.dmOf('salesHead'), target.customerId)).body), notFound);
});

/** `/customer <text>` on Slack as `key` in their DM; the ephemeral answer's text. */
async function slash(key: DemoEmployeeKey, text: string): Promise<string> {
  const { responseUrl } = await h.command(h.userId(key), h.dmOf(key), text);
  return messageText((await h.replyTo(responseUrl, 60_000)).body);
}

/** A signed card callback to the Lark bot as `key`; its toast. */
async function larkClick(key: DemoEmployeeKey, message: SentMessage, value: Record<string, string>): Promise<string> {
  const e = h.employees[key];
  const res = await post(`${larkBot.url}/lark/events`, signed(cardAction({ openId: openIdOf(e), value, messageId: message.messageId, chatId: larkDm(e) })));
  return res.text ? (JSON.parse(res.text) as { toast?: { content: string } }).toast?.content ?? '' : '';
}

test.serial('erasure asked in chat: the admin asks on Slack, the DPO approves on Lark, it runs once; refused attempts are recorded', async (t) => {
  t.timeout(600_000);
  const all: Customer[] = [];
  for await (const c of h.customers.stream({ region: 'north' })) all.push(c);
  const target = all.find((c) => c.status !== 'blocked' && c.phone)!;

  // Someone who may not `admin` is refused and told why; the attempt is recorded, nothing is made.
  const refused = await slash('salesRep', `erase ${target.customerId} reason: DSR-2026-050`);
  t.regex(refused, /无权申请删除客户个人信息.*已记录/);
  const denied = await h.auditRecords({ action: 'customer.erase', decision: 'denied', 'actor.employeeId': h.employees.salesRep.employeeId });
  t.like(denied[0], { reasonCode: 'erase_denied', customerIds: [target.customerId] });
  // A malformed command says how to write it (and is recorded too).
  t.regex(await slash('admin', `erase ${target.customerId}`), /用法：`\/customer erase C-000123 reason:/);
  t.like((await h.auditRecords({ action: 'customer.erase', decision: 'denied', reasonCode: 'malformed' }))[0], { decision: 'denied' });
  // A reference holding personal data is refused without echoing it.
  const pii = await slash('admin', `erase ${target.customerId} reason: call ${target.phone}`);
  t.regex(pii, /个人信息/);
  t.false(pii.includes(target.phone!));

  const asked = await slash('admin', `erase ${target.customerId} reason: DSR-2026-051`);
  const id = /#(R-[A-P]{10})/.exec(asked)?.[1];
  t.truthy(id, asked);
  t.regex(asked, /已提交删除申请 .*欧阳明.*批准后才会删除/);
  t.truthy(await h.customers.get(target.customerId), 'nothing is erased before the decision');
  const dpoCard = await lark.waitFor((m) => m.receiveId === openIdOf(h.employees.dpo) && cardText(m.card).includes(id!));
  t.regex(cardText(dpoCard.card), new RegExp(`删除客户个人信息[\\s\\S]*${target.customerId}[\\s\\S]*永久删除[\\s\\S]*DSR-2026-051`));
  t.false(cardText(dpoCard.card).includes(target.name), 'the card names the customer by id only');
  t.deepEqual(cardButtons(dpoCard.card).map((b) => b.value.a), ['approve', 'deny']);

  // Two approve clicks at once: one wins and erases, the other is told it was already decided.
  const [a, b] = await Promise.all([larkClick('dpo', dpoCard, { a: 'approve', r: id! }), larkClick('dpo', dpoCard, { a: 'approve', r: id! })]);
  t.true([a, b].some((x) => new RegExp(`已批准申请 #${id}`).test(x)), `${a} / ${b}`);
  t.is(await h.customers.get(target.customerId), null, 'erased once approved');
  const erasedEvents = await h.auditRecords({ action: 'customer.erase', decision: 'allowed', customerIds: target.customerId });
  t.is(erasedEvents.length, 1, 'erased exactly once');
  t.like(erasedEvents[0], { purpose: 'DSR-2026-051', actor: { employeeId: h.employees.admin.employeeId } });
  t.like((await h.auditRecords({ action: 'request.approve', requestId: id! }))[0], { decision: 'allowed' });
  const patched = await lark.waitFor((m) => m.messageId === dpoCard.messageId && m.patches.length > 0 && /客户 C-\d{6} 的个人信息已删除/.test(cardText(m.card)));
  t.deepEqual(cardButtons(patched.card), []);
  await h.fake.waitFor((x) => x.method === 'chat.postMessage' && x.body.channel === h.dmOf('admin') && String(x.body.text).includes(`#${id}`) && /个人信息已删除/.test(String(x.body.text)));
  t.regex(messageText((await h.ask(h.userId('salesHead'), h.dmOf('salesHead'), target.customerId)).body), /没有您可查看的匹配客户/);
  // Asked again: the customer is gone, so there is nothing to ask for (recorded).
  t.regex(await slash('admin', `erase ${target.customerId} reason: DSR-2026-052`), new RegExp(`找不到您可查看的客户 ${target.customerId}`));
});

test.serial('on Lark the same command is answered by the same core: the DPO may decide erasures but not ask for them (recorded)', async (t) => {
  const dpo = h.employees.dpo;
  let some: Customer | undefined;
  for await (const c of h.customers.stream({ region: 'south' })) { some ??= c; }
  const id = some!.customerId;
  const since = lark.sent().length;
  await post(`${larkBot.url}/lark/events`, signed(messageEvent({ openId: openIdOf(dpo), chatId: larkDm(dpo), text: `erase ${id} reason: DSR-2026-060` })));
  const answer = await lark.waitFor((m) => lark.sent().indexOf(m) >= since && /无权申请删除客户个人信息/.test(cardText(m.card)));
  t.truthy(answer);
  const denied = await h.auditRecords({ action: 'customer.erase', decision: 'denied', 'actor.employeeId': dpo.employeeId });
  t.like(denied[0], { reasonCode: 'erase_denied', customerIds: [id], actor: { platform: 'lark' } });
  t.truthy(await h.customers.get(id), 'nothing erased');
});
