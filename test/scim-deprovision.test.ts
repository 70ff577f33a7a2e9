// Deprovisioning end to end: the Slack bot (real Bolt, fake Slack API) and the Lark bot (real Lark SDK,
// fake Lark Open API) on one database and Redis prefix, as a deployment with both runs them. A sales
// rep, bound on both platforms and linked to the identity provider through SCIM, holds a live grant
// and has a pending identity request whose approver copies are on Slack (legal head) and Lark (DPO).
// The IdP deactivates them the way Entra does (PATCH Replace active "False"), here through the Lark
// bot's /scim/v2. By the time the answer arrives: offboarded, grant revoked, request cancelled; then
// every card copy on both platforms says the requester has left, the next lookup is refused, and the
// audit log holds the chain scim.deactivate → request.cancel → admin.offboard.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import type { RunningLarkBot } from '../bot/lark/runtime.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { cardButtons, cardText, type SentMessage } from './fakes/lark-api.ts';
import type { RecordedCall } from './fakes/slack-api.ts';
import { openIdOf } from './helpers/lark-bot.ts';
import { ENTERPRISE, SCIM_TOKEN, ScimClient, USER } from './helpers/scim.ts';
import { buttons, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import { SlackAndLark } from './helpers/slack-and-lark.ts';
import { messageText, type SlackHarness } from './helpers/slack-bot.ts';

const clock = movableClock();
const two = new SlackAndLark(import.meta.url, {
  customers: 40, clock,
  extraEnv: { CUSTOS_SCIM_TOKENS: SCIM_TOKEN, CUSTOS_SCIM_DEPARTMENTS: 'Sales & Marketing=sales', CUSTOS_SCIM_ALLOW_REACTIVATION: 'true' },
});
const { lark, all } = two;
let h: SlackHarness;
let larkBot: RunningLarkBot;

test.before(async () => {
  ({ h, larkBot } = await two.start());
});
test.after.always(async () => {
  await two.close();
});

function slackCopy(key: DemoEmployeeKey, id: string, method: 'chat.postMessage' | 'chat.update', pattern = /./): Promise<RecordedCall> {
  return h.fake.waitFor((x) => x.method === method && x.body.channel === h.dmOf(key) && String(x.body.text).includes(id) && pattern.test(messageText(x.body)));
}

/** The sales rep asks on Slack for identity data (legal head on Slack, DPO on Lark approve). */
async function identityRequest(customer: Customer): Promise<{ id: string; larkCopy: SentMessage }> {
  const requester: DemoEmployeeKey = 'salesRep';
  const reply = await h.ask(h.userId(requester), h.dmOf(requester), customer.customerId);
  const access = buttons(reply.body).find((b) => b.actionId.startsWith('approval_access'))!;
  const since = h.fake.calls.length;
  await h.click(h.userId(requester), h.dmOf(requester), access.actionId, access.value);
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId(requester), modal.callback_id, modal.private_metadata, requestValues('合同核对', 30, ['identity']));
  if (res.body) throw new Error(res.body);
  const own = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf(requester) && /#R-[A-P]{10}/.test(String(x.body.text)));
  const id = /#(R-[A-P]{10})/.exec(String(own.body.text))![1]!;
  await slackCopy('legalHead', id, 'chat.postMessage');
  const larkCopy = await lark.waitFor((m) => m.receiveId === openIdOf(h.employees.dpo) && cardText(m.card).includes(id));
  return { id, larkCopy };
}

test.serial('a user with a live grant and a pending request on Slack and Lark is deactivated through SCIM', async (t) => {
  t.timeout(300_000);
  const rep = h.employees.salesRep;
  const scim = new ScimClient(larkBot.url);
  // The IdP links the rep (already imported by CSV): matched by e-mail, so custos keeps its employee id.
  const linked = await scim.post('/Users', {
    schemas: [USER, ENTERPRISE], userName: rep.email, externalId: 'aad-rep-1', active: true,
    emails: [{ primary: true, type: 'work', value: rep.email }], displayName: rep.name, [ENTERPRISE]: { department: 'Sales & Marketing' },
  });
  t.is(linked.status, 201);
  t.like(await h.directory.byId(rep.employeeId), { status: 'active', department: 'sales', chat: { slack: h.userId('salesRep'), lark: openIdOf(rep) } });

  const grants = new MongoGrantStore(h.bot.conn);
  const owned = all.filter((c) => c.region === 'east' && c.ownerId !== rep.employeeId && c.status !== 'blocked');
  const granted = owned.at(-1)!;
  await grants.create({
    grantId: 'G-scim-live', granteeId: rep.employeeId, target: { kind: 'customers', customerIds: [granted.customerId] }, groups: ['finance'],
    actions: ['lookup'], expiresAt: new Date(clock.now().getTime() + 3_600_000), grantedBy: [h.employees.admin.employeeId], purpose: 'renewal', createdAt: clock.now(),
  });
  t.is((await grants.activeFor(rep.employeeId, clock.now())).length, 1);
  const pending = await identityRequest(owned[0]!);

  // Entra's deactivation.
  const off = await scim.patch(`/Users/${linked.body.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]);
  t.is(off.status, 200);
  t.is(off.body.active, false);
  // Within the request: nothing left to use.
  t.is((await h.directory.byId(rep.employeeId))!.status, 'offboarded');
  t.is((await grants.activeFor(rep.employeeId, clock.now())).length, 0, 'the grant is revoked');
  t.is((await new MongoRequestStore(h.bot.conn).get(pending.id))?.status, 'cancelled', 'the pending request is cancelled');

  // Every copy says the requester has left: Slack (approver and requester) and Lark (approver).
  for (const key of ['legalHead', 'salesRep'] as DemoEmployeeKey[]) {
    const update = await slackCopy(key, pending.id, 'chat.update', /申请人已离职，申请已于 .* 自动撤销/);
    t.is(buttons(update.body).length, 0, `${key}'s Slack copy has no buttons left`);
  }
  const patched = await lark.waitFor((m) => m.messageId === pending.larkCopy.messageId && m.patches.length > 0 && /申请人已离职，申请已于 .* 自动撤销/.test(cardText(m.card)));
  t.is(cardButtons(patched.card).length, 0, 'the Lark copy has no buttons left');

  // The next lookup, even of the customer the grant covered, is refused.
  const reply = messageText((await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), granted.customerId)).body);
  t.regex(reply, /离职/);
  t.false(reply.includes(granted.name), 'no customer data shown');

  // The audit chain, in order, with ids only.
  const deactivate = (await h.auditRecords({ action: 'scim.deactivate', 'meta.subject': rep.employeeId }))[0]!;
  const cancel = (await h.auditRecords({ action: 'request.cancel', requestId: pending.id }))[0]!;
  const offboard = (await h.auditRecords({ action: 'admin.offboard', 'meta.subject': rep.employeeId }))[0]!;
  t.like(deactivate, { actor: { employeeId: null, platform: 'scim', platformUserId: 'token-1' }, meta: { scimId: linked.body.id, change: 'deactivate' } });
  t.like(cancel, { reasonCode: 'offboarded' });
  t.like(offboard, { meta: { route: 'scim', change: 'offboard', grants: 1, requests: 1 } });
  t.true((deactivate.seq as number) < (cancel.seq as number) && (cancel.seq as number) < (offboard.seq as number), 'recorded before it took effect, then each effect');
  t.false(JSON.stringify([deactivate, offboard]).includes(rep.email), 'no e-mail in the records');

  // A second deactivation (IdPs retry) changes and records nothing new.
  const again = await scim.patch(`/Users/${linked.body.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]);
  t.is(again.status, 200);
  t.is((await h.auditRecords({ action: 'admin.offboard', 'meta.subject': rep.employeeId })).length, 1);
  // And the Slack bot's endpoint sees the same user.
  t.is((await new ScimClient(h.bot.url).get(`/Users/${linked.body.id}`)).body.active, false);
});

test.serial('reactivation through SCIM (allowed by CUSTOS_SCIM_ALLOW_REACTIVATION) follows --allow-reactivation: no grant back, chat bindings cleared, audited first', async (t) => {
  const rep = h.employees.salesRep;
  const scim = new ScimClient(h.bot.url);
  const user = (await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${rep.email}"`)}`)).body.Resources[0];
  t.is(user.active, false, 'the deprovisioning test above left the rep offboarded');
  const back = await scim.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'active', value: 'True' }]);
  t.is(back.status, 200);
  t.is(back.body.active, true);
  const after = (await h.directory.byId(rep.employeeId))!;
  t.is(after.status, 'active');
  t.deepEqual(after.chat ?? {}, {}, 'Slack and Lark bindings dropped: a chat account may have changed hands');
  t.is((await new MongoGrantStore(h.bot.conn).activeFor(rep.employeeId, clock.now())).length, 0, 'no grant comes back');
  const [reactivate] = await h.auditRecords({ action: 'admin.reactivate', 'meta.subject': rep.employeeId });
  t.like(reactivate, { actor: { platform: 'scim' }, meta: { route: 'scim', change: 'reactivate:active' } });
  const [update] = await h.auditRecords({ action: 'scim.update', 'meta.subject': rep.employeeId, 'meta.change': 'reactivate' });
  t.true((update?.seq as number) < (reactivate!.seq as number), 'the SCIM change is recorded before the reactivation it causes');
});
