// The DingTalk adapter end to end: robot messages signed as DingTalk signs them, POSTed to custos's
// real callback endpoint, the real conversation layer, policy engine, Redis, database and audit
// pipeline, and the fake DingTalk Open API (test/fakes/dingtalk.ts) that receives the cards.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { ErrorCode } from '../bot/core/errors.ts';
import { principalOf } from '../bot/core/identity.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import { applyDecision } from '../bot/core/view.ts';
import { loadDingTalkConfig } from '../bot/dingtalk/config.ts';
import { correlationIdOf } from '../bot/dingtalk/handlers.ts';
import { DingTalkApi, DingTalkApiError } from '../bot/dingtalk/api.ts';
import { auditQueryService } from '../bot/runtime/audit-query.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { encryptedEvent, signedHeaders } from './fakes/dingtalk.ts';
import { cardFields, cardText, DingTalkHarness, EVENT_AES_KEY, EVENT_TOKEN, INNER_GROUP, OTHER_ORG_GROUP } from './helpers/dingtalk-bot.ts';
import { testRedis } from './helpers/services.ts';
import { shownValue } from './helpers/shown-value.ts';

const h: DingTalkHarness = new DingTalkHarness(import.meta.url, {
  customers: 80, unbound: ['salesRepSouth'], innerMembers: ['salesRep', 'supportAgent', 'marketingStaff'],
  // Audit queries as `custos start` serves them (every registered platform's mention form).
  overrides: { flows: async (s) => ({ audit: await auditQueryService(s, h.config) }) },
});
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

async function expectedFields(key: DemoEmployeeKey, c: Customer, channel: 'dm' | 'public' | 'shared' = 'dm'): Promise<Map<string, string>> {
  const e = h.employees[key];
  const engine = createPolicyEngine(loadPolicy(h.config.policyDir));
  const decision = await engine.decide(principalOf(e), 'lookup', { channel, at: h.clock.now() }, c);
  return new Map(applyDecision(c, decision).map((f) => [tr(`field.${f.field}`, e.locale), shownValue(f, e.locale)]));
}

const dingtalkEvents = async () => (await h.conn.collection('audit_events').countDocuments({ 'actor.platform': 'dingtalk' }));

test('the DingTalk section reports every problem at once, each with how to fix it', (t) => {
  const err = t.throws(() => loadDingTalkConfig({ DINGTALK_APP_SECRET: 'short', DINGTALK_API_URL: 'ftp://x', DINGTALK_HTTP_PORT: '70000' }));
  for (const name of ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET', 'DINGTALK_CARD_TEMPLATE_ID', 'DINGTALK_API_URL', 'DINGTALK_HTTP_PORT']) t.true(err.message.includes(name), name);
  t.regex(err.message, /5 problems/);
  const ok = loadDingTalkConfig({ DINGTALK_APP_KEY: 'dingabcdef123456', DINGTALK_APP_SECRET: 'x'.repeat(32), DINGTALK_CARD_TEMPLATE_ID: 'tpl.schema' });
  t.is(ok.robotCode, 'dingabcdef123456', 'an internal app\'s robot code is its AppKey');
  t.is(ok.apiUrl, 'https://api.dingtalk.com');
});

test.serial('a 1:1 lookup answers with a card of exactly the policy\'s fields and masks, in Chinese, audited', async (t) => {
  const c = all.find((x) => x.region === 'east')!;
  const card = await h.ask('supportAgent', c.customerId);
  t.deepEqual(cardFields(card), await expectedFields('supportAgent', c));
  t.is(card.params.tone, 'card');
  t.true(cardText(card).includes('审计编号'));
  const records = await h.auditRecords({ 'actor.platform': 'dingtalk', action: 'lookup', customerIds: c.customerId });
  t.is(records.length, 1);
  t.is((records[0]!.actor as { platformUserId: string }).platformUserId, h.userId('supportAgent'));
  t.is((records[0]!.actor as { employeeId: string }).employeeId, h.employees.supportAgent.employeeId);
  t.is(records[0]!.channelKind, 'dm');
});

test.serial('an unbound employee is recognised once by the contact API\'s e-mail, then by the bound userid', async (t) => {
  const card = await h.ask('salesRepSouth', all[0]!.customerId);
  t.false(cardText(card).includes(tr(ErrorCode.EmployeeUnknown, 'zh-CN', { contact: '#security-desk' })));
  t.is((await h.directory.byChatId('dingtalk', h.userId('salesRepSouth')))?.employeeId, h.employees.salesRepSouth.employeeId);
  const reads = h.fake.callsOf('user.get').length;
  await h.ask('salesRepSouth', all[1]!.customerId);
  t.is(h.fake.callsOf('user.get').length, reads, 'no second contact lookup');
});

test.serial('an unknown user is refused, told whom to ask, and the refusal is audited', async (t) => {
  const card = await h.ask('dtstranger', 'C-000001');
  t.is(cardText(card), tr(ErrorCode.EmployeeUnknown, 'zh-CN', { contact: '#security-desk' }));
  t.is(card.params.tone, 'refusal');
  const records = await h.auditRecords({ action: 'lookup.refused', 'actor.platformUserId': 'dtstranger' });
  t.is(records[0]!.reasonCode, ErrorCode.EmployeeUnknown);
  t.is((records[0]!.actor as { platform: string }).platform, 'dingtalk');
});

const KINDS = ['bad_sign', 'other_secret', 'stale', 'future', 'altered', 'missing', 'malformed_ts', 'wrong_robot', 'wrong_corp'];

/** A small deterministic PRNG: the battery is the same every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

test.serial('1,008 forged callbacks are refused with 401 and leave nothing behind', async (t) => {
  const genuineBody = JSON.stringify(h.message(h.userId('supportAgent'), all[2]!.customerId));
  const genuine = signedHeaders(h.fake.appSecret);
  t.is((await h.post(genuineBody, genuine)).status, 200);
  await h.auditRecords({ 'actor.platform': 'dingtalk', action: 'lookup', customerIds: all[2]!.customerId });
  await h.bot.handlers.drain();
  const redis = testRedis();
  const before = { calls: h.fake.calls.length, cards: h.fake.cards.size, handled: h.handled.length, events: await dingtalkEvents(), jobs: await redis.get(`${h.prefix}:audit:id`) };
  const rnd = prng(17);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const now = Date.now();
  const kinds: Record<string, number> = {};
  for (let i = 0; i < 1008; i++) {
    const body = JSON.stringify(h.message(pick([h.userId('supportAgent'), h.userId('dpo'), 'dtx']), pick(['C-000001', 'help', all[3]!.customerId])));
    const kind = KINDS[i % KINDS.length]!;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const skew = 3_600_001 + Math.floor(rnd() * 86_400_000);
    let req: { body: string; headers: Record<string, string> };
    switch (kind) {
      case 'bad_sign': req = { body, headers: { timestamp: String(now), sign: Buffer.from(Array.from({ length: 32 }, () => Math.floor(rnd() * 256))).toString('base64') } }; break;
      case 'other_secret': req = { body, headers: signedHeaders(`another-app-secret-${Math.floor(rnd() * 1e9)}`) }; break;
      case 'stale': req = { body, headers: signedHeaders(h.fake.appSecret, now - skew) }; break;
      case 'future': req = { body, headers: signedHeaders(h.fake.appSecret, now + skew) }; break;
      // The genuine request's signature with another body: another user, text or message id.
      case 'altered': req = { body: genuineBody.replace(pick([h.userId('supportAgent'), all[2]!.customerId, '"msgtype"']), pick([h.userId('dpo'), 'C-000009', '"msgtype" '])), headers: genuine }; break;
      case 'missing': req = { body, headers: pick([{ timestamp: String(now) }, { sign: genuine.sign }, {}]) as Record<string, string> }; break;
      case 'malformed_ts': req = { body, headers: { ...signedHeaders(h.fake.appSecret), timestamp: pick([`${now}.5`, `0x${now.toString(16)}`, String(Math.floor(now / 1000)), ` ${now}`]) } }; break;
      case 'wrong_robot': req = { body: body.replace(`"robotCode":"${h.fake.appKey}"`, '"robotCode":"dingotherrobot01"'), headers: signedHeaders(h.fake.appSecret) }; break;
      default: req = { body: body.replace(`"chatbotCorpId":"${h.fake.corpId}"`, '"chatbotCorpId":"dingothercorp1"'), headers: signedHeaders(h.fake.appSecret) };
    }
    const res = await h.post(req.body, req.headers);
    if (res.status !== 401) t.fail(`${kind} #${i} answered ${res.status}`);
  }
  t.true(KINDS.every((k) => kinds[k] === 112), JSON.stringify(kinds));
  // A genuine message after the battery: once its audit event is in, anything the battery caused would be too.
  const sentinelBody = h.message(h.userId('dpo'), all[4]!.customerId);
  t.is((await h.post(JSON.stringify(sentinelBody))).status, 200);
  const sentinel = await h.auditRecords({ correlationId: correlationIdOf(sentinelBody.msgId as string) });
  await h.bot.handlers.drain();
  t.is(await dingtalkEvents(), before.events + sentinel.length, 'no audit event but the sentinel\'s');
  t.is(Number(await redis.get(`${h.prefix}:audit:id`)), Number(before.jobs) + sentinel.length, 'no audit job but the sentinel\'s');
  t.is(h.fake.cards.size, before.cards + 1, 'no card but the sentinel\'s');
  t.is(h.handled.length, before.handled + 1);
  t.deepEqual(h.fake.calls.slice(before.calls).map((c) => c.api).filter((a) => a !== 'card.createAndDeliver'), [], 'no other API call');
  redis.disconnect();
});

test.serial('the same message delivered 4 times is answered once and audited once', async (t) => {
  const c = all[5]!;
  const body = JSON.stringify(h.message(h.userId('salesRep'), c.customerId));
  const msgId = (JSON.parse(body) as { msgId: string }).msgId;
  const first = signedHeaders(h.fake.appSecret);
  const space = `robot:${h.userId('salesRep')}`;
  const cardsBefore = h.fake.cardsIn(space).length;
  // DingTalk's own retries come with new timestamps; a network-level repeat with the same ones.
  const deliveries = [first, first, signedHeaders(h.fake.appSecret, Date.now() + 1), signedHeaders(h.fake.appSecret, Date.now() + 2)];
  for (const headers of deliveries) t.is((await h.post(body, headers)).status, 200);
  await h.fake.waitForCard((card) => card.space === space && h.fake.cardsIn(space).length > cardsBefore);
  await h.bot.handlers.drain();
  const records = await h.auditRecords({ correlationId: correlationIdOf(msgId) });
  t.true(records.length >= 1);
  // A later message by the same user: its card and events in means the repeats had their chance.
  await h.ask('salesRep', all[6]!.customerId);
  await h.bot.handlers.drain();
  t.is(h.fake.cardsIn(space).length, cardsBefore + 2, 'one card for the four deliveries, one for the next message');
  t.is((await h.auditRecords({ correlationId: correlationIdOf(msgId) })).length, records.length, 'one set of audit events');
  t.is(h.logLines.filter((l) => l.includes('duplicate delivery dropped')).length, 3);
});

test.serial('an @mention in a group is answered in the asker\'s 1:1 chat, never in the group, by the group\'s kind', async (t) => {
  const c = all.find((x) => x.ownerId === h.employees.salesRep.employeeId) ?? all[7]!;
  for (const [group, kind] of [[INNER_GROUP, 'public'], [OTHER_ORG_GROUP, 'shared']] as const) {
    const card = await h.ask('salesRep', `/customer ${c.customerId}`, group);
    t.is(card.space, `robot:${h.userId('salesRep')}`);
    t.deepEqual(cardFields(card), await expectedFields('salesRep', c, kind), `${kind}: the policy's fields for that kind`);
    const records = await h.auditRecords({ 'actor.platform': 'dingtalk', action: 'lookup', customerIds: c.customerId, channelKind: kind });
    t.is(records.length, 1, kind);
  }
  t.deepEqual([...h.fake.cards.values()].filter((card) => card.space.startsWith('group:')), [], 'nothing posted into a group');
});

test.serial('a picked `audit by @name` names that member (atUsers, not the text\'s order); an outsider\'s @name names nobody', async (t) => {
  const agent = h.employees.supportAgent;
  for (const c of all.slice(10, 13)) await h.ask('supportAgent', c.customerId);
  const filter = { 'actor.employeeId': agent.employeeId, action: 'lookup' };
  await h.auditRecords(filter, 3);
  const want = (await h.auditRecords(filter, 0, 0)).map((r) => Number(r.seq)).reverse().slice(0, 15);
  const seqs = (text: string) => [...text.matchAll(/^#(\d+) · /gm)].map((m) => Number(m[1]));
  // As DingTalk sends it from a group: the robot's own @ taken out of the text, the robot first in atUsers.
  const table = await h.ask('auditor', ` audit by @${agent.name} action:lookup purpose: 季度审计`, INNER_GROUP, [{ staffId: h.userId('supportAgent') }]);
  t.true(cardText(table).includes(agent.employeeId), 'the table is about the member picked');
  t.deepEqual(seqs(cardText(table)), want, 'exactly their lookups, newest first');
  t.is(table.space, `robot:${h.userId('auditor')}`, 'answered in the asker\'s own chat');
  // Someone outside the organisation: in atUsers without a staffId, so their name stays a name.
  const refused = await h.ask('auditor', ` audit by @王五 action:lookup purpose: 季度审计`, INNER_GROUP, [{}]);
  t.deepEqual(seqs(cardText(refused)), []);
  t.regex(cardText(refused), /人员请用/);
});

test.serial('user_leave_org offboards the bound employee: refused from the next lookup, audited; forged events change nothing', async (t) => {
  const e = h.employees.marketingStaff;
  const userId = h.userId('marketingStaff');
  const event = { EventType: 'user_leave_org', TimeStamp: String(Date.now()), UserId: [userId], CorpId: h.fake.corpId };
  const sealed = (o: Partial<Parameters<typeof encryptedEvent>[0]> = {}) => encryptedEvent({ token: EVENT_TOKEN, aesKey: EVENT_AES_KEY, ownerKey: h.fake.appKey, event, ...o });
  const genuine = sealed();
  const forged = [
    sealed({ token: 'another-token' }), // bad signature
    sealed({ ownerKey: 'dingotherapp0001' }), // meant for another app
    sealed({ aesKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg' }), // undecryptable with our key
    sealed({ timestamp: Date.now() - 3_700_000 }), sealed({ timestamp: Date.now() + 3_700_000 }),
    { ...genuine, body: JSON.stringify({ encrypt: sealed({ event: { ...event, UserId: [h.userId('dpo')] } }).encrypt }) }, // another body
    { ...genuine, query: genuine.query.replace(/nonce=\w+/, 'nonce=other1') },
  ];
  for (const f of forged) t.is((await h.event(f.query, f.body)).status, 401);
  t.is((await h.directory.byId(e.employeeId))?.status, 'active', 'no forged event offboarded anyone');
  const res = await h.event(genuine.query, genuine.body);
  t.is(res.status, 200);
  t.truthy(res.json.encrypt && res.json.msg_signature && res.json.timeStamp && res.json.nonce, 'the encrypted `success` DingTalk expects');
  t.is((await h.directory.byId(e.employeeId))?.status, 'offboarded');
  const records = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': e.employeeId });
  t.is((records[0]!.actor as { platform: string }).platform, 'dingtalk');
  t.is((await h.event(genuine.query, genuine.body)).status, 200, 'a redelivery is harmless');
  const card = await h.ask('marketingStaff', 'C-000001');
  t.is(cardText(card), tr(ErrorCode.EmployeeOffboarded, 'zh-CN', { contact: '#security-desk' }));
  t.is((await h.directory.byId(h.employees.dpo.employeeId))?.status, 'active');
});

test.serial('the Open API client against the fake: cards updated in place by outTrackId; what DingTalk refuses is refused', async (t) => {
  const api = new DingTalkApi(loadDingTalkConfig({
    DINGTALK_APP_KEY: h.fake.appKey, DINGTALK_APP_SECRET: h.fake.appSecret, DINGTALK_CARD_TEMPLATE_ID: h.fake.cardTemplateId,
    DINGTALK_API_URL: h.fake.url, DINGTALK_OAPI_URL: h.fake.url,
  }));
  const id = await api.deliverCard({ kind: 'robot', userId: h.userId('dpo') }, { title: 'a', tone: 'info' });
  await api.updateCard(id, { title: 'b' });
  t.deepEqual(h.fake.cards.get(id)!.params, { title: 'b', tone: 'info' }, 'updated by key, in place');
  const refused = async (p: Promise<unknown>, code: string) => t.is((await t.throwsAsync(p, { instanceOf: DingTalkApiError }))!.code, code);
  await refused(api.deliverCard({ kind: 'robot', userId: h.userId('dpo') }, { n: 1 as unknown as string }), 'InvalidParameter');
  await refused(api.updateCard('custos-unknown', { title: 'c' }), 'InvalidParameter');
  await refused(api.innerGroupMembers(OTHER_ORG_GROUP), 'InvalidParameter');
  t.is(await api.user('dtnobody'), null, '60121: not in the organisation');
  const wrong = new DingTalkApi(loadDingTalkConfig({ DINGTALK_APP_KEY: h.fake.appKey, DINGTALK_APP_SECRET: 'x'.repeat(32), DINGTALK_CARD_TEMPLATE_ID: 't.schema', DINGTALK_API_URL: h.fake.url }));
  await refused(wrong.deliverCard({ kind: 'robot', userId: h.userId('dpo') }, { title: 'a' }), 'invalidClientIdOrSecret');
});
