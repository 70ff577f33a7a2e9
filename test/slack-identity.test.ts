// Who is asking: a bound Slack id is trusted; an unbound one is matched once by its Slack e-mail and
// then bound; unknown, frozen and offboarded users are refused with why and whom to ask, in their
// language; refusals are audited. Malformed and empty queries get usage help.
import test from 'ava';
import { messageText, SlackHarness } from './helpers/slack-bot.ts';

const h = new SlackHarness(import.meta.url, { customers: 40, unbound: ['supportAgentEn', 'ordersClerk', 'marketingLead'], publicMembers: ['salesRep'] });

test.before(async () => {
  await h.start();
  h.fake.addUser({ id: 'UNOBODY', email: 'stranger@elsewhere.example', locale: 'en-GB' });
  h.fake.addUser({ id: 'UNOBODYZH', email: 'mosheng@elsewhere.example', locale: 'zh-CN' });
  h.fake.addUser({ id: 'UNOEMAIL', locale: 'en-US' });
  // Someone whose Slack e-mail is the orders clerk's, while the clerk is already bound elsewhere.
  h.fake.addUser({ id: 'UIMPOSTOR', email: h.employees.marketingLead.email, locale: 'en-US' });
  for (const id of ['UNOBODY', 'UNOBODYZH', 'UNOEMAIL', 'UIMPOSTOR']) h.fake.addChannel({ id: `D${id}`, isIm: true, members: [id, 'UBOT'] });
});
test.after.always(async () => { await h.close(); });

test.serial('an unbound employee is recognised by the Slack e-mail once, then by the bound id', async (t) => {
  const userId = h.userId('supportAgentEn');
  const infoBefore = h.fake.callsTo('users.info').length;
  const first = await h.ask(userId, h.dmOf('supportAgentEn'), 'C-000003');
  t.regex(messageText(first.body), /C-000003/);
  t.regex(messageText(first.body), /Masked for your role/, 'English: the employee\'s locale');
  t.is(h.fake.callsTo('users.info').length, infoBefore + 1);
  t.is((await h.directory.byChatId('slack', userId))?.employeeId, h.employees.supportAgentEn.employeeId, 'bound');
  await h.ask(userId, h.dmOf('supportAgentEn'), 'C-000004');
  t.is(h.fake.callsTo('users.info').length, infoBefore + 1, 'no second users.info: the binding is trusted');
});

test.serial('an e-mail match cannot take over an employee already bound to another Slack user', async (t) => {
  await h.directory.bindChatId(h.employees.marketingLead.employeeId, 'slack', 'UREALLEAD');
  const reply = await h.ask('UIMPOSTOR', 'DUIMPOSTOR', 'C-000003 purpose: campaign');
  t.regex(messageText(reply.body), /not linked to an employee record\. Ask an administrator \(#security-desk\)/);
  t.is((await h.directory.byChatId('slack', 'UIMPOSTOR')), null);
});

test.serial('unknown users are refused in their Slack language, saying why and whom to ask; refusals are audited', async (t) => {
  const en = await h.ask('UNOBODY', 'DUNOBODY', 'C-000003');
  t.is(messageText(en.body), 'Your chat account is not linked to an employee record. Ask an administrator (#security-desk) to add you.');
  const zh = await h.ask('UNOBODYZH', 'DUNOBODYZH', 'C-000003');
  t.is(messageText(zh.body), '未找到与您的账号对应的员工记录。请联系管理员（#security-desk）开通。');
  const noEmail = await h.ask('UNOEMAIL', 'DUNOEMAIL', 'C-000003');
  t.regex(messageText(noEmail.body), /not linked to an employee record/);
  const refused = await h.auditRecords({ action: 'lookup.refused', reasonCode: 'custos_employee_unknown' }, 3);
  t.is(refused.length >= 3, true);
  t.true(refused.every((r) => (r.actor as { employeeId: unknown }).employeeId === null && (r.customerIds as unknown[]).length === 0));
});

test.serial('frozen and offboarded employees are refused with the reason', async (t) => {
  await h.directory.setStatus(h.employees.financeClerk.employeeId, 'frozen');
  const frozen = await h.ask(h.userId('financeClerk'), h.dmOf('financeClerk'), 'C-000003');
  t.is(messageText(frozen.body), '您的账号已被冻结，暂时无法查询客户。请联系安全团队（#security-desk）。');
  await h.directory.setStatus(h.employees.legalCounsel.employeeId, 'offboarded');
  const gone = await h.ask(h.userId('legalCounsel'), h.dmOf('legalCounsel'), 'C-000003');
  t.is(messageText(gone.body), '您的账号已离职停用，无法查询客户。如有疑问请联系 #security-desk。');
  // An unbound offboarded employee is not bound by the e-mail match either.
  await h.directory.setStatus(h.employees.ordersClerk.employeeId, 'offboarded');
  const unboundGone = await h.ask(h.userId('ordersClerk'), h.dmOf('ordersClerk'), 'C-000003');
  t.regex(messageText(unboundGone.body), /离职停用/);
  t.is((await h.directory.byId(h.employees.ordersClerk.employeeId))?.chat.slack, undefined);
  const records = await h.auditRecords({ action: 'lookup.refused', 'actor.employeeId': { $in: [h.employees.financeClerk.employeeId, h.employees.legalCounsel.employeeId] } }, 2);
  t.deepEqual(records.map((r) => r.reasonCode).sort(), ['custos_employee_frozen', 'custos_employee_offboarded']);
  t.is((await h.auditRecords({ 'meta.stage': 'query', 'actor.employeeId': h.employees.financeClerk.employeeId }, 0, 0)).length, 0, 'no lookup happened');
});

test.serial('malformed and empty queries get usage help', async (t) => {
  for (const [text, problem] of [['', '请输入要查询的内容。'], ['$where: sleep(1000)', '无法识别查询内容的类型。'], ['C-000003 purpose:', '`purpose:` 后面需要写明目的。']] as const) {
    const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), text);
    const body = messageText(reply.body);
    t.true(body.startsWith('无法理解该查询。'), text);
    t.true(body.includes(problem), text);
    t.true(body.includes('用法：/customer'), text);
  }
  // @mention with nothing after it is an empty query too.
  const before = h.fake.callsTo('chat.postEphemeral').length;
  await h.event({ type: 'app_mention', userId: h.userId('salesRep'), channelId: 'C0PUBLIC', text: '<@UBOT>' });
  const eph = await h.fake.waitFor((c) => c.method === 'chat.postEphemeral' && h.fake.callsTo('chat.postEphemeral').indexOf(c) >= before);
  t.true(eph.ok);
  t.regex(messageText(eph.body), /用法：\/customer/);
});
