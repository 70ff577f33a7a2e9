// Deletions that reach the bot process itself — a signed push line, a 简道云 data_remove webhook — cancel
// the pending requests on the customer through the bot's approval service, so the approver's card copy
// says in place that the customer was deleted in the CRM (as the sync worker and `custos sync run` do).
// The real Slack bot serves both routes on its HTTP server; only Slack and 简道云 are fakes.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { BotDeletions, DELETED_IN_CRM } from './helpers/bot-deletions.ts';
import { SlackHarness, messageText } from './helpers/slack-bot.ts';
import { movableClock, requestAccess } from './helpers/slack-approval.ts';

const clock = movableClock();
const deletions = new BotDeletions(clock);
// No workers: nothing but the bot's own routes may cancel the requests here.
const h = new SlackHarness(import.meta.url, { customers: 40, grants: true, clock, workers: false });

test.before(async () => {
  // The bot reads its sync sources from the environment (bot/sync/http-routes.ts); this file's process only.
  await deletions.start();
  await h.start();
});
test.after.always(async () => { await h.close(); await deletions.close(); });

/** A customer `supportAgent` may request (east region, with a phone), a different one per test. */
async function pendingRequestOn(skip: Set<string>): Promise<{ target: Customer; requestId: string }> {
  const all: Customer[] = [];
  for await (const c of h.customers.stream({})) all.push(c);
  const target = all.find((c) => c.region === 'east' && c.phone && c.status !== 'blocked' && !skip.has(c.customerId))!;
  skip.add(target.customerId);
  return { target, requestId: await requestAccess(h, 'supportAgent', target.customerId, ['contact'], 30) };
}
const used = new Set<string>();

async function approverCardSaysDeleted(requestId: string): Promise<string> {
  const update = await h.fake.waitFor((x) => x.method === 'chat.update' && x.body.channel === h.dmOf('supportLead') && String(x.body.text).includes(requestId));
  return messageText(update.body);
}

test.serial('a delete line pushed to the bot cancels the pending request and the approver\'s card says so', async (t) => {
  const { target, requestId } = await pendingRequestOn(used);
  t.deepEqual(await deletions.push(h.bot.url, h.bot.conn, target.customerId), { status: 200, results: [{ line: 1, id: 'ERP-77', status: 'deleted' }] });
  t.like(await new MongoRequestStore(h.bot.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  t.regex(await approverCardSaysDeleted(requestId), DELETED_IN_CRM);
  t.is(await h.customers.get(target.customerId), null);
});

test.serial('a 简道云 data_remove webhook to the bot cancels the pending request and the approver\'s card says so', async (t) => {
  const { target, requestId } = await pendingRequestOn(used);
  t.like(await deletions.webhook(h.bot.url, h.bot.conn, target.customerId), { status: 200, body: { duplicate: false, deleted: 1 } });
  t.like(await new MongoRequestStore(h.bot.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  t.regex(await approverCardSaysDeleted(requestId), DELETED_IN_CRM);
  t.truthy(await new SyncStore(h.bot.conn).tombstoned(target.customerId));
});
