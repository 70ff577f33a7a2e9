// Abuse controls on Lark lookups, through the real endpoint (signed pushes, real SDK, real Redis for the
// GCRA counters and detector windows, the real audit pipeline): the same guard as Slack's. The policy
// here is the default one with small thresholds (a burst of 5, three distinct customers in ten minutes),
// so the behaviour shows in a handful of lookups instead of a harvest of sixty. Alerts go to the Lark
// security group (LARK_SECURITY_CHAT), whose buttons only an admin may use.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ErrorCode } from '../bot/core/errors.ts';
import { LookupRefused } from '../bot/core/lookup.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import { errorView } from '../bot/core/views.ts';
import { ACTION_SECURITY } from '../bot/lark/security-cards.ts';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { cardButtons, cardFieldMap, cardText } from './fakes/lark-api.ts';
import { LarkHarness, openIdOf } from './helpers/lark-bot.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';

const CONTACT = '#security-desk'; // the harness's CUSTOS_SECURITY_CONTACT
const SECURITY_CHAT = 'oc_security';

/** The default policy with thresholds a test can reach. */
function smallThresholdPolicy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-lark-abuse-'));
  const yaml = readFileSync('policies/default.yaml', 'utf8')
    .replace(/rateLimit: \{[^}]*\}/, 'rateLimit: { perMinute: 1, burst: 5 }')
    .replace(/distinctCustomers: \{[^}]*\}/, 'distinctCustomers: { max: 3, windowMinutes: 10, freeze: true }');
  if (!yaml.includes('burst: 5') || !yaml.includes('max: 3, windowMinutes: 10')) throw new Error('the default policy no longer has the security settings this test edits');
  writeFileSync(path.join(dir, 'default.yaml'), yaml);
  return dir;
}

const policyDir = smallThresholdPolicy();
const h = new LarkHarness(import.meta.url, {
  customers: 20,
  extraEnv: { CUSTOS_POLICY_DIR: policyDir, LARK_SECURITY_CHAT: SECURITY_CHAT },
  extraChats: [{ chatId: SECURITY_CHAT, mode: 'group', type: 'private', members: [openIdOf(demoEmployee('admin')), openIdOf(demoEmployee('salesRep'))] }],
});

test.before(async () => { await h.start(); });
test.after.always(async () => { await h.close(); rmSync(policyDir, { recursive: true, force: true }); });

test.serial('a Lark user is throttled after the burst with the same refusal as on Slack, and the refusal is audited', async (t) => {
  const agent = h.employees.supportAgent;
  // The same customer each time: only the rate limit is in play (one distinct customer).
  for (let i = 1; i <= 5; i++) {
    const reply = await h.ask('supportAgent', demoCustomerId(1));
    t.true(cardFieldMap(reply.card).size > 0, `lookup ${i} of the burst shows the card`);
  }
  const throttled = await h.ask('supportAgent', demoCustomerId(1));
  const refusal = errorView(new LookupRefused('denied', 'rate_limited'), agent.locale, CONTACT);
  if (refusal.kind !== 'notice') return t.fail('the refusal is a notice');
  t.true(cardText(throttled.card).includes(refusal.text), 'the refusal Slack shows for rate_limited');
  t.is(cardFieldMap(throttled.card).size, 0, 'no customer fields');
  const records = await h.auditRecords({ action: 'lookup.refused', reasonCode: 'rate_limited', 'actor.employeeId': agent.employeeId });
  t.is(records.length, 1);
  t.is((records[0]!.actor as { platform: string }).platform, 'lark');
  t.true(Number((records[0]!.meta as { retryAfterMs: number }).retryAfterMs) > 0);
});

test.serial('a detector freezes a Lark user and alerts the security group; their next lookup is refused with whom to contact; only an admin can unfreeze', async (t) => {
  const lead = h.employees.supportLead;
  // Four distinct customers trip "distinct customers" (max 3): the fourth is still shown, then the freeze.
  for (let i = 1; i <= 4; i++) t.true(cardFieldMap((await h.ask('supportLead', demoCustomerId(i))).card).size > 0, `lookup ${i} is shown`);
  const freeze = await h.auditRecords({ action: 'admin.freeze', 'meta.subject': lead.employeeId });
  t.is(freeze.length, 1, 'the automatic freeze is audited');
  t.is((freeze[0]!.meta as { detector: string }).detector, 'distinctCustomers');
  t.is((await h.directory.byId(lead.employeeId))?.status, 'frozen');

  const refused = await h.ask('supportLead', demoCustomerId(5));
  const text = cardText(refused.card);
  t.true(text.includes(tr(ErrorCode.EmployeeFrozen, lead.locale, { contact: CONTACT })), 'the frozen refusal, naming the security contact');
  t.is(cardFieldMap(refused.card).size, 0);
  const identity = await h.auditRecords({ action: 'lookup.refused', reasonCode: ErrorCode.EmployeeFrozen, 'actor.employeeId': lead.employeeId });
  t.is(identity.length, 1, 'the refused lookup is audited');
  t.is((identity[0]!.actor as { platform: string }).platform, 'lark');

  // One alert card in the security group, naming the user and the evidence query.
  const alert = await h.fake.waitFor((m) => m.receiveId === SECURITY_CHAT);
  t.true(cardText(alert.card).includes(lead.employeeId));
  t.true(cardText(alert.card).includes(`by ${lead.employeeId} since:10m`));
  t.is(h.fake.sent().filter((m) => m.receiveId === SECURITY_CHAT).length, 1, 'exactly one alert');
  const unfreeze = cardButtons(alert.card).find((b) => b.value.a === ACTION_SECURITY.unfreeze);
  if (!unfreeze) return t.fail('the alert has an Unfreeze button');

  // A sales rep in the group cannot unfreeze; the attempt is audited and the card stays as it was.
  const denied = await h.click('salesRep', alert, unfreeze.value);
  t.regex(denied.answer.toast?.content ?? '', /无权处理安全告警/);
  t.is(denied.answer.card, undefined);
  t.is((await h.directory.byId(lead.employeeId))?.status, 'frozen');
  t.is((await h.auditRecords({ action: 'admin.unfreeze', decision: 'denied', 'meta.subject': lead.employeeId })).length, 1);

  // The admin can; the card shows the outcome and lookups work again.
  const ok = await h.click('admin', alert, unfreeze.value);
  t.regex(ok.answer.toast?.content ?? '', /已解除冻结/);
  t.regex(cardText(ok.answer.card?.data), /已解除冻结/);
  t.is((await h.directory.byId(lead.employeeId))?.status, 'active');
  const unfrozen = await h.auditRecords({ action: 'admin.unfreeze', decision: 'allowed', 'meta.subject': lead.employeeId });
  t.is((unfrozen[0]!.actor as { platform: string }).platform, 'lark');
  t.true(cardFieldMap((await h.ask('supportLead', demoCustomerId(1))).card).size > 0, 'lookups work again after the unfreeze');
});
