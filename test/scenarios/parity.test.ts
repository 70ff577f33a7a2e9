// One scenario list, two platforms: every scenario runs through the Slack adapter and the Lark adapter
// (each with its real SDK against its fake API, signed requests, real Redis, database and audit
// pipeline) on the same seeded company. What the users saw and the audit trail each left must be the same.
import test from 'ava';
import { LarkDriver } from '../helpers/lark-driver.ts';
import { SlackDriver } from '../helpers/slack-driver.ts';
import { APPROVAL_SCENARIOS } from './approvals.ts';
import { LOOKUP_SCENARIOS, type ScenarioContext } from './lookup.ts';
import { REVEAL_SCENARIOS } from './reveal.ts';

const slack = new SlackDriver(import.meta.url);
const lark = new LarkDriver(import.meta.url);
let ctx: ScenarioContext;

test.before(async () => {
  await slack.start();
  await lark.start();
  const customers = [];
  for await (const c of slack.h.customers.stream({})) customers.push(c);
  const larkIds = [];
  for await (const c of lark.h.customers.stream({})) larkIds.push(c.customerId);
  if (larkIds.join() !== customers.map((c) => c.customerId).join()) throw new Error('the two harnesses seeded different customers');
  ctx = {
    customers,
    employeeId: (k) => slack.h.employees[k].employeeId,
    region: (k) => slack.h.employees[k].region,
  };
});
test.after.always(async () => {
  await slack.close();
  await lark.close();
});

for (const scenario of [...LOOKUP_SCENARIOS, ...APPROVAL_SCENARIOS, ...REVEAL_SCENARIOS]) {
  test.serial(scenario.name, async (t) => {
    const seenOnSlack = await scenario.run(slack, ctx);
    const seenOnLark = await scenario.run(lark, ctx);
    t.deepEqual(seenOnLark, seenOnSlack, 'users see the same on Slack and Lark');
    const slackTrail = await slack.trailSince(scenario.auditRecords);
    const larkTrail = await lark.trailSince(scenario.auditRecords);
    t.is(slackTrail.length, scenario.auditRecords, 'the audit records the scenario leaves');
    t.deepEqual(larkTrail, slackTrail, 'the same audit trail');
  });
}
