// Lookups through the Lark adapter over HTTP (encrypted, signed pushes), the real SDK client against the
// fake Open API, real Redis and database, the real policy engine and audit pipeline. Cards are compared
// with what the policy gives for that user and customer; each lookup leaves its audit events.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { principalOf } from '../bot/core/identity.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import { applyDecision } from '../bot/core/view.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { cardButtons, cardFieldMap, cardText } from './fakes/lark-api.ts';
import { LarkHarness, PUBLIC_GROUP } from './helpers/lark-bot.ts';
import { menuEvent } from './helpers/lark-sign.ts';
import { shownValue } from './helpers/shown-value.ts';

const h = new LarkHarness(import.meta.url, { customers: 120, publicMembers: ['salesRep', 'supportAgent'] });
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

async function expectedFields(key: DemoEmployeeKey, c: Customer, channel: 'dm' | 'public' = 'dm'): Promise<Map<string, string>> {
  const e = h.employees[key];
  const engine = (await import('../policies/index.ts')).createPolicyEngine((await import('../policies/index.ts')).loadPolicy(h.config.policyDir));
  const decision = await engine.decide(principalOf(e), 'lookup', { channel, at: h.clock.now() }, c);
  return new Map(applyDecision(c, decision).map((f) => [tr(`field.${f.field}`, e.locale), shownValue(f, e.locale)]));
}

test.serial('a DM lookup by customer id shows exactly the policy\'s fields and masks, in Chinese, and is audited', async (t) => {
  const c = all.find((x) => x.region === 'east')!;
  const reply = await h.ask('supportAgent', c.customerId);
  t.is(reply.msgType, 'interactive');
  const fields = cardFieldMap(reply.card);
  const expected = await expectedFields('supportAgent', c);
  t.deepEqual(fields, expected);
  t.true(cardText(reply.card).includes('审计编号'));
  const records = await h.auditRecords({ 'actor.platform': 'lark', action: 'lookup', customerIds: c.customerId }, 1);
  t.is(records.length, 1);
  t.is((records[0]!.actor as { platformUserId: string }).platformUserId, h.openId('supportAgent'));
  t.is(records[0]!.channelKind, 'dm');
});

test.serial('English-speaking employees get English cards; help and the bot menu answer in the user\'s language', async (t) => {
  const c = all[3]!;
  const reply = await h.ask('salesRepOverseas', c.customerId);
  t.true(cardText(reply.card).includes('audit ref') || cardText(reply.card).includes('No customer you may see'));
  const help = await h.ask('supportAgentEn', 'help');
  t.true(cardText(help.card).includes(tr('lookup.help.title', 'en')));
  const before = h.fake.sentTo(h.openId('supportAgent')).length;
  const res = await h.push(menuEvent(h.openId('supportAgent'), 'help'));
  t.is(res.status, 200);
  const menuReply = await h.fake.waitFor((m) => m.receiveId === h.openId('supportAgent') && h.fake.sentTo(h.openId('supportAgent')).indexOf(m) >= before);
  t.true(cardText(menuReply.card).includes(tr('lookup.help.title', 'zh-CN')));
});

test.serial('an @mention in a group answers the asker privately with a Share button; sharing posts the group\'s least-privileged view', async (t) => {
  const c = all.find((x) => x.ownerId === h.employees.salesRep.employeeId)!;
  const before = h.fake.sentTo(PUBLIC_GROUP).length;
  const reply = await h.ask('salesRep', `/customer ${c.customerId}`, PUBLIC_GROUP);
  t.is(reply.receiveIdType, 'open_id', 'the asker\'s own view never goes into the group');
  t.is(h.fake.sentTo(PUBLIC_GROUP).length, before);
  const share = cardButtons(reply.card).find((b) => b.value.a === 'share')!;
  t.deepEqual(share.value, { a: 'share', c: c.customerId, g: PUBLIC_GROUP });
  const click = await h.click('salesRep', reply, share.value);
  t.is(click.status, 200);
  t.is(click.answer.toast?.content, tr('lookup.share.done', 'zh-CN'));
  const shared = await h.fake.waitFor((m) => m.receiveId === PUBLIC_GROUP);
  const sharedFields = cardFieldMap(shared.card);
  const own = cardFieldMap(reply.card);
  const support = await expectedFields('supportAgent', c, 'public');
  // Nothing the support agent may not see appears in the group; the asker's own view was richer.
  for (const [label, value] of sharedFields) if (support.has(label) && support.get(label) !== value) t.not(value, own.get(label));
  t.true(sharedFields.size <= own.size);
  t.true(cardText(shared.card).includes(h.employees.salesRep.name));
  const records = await h.auditRecords({ 'actor.platform': 'lark', action: 'share', customerIds: c.customerId }, 1);
  t.is(records[0]!.channelKind, 'public');
});

test.serial('several matches give a pick list; picking answers the callback with the card and a toast', async (t) => {
  // A two-character fragment of a company name shared by 2–10 customers (support sees everyone).
  let query = '';
  for (const c of all) {
    const chars = Array.from(c.company ?? '');
    for (let i = 0; i + 1 < chars.length && !query; i++) {
      const frag = chars[i]! + chars[i + 1]!;
      const n = all.filter((x) => x.name.includes(frag) || (x.company ?? '').includes(frag)).length;
      if (/^\p{Script=Han}{2}$/u.test(frag) && n >= 2 && n <= 10) query = frag;
    }
    if (query) break;
  }
  const reply = await h.ask('supportAgent', query);
  t.regex(cardText(reply.card), /找到 \d+ 位您可查看的客户/);
  for (const label of ['电话', '邮箱', '地址', '身份证号']) t.false(cardFieldMap(reply.card).has(label), `no ${label} in a pick list`);
  const picks = cardButtons(reply.card).filter((b) => b.value.a === 'pick');
  t.true(picks.length > 1, 'a pick list');
  const click = await h.click('supportAgent', reply, picks[0]!.value);
  t.is(click.answer.toast?.type, 'success');
  const card = click.answer.card!.data;
  t.true(cardText(card).startsWith(picks[0]!.value.c!));
  const expected = await expectedFields('supportAgent', all.find((c) => c.customerId === picks[0]!.value.c)!);
  t.deepEqual(cardFieldMap(card), expected);
});
