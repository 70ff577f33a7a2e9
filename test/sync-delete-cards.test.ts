// A customer deleted in its CRM while a request on it is pending: the sync worker cancels the request
// through the approval service, so the approver's card copy says in place why no decision is needed.
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { Customer } from '../bot/core/domain.ts';
import { createAuditProducer, type AuditProducer } from '../bot/queue/audit-producer.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { workerApprovalParts } from '../workers/approvals/service.ts';
import { SlackHarness, messageText } from './helpers/slack-bot.ts';
import { movableClock, requestAccess } from './helpers/slack-approval.ts';
import { ModelSource, RecordingAudit } from './helpers/sync-model-source.ts';

const clock = movableClock();
const h = new SlackHarness(import.meta.url, { customers: 40, grants: true, clock });
const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8'));
let producer: AuditProducer;

test.before(async () => { await h.start(); producer = createAuditProducer({ redis: h.config.redis!, prefix: h.config.redis!.queuePrefix, timeoutMs: 2000 }); });
test.after.always(async () => { await producer?.close(); await h.close(); });

test('the approver\'s card of a request cancelled by a CRM deletion says so in place', async (t) => {
  const all: Customer[] = [];
  for await (const c of h.customers.stream({})) all.push(c);
  const target = all.find((c) => c.region === 'east' && c.phone && c.status !== 'blocked')!;
  const id = await requestAccess(h, 'supportAgent', target.customerId, ['contact'], 30);

  // The customer came from the CRM: its record is linked to the source, and the source no longer has it.
  const store = new SyncStore(h.bot.conn);
  await store.ensureIndexes();
  await store.link('model', [{ sourceId: 'gone', customerId: target.customerId }]);
  const { approvals } = await workerApprovalParts(h.bot.conn, h.config, h.logger, clock, producer);
  const requests = new MongoRequestStore(h.bot.conn);
  const runner = new SyncRunner({
    customers: h.customers, store, recorder: new RecordingAudit(), clock, employees: new EmployeeStore(h.bot.conn),
    revoker: new StoreCustomerRevoker(new MongoGrantStore(h.bot.conn), requests, (c) => approvals.cancelAllOn(c, 'deletedAtSource')),
  }, new ModelSource('model'), mapping);
  const report = await runner.reconcile();
  t.is(report.deleted, 1);

  const stored = await requests.get(id);
  t.like(stored, { status: 'cancelled', denyReason: 'deletedAtSource' });
  const update = await h.fake.waitFor((x) => x.method === 'chat.update' && x.body.channel === h.dmOf('supportLead') && String(x.body.text).includes(id));
  t.regex(messageText(update.body), /该客户已在 CRM 中删除，申请已于 .* 自动撤销，无需审批/);
});
