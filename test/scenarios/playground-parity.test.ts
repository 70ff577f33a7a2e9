// The shared scenario list on the playground, compared with Slack: the playground driver (its page's own
// HTTP requests) and the Slack driver (signed requests to Bolt) on the same seeded company, each with
// real Redis, database, audit worker and approval flow. What the users saw and the audit trail must match.
import test from 'ava';
import { PlaygroundDriver } from '../helpers/playground-driver.ts';
import { SlackDriver } from '../helpers/slack-driver.ts';
import { APPROVAL_SCENARIOS } from './approvals.ts';
import { LOOKUP_SCENARIOS, type ScenarioContext } from './lookup.ts';
import { REVEAL_SCENARIOS } from './reveal.ts';

const slack = new SlackDriver(import.meta.url);
const playground = new PlaygroundDriver(import.meta.url);
let ctx: ScenarioContext;

test.before(async () => {
  await slack.start();
  await playground.start();
  const customers = [];
  for await (const c of slack.h.customers.stream({})) customers.push(c);
  const ids = [];
  for await (const c of playground.h.customers.stream({})) ids.push(c.customerId);
  if (ids.join() !== customers.map((c) => c.customerId).join()) throw new Error('the two harnesses seeded different customers');
  ctx = { customers, employeeId: (k) => slack.h.employees[k].employeeId, region: (k) => slack.h.employees[k].region };
});
test.after.always(async () => {
  await slack.close();
  await playground.close();
});

for (const scenario of [...LOOKUP_SCENARIOS, ...APPROVAL_SCENARIOS, ...REVEAL_SCENARIOS]) {
  test.serial(scenario.name, async (t) => {
    const onSlack = await scenario.run(slack, ctx);
    const onPlayground = await scenario.run(playground, ctx);
    t.deepEqual(onPlayground, onSlack, 'users see the same in the playground and on Slack');
    const slackTrail = await slack.trailSince(scenario.auditRecords);
    const playgroundTrail = await playground.trailSince(scenario.auditRecords);
    t.is(slackTrail.length, scenario.auditRecords, 'the audit records the scenario leaves');
    t.deepEqual(playgroundTrail, slackTrail, 'the same audit trail');
  });
}
