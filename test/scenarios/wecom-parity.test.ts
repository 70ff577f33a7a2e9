// The shared scenario list on WeCom, compared with Slack (temporary: until the scenario runner compares
// each platform with the golden expected.json). Same seeded company, same scenarios; what users saw and
// the audit trail must be the same. Scenarios that need a team channel do not apply to WeCom.
import test from 'ava';
import { SlackDriver } from '../helpers/slack-driver.ts';
import { WeComDriver } from '../helpers/wecom-driver.ts';
import { APPROVAL_SCENARIOS } from './approvals.ts';
import { applies, LOOKUP_SCENARIOS, type ScenarioContext } from './lookup.ts';
import { REVEAL_SCENARIOS } from './reveal.ts';

const slack = new SlackDriver(import.meta.url);
const wecom = new WeComDriver(import.meta.url);
let ctx: ScenarioContext;

test.before(async () => {
  await slack.start();
  await wecom.start();
  const customers = [];
  for await (const c of slack.h.customers.stream({})) customers.push(c);
  const ids = [];
  for await (const c of wecom.h.customers.stream({})) ids.push(c.customerId);
  if (ids.join() !== customers.map((c) => c.customerId).join()) throw new Error('the two harnesses seeded different customers');
  ctx = { customers, employeeId: (k) => slack.h.employees[k].employeeId, region: (k) => slack.h.employees[k].region };
});
test.after.always(async () => {
  await wecom.close();
  await slack.close();
});

for (const scenario of [...LOOKUP_SCENARIOS, ...APPROVAL_SCENARIOS, ...REVEAL_SCENARIOS].filter((s) => applies(s, wecom))) {
  test.serial(scenario.name, async (t) => {
    const seenOnSlack = await scenario.run(slack, ctx);
    const seenOnWeCom = await scenario.run(wecom, ctx);
    t.deepEqual(seenOnWeCom, seenOnSlack, 'users see the same on Slack and WeCom');
    const slackTrail = await slack.trailSince(scenario.auditRecords);
    const wecomTrail = await wecom.trailSince(scenario.auditRecords);
    t.is(slackTrail.length, scenario.auditRecords, 'the audit records the scenario leaves');
    t.deepEqual(wecomTrail, slackTrail, 'the same audit trail');
  });
}
