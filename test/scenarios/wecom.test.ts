// The shared scenario list on WeCom (企业微信): encrypted, signed callbacks to the real bot's
// /wecom/callback, the WeCom API client against the fake WeCom API, real Redis, database, audit,
// approval and export workers (test/helpers/wecom-driver.ts). What users see and the audit trail must
// equal the golden file (run.ts) that Slack and Lark match. A WeCom application reaches one-to-one
// chats only, so the scenarios that need a team channel do not apply; this file says which they are.
// Every other scenario runs here. The audit query's rows and the review card's count of lookups read
// what the earlier scenarios left in the log: their expectation is derived from the golden trails of
// the scenarios that ran (run.ts, `fromHistory`), so they list no Share lookups here.
import test from 'ava';
import { WeComDriver } from '../helpers/wecom-driver.ts';
import { applies } from './lookup.ts';
import { registerScenarios, SCENARIOS } from './run.ts';

const driver = new WeComDriver(import.meta.url);
registerScenarios(test, driver);

test('the scenarios that do not apply on WeCom are exactly those that need a team channel', (t) => {
  const skipped = SCENARIOS.filter((s) => !applies(s, driver));
  t.deepEqual(skipped.map((s) => s.needs), [['teamChannel']]);
  t.true(skipped[0]!.name.startsWith('share in the team channel'));
});
