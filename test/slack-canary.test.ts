// The canary, end to end: a customer's phone, e-mail, ID number and name are looked up through the real
// Slack bot (every query kind, a share, refusals, a purpose that tries to carry the phone) with the real
// audit producer and worker, then every Redis key and value under the test's prefix, every stored audit
// record and checkpoint, and every log line at trace level are searched for them. audit-pipeline.test.ts
// does the same for events a test builds itself; this proves what the bot itself puts there.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { PRIVATE_CHANNEL, SlackHarness, messageText } from './helpers/slack-bot.ts';
import { redisDump } from './helpers/services.ts';

const h = new SlackHarness(import.meta.url, {
  customers: 60, logLevel: 'trace', privateMembers: ['salesRep', 'supportAgent', 'financeClerk'],
});
let canary: Customer;

test.before(async () => {
  await h.start();
  const staffNames = Object.values(h.employees).map((e) => e.name);
  // A canary with every value present, owned by the sales rep, whose name no employee's name contains.
  for await (const c of h.customers.stream({ ownerId: h.employees.salesRep.employeeId })) {
    if (c.phone && c.email && c.idNumber && Array.from(c.name).length >= 3 && !staffNames.some((n) => n.includes(c.name) || c.name.includes(n))) {
      canary = c;
      break;
    }
  }
});
test.after.always(async () => { await h.close(); });

test.serial('a canary customer\'s phone, e-mail, ID number and name never reach Redis, the audit log or the logs', async (t) => {
  t.truthy(canary, 'a canary customer exists in the seed');
  const phone = canary.phone!;
  const spaced = phone.startsWith('1') ? `+86 ${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}` : phone;
  // Every query kind, by the owner (full view) and by support (masked view).
  for (const [who, text] of [
    ['salesRep', canary.customerId], ['salesRep', spaced], ['supportAgent', canary.email!.toUpperCase()],
    ['supportAgent', canary.idNumber!], ['salesRep', canary.name], ['financeClerk', canary.name],
  ] as const) {
    const reply = await h.ask(h.userId(who), h.dmOf(who), text);
    t.true(reply.ok, `${who}: ${messageText(reply.body).slice(0, 80)}`);
  }
  // In a channel, then shared with it.
  const mine = await h.ask(h.userId('salesRep'), PRIVATE_CHANNEL, canary.customerId);
  const share = (mine.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions')!.elements![0]!;
  await h.replyTo((await h.click(h.userId('salesRep'), PRIVATE_CHANNEL, share.action_id, share.value)).responseUrl);
  // Refusals: a purpose carrying the phone, and a user who may not see the canary (off scope).
  await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), `${canary.customerId} purpose: call ${phone}`);
  await h.ask(h.userId('salesRepNorth'), h.dmOf('salesRepNorth'), spaced);

  // The worker has stored everything (a shown event per answered lookup), then scan.
  await h.auditRecords({ 'meta.stage': 'shown' }, 8);
  const records = JSON.stringify(await h.allAuditRecords(1500));
  t.true(records.includes(canary.customerId), 'the scan does see the canary\'s records');
  const redis = await redisDump(h.prefix);
  t.true(redis.keys > 0, 'the scan does see Redis keys');
  const logs = h.logLines.join('');
  t.true(logs.length > 0, 'the scan does see log lines');
  const values = { phone, email: canary.email!, emailUpper: canary.email!.toUpperCase(), idNumber: canary.idNumber!, name: canary.name };
  for (const [where, haystack] of [['Redis', redis.text], ['audit records', records], ['logs', logs]] as const) {
    for (const [kind, value] of Object.entries(values)) t.false(haystack.includes(value), `canary ${kind} in ${where}`);
  }
});
