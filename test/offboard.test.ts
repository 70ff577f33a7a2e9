// Offboarding through the real bot endpoint: Slack sends `user_change` with `deleted: true` (signed);
// within that request the employee is offboarded, their active grant revoked, the change audited, and
// their next lookup refused with whom to contact.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { messageText, SIGNING_SECRET, SlackHarness } from './helpers/slack-bot.ts';
import { JSON_TYPE, post, sign } from './helpers/slack-sign.ts';

const h = new SlackHarness(import.meta.url, { customers: 20 });
test.before(async () => { await h.start(); });
test.after.always(async () => { await h.close(); });

function userChangeBody(userId: string, deleted: boolean): string {
  return JSON.stringify({
    token: 'legacy-verification-token', team_id: 'T0TEST', api_app_id: 'A0TEST', type: 'event_callback',
    event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`, event_time: Math.floor(Date.now() / 1000),
    event: { type: 'user_change', user: { id: userId, team_id: 'T0TEST', deleted, profile: {} }, event_ts: `${Math.floor(Date.now() / 1000)}.000100` },
  });
}

test.serial('Slack user_change (deleted) offboards at once: grants revoked, audited, next lookup refused', async (t) => {
  t.timeout(600_000);
  const rep = h.employees.salesRep;
  const grants = new MongoGrantStore(h.bot.conn);
  const now = h.clock.now();
  await grants.create({
    grantId: 'G-offboard-1', granteeId: rep.employeeId, target: { kind: 'customers', customerIds: ['C-000001'] }, groups: ['finance'],
    actions: ['lookup'], expiresAt: new Date(now.getTime() + 3_600_000), grantedBy: [h.employees.admin.employeeId], purpose: 'renewal', createdAt: now,
  });
  t.is((await grants.activeFor(rep.employeeId, now)).length, 1);

  // A user_change that is not a deletion changes nothing.
  await post(h.eventsUrl, sign(SIGNING_SECRET, userChangeBody(h.userId('salesRep'), false), JSON_TYPE));
  const res = await post(h.eventsUrl, sign(SIGNING_SECRET, userChangeBody(h.userId('salesRep'), true), JSON_TYPE));
  t.is(res.status, 200);
  // Slack is acked first (3-second rule); the listener finishes the offboarding right after.
  for (let i = 0; i < 600 && (await h.directory.byId(rep.employeeId))?.status !== 'offboarded'; i++) await new Promise((r) => setTimeout(r, 100));
  t.is((await h.directory.byId(rep.employeeId))?.status, 'offboarded', 'offboarded while handling that event');
  // The status changes first, then the grants are revoked, then the audit record: wait for the record.
  const records = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': rep.employeeId });
  t.is((await grants.activeFor(rep.employeeId, h.clock.now())).length, 0, 'the grant is revoked');
  t.is(records.length, 1);
  t.like(records[0]!.meta as object, { route: 'slack', grants: 1 });

  const { responseUrl } = await h.command(h.userId('salesRep'), h.dmOf('salesRep'), 'C-000001');
  const reply = messageText((await h.replyTo(responseUrl, 120_000)).body);
  t.regex(reply, /离职|offboarded/);
  t.true(reply.includes('#security-desk'));
});
