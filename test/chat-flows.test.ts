// The services a DingTalk or WeCom bot builds (bot/runtime/chat-flows.ts) notify through ONE PlatformChats
// per process: each configured module's chat() runs once (not once for approvals and again for reviews),
// and is handed this process's Redis, so no module opens a connection of its own. A request's card still
// reaches the approver on the platform they are bound to, and its cancellation updates that card there.
import test from 'ava';
import type { ApprovalNotifier } from '../bot/core/approvals/service.ts';
import type { ReviewNotifier } from '../bot/core/reviews/service.ts';
import { loadConfig } from '../bot/config.ts';
import { createLogger } from '../bot/logger.ts';
import { CustosError, ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { chatFlows } from '../bot/runtime/chat-flows.ts';
import { PlatformChats } from '../bot/runtime/chat-routing.ts';
import type { ChatContext, PlatformModule } from '../bot/runtime/platform-module.ts';
import { PlatformRegistry } from '../bot/runtime/platform-registry.ts';
import { buildServices, type BotServices } from '../bot/runtime/services.ts';
import { demoEmployee, demoEmployees } from '../bot/store/demo-company.ts';
import { closeHarness, seedBoundCompany } from './helpers/bound-company.ts';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';

/** A Tuesday, 10:30 in Shanghai: inside every demo employee's working hours. */
const WORKDAY = Date.parse('2026-06-30T02:30:00Z');
const logger = createLogger({ level: 'silent' });
const prefix = uniqueName(import.meta.url, 'prefix');
let db: Awaited<ReturnType<typeof testDatabase>>;
let services: BotServices | undefined;

/** A module that counts its chat() calls, keeps the contexts it was given and records what its notifiers did. */
function countingModule(id: string, calls: string[], contexts: ChatContext[]): PlatformModule {
  const approvals: ApprovalNotifier = {
    async postCard(to, view, role) { calls.push(`${id}:post:${to.employeeId}:${view.requestId}`); return { platform: id, channel: 'c', ts: `t-${view.requestId}`, employeeId: to.employeeId, role }; },
    async updateCard(ref, view) { calls.push(`${id}:update:${ref.employeeId}:${view.status.state}`); },
    async tell(to) { calls.push(`${id}:tell:${to.employeeId}`); },
    async showReveal(request) { calls.push(`${id}:reveal:${request.requestId}`); },
  };
  const reviews: ReviewNotifier = {
    async post() { return null; }, async update() { return undefined; }, async tell() { return undefined; },
  };
  return {
    id, requires: [], configured: () => true, settings: () => ({ of: id }), start: async () => ({ close: async () => undefined }),
    chat: async (ctx) => { contexts.push(ctx); return { approvals, reviews }; }, testkit: ['test/chat-flows.test.ts'],
  };
}

test.before(async () => {
  db = await testDatabase(import.meta.url);
});
test.after.always(async () => {
  await closeHarness({ bot: services, workers: undefined, fake: { stop: async () => undefined }, db, prefix });
});

test('one PlatformChats per process: each module chat() once, on this process\'s Redis; a request still reaches its approver and its cancellation updates that card', async (t) => {
  const config = loadConfig(testEnv(db.name, prefix), { require: ['mongo', 'redis', 'crypto', 'audit'] });
  const employees = demoEmployees();
  const { customers } = await seedBoundCompany(db.conn, config, { customers: 40, seed: 'chat-flows' }, { platform: 'dingtalk', idOf: (e) => `dt${e.employeeId}`, employees });
  services = await buildServices(config, logger, { clock: { now: () => new Date(WORKDAY) } }, () => ({ alert: async () => undefined }));
  const calls: string[] = [];
  const contexts: ChatContext[] = [];
  const registry = new PlatformRegistry([countingModule('dingtalk', calls, contexts), countingModule('wecom', calls, contexts)]);
  const built = await chatFlows(services, config, logger, 'dingtalk', { registry });
  services.onClose(() => built.close());

  const rep = demoEmployee('salesRep');
  let customerId: string | undefined;
  for await (const c of customers.stream({})) if (!customerId && c.ownerId !== rep.employeeId && c.region === 'east' && c.phone) customerId = c.customerId;
  t.truthy(customerId, 'the seed has a customer the rep must ask for');
  const request = await built.flows.approvals!.submit(rep, { target: { kind: 'reveal', customerId: customerId!, field: 'phone' }, purpose: '续约跟进', durationMinutes: 15 }, { platform: 'dingtalk', channel: 'c1', channelKind: 'dm' });
  const posted = calls.filter((c) => c.startsWith('dingtalk:post:') && c.endsWith(`:${request.requestId}`));
  t.true(posted.length >= 1, `the approver's card is posted on DingTalk, where they are bound: ${calls.join(', ')}`);
  t.false(calls.some((c) => c.startsWith('wecom:')), 'nobody is bound on WeCom: nothing goes there');

  t.is(await built.flows.approvals!.cancelAllOf(rep.employeeId, 'offboarded'), 1);
  t.is(calls.filter((c) => c.startsWith('dingtalk:update:') && c.endsWith(':cancelled')).length, posted.length, 'every posted card says it was cancelled, where it was posted');

  // Approvals and reviews both routed: still exactly one chat() per configured module, given this process's Redis.
  t.deepEqual(contexts.map((c) => c.redis === services!.redis), [true, true]);
  t.deepEqual(contexts.map((c) => c.settings), [{ of: 'dingtalk' }, { of: 'wecom' }], 'each module handed its own parsed settings');
  t.is(contexts.length, 2, 'one chat() per module for the whole process');
});

test('a module\'s bad settings fail the routing where it is built (a component\'s start), before any chat() runs', (t) => {
  const config = loadConfig(testEnv('db', prefix), { require: [] });
  const contexts: ChatContext[] = [];
  const bad: PlatformModule = {
    ...countingModule('wecom', [], contexts),
    settings: () => { throw new CustosError(ErrorCode.ConfigInvalid, 'invalid WeCom configuration', { problems: ['WECOM_SECRET is required'] }); },
  };
  const registry = new PlatformRegistry([countingModule('dingtalk', [], contexts), bad]);
  const err = t.throws(() => new PlatformChats(config, logger, { registry }));
  t.true(isCustosError(err, ErrorCode.ConfigInvalid));
  t.is(contexts.length, 0, 'no chat() was started');
});
