// What the playground gained to do everything Slack and Lark do (issue 17), through its page's requests
// (test/helpers/playground-driver.ts): anomaly detection around every lookup, with the alert card in the
// security channel (the inbox of everyone the policy lets act on alerts) and its decisions re-authorised
// at click time; and the access review's cards in the reviewer's inbox, run by its worker's real queue.
import test from 'ava';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { PlaygroundDriver } from './helpers/playground-driver.ts';
import { notOwnEastCustomer } from './scenarios/approvals.ts';
import { scenarioContext } from './scenarios/run.ts';
import type { TrailEntry } from './scenarios/driver.ts';

const d = new PlaygroundDriver(import.meta.url);
const ctx = scenarioContext();

test.before(async () => { await d.start(); });
test.after.always(async () => { await d.close(); });

test.serial('eleven refused lookups freeze the user; the alert card reaches the security channel; a non-admin\'s Unfreeze is refused, the admin\'s changes the card and lets the user in again', async (t) => {
  const c = ctx.customers.find((x) => x.phone)!;
  // Marketing must state a purpose: each lookup without one is refused (and counted by the detector).
  for (let i = 0; i < 11; i++) await d.lookupInDm('marketingStaff', c.customerId);
  const alert = await d.alertCard('marketingStaff');
  t.true(alert.title.includes(`(${demoEmployee('marketingStaff').employeeId})`), alert.title);
  t.deepEqual(alert.buttons, ['unfreeze', 'keep', 'revoke']);
  t.true(alert.lines.some((l) => l.includes('/audit ')), alert.lines.join(' | '));
  const frozen = await d.lookupInDm('marketingStaff', `${c.customerId} purpose: 活动回访`);
  t.is(frozen.title, '', 'a frozen user gets a notice, not a card');

  const refused = await d.alertDecision('salesRep', 'marketingStaff', 'unfreeze');
  t.is(refused.card, null, 'a refused click leaves the card as it was');
  t.regex(refused.answer, /无权/);

  const done = await d.alertDecision('admin', 'marketingStaff', 'unfreeze');
  t.truthy(done.card);
  t.deepEqual(done.card!.buttons, []);
  t.true(done.card!.lines.join(' ').includes(demoEmployee('admin').name), done.card!.lines.join(' | '));
  const after = await d.lookupInDm('marketingStaff', `${c.customerId} purpose: 活动回访`);
  t.true(after.title.startsWith(c.customerId), `unfrozen, the user looks up again: ${after.text}`);

  const trail = await d.trailSince(1);
  const actions = trail.map((e) => `${e.action}:${e.decision}`);
  t.true(actions.includes('admin.freeze:allowed') || actions.some((a) => a.startsWith('admin.freeze')), actions.join(' '));
  t.true(actions.includes('admin.unfreeze:denied'), actions.join(' '));
  t.true(actions.includes('admin.unfreeze:allowed'), actions.join(' '));
});

test.serial('an access review asks the grantee\'s manager in their inbox; Revoke updates the card and the next lookup masks the phone', async (t) => {
  const c = notOwnEastCustomer(ctx, 0);
  const { requestId } = await d.requestAccess('salesRep', c.customerId, ['contact'], '续约跟进', 240, 'salesLeadEast');
  await d.approve('salesLeadEast', requestId);
  t.is((await d.lookupInDm('salesRep', c.customerId)).fields.get('电话'), c.phone);
  await d.runReviewCycle();
  const grantId = `G-${requestId.slice(2)}`;
  const { reviewId, card } = await d.reviewCard('salesLeadEast', grantId);
  t.deepEqual(card.buttons, ['keep', 'revoke']);
  t.true([...card.fields.values()].includes(grantId));

  const stranger = await d.reviewDecision('salesRepNorth', reviewId, 'revoke');
  t.is(stranger.card, null);
  const decided = await d.reviewDecision('salesLeadEast', reviewId, 'revoke');
  t.deepEqual(decided.card?.buttons, []);
  t.not(decided.card?.status, card.status);
  t.not((await d.lookupInDm('salesRep', c.customerId)).fields.get('电话'), c.phone);
  const actions = (await d.trailSince(1)).map((e) => `${e.action}:${e.decision}`);
  t.true(actions.some((a) => a.startsWith('review.') && a.endsWith(':denied')), actions.join(' '));
  t.true(actions.includes('grant.revoke:allowed') || actions.some((a) => a.startsWith('review.revoke')), actions.join(' '));
});

test.serial('the auditor\'s `audit …` answers with a table; a request nobody answers expires: every copy says so without buttons and the requester is told', async (t) => {
  const c = notOwnEastCustomer(ctx, 2);
  await d.lookupInDm('salesRep', c.customerId);
  // An audit query reads stored events; under load the worker holds a batch for a moment
  // (CUSTOS_AUDIT_LINGER_MS): wait until the lookup's `shown` event is in the chain.
  const shown = (e: TrailEntry) => e.action === 'lookup' && e.customerIds.includes(c.customerId);
  let stored = (await d.trailSince(0)).some(shown);
  for (const end = Date.now() + 60_000; !stored && Date.now() < end;) stored = (await d.trailSince(1)).some(shown);
  t.true(stored, 'the lookup\'s shown event reached the audit chain');
  const table = await d.auditQuery('auditor', `who-viewed ${c.customerId} purpose: 季度审计`);
  t.not(table.title, '', table.text);
  t.true(table.rows.some((r) => r.includes(demoEmployee('salesRep').employeeId)), table.rows.join(' | '));
  const refused = await d.auditQuery('salesRep', `who-viewed ${c.customerId}`);
  t.is(refused.title, '', 'a sales rep gets a notice, not a table');

  const { requestId } = await d.requestAccess('salesRep', c.customerId, ['contact'], '续约跟进', 60, 'salesLeadEast');
  // Last in this file: the clock moves a day and more (past the policy's request TTL).
  const expired = await d.expireRequest(25 * 60, requestId, 'salesRep');
  t.true(expired.copies.length > 0);
  for (const copy of expired.copies) {
    t.deepEqual(copy.buttons, [], copy.status);
    t.regex(copy.status, /过期/);
  }
  t.true(expired.told.includes(requestId), expired.told);
});
