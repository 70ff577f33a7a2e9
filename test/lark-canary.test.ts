// The canary through the Lark bot: a customer's phone, e-mail, ID number and name are looked up with
// every query kind (encrypted, signed pushes; the real SDK client against the fake Open API; the real
// audit producer and worker), then every Redis key and value under the test's prefix, every stored
// audit record and every log line at trace level are searched for them (see slack-canary.test.ts).
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { cardText } from './fakes/lark-api.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { redisDump } from './helpers/services.ts';

const h = new LarkHarness(import.meta.url, { customers: 60, logLevel: 'trace' });
let canary: Customer;

test.before(async () => {
  await h.start();
  const staffNames = Object.values(h.employees).map((e) => e.name);
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
  for (const [who, text] of [
    ['salesRep', canary.customerId], ['salesRep', spaced], ['supportAgent', canary.email!.toUpperCase()],
    ['supportAgent', canary.idNumber!], ['salesRep', canary.name], ['salesRep', `${canary.customerId} purpose: call ${phone}`],
    ['salesRepNorth', spaced],
  ] as const) {
    const reply = await h.ask(who, text);
    t.true(cardText(reply.card).length > 0, `${who} got a card`);
  }
  await h.auditRecords({ 'meta.stage': 'shown' }, 5);
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
