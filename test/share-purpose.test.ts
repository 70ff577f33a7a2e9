// Does a share's purpose cover the members of the channel? No (issue 13): a purpose is the reader's own
// statement of why they process personal data (PIPL Art. 6, minimum necessary), and the policy asks it
// of every read by some roles (`ctx.purpose-marketing`). A share states nothing for the members, so a
// member who must state a purpose blocks the shared card, and the sharer is told exactly that, not a
// generic "someone may not see it". The same channel without that member shares as before.
import test from 'ava';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import type { Customer } from '../bot/core/domain.ts';
import { messageText, PRIVATE_CHANNEL, SlackHarness } from './helpers/slack-bot.ts';

const WITH_MARKETING = 'G0CAMPAIGN';
const h = new SlackHarness(import.meta.url, { customers: 60, privateMembers: ['salesRep', 'supportAgent'] });
let own: Customer;

test.before(async () => {
  await h.start();
  h.fake.addChannel({ id: WITH_MARKETING, isPrivate: true, members: ['UBOT', h.userId('salesRep'), h.userId('marketingStaff')] });
  for await (const c of h.customers.stream({ ownerId: h.employees.salesRep.employeeId, status: { $in: ['lead', 'active'] } })) { own = c; break; }
});
test.after.always(async () => { await h.close(); });

async function share(channel: string): Promise<{ reply: string; posted: boolean }> {
  const mine = await h.ask(h.userId('salesRep'), channel, own.customerId);
  const actions = (mine.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions')!;
  const button = actions.elements![0]!;
  const before = h.fake.callsTo('chat.postMessage').filter((c) => c.body.channel === channel).length;
  const { responseUrl } = await h.click(h.userId('salesRep'), channel, button.action_id, button.value);
  const reply = messageText((await h.replyTo(responseUrl)).body) || String((await h.replyTo(responseUrl)).body.text ?? '');
  return { reply, posted: h.fake.callsTo('chat.postMessage').filter((c) => c.body.channel === channel).length > before };
}

test.serial('a member who must state a purpose for every read blocks the share, and the sharer is told why', async (t) => {
  t.truthy(own);
  const { reply, posted } = await share(WITH_MARKETING);
  t.false(posted, 'nothing is posted in the channel');
  t.true(reply.includes(tr('lookup.share.purposeRequired', 'zh-CN')), reply);
  const refused = await h.auditRecords({ action: 'lookup.refused', reasonCode: 'member_purpose_required' });
  t.is(refused.length, 1, 'the refusal is recorded with its own reason');
  t.true((refused[0]!.ruleIds as string[]).includes('ctx.purpose-marketing'), 'naming the rule that asks for the purpose');
});

test.serial('the same share into a channel without such a member is posted', async (t) => {
  const { reply, posted } = await share(PRIVATE_CHANNEL);
  t.true(posted, reply);
});
