// The shared scenario list on WeCom (企业微信): encrypted, signed callbacks to the real bot's
// /wecom/callback, the WeCom API client against the fake WeCom API, real Redis, database, audit,
// approval and export workers (test/helpers/wecom-driver.ts). What users see and the audit trail must
// equal the golden file (run.ts) that Slack and Lark match. A WeCom application reaches one-to-one
// chats only, so the scenarios that need a team channel do not apply; this file says which they are.
// The five scenarios added last (en locale, audit query, alert, reminders and expiry, access review) are
// todo on WeCom (README: "Not yet built", issue 17): the driver's alert and review methods are not written,
// its reason prompt is read in zh-CN only, its reminder trail differs in count, and the audit table lists
// the Share scenario's lookups, which do not apply here.
import test from 'ava';
import { WeComDriver } from '../helpers/wecom-driver.ts';
import { AUDIT_SCENARIOS } from './audit.ts';
import { LOCALE_SCENARIOS } from './locale.ts';
import { applies } from './lookup.ts';
import { REMINDER_SCENARIOS } from './reminders.ts';
import { REVIEW_SCENARIOS } from './reviews.ts';
import { registerScenarios, SCENARIOS } from './run.ts';
import { SECURITY_SCENARIOS } from './security.ts';

const driver = new WeComDriver(import.meta.url);
const notYet = new Set([...LOCALE_SCENARIOS, ...AUDIT_SCENARIOS, ...SECURITY_SCENARIOS, ...REMINDER_SCENARIOS, ...REVIEW_SCENARIOS]);
registerScenarios(test, driver, SCENARIOS.map((s) => (notYet.has(s) ? { ...s, todo: [...(s.todo ?? []), 'wecom'] } : s)));

test('the scenarios that do not apply on WeCom are exactly those that need a team channel', (t) => {
  const skipped = SCENARIOS.filter((s) => !applies(s, driver));
  t.deepEqual(skipped.map((s) => s.needs), [['teamChannel']]);
  t.true(skipped[0]!.name.startsWith('share in the team channel'));
});
