// DingTalk in Stream mode end to end: the real bot (DINGTALK_MODE=stream) dials the fake Stream gateway
// (test/fakes/dingtalk-stream.ts: connections/open on the fake Open API, then a ticketed WebSocket), which
// pushes robot messages and card clicks as DingTalk's frames and records custos's answers. Behind the
// socket: the real handlers, conversation layer, approval service, Redis, database and audit pipeline, and
// the fake Open API receiving the cards. A lookup; an approval decided by a click; a dropped socket and
// DingTalk's own `disconnect` followed by a new connection that receives what was sent meanwhile; a
// message and a click redelivered four times acting once; `user_leave_org` on the event subscription
// offboarding as over HTTP, once however often it arrives, and a malformed or foreign event changing nothing.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { loadDingTalkConfig } from '../bot/dingtalk/config.ts';
import { correlationIdOf } from '../bot/dingtalk/handlers.ts';
import { TOPIC_CARD, TOPIC_ROBOT } from '../bot/dingtalk/stream-callbacks.ts';
import { DingTalkStream } from '../bot/dingtalk/stream.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { cardButtons, FakeDingTalkApi, robotMessage, type DeliveredCard } from './fakes/dingtalk.ts';
import { FakeDingTalkStream } from './fakes/dingtalk-stream.ts';
import { approvalFlows, cardText, DingTalkHarness } from './helpers/dingtalk-bot.ts';

let stream!: FakeDingTalkStream;
const h: DingTalkHarness = new DingTalkHarness(import.meta.url, {
  customers: 60,
  // Stream mode has no callback URL: the HTTP-only card callback token is unset.
  env: { DINGTALK_MODE: 'stream', DINGTALK_CARD_CALLBACK_TOKEN: '' },
  // DingTalk closes a socket 10 s after its `disconnect`; 2 s here (the client's behaviour is the same).
  beforeBot: async () => { stream = new FakeDingTalkStream(h.fake, 2_000); await stream.start(); },
  overrides: { flows: approvalFlows(() => h) },
});
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); await stream?.stop(); });

let nth = 0;
const customer = () => all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.status !== 'blocked')[nth++]!;
const seen = () => new Set(h.fake.cards.keys());
const newCard = (key: DemoEmployeeKey, before: Set<string>, pred: (c: DeliveredCard) => boolean = () => true) =>
  h.fake.waitForCard((c) => c.space === `robot:${h.userId(key)}` && !before.has(c.outTrackId) && pred(c));
const OK = { code: 200, message: 'OK', data: '{"response":null}' };

/** `key` types `text` in their 1:1 robot chat; DingTalk pushes it on the Stream. */
function say(key: DemoEmployeeKey, text: string, msgId?: string): string {
  return stream.push(TOPIC_ROBOT, h.message(h.userId(key), text, msgId ? { msgId } : {}));
}

/**
 * A later lookup, waited for to the end: its events in the log mean every earlier one is there too (one
 * appender, in queue order). Returns how many events one lookup delivered once leaves.
 */
async function settled(): Promise<number> {
  await h.bot.handlers.drain();
  const c = customer();
  const before = seen();
  const msgId = `msgMarker${Date.now()}${nth}`;
  say('supportAgent', c.customerId, msgId);
  await newCard('supportAgent', before);
  await h.auditRecords({ action: 'lookup', customerIds: c.customerId });
  await h.bot.handlers.drain();
  return (await h.auditRecords({ correlationId: correlationIdOf(msgId) })).length;
}

/** `key` clicks button `id` on `card`; DingTalk pushes the click on the Stream. */
function click(key: DemoEmployeeKey, card: DeliveredCard, id: string, inputs: Record<string, unknown> = {}): string {
  return stream.push(TOPIC_CARD, h.clickBody(key, card, id, inputs));
}

test('DINGTALK_MODE: http or stream; the HTTP-only card callback settings are refused in stream mode, every problem at once', (t) => {
  const base = { DINGTALK_APP_KEY: 'dingabcdef123456', DINGTALK_APP_SECRET: 'x'.repeat(32), DINGTALK_CARD_TEMPLATE_ID: 'tpl.schema' };
  t.is(loadDingTalkConfig(base).mode, 'http');
  t.is(loadDingTalkConfig({ ...base, DINGTALK_MODE: 'stream' }).mode, 'stream');
  const err = t.throws(() => loadDingTalkConfig({ ...base, DINGTALK_MODE: 'socket', DINGTALK_HTTP_PORT: 'x' }));
  t.regex(err.message, /2 problems/);
  t.regex(err.message, /DINGTALK_MODE must be http .* or stream/);
  const stray = t.throws(() => loadDingTalkConfig({ ...base, DINGTALK_MODE: 'stream', DINGTALK_CARD_CALLBACK_TOKEN: 'a'.repeat(32), DINGTALK_CARD_ROUTE_KEY: 'custos' }));
  t.regex(stray.message, /2 problems/);
  for (const name of ['DINGTALK_CARD_CALLBACK_TOKEN', 'DINGTALK_CARD_ROUTE_KEY']) t.true(stray.message.includes(`${name} is for HTTP mode`), name);
});

test('a gateway that refuses the app\'s credentials fails the start as a configuration error', async (t) => {
  const client = new DingTalkStream({ settings: { apiUrl: h.fake.url, appKey: h.fake.appKey, appSecret: 'another-secret-0123456789' }, topics: { [TOPIC_ROBOT]: async () => 'accepted' }, logger: h.logger });
  const err = await t.throwsAsync(client.start());
  t.true(err instanceof CustosError && err.code === ErrorCode.ConfigInvalid);
  t.false(err!.message.includes('another-secret'), 'the secret is not in the error');
  await client.close();
});

test('the heartbeat: a socket whose gateway stops answering pings is ended and reconnected; one interval per socket, none after close', async (t) => {
  // A gateway of its own: the fake takes one connection at a time, and the bot's holds the shared one.
  const api = new FakeDingTalkApi();
  await api.start();
  const gateway = new FakeDingTalkStream(api);
  await gateway.start();
  t.teardown(async () => { await gateway.stop(); await api.stop(); });
  const live = new Set<unknown>();
  const timers = {
    setInterval: ((fn: () => void, ms: number) => { const id = setInterval(fn, ms); live.add(id); return id; }) as typeof setInterval,
    clearInterval: ((id: NodeJS.Timeout) => { live.delete(id); clearInterval(id); }) as typeof clearInterval,
  };
  const client = new DingTalkStream({
    settings: { apiUrl: api.url, appKey: api.appKey, appSecret: api.appSecret }, topics: { [TOPIC_ROBOT]: async () => 'accepted' }, logger: h.logger, heartbeat: { everyMs: 300, timers },
  });
  await client.start();
  for (let n = 1; n <= 4; n++) {
    await gateway.waitForConnections(n);
    if (n < 4) gateway.drop();
  }
  await gateway.waitFor(() => live.size > 0, 'the fourth socket\'s heartbeat'); // the client sees `open` after the gateway
  t.is(live.size, 1, 'after three reconnects, one heartbeat runs: the closed sockets\' ended with them');
  const before = gateway.connections;
  gateway.silence();
  await gateway.waitForConnections(before + 1);
  await gateway.waitFor(() => live.size > 0, 'the new socket\'s heartbeat');
  t.true(h.logLines.some((l) => l.includes('no pong within the heartbeat')));
  t.is(live.size, 1);
  await client.close();
  t.is(live.size, 0, 'closed: no heartbeat left');
});

test.serial('connected with the app\'s credentials for the two callback topics; pings echoed; a lookup over the Stream answers with a card, the frame acknowledged', async (t) => {
  t.like(stream.opens[0], { clientId: h.fake.appKey });
  t.deepEqual(stream.opens[0]!.subscriptions, [{ type: 'EVENT', topic: '*' }, { type: 'CALLBACK', topic: TOPIC_ROBOT }, { type: 'CALLBACK', topic: TOPIC_CARD }]);
  const ping = stream.ping();
  t.like((await stream.waitForAcks(ping))[0], { code: 200, data: JSON.stringify({ opaque: ping }) });

  const c = all.find((x) => x.region === 'east')!;
  const before = seen();
  const id = say('supportAgent', c.customerId);
  const card = await newCard('supportAgent', before);
  t.true(cardText(card).includes(c.customerId));
  t.like((await stream.waitForAcks(id))[0], OK);
  const records = await h.auditRecords({ 'actor.platform': 'dingtalk', action: 'lookup', customerIds: c.customerId });
  t.is(records.length, 1);
  t.is(records[0]!.channelKind, 'dm');
  const created = h.fake.callsOf('card.createAndDeliver').find((x) => x.body.outTrackId === card.outTrackId)!;
  t.is(created.body.callbackType, 'STREAM', 'clicks on this card come back on the Stream');
  t.false('callbackRouteKey' in created.body);
  t.is((await h.post(JSON.stringify(h.message(h.userId('supportAgent'), c.customerId)))).status, 404, 'no HTTP callback endpoint in stream mode');
  t.deepEqual(stream.malformed, []);
});

test.serial('an approval over the Stream: Request access → the form → the approver\'s Approve, redelivered four times, decides once', async (t) => {
  const c = customer();
  let before = seen();
  say('salesRep', c.customerId);
  const lookup = await newCard('salesRep', before);
  before = seen();
  click('salesRep', lookup, 'access');
  const form = await newCard('salesRep', before, (x) => JSON.parse(x.params.inputs ?? '[]').length > 0);
  before = seen();
  click('salesRep', form, 'form_request', { purpose: '核对地址', duration: '60', groups: ['contact'] });
  const submitted = await h.fake.waitForCard((x) => x.outTrackId === form.outTrackId && /#R-[A-P]{10}/.test(cardText(x)));
  const requestId = /#(R-[A-P]{10})/.exec(cardText(submitted))![1]!;
  const lead = await newCard('salesLeadEast', before, (x) => cardText(x).includes(requestId));
  t.deepEqual(cardButtons(lead).map((b) => [b.id, b.value]), [['approve', requestId], ['deny', requestId]]);

  const approve = click('salesLeadEast', lead, 'approve');
  for (let i = 0; i < 3; i++) stream.redeliver(approve);
  const acks = await stream.waitForAcks(approve, 4);
  for (const a of acks) t.like(a, OK);
  const decided = await h.fake.waitForCard((x) => x.outTrackId === lead.outTrackId && x.updates.length > 0 && /批准/.test(cardText(x)));
  t.deepEqual(cardButtons(decided), [], 'no buttons left on the decided card');
  await h.auditRecords({ requestId, action: 'grant.start' });
  await h.bot.handlers.drain();
  t.is((await h.auditRecords({ requestId, action: 'request.vote' })).length, 1, 'one vote');
  t.is((await h.auditRecords({ requestId, action: 'request.approve' })).length, 1, 'one decision event');
  t.is(await h.conn.collection('request_decisions').countDocuments({ requestId }), 1);
  t.is(h.logLines.filter((l) => l.includes('duplicate card callback dropped')).length, 3);
});

test.serial('a robot message delivered four times gives one reply and one set of audit events', async (t) => {
  const c = customer();
  const before = seen();
  const msgId = `msgStreamDup${Date.now()}`;
  const id = say('supportAgent', c.customerId, msgId);
  for (let i = 0; i < 2; i++) stream.redeliver(id);
  // DingTalk may also push the same message again under a new frame id: the msgId still decides.
  const again = say('supportAgent', c.customerId, msgId);
  for (const a of [...await stream.waitForAcks(id, 3), ...await stream.waitForAcks(again)]) t.like(a, OK);
  await newCard('supportAgent', before);
  const marker = await settled();
  t.is([...h.fake.cards.keys()].filter((k) => !before.has(k)).length, 2, 'one reply, and the later lookup\'s');
  const events = await h.auditRecords({ correlationId: correlationIdOf(msgId) });
  t.is(events.length, marker, 'as many events as the later lookup delivered once');
  t.is(h.handled.filter((x) => x === msgId).length, 1);
  t.is(h.logLines.filter((l) => l.includes('duplicate delivery dropped')).length, 3);
});

test.serial('a dropped socket reconnects with a new ticket, and a message sent during the drop arrives after it; so does one after DingTalk\'s disconnect', async (t) => {
  const opens = stream.opens.length;
  const connections = stream.connections;
  stream.drop();
  const c = customer();
  let before = seen();
  const during = say('supportAgent', c.customerId);
  t.is(stream.acksOf(during).length, 0, 'nobody to deliver to yet');
  await stream.waitForConnections(connections + 1);
  const card = await newCard('supportAgent', before);
  t.true(cardText(card).includes(c.customerId));
  t.like((await stream.waitForAcks(during))[0], { ...OK, connection: connections + 1 });
  t.is(stream.opens.length, opens + 1, 'a new connections/open for the new ticket');
  t.is(stream.refusedHandshakes, 0, 'no ticket used twice');

  // DingTalk's graceful rotation: the SDK waits for DingTalk to close the socket, then opens the next one.
  stream.disconnect();
  await stream.waitForConnections(connections + 2);
  t.deepEqual(stream.disconnectedBy, ['gateway'], 'the old socket kept until DingTalk closed it');
  t.is(stream.opens.length, opens + 2);
  const next = customer();
  before = seen();
  const after = say('supportAgent', next.customerId);
  t.true(cardText(await newCard('supportAgent', before)).includes(next.customerId));
  t.like((await stream.waitForAcks(after))[0], { ...OK, connection: connections + 2 });
  t.deepEqual(stream.malformed, []);
});

test.serial('a frame for another robot or organisation, or a click on a card custos never delivered, is acknowledged and does nothing; a frame that is not one is dropped', async (t) => {
  await settled();
  const events = await h.conn.collection('audit_events').countDocuments({});
  const cards = h.fake.cards.size;
  const other = robotMessage({ userId: h.userId('supportAgent'), conversationId: 'cid-x', text: 'C-000001', robotCode: 'dingotherrobot01', corpId: h.fake.corpId });
  const elsewhere = robotMessage({ userId: h.userId('supportAgent'), conversationId: 'cid-x', text: 'C-000001', robotCode: h.fake.appKey, corpId: 'dingothercorp1' });
  const forged = JSON.stringify({ type: 'actionCallback', outTrackId: 'custos-guessed', corpId: h.fake.corpId, userId: h.userId('admin'), content: JSON.stringify({ cardPrivateData: { params: { action: 'approve', value: 'R-AAAAAAAAAA' } } }) });
  const ids = [stream.push(TOPIC_ROBOT, other), stream.push(TOPIC_ROBOT, elsewhere), stream.push(TOPIC_CARD, forged)];
  // Not JSON, and a CALLBACK whose topic is `error` (the SDK emits each topic as an event): dropped, no crash.
  stream.sendRaw('{not json');
  stream.sendRaw(JSON.stringify({ specVersion: '1.0', type: 'CALLBACK', headers: { topic: 'error', messageId: 'm-error' }, data: '{}' }));
  for (const id of ids) t.like((await stream.waitForAcks(id))[0], OK);
  const marker = await settled();
  t.is(h.fake.cards.size, cards + 1, 'only the later lookup\'s card');
  t.is(await h.conn.collection('audit_events').countDocuments({}), events + marker, 'only the later lookup\'s events');
  for (const reason of ['wrong_robot', 'wrong_corp', 'unknown_card']) t.true(h.logLines.some((l) => l.includes(`"reason":"${reason}"`)), reason);
  t.is(h.logLines.filter((l) => l.includes('"reason":"malformed_frame"')).length, 2);
});

test.serial('user_leave_org over the Stream offboards the bound employee, audited once however often it arrives; a malformed or foreign event is acknowledged and changes nothing', async (t) => {
  const leaver = h.employees.marketingStaff;
  const bystander = h.employees.dpo;
  const SUCCESS = { code: 200, message: 'OK', data: JSON.stringify({ status: 'SUCCESS' }) };
  const leave = (userId: unknown, o: { eventId: string; eventCorpId?: string }) => stream.pushEvent({
    eventType: 'user_leave_org', eventCorpId: h.fake.corpId, ...o, data: { timeStamp: String(Date.now()), userId, optStaffId: 'admin0001' },
  });
  const refused = [
    leave(h.userId('dpo'), { eventId: 'evt-not-a-list' }), // userId must be the list of leavers
    leave([h.userId('dpo')], { eventId: 'evt-other-corp', eventCorpId: 'dingotherorg0001' }),
    leave([h.userId('dpo')], { eventId: '' }), // no eventId in the headers
    stream.pushEvent({ eventType: 'user_leave_org', eventId: 'evt-not-json', eventCorpId: h.fake.corpId, data: '{"userId": [' }),
  ];
  for (const id of refused) t.like((await stream.waitForAcks(id))[0], SUCCESS, 'a refusal is final: acknowledged, not retried');
  t.is((await h.directory.byId(bystander.employeeId))?.status, 'active', 'no malformed or foreign event offboarded anyone');

  const id = leave([h.userId('marketingStaff')], { eventId: 'evt-leave-1' });
  t.like((await stream.waitForAcks(id))[0], SUCCESS);
  t.is((await h.directory.byId(leaver.employeeId))?.status, 'offboarded');
  const records = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': leaver.employeeId });
  t.is((records[0]!.actor as { platform: string }).platform, 'dingtalk');
  stream.redeliver(id);
  stream.redeliver(id);
  t.like((await stream.waitForAcks(id, 3))[2], SUCCESS, 'a redelivery is acknowledged');
  await settled();
  t.is((await h.auditRecords({ action: 'admin.offboard', 'meta.subject': leaver.employeeId })).length, 1, 'offboarded once');
  t.is((await h.auditRecords({ action: 'admin.offboard', 'meta.subject': bystander.employeeId }, 0, 1_000)).length, 0);
  t.deepEqual(stream.malformed, []);
});
