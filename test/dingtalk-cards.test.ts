// DingTalk interactive cards end to end: card callbacks as DingTalk delivers them (the registered URL's
// token, `{type: 'actionCallback', outTrackId, userId, content}`) POSTed to custos's real /dingtalk/card,
// the real conversation layer, approval service (built here with the DingTalk approval notifier, as the
// platform registry will), Redis, database and audit pipeline, and the fake Open API receiving the
// cards and their in-place updates. Request access → the form card with inputs → two approvers' cards
// → quorum; every copy updated in place; a redelivered click decides once; Deny with a reason; forged
// card callbacks refused with no effect. Last, the routes every bot serves (bot/runtime/service-routes.ts)
// on the DingTalk bot's port: a signed CRM push deleting a customer cancels its pending request, the
// approver's card updated in place; SCIM answers only with its token.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { dingtalkChat, dingtalkSecurityGroup } from '../bot/dingtalk/notifiers.ts';
import { ChannelSecurityAlerts } from '../bot/runtime/security-alerts.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { cardButtons, cardCallback, type DeliveredCard } from './fakes/dingtalk.ts';
import { BotDeletions, DELETED_IN_CRM } from './helpers/bot-deletions.ts';
import { approvalFlows, cardText, DingTalkHarness, INNER_GROUP } from './helpers/dingtalk-bot.ts';
import { LIST, SCIM_TOKEN, SCIM_TOKEN_2, ScimClient } from './helpers/scim.ts';
import { testRedis } from './helpers/services.ts';

const h: DingTalkHarness = new DingTalkHarness(import.meta.url, {
  customers: 120,
  env: { CUSTOS_SCIM_TOKENS: SCIM_TOKEN },
  // CRM sync settings handed to the bot as `custos start` does (a push source), not read from the environment.
  overrides: { flows: approvalFlows(() => h), sync: BotDeletions.pushOnly() },
});
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

let nth = 0;
function customer(): Customer {
  return all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.status !== 'blocked')[nth++]!;
}

const robot = (key: DemoEmployeeKey) => `robot:${h.userId(key)}`;
const newCard = (key: DemoEmployeeKey, before: Set<string>, pred: (c: DeliveredCard) => boolean = () => true) =>
  h.fake.waitForCard((c) => c.space === robot(key) && !before.has(c.outTrackId) && pred(c));
const seen = () => new Set(h.fake.cards.keys());
const updatedTo = (card: DeliveredCard, pattern: RegExp) => h.fake.waitForCard((c) => c.outTrackId === card.outTrackId && c.updates.length > 0 && pattern.test(cardText(c)));

/** `key` looks `customerId` up, clicks Request access, and submits the form card; the request id and the form card. */
async function request(key: DemoEmployeeKey, customerId: string, groups: string[], minutes: string, purpose: string) {
  const lookup = await h.ask(key, customerId);
  let before = seen();
  await h.click(key, lookup, 'access');
  const form = await newCard(key, before, (c) => JSON.parse(c.params.inputs ?? '[]').length > 0);
  before = seen();
  await h.click(key, form, 'form_request', { purpose, duration: minutes, groups });
  const submitted = await updatedTo(form, /#R-[A-P]{10}/);
  const requestId = /#(R-[A-P]{10})/.exec(cardText(submitted))![1]!;
  return { lookup, form: submitted, requestId, before };
}

test.serial('Request access → a form card with inputs → two approvers reach the quorum; every copy updated in place; a redelivered click decides once', async (t) => {
  const c = customer();
  const { form, requestId, before } = await request('salesRep', c.customerId, ['identity'], '30', '核对客户身份');
  t.deepEqual(cardButtons(form), [], 'the submitted form is replaced by what happened and cannot be sent again');
  const head = await newCard('legalHead', before, (x) => cardText(x).includes(requestId));
  const dpo = await newCard('dpo', before, (x) => cardText(x).includes(requestId));
  const own = await newCard('salesRep', before, (x) => cardText(x).includes(requestId));
  for (const part of [c.customerId, '核对客户身份', '30']) t.true(cardText(head).includes(part), `the approver sees ${part}`);
  t.deepEqual(cardButtons(head).map((b) => [b.id, b.value]), [['approve', requestId], ['deny', requestId]]);
  t.deepEqual(cardButtons(own).map((b) => b.id), ['cancel']);

  const headClick = h.clickBody('legalHead', head, 'approve');
  t.is((await h.postCard(headClick)).status, 200);
  await updatedTo(head, /1\/2/);
  t.is(await h.conn.collection('request_decisions').countDocuments({ requestId }), 0, 'one approval is not enough');
  // The DPO's click, delivered four times (DingTalk retries a callback it thinks failed).
  const body = h.clickBody('dpo', dpo, 'approve');
  for (let i = 0; i < 4; i++) t.is((await h.postCard(body)).status, 200);
  for (const copy of [head, dpo, own]) {
    const done = await updatedTo(copy, /已由 .* 批准/);
    t.regex(done.params.footer!, /已由 (诸葛亮, 欧阳明|欧阳明, 诸葛亮) 于 .* 批准/, 'the final state on every copy');
    t.deepEqual(cardButtons(done), [], 'no buttons left on a decided card');
  }
  await h.auditRecords({ requestId, action: 'grant.start' });
  await h.bot.handlers.drain();
  const votes = await h.auditRecords({ requestId, action: 'request.vote' }, 2);
  t.deepEqual(votes.map((r) => (r.actor as { employeeId: string }).employeeId).sort(), [h.employees.legalHead.employeeId, h.employees.dpo.employeeId].sort(), 'one vote each, the redelivered click once');
  t.is((await h.auditRecords({ requestId, action: 'request.approve' })).length, 1, 'one decision event');
  t.is((await h.auditRecords({ requestId, action: 'grant.start' })).length, 1);
  t.is(await h.conn.collection('request_decisions').countDocuments({ requestId }), 1, 'one decision');
  t.is(h.logLines.filter((l) => l.includes('duplicate card callback dropped')).length, 3);
  // A button the decided card no longer shows is refused before anything runs.
  t.is((await h.postCard(headClick)).status, 401, 'the approver\'s Approve, clicked again on the decided card');
  t.is((await h.postCard(body)).status, 401, 'a redelivery after the decision finds no button left: refused, no effect');
  t.is(await h.conn.collection('request_decisions').countDocuments({ requestId }), 1);
});

test.serial('Deny asks for a reason on a form card: an empty one is refused beside the form, a reason denies and the requester reads it', async (t) => {
  const c = customer();
  const { requestId, before } = await request('salesRep', c.customerId, ['contact'], '60', '回访客户');
  const lead = await newCard('salesLeadEast', before, (x) => cardText(x).includes(requestId));
  let mark = seen();
  await h.click('salesLeadEast', lead, 'deny');
  const denyForm = await newCard('salesLeadEast', mark, (x) => JSON.parse(x.params.inputs ?? '[]').some((i: { name: string }) => i.name === 'reason'));
  mark = seen();
  await h.click('salesLeadEast', denyForm, 'form_deny', { reason: '  ' });
  const problem = await newCard('salesLeadEast', mark);
  t.is(problem.params.tone, 'refusal');
  t.regex(cardText(problem), /理由/);
  mark = seen();
  await h.click('salesLeadEast', denyForm, 'form_deny', { reason: '不属于本区域' });
  await updatedTo(lead, /拒绝/);
  const told = await newCard('salesRep', mark, (x) => cardText(x).includes('不属于本区域'));
  t.true(cardText(told).includes(requestId));
  const denials = await h.auditRecords({ requestId, action: 'request.deny' });
  t.is(denials.length, 1);
  t.is((denials[0]!.actor as { employeeId: string }).employeeId, h.employees.salesLeadEast.employeeId);
});

const FORGERIES = ['no_token', 'wrong_token', 'unknown_card', 'not_yours', 'other_request', 'invented_action', 'wrong_corp', 'malformed_content', 'stale_button'];

test.serial('1,008 forged card callbacks are refused with 401 and leave nothing behind', async (t) => {
  const c = customer();
  const { requestId, before } = await request('salesRep', c.customerId, ['contact'], '60', '核对地址');
  const lead = await newCard('salesLeadEast', before, (x) => cardText(x).includes(requestId));
  const decided = [...h.fake.cards.values()].find((x) => x.space === robot('legalHead') && x.updates.length > 0 && cardButtons(x).length === 0 && /R-/.test(cardText(x)));
  t.truthy(decided, 'a decided card from the first test');
  await h.bot.handlers.drain();
  const redis = testRedis();
  const events = () => h.conn.collection('audit_events').countDocuments({});
  const snapshot = async () => ({ calls: h.fake.calls.length, cards: h.fake.cards.size, events: await events(), jobs: await redis.get(`${h.prefix}:audit:id`), decisions: await h.conn.collection('request_decisions').countDocuments({}) });
  const start = await snapshot();
  const genuine = h.clickBody('salesLeadEast', lead, 'approve');
  const click = (o: Partial<Parameters<typeof cardCallback>[0]>) => cardCallback({ outTrackId: lead.outTrackId, userId: h.userId('salesLeadEast'), corpId: h.fake.corpId, params: { action: 'approve', value: requestId }, ...o });
  const forge = (i: number): { kind: string; body: string; token?: string | null } => {
    const kind = FORGERIES[i % FORGERIES.length]!;
    switch (kind) {
      case 'no_token': return { kind, body: genuine, token: null };
      case 'wrong_token': return { kind, body: genuine, token: `${'x'.repeat(30)}${i}` };
      case 'unknown_card': return { kind, body: click({ outTrackId: `custos-${i}-0000-guess` }) };
      case 'not_yours': return { kind, body: click({ userId: h.userId(i % 2 ? 'salesRep' : 'dpo') }) };
      case 'other_request': return { kind, body: click({ params: { action: 'approve', value: `R-ABCDEFGHI${'KLMNOP'[i % 6]}` } }) };
      case 'invented_action': return { kind, body: click({ params: { action: ['review_revoke', 'security_unfreeze', 'form_deny', 'approve '][i % 4]!, value: requestId } }) };
      case 'wrong_corp': return { kind, body: click({ corpId: 'dingothercorp1' }) };
      case 'malformed_content': return { kind, body: genuine.replace('actionCallback', ['actionCallbak', 'x'][i % 2]!) };
      default: return { kind, body: cardCallback({ outTrackId: decided!.outTrackId, userId: h.userId('legalHead'), corpId: h.fake.corpId, params: { action: 'approve', value: /R-[A-P]{10}/.exec(cardText(decided!))![0] } }) };
    }
  };
  // Eight at a time, as DingTalk's and an attacker's requests would arrive: concurrency must not open a gap.
  for (let i = 0; i < 1008; i += 8) {
    await Promise.all(Array.from({ length: 8 }, async (_, k) => {
      const req = forge(i + k);
      const res = await h.postCard(req.body, req.token === undefined ? undefined : req.token);
      if (res.status !== 401) t.fail(`${req.kind} #${i + k} answered ${res.status}`);
    }));
  }
  t.deepEqual(await snapshot(), start, 'no audit event, job, decision, card or API call');
  // The genuine click after the battery goes through: the battery did not spend it.
  t.is((await h.postCard(genuine)).status, 200);
  await updatedTo(lead, /批准/);
  t.is((await h.auditRecords({ requestId, action: 'request.approve' })).length, 1);
  redis.disconnect();
});

test.serial('a security alert goes to the security group with its three buttons; the admin\'s click updates it in place, anyone else\'s is refused and recorded', async (t) => {
  const alerts = new ChannelSecurityAlerts({ destination: dingtalkSecurityGroup(h.bot.cards, INNER_GROUP), directory: h.directory, locale: 'zh-CN' });
  const subject = h.employees.supportAgent;
  await alerts.alert({ employeeId: subject.employeeId, detector: 'volume' as never, count: 40, max: 30, windowMinutes: 10, frozen: true, at: h.clock.now(), auditQuery: `by ${subject.employeeId} since:10m` });
  const card = await h.fake.waitForCard((c) => c.space === `group:${INNER_GROUP}` && cardText(c).includes(subject.employeeId));
  t.deepEqual(cardButtons(card).map((b) => b.id), ['security_unfreeze', 'security_keep', 'security_revoke']);
  const mark = seen();
  await h.click('salesRep', card, 'security_keep');
  // (Not the previous test's approval notice to the same user, which a loaded machine may deliver late.)
  const refusal = await newCard('salesRep', mark, (c) => !cardText(c).includes('#R-'));
  t.is(cardText(refusal), '您无权处理安全告警，此次操作已记录。');
  t.is(card.updates.length, 0, 'a refused click changes nobody\'s card');
  const denied = await h.auditRecords({ 'actor.employeeId': h.employees.salesRep.employeeId, action: 'admin.freeze', decision: 'denied' });
  t.is(denied.length, 1, 'the refusal is recorded, once');
  await h.click('admin', card, 'security_keep');
  const settled = await updatedTo(card, /陈静/);
  t.deepEqual(cardButtons(settled), [], 'acted on: no buttons left for anyone in the group');
});

test.serial('the review notifier posts Keep / Revoke cards and updates them in place; a stale Keep is refused', async (t) => {
  const notifier = dingtalkChat(h.bot.cards, h.logger, undefined).reviews!;
  const view = { reviewId: 'RV-20260630.G-AAAAAAAAAA', title: '访问复核', lines: [{ label: '授权', value: 'G-AAAAAAAAAA' }], status: '待复核', buttons: [{ decision: 'keep' as const, label: '保留', style: 'primary' as const }, { decision: 'revoke' as const, label: '撤销', style: 'danger' as const }] };
  const ref = (await notifier.post((await h.directory.byId(h.employees.salesHead.employeeId))!, view))!;
  t.like(ref, { platform: 'dingtalk', channel: h.userId('salesHead') });
  const card = h.fake.cards.get(ref.ts)!;
  const keep = h.clickBody('salesHead', card, 'review_keep');
  t.deepEqual(cardButtons(card).map((b) => [b.id, b.value]), [['review_keep', view.reviewId], ['review_revoke', view.reviewId]]);
  await notifier.update(ref, { ...view, status: '已由 王强 保留', buttons: [] });
  t.is(card.params.footer, '已由 王强 保留');
  t.deepEqual(cardButtons(card), []);
  t.is((await h.postCard(keep)).status, 401, 'the settled card\'s old button');
});

test.serial('a delete line pushed to the DingTalk bot deletes the customer and cancels the pending request; the approver\'s card says so in place', async (t) => {
  const c = customer();
  const { requestId, before } = await request('salesRep', c.customerId, ['contact'], '60', '核对地址');
  const lead = await newCard('salesLeadEast', before, (x) => cardText(x).includes(requestId));
  t.deepEqual(await new BotDeletions(h.clock).push(h.bot.url, h.conn, c.customerId), { status: 200, results: [{ line: 1, id: 'ERP-77', status: 'deleted' }] });
  const cancelled = await updatedTo(lead, DELETED_IN_CRM);
  t.deepEqual(cardButtons(cancelled), [], 'no Approve or Deny left on a cancelled request');
  t.like(await new MongoRequestStore(h.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  t.is(await h.customers.get(c.customerId), null);
});

test.serial('SCIM on the DingTalk bot: a token it was not given is refused 401; the configured one lists users', async (t) => {
  t.is((await new ScimClient(h.bot.url, SCIM_TOKEN_2).get('/Users')).status, 401);
  const list = await new ScimClient(h.bot.url).get('/Users');
  t.is(list.status, 200);
  t.deepEqual(list.body.schemas, [LIST]);
});
