// "Share in channel": the asker sees their own view privately; the shared card is masked for the
// least-privileged member of the channel (members read from conversations.members across pages; a
// member the directory does not know counts as the most restricted principal).
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { principalOf } from '../bot/core/identity.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import { applyDecision as presentDecision } from '../bot/core/view.ts';
import { escapeMrkdwn } from '../bot/slack/blocks.ts';
import { cardFields, messageText, PRIVATE_CHANNEL, SlackHarness } from './helpers/slack-bot.ts';
import { shownValue } from './helpers/shown-value.ts';

const GUEST_CHANNEL = 'G0GUESTS';
const h = new SlackHarness(import.meta.url, {
  customers: 80,
  privateMembers: ['salesRep', 'financeClerk', 'supportAgent', 'legalCounsel'],
});
let own: Customer;

test.before(async () => {
  await h.start();
  // A private channel where one member is unknown to the directory (a guest from another company).
  h.fake.addChannel({ id: GUEST_CHANNEL, isPrivate: true, members: ['UBOT', h.userId('salesRep'), h.userId('supportAgent'), 'UOUTSIDER'] });
  const rep = h.employees.salesRep;
  for await (const c of h.customers.stream({ ownerId: rep.employeeId })) { if (c.phone && c.email) { own = c; break; } }
});
test.after.always(async () => { await h.close(); });

function shareButton(body: Record<string, unknown>): { action_id: string; value: string } {
  const actions = (body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions');
  if (!actions?.elements?.[0]) throw new Error('no share button');
  return actions.elements[0];
}

test.serial('the shared card shows the view of the channel\'s least-privileged member; the asker keeps their own', async (t) => {
  const mine = await h.ask(h.userId('salesRep'), PRIVATE_CHANNEL, own.customerId);
  t.is(mine.body.response_type, 'ephemeral');
  t.true(cardFields(mine.body).get('电话') === escapeMrkdwn(own.phone!), 'the owner sees the full phone privately');

  const button = shareButton(mine.body);
  const posted = h.fake.callsTo('chat.postMessage').length;
  const { status, responseUrl } = await h.click(h.userId('salesRep'), PRIVATE_CHANNEL, button.action_id, button.value);
  t.is(status, 200);
  const done = await h.replyTo(responseUrl);
  t.regex(messageText(done.body), /已分享到频道/);
  const shared = h.fake.callsTo('chat.postMessage').slice(posted).find((c) => c.body.channel === PRIVATE_CHANNEL)!;
  t.truthy(shared, 'posted in the channel');
  t.true(shared.ok);

  const members = (['salesRep', 'financeClerk', 'supportAgent', 'legalCounsel'] as const).map((k) => principalOf(h.employees[k]));
  const ctx = { channel: 'private' as const, at: h.clock.now() };
  const audience = await h.engine.decideForAudience(members, 'lookup', ctx, own);
  const expected = new Map(presentDecision(own, audience).map((f) => [tr(`field.${f.field}`, 'zh-CN'), escapeMrkdwn(shownValue(f, 'zh-CN'))]));
  const got = cardFields(shared.body);
  t.deepEqual(got, expected, 'exactly the audience decision');
  t.true(got.size > 0);
  // Least privilege, concretely: nothing any single member could not see, never the full phone or e-mail.
  for (const m of members) {
    const single = new Set(presentDecision(own, await h.engine.decide(m, 'lookup', ctx, own)).map((f) => tr(`field.${f.field}`, 'zh-CN')));
    for (const label of got.keys()) t.true(single.has(label), `${label} is visible to ${m.employeeId} too`);
  }
  const text = messageText(shared.body);
  t.false(text.includes(own.phone!));
  t.false(text.includes(own.email!));
  t.regex(text, /由 张伟 分享 · 已按本频道权限最低的成员脱敏/);
  t.true(h.fake.callsTo('conversations.members').filter((c) => c.body.channel === PRIVATE_CHANNEL).length >= 2, 'members read across pages');

  const share = await h.auditRecords({ action: 'share', 'meta.stage': 'shown' });
  t.is(share.length, 1);
  t.deepEqual(share[0]!.customerIds, [own.customerId]);
  t.is(share[0]!.channelKind, 'private');
  t.is((share[0]!.meta as { audience: number }).audience, 4);
  t.deepEqual((share[0]!.fields as { name: string }[]).map((f) => f.name), presentDecision(own, audience).map((f) => f.field));
});

test.serial('a channel with a member the directory does not know gets nothing: that member counts as the most restricted', async (t) => {
  const mine = await h.ask(h.userId('salesRep'), GUEST_CHANNEL, own.customerId);
  const button = shareButton(mine.body);
  const posted = h.fake.callsTo('chat.postMessage').length;
  const { responseUrl } = await h.click(h.userId('salesRep'), GUEST_CHANNEL, button.action_id, button.value);
  const reply = await h.replyTo(responseUrl);
  t.is(messageText(reply.body), '本频道中有成员无权查看该客户，因此未分享任何内容。');
  await new Promise((r) => setTimeout(r, 300));
  t.is(h.fake.callsTo('chat.postMessage').slice(posted).filter((c) => c.body.channel === GUEST_CHANNEL).length, 0, 'nothing posted');
  const refused = await h.auditRecords({ action: 'lookup.refused', 'meta.refused': 'share' });
  t.is(refused.length, 1);
});

test.serial('a frozen member also makes the channel audience the most restricted', async (t) => {
  await h.directory.setStatus(h.employees.legalCounsel.employeeId, 'frozen');
  t.teardown(() => h.directory.setStatus(h.employees.legalCounsel.employeeId, 'active'));
  const mine = await h.ask(h.userId('salesRep'), PRIVATE_CHANNEL, own.customerId);
  const button = shareButton(mine.body);
  const { responseUrl } = await h.click(h.userId('salesRep'), PRIVATE_CHANNEL, button.action_id, button.value);
  t.is(messageText((await h.replyTo(responseUrl)).body), '本频道中有成员无权查看该客户，因此未分享任何内容。');
});

test.serial('a click from someone who may not see the customer shares nothing', async (t) => {
  // The north sales rep may not see an east customer they do not own.
  const east = own.region === 'east' ? own : own;
  const north = h.employees.salesRepNorth;
  t.not(east.ownerId, north.employeeId);
  h.fake.addChannel({ id: 'G0NORTH', isPrivate: true, members: ['UBOT', h.userId('salesRepNorth')] });
  const { responseUrl } = await h.click(h.userId('salesRepNorth'), 'G0NORTH', 'customer_share', east.customerId);
  const reply = await h.replyTo(responseUrl);
  t.regex(messageText(reply.body), /未分享任何内容/);
  t.is(h.fake.callsTo('chat.postMessage').filter((c) => c.body.channel === 'G0NORTH').length, 0);
});
