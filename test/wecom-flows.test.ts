// Requests, approvals, reviews and alerts on WeCom, end to end: encrypted, signed template_card_event
// and text callbacks sent to the real bot's /wecom/callback, the WeCom API client against the fake
// (which enforces the card limits and the one response_code update), real Redis, database, policy engine
// and audit worker. The approval and review services are built here with the WeCom notifiers (the
// platform registry wires them in production). What users see is read from the fake's messages.
// Last, a delete line pushed to the bot's sync route, then `custos customer erase` and `custos import
// employees` as processes of their own with only WeCom configured: the approvers' WeCom copies of a
// pending request say in place that the customer was deleted in the CRM, its data erased, or that the
// requester has left.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { approvalSettingsOf } from '../bot/core/approvals/settings.ts';
import { ApprovalService, type ApprovalDeps } from '../bot/core/approvals/service.ts';
import type { AccessReviewService } from '../bot/core/reviews/service.ts';
import type { Policy } from '../policies/load.ts';
import { WeComApprovalNotifier } from '../bot/wecom/approval-notifier.ts';
import { WeComApi } from '../bot/wecom/api.ts';
import { ChannelSecurityAlerts } from '../bot/runtime/security-alerts.ts';
import { WeComReviewNotifier, wecomSecurityMembers } from '../bot/wecom/notices.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { prepareReviewService } from '../bot/store/review-service.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import type { WeComMessage } from './fakes/wecom.ts';
import { reviewGrant } from './helpers/access-review.ts';
import { BotDeletions, DELETED_IN_CRM } from './helpers/bot-deletions.ts';
import { runCli } from './helpers/run-custos.ts';
import { movableClock } from './helpers/slack-approval.ts';
import { userIdOf, WeComHarness } from './helpers/wecom-bot.ts';
import { demoEmployees } from '../bot/store/demo-company.ts';

const clock = movableClock();
const e0 = demoEmployees();
let approvals: ApprovalService;
let reviews: AccessReviewService;
const h = new WeComHarness(import.meta.url, {
  customers: 60, clock,
  extraEnv: { WECOM_SECURITY_USERS: `${userIdOf(e0.admin)}|${userIdOf(e0.auditor)}` },
  overrides: {
    // CRM sync settings handed to the bot as `custos start` does (a push source), not read from the environment.
    sync: BotDeletions.pushOnly(),
    flows: async ({ services, api, codes, config }) => {
      const requests = new MongoRequestStore(services.conn);
      await requests.ensureIndexes();
      approvals = new ApprovalService({
        engine: services.engine, customers: services.customers, requests, grants: services.grants, directory: services.directory,
        recorder: services.recorder, clock: services.clock, settings: approvalSettingsOf((services.engine as { policy?: Policy }).policy),
        notifier: new WeComApprovalNotifier({ api, codes, logger: h.logger, lookup: services.lookup }),
        // The core's platform union opens with the registry (issue 17 item 2); the audit log already knows `wecom`.
        platform: 'wecom' as ApprovalDeps['platform'],
      });
      reviews = (await prepareReviewService(services.conn))({ notifier: new WeComReviewNotifier({ api, codes, logger: h.logger }), recorder: services.recorder, clock: services.clock, timing: config.review });
      return { approvals, reviews };
    },
  },
});

const all: Customer[] = [];
test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

const after = (n: number) => (m: WeComMessage) => h.fake.messages.indexOf(m) >= n;
const uid = (key: DemoEmployeeKey) => h.userId(key);

/** An east customer `salesRep` does not own, with `field` (masked on their card); `skip` picks another. */
function customerWith(field: 'phone' | 'idNumber', skip: number): Customer {
  return all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.status !== 'blocked' && c[field])[skip]!;
}

/** The next message to `key` after index `n` that matches. */
function next(key: DemoEmployeeKey, n: number, pred: (m: WeComMessage) => boolean = () => true): Promise<WeComMessage> {
  return h.fake.waitFor((m) => after(n)(m) && m.touser === uid(key) && pred(m));
}

/** The card's button whose key starts with `prefix` (and contains `part`). */
function keyOf(card: WeComMessage, prefix: string, part = ''): string {
  const b = card.card!.button_list.find((x) => x.key.startsWith(prefix) && x.key.includes(part));
  if (!b) throw new Error(`no ${prefix} button: ${JSON.stringify(card.card!.button_list)}`);
  return b.key;
}

async function click(card: WeComMessage, key: string): Promise<Record<string, string>> {
  const fields = h.fake.click(card, key);
  const res = await h.driver.send(fields);
  if (res.status !== 200) throw new Error(`click answered ${res.status}`);
  return fields;
}

async function say(key: DemoEmployeeKey, text: string): Promise<void> {
  const res = await h.driver.send(h.textFields(uid(key), text));
  if (res.status !== 200) throw new Error(`text answered ${res.status}`);
}

/** A lookup of `customerId` by `key`, its card, a click on the request button, the prompt, the answer; the request id. */
async function request(key: DemoEmployeeKey, customerId: string, button: 'reveal|' | 'access|', part: string, answer: string): Promise<string> {
  const n = h.fake.messages.length;
  await say(key, customerId);
  const card = await next(key, n, (m) => m.msgtype === 'template_card');
  const m = h.fake.messages.length;
  await click(card, keyOf(card, button, part));
  await next(key, m, (x) => x.text?.includes('10 分钟内回复') === true);
  const k = h.fake.messages.length;
  await say(key, answer);
  const done = await next(key, k, (x) => /已提交申请 #R-/.test(x.text ?? '')).catch((err: unknown) => {
    throw new Error(`${String(err)}; sent since: ${JSON.stringify(h.fake.messages.slice(m).map((x) => [x.touser, x.text ?? x.card?.main_title.title]))}`);
  });
  return /#(R-[A-P]{10})/.exec(done.text!)![1]!;
}

const approverCard = (key: DemoEmployeeKey, id: string) => h.fake.waitFor((m) => m.touser === uid(key) && m.msgtype === 'template_card' && m.card!.button_list.some((b) => b.key === `approve|${id}`));

test.serial('identity access asked on WeCom: two approvers click Approve (quorum 2), the 4× delivered click counts once, each card\'s one update is the outcome, the requester then sees the ID number', async (t) => {
  const c = customerWith('idNumber', 0);
  const id = await request('salesRep', c.customerId, 'access|', '', '身份信息 30 核对合同主体');
  const [legal, dpo] = await Promise.all([approverCard('legalHead', id), approverCard('dpo', id)]);
  t.true(h.fake.sentTo(uid('legalHead')).some((m) => m.text?.includes('核对合同主体') && m.text.includes('30')), 'the approver reads purpose and duration');

  // The legal head's click, delivered four times (WeCom's retries): one vote, one reply.
  const fields = h.fake.click(legal, `approve|${id}`);
  const n = h.fake.messages.length;
  for (let i = 0; i < 4; i++) t.is((await h.driver.send(fields)).status, 200);
  await next('legalHead', n, (m) => /1\/2|已批准/.test(m.text ?? ''));
  const votes = await h.auditRecords({ action: 'request.vote', requestId: id });
  t.is(votes.length, 1, 'one vote recorded');
  t.falsy(legal.update, 'progress is not the final state: the code waits');

  const m = h.fake.messages.length;
  await click(dpo, `approve|${id}`);
  await next('salesRep', m, (x) => x.text?.includes(id) === true && /批准/.test(x.text));
  await h.fake.waitFor(() => Boolean(legal.update && dpo.update));
  const j = h.fake.messages.length;
  await say('salesRep', c.customerId);
  const again = await next('salesRep', j, (x) => x.text?.includes('审计编号') === true);
  t.true(again.text!.includes(c.idNumber!), 'under the grant the requester sees the ID number');
  const updates = h.fake.apiCalls('message/update_template_card');
  // The two clicked cards with their clicks' codes; the requester's (Cancel) with the code its send returned.
  t.is(updates.length, 3, 'one update per card copy: none is left clickable');
  t.is(new Set(updates.map((u) => u.body.response_code)).size, 3, 'each code used once');
  t.truthy(h.fake.messages.find((x) => x.touser === uid('salesRep') && x.card?.button_list.some((b) => b.key === `cancel|${id}`))?.update, 'the requester\'s Cancel is greyed out');
  t.true(updates.every((u) => u.errcode === 0));
  t.regex(String((legal.update!.button as { replace_name: string }).replace_name), /批准/);
  const decisions = await h.auditRecords({ action: 'request.approve', requestId: id });
  t.is(decisions.length, 1);
  t.like(decisions[0]!.actor, { platform: 'wecom' });
  t.is((await h.auditRecords({ action: 'request.vote', requestId: id }, 2)).length, 2, 'two votes, no more');
});

test.serial('Deny asks for the reason as the next message; the requester is told; the card\'s one update says denied', async (t) => {
  const c = customerWith('phone', 3);
  const id = await request('salesRep', c.customerId, 'reveal|', '"f":"phone"', '核对来电号码');
  const card = await approverCard('salesLeadEast', id);
  const n = h.fake.messages.length;
  await click(card, `deny|${id}`);
  const prompt = await next('salesLeadEast', n, (m) => m.text?.includes('10 分钟内回复') === true);
  t.true(prompt.text!.includes('取消'), 'the prompt says how to cancel');
  t.falsy(card.update, 'nothing decided yet');
  const m = h.fake.messages.length;
  await say('salesLeadEast', '用途不充分');
  await next('salesRep', m, (x) => x.text?.includes(id) === true && /拒绝/.test(x.text));
  await h.fake.waitFor(() => card.update !== undefined);
  t.regex(String((card.update!.button as { replace_name: string }).replace_name), /拒绝/);
  const denied = await h.auditRecords({ action: 'request.deny', requestId: id });
  t.is(denied.length, 1);
  t.like(denied[0]!.actor, { employeeId: h.employees.salesLeadEast.employeeId, platform: 'wecom' });

  // A message after the answer is an ordinary turn again (a lookup), not a second reason.
  const k = h.fake.messages.length;
  await say('salesLeadEast', String(c.customerId));
  t.truthy(await next('salesLeadEast', k, (x) => x.text?.includes(c.customerId) === true && x.text.includes('审计编号')));
});

test.serial('a prompt answered with 取消 submits nothing', async (t) => {
  const c = customerWith('phone', 1);
  const n = h.fake.messages.length;
  await say('salesRep', String(c.customerId));
  const card = await next('salesRep', n, (m) => m.msgtype === 'template_card');
  const m = h.fake.messages.length;
  await click(card, keyOf(card, 'reveal|', '"f":"phone"'));
  await next('salesRep', m, (x) => x.text?.includes('10 分钟内回复') === true);
  const created = (await h.auditRecords({ action: 'request.create' }, 0, 0)).length;
  const k = h.fake.messages.length;
  await say('salesRep', '取消');
  t.is((await next('salesRep', k)).text, '已取消，未提交任何内容。');
  t.is((await h.auditRecords({ action: 'request.create' }, 0, 0)).length, created);
});

test.serial('forged and undecryptable clicks are refused with no side effect; the genuine one reveals the phone to the requester', async (t) => {
  const c = customerWith('phone', 2);
  const id = await request('salesRep', c.customerId, 'reveal|', '"f":"phone"', '核对地址');
  const card = await approverCard('salesLeadEast', id);
  const [messages, calls] = [h.fake.messages.length, h.fake.calls.length];
  const fields = h.fake.click(card, `approve|${id}`);
  const refused = [
    await h.driver.send(fields, { token: 'forgedToken' }),
    await h.driver.send(fields, { aesKey: Buffer.alloc(32, 7).toString('base64').slice(0, 43) }),
    await h.driver.send(fields, { receiveId: 'wwsomeoneelse' }),
    await h.driver.send(fields, { timestampSeconds: Math.floor(Date.now() / 1000) - 3600 }),
    await h.driver.send(fields, { tamper: (r) => { r.body = r.body.replace(/<Encrypt><!\[CDATA\[(.)/, (_m, ch: string) => `<Encrypt><![CDATA[${ch === 'A' ? 'B' : 'A'}`); } }),
  ];
  t.deepEqual(refused.map((r) => r.status), [401, 401, 401, 401, 401]);
  t.is(h.fake.messages.length, messages);
  t.is(h.fake.calls.length, calls, 'no WeCom API call');
  t.is((await h.auditRecords({ action: 'request.vote', requestId: id }, 0, 0)).length, 0);
  t.is((await approvals.deps.requests.get(id))?.status, 'pending');

  // The genuine click: one approver decides; the requester sees the revealed phone in a new message.
  const k = h.fake.messages.length;
  await click(card, `approve|${id}`);
  t.truthy(await next('salesRep', k, (x) => x.text?.includes(c.phone!) === true));
  t.is((await h.auditRecords({ action: 'request.approve', requestId: id })).length, 1);
});

test.serial('an access review card on WeCom: Keep through the endpoint; the card\'s one update says kept; audited', async (t) => {
  const grants = new MongoGrantStore(h.conn);
  await grants.create(reviewGrant(clock.now(), 'G-wc-rep', h.employees.salesRep, h.employees.legalHead, ['C-000003'], ['finance'], 30 * 24 * 3_600_000));
  const n = h.fake.messages.length;
  await reviews.openCycle();
  const card = await next('salesLeadEast', n, (m) => m.msgtype === 'template_card' && m.card!.button_list.some((b) => b.key.startsWith('review_keep|')));
  t.deepEqual(card.card!.button_list.map((b) => b.text), ['保留', '撤销']);
  const text = h.fake.sentTo(uid('salesLeadEast')).filter((m) => after(n)(m) && m.msgtype === 'text').map((m) => m.text).join('\n');
  t.true(text.includes(h.employees.salesRep.name) && text.includes('G-wc-rep'), text);
  const m = h.fake.messages.length;
  await click(card, keyOf(card, 'review_keep|'));
  await next('salesLeadEast', m, (x) => x.msgtype === 'text');
  await h.fake.waitFor(() => card.update !== undefined);
  t.regex(String((card.update!.button as { replace_name: string }).replace_name), /已处理/);
  const kept = await h.auditRecords({ action: 'review.keep' });
  t.is(kept.length, 1);
  t.like(kept[0]!.actor, { employeeId: h.employees.salesLeadEast.employeeId, platform: 'wecom' });
});

test.serial('a security alert card: Unfreeze by the admin through the endpoint; the user is active; the card says so; the other member is told', async (t) => {
  const frozen = h.employees.salesRepSouth;
  await h.directory.setStatus(frozen.employeeId, 'frozen');
  const api = new WeComApi({ corpId: h.fake.corpId, secret: h.fake.secret, agentId: h.fake.agentId, apiUrl: h.fake.url }, h.logger);
  const alerts = new ChannelSecurityAlerts({ destination: wecomSecurityMembers(api, [uid('admin'), uid('auditor')]), directory: h.directory, locale: 'zh-CN' });
  const n = h.fake.messages.length;
  await alerts.alert({ employeeId: frozen.employeeId, detector: 'distinctCustomers', count: 40, max: 30, windowMinutes: 5, frozen: true, at: clock.now(), auditQuery: `by ${frozen.employeeId} since:5m` });
  const card = await next('admin', n, (m) => m.msgtype === 'template_card');
  t.deepEqual(card.card!.button_list.map((b) => b.key), [`security_unfreeze|${frozen.employeeId}`, `security_keep|${frozen.employeeId}`, `security_revoke|${frozen.employeeId}`]);
  await next('auditor', n, (m) => m.msgtype === 'template_card');
  const m = h.fake.messages.length;
  await click(card, `security_unfreeze|${frozen.employeeId}`);
  await h.fake.waitFor(() => card.update !== undefined);
  t.is((await h.directory.byId(frozen.employeeId))?.status, 'active');
  t.regex(String((card.update!.button as { replace_name: string }).replace_name), /已处理/);
  await next('auditor', m, (x) => x.text?.includes('解除冻结') === true);
  const events = await h.auditRecords({ action: 'admin.unfreeze' });
  t.is(events.length, 1);
  t.like(events[0]!.actor, { employeeId: h.employees.admin.employeeId, platform: 'wecom' });
});

test.serial('an audit query typed on WeCom: the table as text, Export results on its card opens the request prompt', async (t) => {
  await h.ask(uid('supportAgent'), 'C-000003');
  await h.auditRecords({ action: 'lookup', customerIds: 'C-000003' });
  const n = h.fake.messages.length;
  await say('auditor', 'audit customer:C-000003 purpose: 季度核查');
  const table = await next('auditor', n, (m) => m.msgtype === 'text');
  t.regex(table.text!, /审计记录（customer=C-000003）[\s\S]*C-000003/);
  const card = await next('auditor', n, (m) => m.msgtype === 'template_card');
  const m = h.fake.messages.length;
  await click(card, keyOf(card, 'audit_export|'));
  t.truthy(await next('auditor', m, (x) => x.text?.includes('10 分钟内回复') === true));
  await say('auditor', '取消');
});

/** The `skip`-th east customer (not the rep's) that no test above asks about (the tests below change them for good). */
function untouched(skip: number): Customer {
  const used = new Set([customerWith('idNumber', 0), ...[1, 2, 3].map((k) => customerWith('phone', k))].map((c) => c.customerId));
  return all.filter((x) => x.region === 'east' && x.ownerId !== h.employees.salesRep.employeeId && x.status !== 'blocked' && !used.has(x.customerId))[skip]!;
}

test.serial('a delete line pushed to the WeCom bot cancels the pending request through its approval service: each approver\'s WeCom copy says the customer was deleted in the CRM', async (t) => {
  const c = customerWith('phone', 1); // only asked about (取消) above; deleted here
  const id = await request('salesRep', c.customerId, 'access|', '', '身份信息 30 核对合同主体');
  const [legal, dpo] = await Promise.all([approverCard('legalHead', id), approverCard('dpo', id)]);
  const n = h.fake.messages.length;
  t.deepEqual(await new BotDeletions(clock).push(h.bot.url, h.conn, c.customerId), { status: 200, results: [{ line: 1, id: 'ERP-77', status: 'deleted' }] });
  for (const key of ['legalHead', 'dpo'] as const) {
    await next(key, n, (m) => m.msgtype === 'text' && m.text!.includes(id) && DELETED_IN_CRM.test(m.text!));
  }
  await h.fake.waitFor(() => Boolean(legal.update && dpo.update));
  t.like(await new MongoRequestStore(h.conn).get(id), { status: 'cancelled', denyReason: 'deletedAtSource' });
  t.like((await h.auditRecords({ action: 'request.cancel', requestId: id }))[0], { reasonCode: 'deletedAtSource', decision: 'allowed' });
});

test.serial('`custos customer erase` with only WeCom configured: each approver\'s WeCom copy says the data was erased and its buttons are greyed out; store and audit agree', async (t) => {
  const c = untouched(0); // erased here
  const id = await request('salesRep', c.customerId, 'access|', '', '身份信息 30 核对合同主体');
  const [legal, dpo] = await Promise.all([approverCard('legalHead', id), approverCard('dpo', id)]);
  const n = h.fake.messages.length;

  const res = await runCli(['customer', 'erase', c.customerId, '--reason', 'DSR-2026-070'], h.env);
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, new RegExp(`erased ${c.customerId} at .*1 pending request\\(s\\) cancelled`));

  const erased = /该客户的个人信息已应其请求删除，申请已于 .* 自动撤销，无需审批/;
  for (const key of ['legalHead', 'dpo'] as const) {
    const text = await next(key, n, (m) => m.msgtype === 'text' && m.text!.includes(id) && erased.test(m.text!));
    t.false(text.text!.includes(c.name), 'the copy names the customer by id only');
  }
  // Each approver card's one update, with the code its send returned: no copy is left clickable.
  await h.fake.waitFor(() => Boolean(legal.update && dpo.update));
  t.true(h.fake.apiCalls('message/update_template_card').every((u) => u.errcode === 0));

  t.like(await new MongoRequestStore(h.conn).get(id), { status: 'cancelled', denyReason: 'erased' });
  t.is(await h.customers.get(c.customerId), null);
  t.like((await h.auditRecords({ action: 'request.cancel', requestId: id }))[0], { reasonCode: 'erased', decision: 'allowed' });
  t.like((await h.auditRecords({ action: 'customer.erase', customerIds: c.customerId }))[0], { purpose: 'DSR-2026-070', decision: 'allowed', actor: { platform: 'cli' } });
});

test.serial('`custos import employees` offboarding the requester, with only WeCom configured: each approver\'s WeCom copy says they left, buttons greyed out; audited', async (t) => {
  const id = await request('salesRep', untouched(1).customerId, 'access|', '', '身份信息 30 核对合同主体');
  const [legal, dpo] = await Promise.all([approverCard('legalHead', id), approverCard('dpo', id)]);
  const n = h.fake.messages.length;
  const { chat: _chat, ...leaver } = { ...h.employees.salesRep, status: 'offboarded' };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'custos-wecom-hr-')), 'hr.jsonl');
  writeFileSync(file, `${JSON.stringify(leaver)}\n`);

  const res = await runCli(['import', 'employees', file], h.env);
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, new RegExp(`offboarded ${leaver.employeeId}: \\d+ grant\\(s\\) revoked, [1-9]\\d* pending request\\(s\\) cancelled`));

  for (const key of ['legalHead', 'dpo'] as const) {
    await next(key, n, (m) => m.msgtype === 'text' && m.text!.includes(id) && /申请人已离职，申请已于 .* 自动撤销，无需审批/.test(m.text!));
  }
  await h.fake.waitFor(() => Boolean(legal.update && dpo.update));
  t.like(await new MongoRequestStore(h.conn).get(id), { status: 'cancelled', denyReason: 'offboarded' });
  t.like((await h.auditRecords({ action: 'request.cancel', requestId: id }))[0], { reasonCode: 'offboarded', decision: 'allowed' });
  t.like((await h.auditRecords({ action: 'admin.offboard', 'meta.subject': leaver.employeeId }))[0]!.meta as object, { route: 'import', change: 'offboard' });
});
