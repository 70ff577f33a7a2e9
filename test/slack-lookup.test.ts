// Lookups through the real Bolt app over HTTP (signed requests), the fake Slack API, real Redis and
// database, the real policy engine and the real audit pipeline (producer + worker). Each card is compared
// with what the policy gives for that user and customer; each lookup leaves its audit events.
import test from 'ava';
import { hmacQuery } from '../bot/core/audit-event.ts';
import type { Customer } from '../bot/core/domain.ts';
import { principalOf } from '../bot/core/identity.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import type { CustomerQuery, QueryKind } from '../bot/core/ports.ts';
import { auditOutcome } from '../bot/core/lookup.ts';
import { applyDecision as presentDecision } from '../bot/core/view.ts';
import { classify } from '../bot/core/query.ts';
import { escapeMrkdwn } from '../bot/slack/blocks.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { cardFields, messageText, PUBLIC_CHANNEL, SlackHarness } from './helpers/slack-bot.ts';
import { shownValue } from './helpers/shown-value.ts';

const h = new SlackHarness(import.meta.url, { customers: 150, publicMembers: ['salesRep', 'supportAgent'] });
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

/** How many stored customers `query` matches (ignoring scope): exact-kind queries must hit one. */
function matches(q: CustomerQuery): Customer[] {
  return all.filter((c) => {
    switch (q.kind) {
      case 'id': return c.customerId === q.value;
      case 'email': return c.email?.toLowerCase() === q.value;
      case 'idNumber': return c.idNumber === q.value;
      case 'phone': return c.phone?.replace(/\D/g, '') === q.value.replace(/\D/g, '');
      case 'text': return c.name.includes(q.value) || (c.company ?? '').includes(q.value);
    }
  });
}

/** The text a user would type for `kind` to find exactly `c`, or undefined when it cannot be unique. */
function queryFor(kind: QueryKind, c: Customer): string | undefined {
  const text = kind === 'id' ? c.customerId.toLowerCase()
    : kind === 'phone' ? c.phone && (c.phone.startsWith('1') ? `+86 ${c.phone.slice(0, 3)} ${c.phone.slice(3, 7)} ${c.phone.slice(7)}` : c.phone)
      : kind === 'email' ? c.email?.toUpperCase()
        : kind === 'idNumber' ? c.idNumber
          : c.name;
  if (!text) return undefined;
  try {
    const q = classify(text);
    return q.kind === kind && matches(q).length === 1 ? text : undefined;
  } catch {
    return undefined;
  }
}

const PURPOSE_DEPARTMENTS = new Set(['marketing', 'compliance']);

async function expectedCard(key: DemoEmployeeKey, c: Customer, purpose: string | undefined) {
  const e = h.employees[key];
  const decision = await h.engine.decide(principalOf(e), 'lookup', { channel: 'dm', at: h.clock.now(), ...(purpose ? { purpose } : {}) }, c);
  const shown = presentDecision(c, decision);
  return {
    lines: new Map(shown.map((f) => [tr(`field.${f.field}`, e.locale), escapeMrkdwn(shownValue(f, e.locale))])),
    fields: shown.map((f) => ({ name: f.field, outcome: auditOutcome(f.outcome) })),
  };
}

const USERS: DemoEmployeeKey[] = ['salesRep', 'salesRepOverseas', 'supportAgent', 'financeClerk', 'legalCounsel', 'marketingStaff', 'auditor', 'admin', 'ordersClerk'];
const KINDS: QueryKind[] = ['id', 'phone', 'email', 'idNumber', 'text'];

test.serial('a lookup by each query kind from users of several departments shows exactly the policy\'s fields and masks, and is audited', async (t) => {
  let lookups = 0;
  for (const key of USERS) {
    const e = h.employees[key];
    const purpose = PURPOSE_DEPARTMENTS.has(e.department) ? 'quarterly review' : undefined;
    const base = await h.engine.decide(principalOf(e), 'lookup', { channel: 'dm', at: h.clock.now(), ...(purpose ? { purpose } : {}) });
    t.true(base.allowed, `${key} may look customers up`);
    const visible = all.filter((c) => h.engine.inScope(base, c));
    for (const [i, kind] of KINDS.entries()) {
      // A different customer for each kind, one the user may see and the kind can find uniquely.
      const pick = visible.slice(i * 7).concat(visible).find((c) => queryFor(kind, c) !== undefined);
      if (!pick) { t.fail(`no ${kind} query possible for ${key}`); continue; }
      const text = queryFor(kind, pick)!;
      const reply = await h.ask(h.userId(key), h.dmOf(key), purpose ? `${text} purpose: ${purpose}` : text);
      const expected = await expectedCard(key, pick, purpose);
      t.true(reply.ok, `${key}/${kind}: the fake Slack accepted the message`);
      t.deepEqual(cardFields(reply.body), expected.lines, `${key}/${kind}: card fields; got: ${messageText(reply.body).slice(0, 300)}`);
      t.true(messageText(reply.body).includes(pick.customerId), `${key}/${kind}: card names the customer id`);
      // The audit log: one "shown" event naming this customer and these outcomes, for this query.
      const hmac = hmacQuery(h.config.audit!.hmacKey, classify(text).value);
      const shown = await h.auditRecords({ 'actor.employeeId': e.employeeId, 'query.hmac': hmac, 'meta.stage': 'shown' });
      t.is(shown.length, 1, `${key}/${kind}: one shown event`);
      t.deepEqual(shown[0]?.customerIds, [pick.customerId]);
      t.deepEqual(shown[0]?.fields, expected.fields);
      t.is((shown[0]?.query as { kind: string }).kind, kind);
      t.is(shown[0]?.decision, 'allowed');
      if (purpose) t.is(shown[0]?.purpose, purpose);
      const intent = await h.auditRecords({ 'actor.employeeId': e.employeeId, 'query.hmac': hmac, 'meta.stage': 'query' });
      t.is(intent.length, 1, `${key}/${kind}: one query event, recorded before the read`);
      t.true((intent[0]!.seq as number) < (shown[0]!.seq as number));
      lookups++;
    }
  }
  t.is(lookups, USERS.length * KINDS.length);
  // No customer value ever reaches the audit log.
  const records = JSON.stringify(await h.allAuditRecords());
  for (const c of all.slice(0, 50)) {
    for (const v of [c.phone, c.email, c.idNumber, c.name, c.address]) if (v) t.false(records.includes(v), 'no raw customer value in the audit log');
  }
});

test.serial('English-speaking employees get English cards; the card is in Slack\'s limits', async (t) => {
  const reply = await h.ask(h.userId('supportAgentEn'), h.dmOf('supportAgentEn'), all[3]!.customerId);
  const text = messageText(reply.body);
  t.regex(text, /\*Profile\*/);
  t.regex(text, /Masked for your role · audit ref [0-9a-f-]{36}/);
  t.true((reply.body.blocks as unknown[]).length <= 50);
});

test.serial('several matches give a pick list with profile fields only; picking one opens its card', async (t) => {
  // A two-character fragment of a company name shared by 2–10 customers (support sees everyone).
  let query = '';
  for (const c of all) {
    const chars = Array.from(c.company ?? '');
    for (let i = 0; i + 1 < chars.length && !query; i++) {
      const frag = chars[i]! + chars[i + 1]!;
      const n = matches({ kind: 'text', value: frag }).length;
      if (/^\p{Script=Han}{2}$/u.test(frag) && n >= 2 && n <= 10) query = frag;
    }
    if (query) break;
  }
  t.not(query, '', 'a shared fragment exists in the seed');
  const reply = await h.ask(h.userId('supportAgent'), h.dmOf('supportAgent'), query);
  const body = messageText(reply.body);
  t.regex(body, /找到 \d+ 位您可查看的客户/);
  const ids = [...body.matchAll(/C-\d{6}/g)].map((m) => m[0]);
  t.true(ids.length >= 2 && ids.length <= 10, 'at most 10 candidates');
  for (const label of ['电话', '邮箱', '地址', '未结工单', '满意度', '身份证号']) t.false(body.includes(`${label}:`), `no ${label} in a pick list`);
  const buttons = (reply.body.blocks as { accessory?: { action_id: string; value: string } }[]).map((b) => b.accessory).filter(Boolean);
  t.is(buttons.length, ids.length);
  const { responseUrl } = await h.click(h.userId('supportAgent'), h.dmOf('supportAgent'), buttons[0]!.action_id, buttons[0]!.value);
  const card = await h.replyTo(responseUrl);
  t.true(card.body.replace_original === true);
  const expected = await expectedCard('supportAgent', all.find((c) => c.customerId === buttons[0]!.value)!, undefined);
  t.deepEqual(cardFields(card.body), expected.lines);
});

test.serial('a query matching more than 10 customers lists 10 and no more, and the audit log names those 10', async (t) => {
  // The most common two-character Chinese fragment of names and companies (support sees every customer).
  const counts = new Map<string, number>();
  for (const c of all) {
    const frags = new Set<string>();
    for (const text of [c.name, c.company ?? '']) {
      const chars = Array.from(text);
      for (let i = 0; i + 1 < chars.length; i++) if (/^\p{Script=Han}{2}$/u.test(chars[i]! + chars[i + 1]!)) frags.add(chars[i]! + chars[i + 1]!);
    }
    for (const f of frags) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  const [query, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  t.true(n > 10, `"${query}" matches ${n} customers`);
  t.is(matches({ kind: 'text', value: query }).length, n);
  const reply = await h.ask(h.userId('supportAgent'), h.dmOf('supportAgent'), query);
  const buttons = (reply.body.blocks as { accessory?: { value: string } }[]).map((b) => b.accessory?.value).filter(Boolean);
  t.is(buttons.length, 10, 'exactly MAX_CANDIDATES candidates');
  t.is(new Set(buttons).size, 10);
  t.true(messageText(reply.body).includes(tr('lookup.pick.introMore', h.employees.supportAgent.locale, { count: 10 })), 'the user is told there are more and to narrow the query');
  const shown = await h.auditRecords({
    'actor.employeeId': h.employees.supportAgent.employeeId, 'query.hmac': hmacQuery(h.config.audit!.hmacKey, query), 'meta.stage': 'shown',
  });
  t.is(shown.length, 1);
  t.deepEqual([...(shown[0]!.customerIds as string[])].sort(), [...buttons].sort(), 'the audit event names exactly the listed customers');
});

test.serial('a customer outside the user\'s scope gives "no customer you may see matches" and no hint', async (t) => {
  const rep = h.employees.salesRep;
  const hidden = all.find((c) => c.region !== rep.region && c.ownerId !== rep.employeeId)!;
  const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), hidden.customerId);
  t.is(messageText(reply.body), '没有您可查看的匹配客户。');
  const nonexistent = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), 'C-999999');
  t.deepEqual(nonexistent.body.blocks, reply.body.blocks, 'a hidden customer and a missing one look the same');
});

test.serial('marketing must state a purpose; without one the lookup is refused before anything is read', async (t) => {
  const reply = await h.ask(h.userId('marketingStaff'), h.dmOf('marketingStaff'), all[0]!.customerId);
  t.regex(messageText(reply.body), /必须说明目的.*purpose:/);
  const refused = await h.auditRecords({ 'actor.employeeId': h.employees.marketingStaff.employeeId, action: 'lookup.refused' });
  t.is(refused.length, 1);
  t.is(refused[0]!.reasonCode, 'purpose_required');
  t.deepEqual(refused[0]!.customerIds, []);
});

test.serial('a purpose holding personal data is refused and never stored', async (t) => {
  const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), `${all[0]!.customerId} purpose: call 13912345678`);
  t.regex(messageText(reply.body), /不能包含手机号/);
  const records = JSON.stringify(await h.allAuditRecords(500));
  t.false(records.includes('13912345678'));
});

test.serial('in a channel, /customer answers privately with a Share button; DMs and @mentions work too', async (t) => {
  const rep = h.employees.salesRep;
  const own = all.find((c) => c.ownerId === rep.employeeId)!;
  const inChannel = await h.ask(h.userId('salesRep'), PUBLIC_CHANNEL, own.customerId);
  t.is(inChannel.body.response_type, 'ephemeral');
  const actions = (inChannel.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions');
  t.is(actions?.elements?.[0]?.action_id, 'customer_share');
  t.is(actions?.elements?.[0]?.value, own.customerId);

  const before = h.fake.calls.length;
  t.is((await h.event({ type: 'message', userId: h.userId('salesRep'), channelId: h.dmOf('salesRep'), text: own.customerId, channelType: 'im' })).status, 200);
  const dm = await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === h.dmOf('salesRep') && h.fake.calls.indexOf(c) >= before);
  t.true(messageText(dm.body).includes(own.customerId));
  t.false(messageText(dm.body).includes('分享到频道'), 'no share button in a DM');

  t.is((await h.event({ type: 'app_mention', userId: h.userId('salesRep'), channelId: PUBLIC_CHANNEL, text: `<@UBOT> ${own.customerId}` })).status, 200);
  const eph = await h.fake.waitFor((c) => c.method === 'chat.postEphemeral' && c.body.user === h.userId('salesRep'));
  t.true(eph.ok);
  t.true(messageText(eph.body).includes(own.customerId));
  // Nothing with customer data was posted publicly by these three requests.
  t.is(h.fake.callsTo('chat.postMessage').filter((c) => c.body.channel === PUBLIC_CHANNEL).length, 0);
});

test.serial('help answers in the user\'s language; /healthz and /readyz report', async (t) => {
  const zh = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), 'help');
  t.regex(messageText(zh.body), /custos 客户查询帮助[\s\S]*#security-desk/);
  const en = await h.ask(h.userId('salesRepOverseas'), h.dmOf('salesRepOverseas'), '');
  t.regex(messageText(en.body), /Please say what to look up\. Usage: \/customer/);
  const health = await fetch(`${h.bot.url}/healthz`);
  t.is(health.status, 200);
  const ready = await fetch(`${h.bot.url}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(await ready.json(), { status: 'ready', checks: { redis: 'ok', database: 'ok', queue: 'ok' } });
});
