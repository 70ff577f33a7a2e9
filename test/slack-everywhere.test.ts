// One identity rule in every Slack handler (issue 13, defect 7): a user custos has never seen is matched
// once by the e-mail from users.info and bound, whether their first interaction is a lookup, being a
// member of a channel a card is shared into, an Approve click, a review button or an alert's Unfreeze.
// And every refused click (unknown, frozen, offboarded clicker) on approval, review and security buttons
// is recorded through the shared path (`interaction.refused`, defect 4), with a message that never
// claims a record that was not made.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import '../bot/core/reviews/views.ts';
import '../bot/core/security/views.ts';
import { t as tr } from '../bot/core/messages.ts';
import { ACTION_REVIEW } from '../bot/slack/review-blocks.ts';
import { ACTION_SECURITY } from '../bot/slack/security-handlers.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { SIGNING_SECRET, SlackHarness, messageText } from './helpers/slack-bot.ts';
import { denyValues, requestAccess, submitView } from './helpers/slack-approval.ts';
import { JSON_TYPE, post, sign } from './helpers/slack-sign.ts';

const SHARE_CHANNEL = 'G0SHARE';
const SECURITY_CHANNEL = 'C0SECURITY';
const NEVER_SEEN: DemoEmployeeKey[] = ['salesRepNorth', 'supportAgent', 'salesLeadEast', 'financeHead', 'admin'];
const h = new SlackHarness(import.meta.url, { customers: 120, grants: true, unbound: [...NEVER_SEEN, 'ordersClerk'] });
const eastCustomers: Customer[] = [];
let own: Customer;

test.before(async () => {
  await h.start();
  h.fake.addChannel({ id: SHARE_CHANNEL, isPrivate: true, members: ['UBOT', h.userId('salesRep'), h.userId('supportAgent')] });
  h.fake.addChannel({ id: SECURITY_CHANNEL, isPrivate: true, members: ['UBOT', h.userId('admin')] });
  for await (const c of h.customers.stream({})) {
    if (c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.status !== 'blocked') eastCustomers.push(c);
    if (!own && c.ownerId === h.employees.salesRep.employeeId && c.phone) own = c;
  }
});
test.after.always(async () => { await h.close(); });

const boundTo = async (key: DemoEmployeeKey) => (await h.directory.byId(h.employees[key].employeeId))?.chat.slack;
async function clickText(userId: string, channelId: string, actionId: string, value: string): Promise<string> {
  const { responseUrl } = await h.click(userId, channelId, actionId, value);
  const reply = await h.replyTo(responseUrl);
  // What the user sees: the blocks, else the fallback text.
  return messageText(reply.body) || String(reply.body.text ?? '');
}

test.serial('a user never seen before is resolved by e-mail in every handler: lookup, share audience, approval, review and security buttons', async (t) => {
  for (const key of NEVER_SEEN) t.is(await boundTo(key), undefined, `${key} starts unbound`);

  // Lookup.
  const card = await h.ask(h.userId('salesRepNorth'), h.dmOf('salesRepNorth'), eastCustomers[0]!.customerId);
  t.notRegex(messageText(card.body), /未找到与您的账号对应的员工记录/);
  t.is(await boundTo('salesRepNorth'), h.userId('salesRepNorth'));

  // Share: the other member of the channel never used custos; they are an employee, not an outsider.
  const mine = await h.ask(h.userId('salesRep'), SHARE_CHANNEL, own.customerId);
  const posted = h.fake.callsTo('chat.postMessage').length;
  t.regex(await clickText(h.userId('salesRep'), SHARE_CHANNEL, 'customer_share', own.customerId), /已分享到频道/, messageText(mine.body));
  t.truthy(h.fake.callsTo('chat.postMessage').slice(posted).find((c) => c.body.channel === SHARE_CHANNEL), 'the card was posted in the channel');
  t.is(await boundTo('supportAgent'), h.userId('supportAgent'), 'the member was matched by e-mail and bound');

  // Approval: the approver's first click.
  const id = await requestAccess(h, 'salesRep', eastCustomers[1]!.customerId, ['contact'], 60);
  t.regex(await clickText(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), 'approval_approve', id), new RegExp(`您已批准申请 #${id}`));
  t.is(await boundTo('salesLeadEast'), h.userId('salesLeadEast'));

  // Review: the reviewer's first click reaches the review service (which does not know this review).
  t.is(await clickText(h.userId('financeHead'), h.dmOf('financeHead'), ACTION_REVIEW.keep, 'RV-20260301.NOPE'), tr('review.unknown', 'zh-CN'));
  t.is(await boundTo('financeHead'), h.userId('financeHead'));

  // Security: an admin who never made a lookup unfreezes a frozen user from the alert card.
  const frozen = h.employees.salesRepSouth;
  await h.directory.setStatus(frozen.employeeId, 'frozen');
  t.regex(await clickText(h.userId('admin'), SECURITY_CHANNEL, ACTION_SECURITY.unfreeze, frozen.employeeId), /陈静 \(E-0001\) 已解除冻结/);
  t.is((await h.directory.byId(frozen.employeeId))?.status, 'active');
  t.is(await boundTo('admin'), h.userId('admin'));
  t.is((await h.auditRecords({ action: 'interaction.refused' }, 0, 0)).length, 0, 'nobody was refused');
});

/** Offboards `key` the way Slack says so: `user_change` with `deleted: true`. */
async function slackDeletes(key: DemoEmployeeKey): Promise<void> {
  const body = JSON.stringify({
    token: 'legacy-verification-token', team_id: 'T0TEST', api_app_id: 'A0TEST', type: 'event_callback',
    event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`, event_time: Math.floor(Date.now() / 1000),
    event: { type: 'user_change', user: { id: h.userId(key), team_id: 'T0TEST', deleted: true, profile: {} }, event_ts: `${Math.floor(Date.now() / 1000)}.000100` },
  });
  const res = await post(h.eventsUrl, sign(SIGNING_SECRET, body, JSON_TYPE));
  if (res.status !== 200) throw new Error(`user_change answered ${res.status}`);
  for (let i = 0; i < 1200 && (await h.directory.byId(h.employees[key].employeeId))?.status !== 'offboarded'; i++) await new Promise((r) => setTimeout(r, 50));
}

test.serial('refused clicks are recorded on approval, review and security buttons for unknown, offboarded and frozen clickers; the message says why', async (t) => {
  const id = await requestAccess(h, 'salesRep', eastCustomers[2]!.customerId, ['contact'], 60);
  await slackDeletes('legalLead');
  await h.directory.setStatus(h.employees.ordersClerk.employeeId, 'frozen');
  const clickers = [
    { who: 'UNOBODY', employeeId: null, code: 'custos_employee_unknown', text: /未找到与您的账号对应的员工记录/ },
    { who: h.userId('legalLead'), employeeId: h.employees.legalLead.employeeId, code: 'custos_employee_offboarded', text: /已离职停用/ },
    { who: h.userId('ordersClerk'), employeeId: h.employees.ordersClerk.employeeId, code: 'custos_employee_frozen', text: /已被冻结/ },
  ];
  for (const c of clickers) {
    const answers = {
      approval: await clickText(c.who, 'D0ANY', 'approval_approve', id),
      review: await clickText(c.who, 'D0ANY', ACTION_REVIEW.revoke, 'RV-20260301.ANY'),
      security: await clickText(c.who, SECURITY_CHANNEL, ACTION_SECURITY.unfreeze, h.employees.salesRep.employeeId),
    };
    // The Deny form submitted by the same clicker: refused on the form itself.
    const deny = await submitView(h, c.who, 'approval_deny_form', JSON.stringify({ r: id }), denyValues('不属于本区域'));
    t.regex(deny.body, c.text, `${c.code}: deny form`);
    for (const [interaction, text] of Object.entries(answers)) {
      t.regex(text, c.text, `${c.code}: ${interaction}`);
      t.notRegex(text, /已记录|recorded/, 'an identity refusal does not claim more than the identifier did');
    }
    const records = await h.auditRecords({ action: 'interaction.refused', 'actor.platformUserId': c.who }, 4);
    t.deepEqual(records.map((r) => (r.meta as { interaction: string }).interaction).sort(), ['approval', 'approval', 'review', 'security']);
    for (const r of records) {
      t.like(r, { decision: 'denied', reasonCode: c.code, actor: { employeeId: c.employeeId, platform: 'slack', platformUserId: c.who } });
    }
    t.is(records.filter((r) => r.requestId === id).length, 2, 'the approval refusals name the request');
  }
  t.is(await h.bot.conn.collection('request_decisions').countDocuments({ requestId: id }), 0, 'no refused click decided anything');
});
