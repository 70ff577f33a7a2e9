// Deletions that reach the bot process itself — a signed push line, a 简道云 data_remove webhook — cancel
// the pending requests on the customer through the bot's approval service, so the approver's card copy
// says in place that the customer was deleted in the CRM (as the sync worker and `custos sync run` do).
// The real Slack bot serves both routes on its HTTP server; only Slack and 简道云 are fakes.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import type { Customer } from '../bot/core/domain.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { PUSH_PATH } from '../bot/sync/push-route.ts';
import { pushSignature } from '../bot/sync/push-signature.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { WEBHOOK_PATH } from '../bot/sync/webhook-route.ts';
import { FakeJiandaoyun } from './fakes/jiandaoyun.ts';
import { SlackHarness, messageText } from './helpers/slack-bot.ts';
import { movableClock, requestAccess } from './helpers/slack-approval.ts';

const PUSH_SECRET = 'erp-secret-0123456789abcdef0123456789abcdef';
const JDY = { apiKey: 'jdy-api-key-0123456789abcdef0123', appId: '59264073a2a60c0c08e20bfb', entryId: '59264073a2a60c0c08e20bfd', secret: 'jdy-webhook-secret-0123456789' };
const clock = movableClock();
const jdy = new FakeJiandaoyun({ apiKey: JDY.apiKey, appId: JDY.appId, entryId: JDY.entryId, clock });
// No workers: nothing but the bot's own routes may cancel the requests here.
const h = new SlackHarness(import.meta.url, { customers: 40, grants: true, clock, workers: false });

test.before(async () => {
  // The bot reads its sync sources from the environment (bot/sync/http-routes.ts); this file's process only.
  Object.assign(process.env, {
    CUSTOS_SYNC_SOURCES: 'erp,jiandaoyun', CUSTOS_SYNC_MAPPINGS: fileURLToPath(new URL('./fixtures/sync', import.meta.url)),
    CUSTOS_SYNC_PUSH_SECRET_ERP: PUSH_SECRET,
    CUSTOS_SYNC_JIANDAOYUN_API_URL: await jdy.start(), CUSTOS_SYNC_JIANDAOYUN_API_KEY: JDY.apiKey, CUSTOS_SYNC_JIANDAOYUN_APP_ID: JDY.appId,
    CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: JDY.entryId, CUSTOS_SYNC_JIANDAOYUN_WEBHOOK_SECRET: JDY.secret,
  });
  await h.start();
});
test.after.always(async () => { await h.close(); await jdy.close(); });

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
  const store = new SyncStore(h.bot.conn);
  await store.link('erp', [{ sourceId: 'ERP-77', customerId: target.customerId }]);
  const body = JSON.stringify({ op: 'delete', id: 'ERP-77' });
  const ts = String(Math.floor(clock.now().getTime() / 1000));
  const res = await fetch(`${h.bot.url}${PUSH_PATH('erp')}`, {
    method: 'POST', body,
    headers: { 'content-type': 'application/x-ndjson', 'x-custos-request-timestamp': ts, 'x-custos-signature': pushSignature(PUSH_SECRET, ts, Buffer.from(body)), 'x-custos-batch-id': 'del-1' },
  });
  t.is(res.status, 200);
  t.deepEqual(((await res.json()) as { results: unknown[] }).results, [{ line: 1, id: 'ERP-77', status: 'deleted' }]);
  t.like(await new MongoRequestStore(h.bot.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  t.regex(await approverCardSaysDeleted(requestId), /该客户已在 CRM 中删除，申请已于 .* 自动撤销，无需审批/);
  t.is(await h.customers.get(target.customerId), null);
});

test.serial('a 简道云 data_remove webhook to the bot cancels the pending request and the approver\'s card says so', async (t) => {
  const { target, requestId } = await pendingRequestOn(used);
  const store = new SyncStore(h.bot.conn);
  // The record the customer came from, already gone from 简道云 (the webhook is re-read: absent = deleted).
  const recordId = '64f0a1b2c3d4e5f6000000aa';
  await store.link('jiandaoyun', [{ sourceId: recordId, customerId: target.customerId }]);
  const res = await jdy.deliver(`${h.bot.url}${WEBHOOK_PATH('jiandaoyun')}`, JDY.secret, 'data_remove', recordId);
  t.is(res.status, 200);
  t.like(await res.json(), { duplicate: false, deleted: 1 });
  t.like(await new MongoRequestStore(h.bot.conn).get(requestId), { status: 'cancelled', denyReason: 'deletedAtSource' });
  t.regex(await approverCardSaysDeleted(requestId), /该客户已在 CRM 中删除，申请已于 .* 自动撤销，无需审批/);
  t.truthy(await store.tombstoned(target.customerId));
});
