// Admin operations through the real bot endpoint, real Redis, database, audit pipeline and workers:
// offboarding cancels the person's pending requests and every approver's card says so in place (Slack
// `user_change` and `custos import employees`); an import that transfers someone revokes what the old
// department gave them; such an import is all-or-nothing and refuses without the audit queue; approved
// exports feed the export-volume detector, which freezes per policy. `custos import employees` runs once
// as a real process; the other runs go through the same `main` in this process (runCliHere: the same
// parsing, code, output and exit code), sparing seven process starts that each load the chat SDKs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Employee } from '../bot/core/domain.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { runCli, runCliHere } from './helpers/run-custos.ts';
import { testEnv } from './helpers/services.ts';
import { SIGNING_SECRET, SlackHarness, messageText } from './helpers/slack-bot.ts';
import { buttons, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import { JSON_TYPE, post, sign } from './helpers/slack-sign.ts';

const SECURITY_CHANNEL = 'C0SECURITY';
const DAY = 86_400_000;

// The default policy with a strict export-volume detector: a second export within the hour freezes.
const policyDir = mkdtempSync(path.join(tmpdir(), 'custos-policy-'));
writeFileSync(path.join(policyDir, 'default.yaml'), readFileSync('policies/default.yaml', 'utf8')
  .replace(/exports: \{ max: 5, windowMinutes: 60, freeze: false \}/, 'exports: { max: 1, windowMinutes: 60, freeze: true }'));

const clock = movableClock();
const h = new SlackHarness(import.meta.url, {
  customers: 60, grants: true, clock,
  extraEnv: { CUSTOS_SECURITY_CHANNEL: SECURITY_CHANNEL, CUSTOS_POLICY_DIR: policyDir },
  extraChannels: [{ id: SECURITY_CHANNEL, isPrivate: true, members: ['UBOT', 'U1'] }],
});
test.before(async () => { await h.start(); });
test.after.always(async () => {
  await h.close();
  rmSync(policyDir, { recursive: true, force: true });
});

/** `/customer export …` in the requester's DM, the modal submitted; the request id once the approver's card is posted. */
async function requestExport(key: DemoEmployeeKey, approver: DemoEmployeeKey): Promise<{ requestId: string }> {
  const since = h.fake.calls.length;
  await h.command(h.userId(key), h.dmOf(key), `export region:${h.employees[key].region} fields:name`);
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId(key), modal.callback_id, modal.private_metadata, requestValues('季度客户回访', 60));
  if (res.body) throw new Error(`submission refused: ${res.body}`);
  const card = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= since && c.method === 'chat.postMessage' && c.body.channel === h.dmOf(approver) && /#R-[A-P]{10}/.test(String(c.body.text)), 60_000);
  const requestId = /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!;
  return { requestId };
}

/** The chat.update of the approver's card copy for `requestId` once it says the request was cancelled. */
function cancelledCard(approver: DemoEmployeeKey, requestId: string) {
  return h.fake.waitFor((c) => c.method === 'chat.update' && c.body.channel === h.dmOf(approver) && String(c.body.text).includes(requestId)
    && /自动撤销/.test(messageText(c.body)), 60_000);
}

async function giveGrant(e: Employee, grantId: string): Promise<void> {
  const now = clock.now();
  // Valid for a long while, so it is still active on the CLI's real clock too.
  await new MongoGrantStore(h.bot.conn).create({
    grantId, granteeId: e.employeeId, target: { kind: 'customers', customerIds: ['C-000001'] }, groups: ['finance'],
    actions: ['lookup'], expiresAt: new Date(Math.max(now.getTime(), Date.now()) + 365 * DAY), grantedBy: [h.employees.admin.employeeId], purpose: 'renewal', createdAt: now,
  });
}

const activeGrants = (e: Employee) => new MongoGrantStore(h.bot.conn).activeFor(e.employeeId, new Date(Math.max(clock.now().getTime(), Date.now())));

/** An employees file (JSON Lines) with `changes` applied to the named employees. */
function employeesFile(rows: [DemoEmployeeKey, Partial<Employee>][], extraLine?: string): string {
  const lines = rows.map(([key, change]) => {
    const { chat: _chat, ...e } = { ...h.employees[key], ...change };
    return JSON.stringify(e);
  });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'custos-employees-')), 'hr.jsonl');
  writeFileSync(file, [...lines, ...(extraLine ? [extraLine] : [])].join('\n') + '\n');
  return file;
}

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return testEnv(h.config.mongo!.db, h.prefix, {
    SLACK_BOT_TOKEN: h.fake.token, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: h.fake.apiUrl, SLACK_API_RETRIES: '0', ...extra,
  });
}

async function lookupReply(key: DemoEmployeeKey, text: string): Promise<string> {
  const { responseUrl } = await h.command(h.userId(key), h.dmOf(key), text);
  return messageText((await h.replyTo(responseUrl, 120_000)).body);
}

test.serial('Slack user_change (deleted): the pending request is cancelled and the approver card says so in place; a late Approve is stale', async (t) => {
  t.timeout(600_000);
  const { requestId } = await requestExport('salesLeadSouth', 'salesHead');
  const body = JSON.stringify({
    token: 'legacy-verification-token', team_id: 'T0TEST', api_app_id: 'A0TEST', type: 'event_callback',
    event_id: `Ev${randomBytes(6).toString('hex').toUpperCase()}`, event_time: Math.floor(Date.now() / 1000),
    event: { type: 'user_change', user: { id: h.userId('salesLeadSouth'), team_id: 'T0TEST', deleted: true, profile: {} }, event_ts: `${Math.floor(Date.now() / 1000)}.000100` },
  });
  t.is((await post(h.eventsUrl, sign(SIGNING_SECRET, body, JSON_TYPE))).status, 200);

  const update = await cancelledCard('salesHead', requestId);
  t.regex(messageText(update.body), /申请人已离职/, 'the approver sees why');
  t.deepEqual(buttons(update.body), [], 'nothing left to click');
  const cancel = await h.auditRecords({ action: 'request.cancel', requestId });
  t.like(cancel[0], { reasonCode: 'offboarded', decision: 'allowed' });
  t.like((await h.auditRecords({ action: 'admin.offboard', 'meta.subject': h.employees.salesLeadSouth.employeeId }))[0]!.meta as object, { route: 'slack', requests: 1 });

  const click = await h.click(h.userId('salesHead'), h.dmOf('salesHead'), 'approval_approve', requestId);
  t.regex(String((await h.replyTo(click.responseUrl, 60_000)).body.text), /该申请已于 .* 撤回/);
});

test.serial('custos import employees: offboarding and a transfer take effect at once, cards updated, audited, printed', async (t) => {
  t.timeout(600_000);
  const leaver = h.employees.marketingLead;
  const mover = h.employees.financeClerk;
  const { requestId } = await requestExport('marketingLead', 'marketingHead');
  await giveGrant(leaver, 'G-import-leaver');
  await giveGrant(mover, 'G-import-mover');

  const file = employeesFile([['marketingLead', { status: 'offboarded' }], ['financeClerk', { department: 'legal' }], ['salesHead', {}]]);
  const res = await runCli(['import', 'employees', file], cliEnv()); // the binary, as an operator runs it
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, new RegExp(`offboarded ${leaver.employeeId}: 1 grant\\(s\\) revoked, 1 pending request\\(s\\) cancelled`));
  t.regex(res.stdout, new RegExp(`transferred ${mover.employeeId} from finance to legal: 1 grant\\(s\\) revoked, 0 pending`));

  t.is((await h.directory.byId(leaver.employeeId))?.status, 'offboarded');
  t.is((await h.directory.byId(mover.employeeId))?.department, 'legal');
  t.is((await h.directory.byId(h.employees.ordersClerk.employeeId))?.status, 'active', 'someone absent from the (partial) file has not left');
  t.deepEqual(await activeGrants(leaver), []);
  t.deepEqual(await activeGrants(mover), [], "the old department's grant is gone");
  const update = await cancelledCard('marketingHead', requestId);
  t.deepEqual(buttons(update.body), []);

  const offboard = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': leaver.employeeId });
  t.like(offboard[0]!.meta as object, { route: 'import', change: 'offboard', grants: 1, requests: 1 });
  const transfer = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': mover.employeeId });
  t.like(transfer[0]!.meta as object, { route: 'import', change: 'transfer:finance->legal', grants: 1 });
  t.like((await h.auditRecords({ action: 'request.cancel', requestId }))[0], { reasonCode: 'offboarded' });

  t.regex(await lookupReply('marketingLead', 'C-000001'), /离职|offboarded/, 'the next lookup is refused');
  // Importing the same file again changes nothing and revokes nothing more.
  const again = await runCliHere(['import', 'employees', file], cliEnv());
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stdout, /offboarded E-|transferred E-/);
});

test.serial('an import with offboardings is all-or-nothing: a bad row, or no audit queue, and nobody is offboarded', async (t) => {
  t.timeout(600_000);
  const stays = h.employees.supportAgent;
  await giveGrant(stays, 'G-import-stays');
  const bad = employeesFile([['supportAgent', { status: 'offboarded' }]], '{"employeeId":"E-9999","email":"x@corp.example.com","name":"X","department":"nowhere","roles":["staff"],"region":"east"}');
  const refused = await runCliHere(['import', 'employees', bad], cliEnv());
  t.is(refused.code, 1);
  t.regex(refused.stdout, /nothing was imported/);

  const good = employeesFile([['supportAgent', { status: 'offboarded' }]]);
  const noQueue = await runCliHere(['import', 'employees', good], cliEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
  t.is(noQueue.code, 1);
  t.regex(noQueue.stderr, /offboards, transfers or reactivates 1 employee\(s\), which must be audited, but the audit queue is not reachable .*nothing was imported/);

  t.is((await h.directory.byId(stays.employeeId))?.status, 'active', 'still active');
  t.is((await activeGrants(stays)).length, 1, 'grant intact');
  t.deepEqual(await h.auditRecords({ action: 'admin.offboard', 'meta.subject': stays.employeeId }, 1, 1000), []);
});

test.serial('custos import employees: bringing an offboarded employee back is refused without --allow-reactivation; with it, audited, no grants, chat re-linked by e-mail', async (t) => {
  t.timeout(600_000);
  const back = h.employees.marketingLead; // offboarded by the import test above
  t.is((await h.directory.byId(back.employeeId))?.status, 'offboarded');
  t.truthy((await h.directory.byId(back.employeeId))?.chat.slack, 'still bound to their Slack user');
  await giveGrant(back, 'G-import-stale'); // whatever might have been left: it must not come back with them
  const file = employeesFile([['marketingLead', { status: 'active' }], ['salesHead', {}]]);

  // Without the flag: the row is an error, nothing is imported.
  const refused = await runCliHere(['import', 'employees', file], cliEnv());
  t.is(refused.code, 1);
  t.regex(refused.stderr, /line 1: status: would bring back an offboarded employee; pass --allow-reactivation/);
  t.regex(refused.stdout, /nothing was imported/);
  // With the flag but no audit queue: refused before anything is written.
  const noQueue = await runCliHere(['import', 'employees', file, '--allow-reactivation'], cliEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
  t.is(noQueue.code, 1);
  t.regex(noQueue.stderr, /reactivates 1 employee\(s\), which must be audited, but the audit queue is not reachable/);
  t.is((await h.directory.byId(back.employeeId))?.status, 'offboarded', 'still offboarded');
  t.deepEqual(await h.auditRecords({ action: 'admin.reactivate' }, 1, 1000), []);

  const res = await runCliHere(['import', 'employees', file, '--allow-reactivation'], cliEnv());
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, new RegExp(`reactivated ${back.employeeId} \\(now active\\): no grants, chat bindings cleared; 1 leftover grant\\(s\\) revoked`));
  const stored = await h.directory.byId(back.employeeId);
  t.is(stored?.status, 'active');
  t.deepEqual(stored?.chat, {}, 'the old chat binding is not trusted any more');
  t.deepEqual(await activeGrants(back), [], 'back with no grants');
  const [record] = await h.auditRecords({ action: 'admin.reactivate', 'meta.subject': back.employeeId });
  t.like(record, { actor: { employeeId: null, platform: 'cli' }, decision: 'allowed', customerIds: [], meta: { route: 'import', change: 'reactivate:active', grants: 1, requests: 0 } });

  // Their next message links the Slack user again through the e-mail match, and lookups work again.
  t.notRegex(await lookupReply('marketingLead', 'C-000001'), /离职|offboarded/);
  t.is((await h.directory.byId(back.employeeId))?.chat.slack, h.userId('marketingLead'));
  // The same file again is no reactivation: nothing to do, nothing audited.
  const again = await runCliHere(['import', 'employees', file], cliEnv());
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stdout, /reactivated/);
  t.is((await h.auditRecords({ action: 'admin.reactivate' }, 2, 1000)).length, 1);
});

test.serial('approved exports feed the export-volume detector: over the policy limit → one alert, user frozen', async (t) => {
  t.timeout(900_000);
  const lead = h.employees.salesLeadEast;
  for (let i = 0; i < 2; i++) {
    const { requestId } = await requestExport('salesLeadEast', 'salesHead');
    await h.click(h.userId('salesHead'), h.dmOf('salesHead'), 'approval_approve', requestId);
    await h.auditRecords({ action: 'grant.start', requestId });
  }
  const alert = await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === SECURITY_CHANNEL, 60_000);
  t.true(messageText(alert.body).includes(lead.employeeId), 'the alert names the user');
  t.is((await h.directory.byId(lead.employeeId))?.status, 'frozen');
  const freeze = await h.auditRecords({ action: 'admin.freeze', 'meta.subject': lead.employeeId });
  t.like(freeze[0]!.meta as object, { detector: 'exports', count: 2, automatic: true });
  t.regex(await lookupReply('salesLeadEast', 'C-000001'), /冻结|frozen/);
});
