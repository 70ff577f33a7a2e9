// The audit producer's groups (bot/queue/audit-producer.ts) on the real Redis: the events recorded in one
// turn of the event loop travel as one job, at most GROUP_MAX to a job. Generated histories of turns, some
// while Redis refuses writes (CLIENT PAUSE … WRITE: the add times out, as on a stuck primary); after each
// history: every record that resolved is in exactly one job, no job mixes turns or exceeds GROUP_MAX, a
// turn Redis took is ⌈n / GROUP_MAX⌉ jobs (a lone event under its own id), and a turn it refused is refused
// for every one of its records. The histories run on a Redis of their own (a pause of the shared one
// stalls every test file), paused until the turn's records are refused, then unpaused: no race between a
// short pause and the add's time limit, which a loaded machine lost (an add over 60 ms refused a turn
// Redis took). Then the worker: groups, an old single-event job and a group holding an invalid event,
// stored as one chain.
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import fc from 'fast-check';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { loadConfig, section } from '../bot/config.ts';
import { createLogger } from '../bot/logger.ts';
import { AUDIT_JOB, AUDIT_QUEUE, GROUP_MAX, createAuditProducer, eventsOfJob, groupJobId, type AuditJobData } from '../bot/queue/audit-producer.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { readTail, streamRecords } from '../bot/store/audit-store.ts';
import { startAuditWorker } from '../workers/audit/worker.ts';
import { startPrivateRedis } from './helpers/redis-topology.ts';
import { dropPrefix, requireEnv, testDatabase, testEnv, testRedis, uniqueName } from './helpers/services.ts';

const prefix = uniqueName(import.meta.url, 'prefix');
const admin = testRedis();
const quiet = createLogger({ level: 'silent' });
/** A refused turn's pause: ended by CLIENT UNPAUSE once its records are refused; this only bounds it. */
const PAUSE_MS = 10_000;
/** The producer's time limit for an add: long enough for a loaded machine, short against the pause. */
const ADD_LIMIT_MS = 500;
let runs = 0;
test.after.always(async () => {
  await dropPrefix(`${prefix}-worker`);
  admin.disconnect();
});

function event(over: Partial<AuditEventInput> = {}): AuditEventInput {
  const now = new Date();
  return {
    v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
    actor: { employeeId: 'E-0001', platform: 'slack', platformUserId: 'U012ABC' },
    channelKind: 'dm', action: 'lookup', customerIds: ['C-000123'],
    fields: [{ name: 'phone', outcome: 'mask:mobile' }], decision: 'allowed', ruleIds: ['sales-own-customers'], ...over,
  };
}

interface Turn { records: number; refused: boolean }
const turnArb = fc.record({ records: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: GROUP_MAX - 2, max: GROUP_MAX * 2 + 1 })), refused: fc.boolean() });

test('the records of one turn are one job (at most GROUP_MAX each), accepted or refused together', async (t) => {
  const own = await startPrivateRedis();
  t.teardown(() => own.stop());
  const ownAdmin = new Redis(own.url, { maxRetriesPerRequest: null });
  t.teardown(() => ownAdmin.disconnect());
  await fc.assert(fc.asyncProperty(fc.array(turnArb, { minLength: 1, maxLength: 4 }), async (turns: Turn[]) => {
    const queuePrefix = `${prefix}-${runs++}`;
    const producer = createAuditProducer({ redis: own.url, prefix: queuePrefix, timeoutMs: ADD_LIMIT_MS, reconnectWaitMs: 0 });
    const queue = new Queue<AuditJobData>(AUDIT_QUEUE, { connection: ownAdmin, prefix: queuePrefix });
    try {
      await producer.ready(2000);
      const outcomes: { turn: number; event: AuditEventInput; settled: PromiseSettledResult<void> }[] = [];
      for (const [turn, { records, refused }] of turns.entries()) {
        if (refused) await ownAdmin.client('PAUSE', PAUSE_MS, 'WRITE');
        // All in one synchronous run: one turn of the event loop.
        const events = Array.from({ length: records }, () => event());
        const settled = await Promise.allSettled(events.map((e) => producer.record(e))).finally(async () => {
          if (refused) await ownAdmin.client('UNPAUSE');
        });
        events.forEach((e, i) => outcomes.push({ turn, event: e, settled: settled[i]! }));
      }
      const jobs = await queue.getJobs(['waiting']);
      const turnOf = new Map(outcomes.map((o) => [o.event.eventId, o.turn]));
      const holders = new Map<string, number>();
      for (const job of jobs) {
        const ids = (eventsOfJob(job.data) as AuditEventInput[]).map((e) => e.eventId);
        t.true(ids.length <= GROUP_MAX, 'a job holds at most GROUP_MAX events');
        t.is(new Set(ids.map((id) => turnOf.get(id))).size, 1, 'a job holds the events of one turn');
        t.is(job.id, groupJobId(eventsOfJob(job.data) as AuditEventInput[]));
        for (const id of ids) holders.set(id, (holders.get(id) ?? 0) + 1);
      }
      for (const o of outcomes) {
        if (o.settled.status === 'fulfilled') t.is(holders.get(o.event.eventId), 1, 'a recorded event is in exactly one job');
        else t.true(isCustosError(o.settled.reason, ErrorCode.AuditUnavailable), 'a refusal is the audit-unavailable error');
      }
      for (const [turn, { records, refused }] of turns.entries()) {
        const mine = outcomes.filter((o) => o.turn === turn);
        if (refused) {
          t.true(mine.every((o) => o.settled.status === 'rejected'), `turn ${turn}: Redis refused, every record refused`);
          continue;
        }
        t.true(mine.every((o) => o.settled.status === 'fulfilled'), `turn ${turn}: every record accepted`);
        const jobIds = new Set(jobs.filter((j) => turnOf.get((eventsOfJob(j.data)[0] as AuditEventInput).eventId) === turn).map((j) => j.id));
        t.is(jobIds.size, Math.ceil(records / GROUP_MAX), `turn ${turn}: ${records} records`);
        if (records === 1) t.true(jobIds.has(mine[0]!.event.eventId), 'a lone event keeps its own job id');
      }
    } finally {
      await queue.close();
      await producer.close();
    }
  }), { numRuns: 12 });
});

test('the worker stores groups, an old single-event job and a group with an invalid event as one chain', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(() => db.drop());
  const queuePrefix = `${prefix}-worker`;
  const config = loadConfig(testEnv(db.name, queuePrefix, { CUSTOS_AUDIT_LEASE_MS: '1500' }), { require: ['mongo', 'redis', 'audit'] });
  const models = await auditModels(db.conn);
  const queue = new Queue<AuditJobData>(AUDIT_QUEUE, { connection: admin, prefix: queuePrefix });
  t.teardown(() => queue.close());
  const producer = createAuditProducer({ redis: requireEnv('REDIS_URL'), prefix: queuePrefix, timeoutMs: 2000 });
  t.teardown(() => producer.close());
  await producer.ready(2000);

  const grouped = Array.from({ length: 5 }, () => event());
  await Promise.all(grouped.map((e) => producer.record(e)));
  const old = event();
  await queue.add(AUDIT_JOB, { event: old }, { jobId: old.eventId });
  const fine = event();
  const invalid = { ...event(), purpose: 'call 13912345678' }; // raw personal data: the worker refuses it
  await queue.add(AUDIT_JOB, { events: [fine, invalid] }, { jobId: 'g-mixed' });

  const worker = await startAuditWorker({
    redis: requireEnv('REDIS_URL'), prefix: queuePrefix, models, signingKey: section(config, 'audit').signingKey,
    clock: { now: () => new Date() }, settings: config.auditPipeline, logger: quiet,
  });
  t.teardown(() => worker.close());
  const want = [...grouped, old, fine].map((e) => e.eventId).sort();
  for (let i = 0; i < 200 && ((await readTail(models))?.seq ?? 0) < want.length; i++) await sleep(25);
  const stored = [];
  for await (const r of streamRecords(models, 0)) stored.push(r);
  t.deepEqual(stored.map((r) => r.eventId).sort(), want, 'every valid event stored once, the invalid one not');
  t.deepEqual(stored.map((r) => r.seq), want.map((_, i) => i + 1), 'one chain');
  for (let i = 0; i < 100 && (await queue.getJobState('g-mixed')) !== 'failed'; i++) await sleep(25);
  t.is(await queue.getJobState('g-mixed'), 'failed', 'the job with the invalid event stays visible in failed');
  // Completed once stored: the acknowledgements run after the write.
  const left = async () => { const c = await queue.getJobCounts('waiting', 'active'); return c.waiting! + c.active!; };
  for (let i = 0; i < 200 && (await left()) > 0; i++) await sleep(25);
  t.is(await left(), 0, 'nothing left to store');
});
