// The shared scenario list on WeCom (企业微信): encrypted, signed callbacks to the real bot's
// /wecom/callback, the WeCom API client against the fake WeCom API, real Redis, database, audit,
// approval and export workers (test/helpers/wecom-driver.ts). What users see and the audit trail must
// equal the golden file (run.ts) that Slack and Lark match. A WeCom application reaches one-to-one
// chats only, so the scenarios that need a team channel do not apply; this file says which they are.
// The audit query and the access review are todo on WeCom (README: "Not yet built", issue 17): what they
// show counts the Share scenario's lookups, which do not apply here.
import test from 'ava';
import { WeComDriver } from '../helpers/wecom-driver.ts';
import { AUDIT_SCENARIOS } from './audit.ts';
import { applies } from './lookup.ts';
import { REVIEW_SCENARIOS } from './reviews.ts';
import { registerScenarios, SCENARIOS } from './run.ts';

const driver = new WeComDriver(import.meta.url);
const notYet = new Set([...AUDIT_SCENARIOS, ...REVIEW_SCENARIOS]);
registerScenarios(test, driver, SCENARIOS.map((s) => (notYet.has(s) ? { ...s, todo: [...(s.todo ?? []), 'wecom'] } : s)));

test('the scenarios that do not apply on WeCom are exactly those that need a team channel', (t) => {
  const skipped = SCENARIOS.filter((s) => !applies(s, driver));
  t.deepEqual(skipped.map((s) => s.needs), [['teamChannel']]);
  t.true(skipped[0]!.name.startsWith('share in the team channel'));
});
