// The WeCom adapter end to end: WeCom's encrypted, signed callbacks sent over HTTP to the real bot,
// the WeCom API client against the fake (test/fakes/wecom.ts), real Redis and database, the real
// policy engine and audit pipeline. What a user sees is read from the messages the fake received.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { ErrorCode } from '../bot/core/errors.ts';
import { principalOf } from '../bot/core/identity.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import { applyDecision } from '../bot/core/view.ts';
import { loadWeComConfig } from '../bot/wecom/config.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import type { WeComMessage } from './fakes/wecom.ts';
import { shownValue } from './helpers/shown-value.ts';
import { WeComHarness } from './helpers/wecom-bot.ts';

const h = new WeComHarness(import.meta.url, { unbound: ['supportAgentEn'] });
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

/** `label: value` lines of a customer text message, between its title and the footer rule. */
function textFields(m: WeComMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (m.text ?? '').split('——')[0]!.split('\n').slice(1)) {
    if (line.startsWith('【')) continue;
    const at = line.indexOf(': ');
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 2));
  }
  return out;
}

async function expectedFields(key: DemoEmployeeKey, c: Customer): Promise<Map<string, string>> {
  const e = h.employees[key];
  const { createPolicyEngine, loadPolicy } = await import('../policies/index.ts');
  const decision = await createPolicyEngine(loadPolicy(h.config.policyDir)).decide(principalOf(e), 'lookup', { channel: 'dm', at: h.clock.now() }, c);
  return new Map(applyDecision(c, decision).map((f) => [tr(`field.${f.field}`, e.locale), shownValue(f, e.locale)]));
}

test('the WeCom section reports every problem at once', (t) => {
  const err = t.throws(() => loadWeComConfig({ WECOM_AGENT_ID: 'abc', WECOM_ENCODING_AES_KEY: 'short', WECOM_API_URL: 'ftp://x' }))!;
  for (const setting of ['WECOM_CORP_ID', 'WECOM_AGENT_ID', 'WECOM_SECRET', 'WECOM_TOKEN', 'WECOM_ENCODING_AES_KEY', 'WECOM_API_URL']) {
    t.true(err.message.includes(setting), setting);
  }
  const ok = loadWeComConfig({ WECOM_CORP_ID: 'ww1', WECOM_AGENT_ID: '1000002', WECOM_SECRET: 'secret-12345', WECOM_TOKEN: 'tok', WECOM_ENCODING_AES_KEY: h.aesKey });
  t.is(ok.apiUrl, 'https://qyapi.weixin.qq.com');
});

test.serial('the URL check answers the decrypted echostr; a wrong signature or key is refused', async (t) => {
  const ok = await h.driver.verifyUrl('8237455837294937');
  t.deepEqual(ok, { status: 200, text: '8237455837294937' });
  t.is((await h.driver.verifyUrl('8237455837294937', { token: 'wrongToken' })).status, 401);
  t.is((await h.driver.verifyUrl('8237455837294937', { receiveId: 'wwsomeoneelse' })).status, 401);
  t.is((await h.driver.verifyUrl('8237455837294937', { timestampSeconds: Math.floor(Date.now() / 1000) - 301 })).status, 401);
});

test.serial('a lookup by text shows exactly the role\'s fields and masks, in Chinese, and is audited', async (t) => {
  const c = all.find((x) => x.region === 'east')!;
  const reply = await h.ask(h.userId('supportAgent'), c.customerId);
  t.is(reply.msgtype, 'text');
  t.falsy(reply.truncated);
  t.deepEqual(textFields(reply), await expectedFields('supportAgent', c));
  t.true(reply.text!.includes('审计编号'));
  const records = await h.auditRecords({ 'actor.platform': 'wecom', action: 'lookup', customerIds: c.customerId });
  t.is(records.length, 1);
  t.is((records[0]!.actor as { platformUserId: string }).platformUserId, h.userId('supportAgent'));
  t.is(records[0]!.channelKind, 'dm');
});

test.serial('several matches come as a list and a button card; Pick opens the customer as the role may see it', async (t) => {
  // A two-character fragment of a company name shared by 2–6 customers (support sees everyone).
  let query = '';
  for (const c of all) {
    const chars = Array.from(c.company ?? '');
    for (let i = 0; i + 1 < chars.length && !query; i++) {
      const frag = chars[i]! + chars[i + 1]!;
      const n = all.filter((x) => x.name.includes(frag) || (x.company ?? '').includes(frag)).length;
      if (/^\p{Script=Han}{2}$/u.test(frag) && n >= 2 && n <= 6) query = frag;
    }
    if (query) break;
  }
  const who = h.userId('supportAgent');
  const { text: list, card } = await h.askForCard(who, query);
  t.regex(list.text!, /找到 \d+ 位您可查看的客户/);
  for (const label of ['电话', '邮箱', '地址', '身份证号']) t.false(list.text!.includes(`${label}:`), `no ${label} in a pick list`);
  const button = card.card!.button_list[0]!;
  t.regex(button.key, /^pick\|C-\d+$/);
  const customerId = button.key.slice('pick|'.length);
  // Lookups that showed this customer alone: the list's own event names several and may be stored after
  // its card arrives (a card waits for Redis to accept its events, not for the database to store them).
  const lookups = { 'actor.platform': 'wecom', action: 'lookup', customerIds: [customerId] };
  const audited = (await h.auditRecords(lookups, 0)).length;
  const clicked = h.fake.messages.length;
  t.is((await h.driver.send(h.fake.click(card, button.key))).status, 200);
  const opened = await h.fake.waitFor((m) => m.touser === who && h.fake.messages.indexOf(m) >= clicked);
  t.true(opened.text!.startsWith(customerId));
  t.deepEqual(textFields(opened), await expectedFields('supportAgent', all.find((c) => c.customerId === customerId)!));
  t.is((await h.auditRecords(lookups, audited + 1)).length, audited + 1);
});

test.serial('an unbound member is matched by the contact API\'s e-mail once, then bound, and answered in English', async (t) => {
  const e = h.employees.supportAgentEn;
  const reply = await h.ask(h.userId('supportAgentEn'), all[1]!.customerId);
  t.true(reply.text!.includes('audit ref'), reply.text);
  t.is((await h.directory.byId(e.employeeId))!.chat.wecom, h.userId('supportAgentEn'));
  t.true(h.fake.apiCalls('user/get').some((c) => c.query.userid === h.userId('supportAgentEn')));
});

test.serial('unknown WeCom users are refused, told whom to ask, and the refusal is audited', async (t) => {
  h.fake.setUser({ userid: 'stranger01' }); // a member in the app's range whom the directory does not know
  const reply = await h.ask('stranger01', 'C-000001');
  t.is(reply.text, tr(ErrorCode.EmployeeUnknown, 'zh-CN', { contact: '#security-desk' }));
  const records = await h.auditRecords({ action: 'lookup.refused', 'actor.platformUserId': 'stranger01' });
  t.is(records[0]!.reasonCode, ErrorCode.EmployeeUnknown);
  t.is((records[0]!.actor as { platform: string }).platform, 'wecom');
});

test.serial('a button key custos never wrote is refused and recorded', async (t) => {
  const before = h.fake.messages.length;
  const res = await h.driver.send({ MsgType: 'event', Event: 'template_card_event', FromUserName: h.userId('salesRep'), CreateTime: String(Math.floor(Date.now() / 1000)), EventKey: 'pick|C-1 OR 1', TaskId: 't1', CardType: 'button_interaction', ResponseCode: 'x' });
  t.is(res.status, 200);
  await h.fake.waitFor((m) => m.touser === h.userId('salesRep') && h.fake.messages.indexOf(m) >= before);
  const records = await h.auditRecords({ action: 'lookup.refused', reasonCode: 'malformed', 'actor.platformUserId': h.userId('salesRep') });
  t.is(records[0]!.reasonCode, 'malformed');
});

test.serial('change_contact delete_user offboards: the next lookup is refused, audited', async (t) => {
  const e = h.employees.salesRep;
  const res = await h.driver.send({ MsgType: 'event', Event: 'change_contact', ChangeType: 'delete_user', UserID: h.userId('salesRep'), FromUserName: 'sys', CreateTime: String(Math.floor(Date.now() / 1000)), AgentID: '' });
  t.is(res.status, 200);
  t.is((await h.directory.byId(e.employeeId))!.status, 'offboarded');
  const reply = await h.ask(h.userId('salesRep'), all[0]!.customerId);
  t.is(reply.text, tr(ErrorCode.EmployeeOffboarded, 'zh-CN', { contact: '#security-desk' }));
  const records = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': e.employeeId });
  t.like(records[0]!.meta as Record<string, unknown>, { route: 'wecom' });
});

test.serial('update_user with Status 5 (left the company) offboards; other updates do not', async (t) => {
  const e = h.employees.financeClerk;
  const at = String(Math.floor(Date.now() / 1000));
  await h.driver.send({ MsgType: 'event', Event: 'change_contact', ChangeType: 'update_user', UserID: h.userId('financeClerk'), Status: '1', FromUserName: 'sys', CreateTime: at, AgentID: '' });
  t.is((await h.directory.byId(e.employeeId))!.status, 'active');
  await h.driver.send({ MsgType: 'event', Event: 'change_contact', ChangeType: 'update_user', UserID: h.userId('financeClerk'), Status: '5', FromUserName: 'sys', CreateTime: String(Number(at) + 1), AgentID: '' });
  t.is((await h.directory.byId(e.employeeId))!.status, 'offboarded');
});

test('the employee import carries WeCom bindings (`chat.wecom`), for apps WeCom gives no e-mail', async (t) => {
  const { parseEmployeeRow } = await import('../bot/store/import-schemas.ts');
  const e = h.employees.supportAgent;
  const row = { employeeId: e.employeeId, email: e.email, name: e.name, department: e.department, roles: e.roles.join(';'), region: e.region, timezone: e.timezone, 'chat.wecom': 'zhangwei' };
  const parsed = parseEmployeeRow(row);
  if (!parsed.ok) return t.fail(JSON.stringify(parsed.problems));
  t.is(parsed.value.chat.wecom, 'zhangwei');
});
