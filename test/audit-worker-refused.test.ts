// Redis refuses the audit worker while it is filling a batch (here: its ACL user loses the right to run
// scripts, as a misconfigured ACL, a READONLY demoted primary or an OOM refusal would). The jobs it already
// holds must still be stored — left locked and unstored, their locks renewed forever, those events would
// never reach the chain — and once Redis takes commands again every event is stored exactly once.
// Real Redis (its own ACL user, so no other test is touched) and the real database.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import test from 'ava';
import { Queue } from 'bullmq';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { verifyAuditChain } from '../bot/core/audit-verify.ts';
import { loadConfig, section } from '../bot/config.ts';
import { createLogger } from '../bot/logger.ts';
import { AUDIT_QUEUE, createAuditProducer } from '../bot/queue/audit-producer.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { allCheckpoints, streamRecords } from '../bot/store/audit-store.ts';
import { startAuditWorker } from '../workers/audit/worker.ts';
import { until } from './helpers/redis-topology.ts';
import { dropPrefix, requireEnv, testDatabase, testEnv, testRedis, uniqueName } from './helpers/services.ts';

const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
const user = `custos-audit-refused-${randomBytes(4).toString('hex')}`;
const password = randomBytes(16).toString('hex');
const admin = testRedis();
test.after.always(async () => {
  await admin.call('ACL', 'DELUSER', user).catch(() => undefined);
  admin.disconnect();
  await db.drop();
  await dropPrefix(prefix);
});

function event(i: number): AuditEventInput {
  const now = new Date();
  return {
    v: 1, eventId: newEventId(now), occurredAt: now.toISOString(), actor: { employeeId: 'E-0001', platform: 'slack' },
    channelKind: 'dm', action: 'lookup', customerIds: [`C-${String(i).padStart(6, '0')}`], fields: [], decision: 'allowed', ruleIds: ['r'],
  };
}

test('jobs held when Redis starts refusing are stored at once; after Redis is back every event is stored once and the chain verifies', async (t) => {
  await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
  const url = new URL(requireEnv('REDIS_URL'));
  url.username = user;
  url.password = password;
  const config = loadConfig(testEnv(db.name, prefix, {
    REDIS_URL: url.toString(), CUSTOS_AUDIT_LOCK_MS: '1000', CUSTOS_AUDIT_STALLED_MS: '500', CUSTOS_AUDIT_LEASE_MS: '1000',
  }), { require: ['mongo', 'redis', 'audit'] });
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }) });
  const models = await auditModels(db.conn);
  const producer = createAuditProducer({ redis: requireEnv('REDIS_URL'), prefix, timeoutMs: 2000 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(30_000));
  const queueConnection = testRedis();
  const queue = new Queue(AUDIT_QUEUE, { connection: queueConnection, prefix });
  t.teardown(async () => { await queue.close(); queueConnection.disconnect(); });
  // Five events waiting when the worker starts: its first batch is full (five), so the next one lingers
  // (under load a batch waits for more events) until it holds five too: the refusal comes while it waits.
  for (let i = 1; i <= 5; i++) await producer.record(event(i));
  const worker = await startAuditWorker({
    redis: section(config, 'redis'), prefix, models, signingKey: section(config, 'audit').signingKey,
    clock: { now: () => new Date() }, settings: { ...config.auditPipeline, batchSize: 5, lingerMs: 600_000 }, logger,
  });
  let closed = false;
  t.teardown(() => (closed ? undefined : worker.close()));
  const stored = () => models.events.countDocuments({});
  await until('the first five stored', async () => ((await stored()) === 5 ? true : undefined));
  const held = event(6);
  await producer.record(held);
  await until('the sixth taken by the worker', async () => ((await queue.getJobState(held.eventId)) === 'active' ? true : undefined));

  // Redis refuses the worker's scripts (fetching, acknowledging, lock renewal) from now on.
  await admin.call('ACL', 'SETUSER', user, '-@scripting');
  await until('the held event stored while Redis refuses', async () => ((await stored()) === 6 ? true : undefined));
  t.true(lines.some((l) => l.includes('taking more jobs failed; storing the batch in hand')), 'the worker said why it stored early');
  t.is(await models.events.countDocuments({ eventId: held.eventId }), 1);
  // Its lock, renewed by scripts that are refused now, lapses: from then on its acknowledgement cannot
  // succeed whenever the worker gets to it (on a loaded machine that may be after Redis is back), so the
  // job must come back through the stalled check.
  const lock = `${prefix}:${AUDIT_QUEUE}:${held.eventId}:lock`;
  await until('the held job\'s lock lapsed', async () => ((await admin.exists(lock)) === 0 ? true : undefined));

  // Redis takes commands again. The sixth's acknowledgement was refused: its job comes back once its
  // lock lapses and is completed without a second record. New events keep coming (a lingering batch
  // is stored when it is full), until every job is finished.
  await admin.call('ACL', 'SETUSER', user, '+@all');
  let recorded = 6;
  await until('every job finished', async () => {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    if ((await stored()) === recorded && Object.values(counts).every((n) => n === 0)) return true;
    if (recorded < 100) await producer.record(event(++recorded)); // one more at each poll
    return undefined;
  });
  t.true(recorded > 6);
  t.is(await models.events.countDocuments({ eventId: held.eventId }), 1, 'the sixth stored once');
  // Its job came back and found its event stored. Another job may come back with it (a lock that lapsed on a
  // loaded machine): the count is at least one, and the chain below holds each event once either way.
  const duplicates = lines.filter((l) => l.includes('audit worker: batch stored')).reduce((n, l) => n + (JSON.parse(l) as { duplicates: number }).duplicates, 0);
  t.true(duplicates >= 1, 'its job came back and found it stored');
  await worker.close();
  closed = true;
  const verified = await verifyAuditChain(streamRecords(models), await allCheckpoints(models), section(config, 'audit').signingKey);
  t.true(verified.ok, JSON.stringify(verified.problem));
  t.is(verified.events, recorded);
});
