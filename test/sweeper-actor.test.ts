// The workers' approval sweeper records what it finishes itself as the system, not as a chat platform:
// a decision made on Lark whose event the audit queue lost is recorded by the sweeper (same event id)
// with the decider's employee id and the actor platform `system`, as the export worker records its own
// events; so is the grant it starts. Nothing the sweeper records claims to come from Slack.
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import type { AuditEventInput, AuditRecorder } from '../bot/core/audit.ts';
import { parseAuditEvent } from '../bot/core/audit-event.ts';
import { ApprovalService } from '../bot/core/approvals/service.ts';
import { allApprovers } from '../bot/core/approvals/parts.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { createLogger } from '../bot/logger.ts';
import { demoEmployee, demoEmployees } from '../bot/store/demo-company.ts';
import { workerApprovalParts } from '../workers/approvals/service.ts';
import { closeHarness, seedBoundCompany } from './helpers/bound-company.ts';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const MINUTE = 60_000;

/** The audit queue as a list; it can lose decision events (the queue gone between the decision and its event). */
class RecordingAudit implements AuditRecorder {
  readonly events = new Map<string, AuditEventInput>();
  failDecisions = false;
  async record(event: AuditEventInput): Promise<void> {
    const parsed = parseAuditEvent(event);
    if (this.failDecisions && parsed.action === 'request.approve') throw new CustosError(ErrorCode.AuditUnavailable, 'audit queue down (test)');
    if (!this.events.has(parsed.eventId)) this.events.set(parsed.eventId, parsed);
  }
}

test('a decision the sweeper finishes is recorded with the decider and the system as actor platform', async (t) => {
  const db = await testDatabase(import.meta.url);
  const prefix = uniqueName(import.meta.url, 'prefix');
  const closers: (() => Promise<unknown>)[] = [];
  t.teardown(async () => {
    for (const c of closers.reverse()) await c();
    await closeHarness({ bot: undefined, workers: undefined, fake: { stop: async () => undefined }, db, prefix });
  });
  const config = loadConfig(testEnv(db.name, prefix), { require: ['mongo', 'redis', 'crypto', 'audit'] });
  const clock = { t: Date.parse('2026-06-30T02:30:00Z'), now() { return new Date(this.t); } };
  const audit = new RecordingAudit();
  const parts = await workerApprovalParts(db.conn, config, createLogger({ level: 'silent' }), clock, audit);
  closers.push(() => parts.chat.close());
  const { customers } = await seedBoundCompany(db.conn, config, { customers: 40, seed: 'sweeper-actor' }, { platform: 'lark', idOf: (e) => `ou_${e.employeeId.replace(/\D/g, '')}a`, employees: demoEmployees() });

  // The Lark bot's service: the same stores, its own actor platform.
  const bot = new ApprovalService({ ...parts.approvals.deps, platform: 'lark' });
  const rep = demoEmployee('salesRep');
  let customerId: string | undefined;
  for await (const c of customers.stream({})) if (!customerId && c.ownerId !== rep.employeeId && c.region === 'east' && c.phone) customerId = c.customerId;
  const request = await bot.submit(rep, { target: { kind: 'reveal', customerId: customerId!, field: 'phone' }, purpose: '核对来电号码', durationMinutes: 15 }, { platform: 'lark', channel: 'oc_1', channelKind: 'dm' });
  const approver = (await parts.directory.byId(allApprovers(request)[0]!))!;

  audit.failDecisions = true;
  const err = await t.throwsAsync(bot.approve(approver, request.requestId));
  audit.failDecisions = false;
  t.is((err as CustosError).code, ErrorCode.AuditUnavailable, 'the decision took no effect without its event');

  clock.t += 2 * MINUTE;
  t.like(await parts.approvals.sweep(), { finished: 1 });
  const mine = [...audit.events.values()].filter((e) => e.requestId === request.requestId);
  const decision = mine.find((e) => e.action === 'request.approve');
  t.deepEqual(decision?.actor, { employeeId: approver.employeeId, platform: 'system' });
  t.deepEqual(mine.find((e) => e.action === 'grant.start')?.actor, { employeeId: approver.employeeId, platform: 'system' });
  t.deepEqual(mine.filter((e) => e.actor.platform === 'slack'), [], 'nothing claims Slack');
  t.is(mine.find((e) => e.action === 'request.create')?.actor.platform, 'lark', 'what the bot recorded keeps its platform');
});
