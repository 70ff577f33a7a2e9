// bench/audit: events per second stored by the audit worker (fetch from BullMQ, chain, hash, MAC, insert,
// acknowledge) next to a raw `insertMany` of the very same documents into a collection with the same
// indexes and the same batch size, in the same run. The two are measured in alternating rounds so that
// load from other processes on the machine hits both alike. Target: rate ≥ 50% of the raw rate, chain intact.
// Last stdout line: {"bench":"audit","rate":…,"baseline_rate":…,"ratio":…,"chain_ok":true}
import { standaloneUrl } from '../bot/config-redis.ts';
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { hmacQuery, newEventId } from '../bot/core/audit-event.ts';
import { verifyAuditChain } from '../bot/core/audit-verify.ts';
import { loadConfig } from '../bot/config.ts';
import { createLogger } from '../bot/logger.ts';
import { AUDIT_JOB, AUDIT_QUEUE } from '../bot/queue/audit-producer.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { allCheckpoints, streamRecords } from '../bot/store/audit-store.ts';
import { startAuditWorker } from '../workers/audit/worker.ts';
import { now, report, requireEnv, round } from './lib.ts';

const N = Number(process.env.BENCH_AUDIT_EVENTS ?? 20_000);
const ROUNDS = 4;
const BATCH = 500;
const tag = randomBytes(4).toString('hex');
const dbName = `bench_audit_${tag}`;
const prefix = `bench_audit_${tag}`;
const key = () => randomBytes(32).toString('base64');
const config = loadConfig({
  MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: dbName, REDIS_URL: requireEnv('REDIS_URL'), CUSTOS_QUEUE_PREFIX: prefix,
  CUSTOS_AUDIT_HMAC_KEY: key(), CUSTOS_AUDIT_SIGNING_KEY: key(), CUSTOS_AUDIT_BATCH: String(BATCH),
}, { require: ['mongo', 'redis', 'audit'] });
const signingKey = config.audit!.signingKey;

/** A realistic lookup event: masked fields, rule ids, a query HMAC, a correlation id. */
function event(i: number): AuditEventInput {
  return {
    v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
    actor: { employeeId: `E-${String(i % 50).padStart(4, '0')}`, platform: i % 2 ? 'slack' : 'lark', platformUserId: `U${i % 50}` },
    channelKind: 'dm', action: 'lookup', customerIds: [`C-${String(i % 5000).padStart(6, '0')}`],
    fields: [{ name: 'name', outcome: 'mask:name' }, { name: 'phone', outcome: 'mask:mobile' }, { name: 'tier', outcome: 'show' }],
    decision: 'allowed', ruleIds: ['sales-own', 'contact-masked'],
    query: { kind: 'phone', hmac: hmacQuery(config.audit!.hmacKey, `1380000${String(i).padStart(4, '0')}`) },
    correlationId: `req-${i}`, meta: { candidates: 1 },
  };
}

const conn = await mongoose.createConnection(config.mongo!.uri, { dbName, autoIndex: false }).asPromise();
const redis = new Redis(standaloneUrl(config.redis!), { maxRetriesPerRequest: null });
const queue = new Queue(AUDIT_QUEUE, { connection: redis, prefix });
try {
  const models = await auditModels(conn);
  const raw = conn.collection('audit_events_baseline');
  // Exactly the indexes the audit collection has (whatever the model declares today).
  const specs = (await models.events.collection.indexes()).filter((ix) => ix.name !== '_id_');
  await raw.createIndexes(specs.map((ix) => ({ key: ix.key, unique: ix.unique === true, name: ix.name })));
  const worker = await startAuditWorker({
    redis: config.redis!, prefix, models, signingKey, clock: { now: () => new Date() },
    settings: config.auditPipeline, logger: createLogger({ level: process.env.BENCH_LOG ?? 'warn' }),
  });
  const perRound = Math.ceil(N / ROUNDS);
  let workerMs = 0;
  let rawMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // Enqueue the round while the queue is paused, so the timing covers storing only.
    await queue.pause();
    const events = Array.from({ length: perRound }, (_, i) => event(r * perRound + i));
    for (let i = 0; i < events.length; i += 1000) {
      await queue.addBulk(events.slice(i, i + 1000).map((e) => ({ name: AUDIT_JOB, data: { event: e }, opts: { jobId: e.eventId, removeOnComplete: true } })));
    }
    const t0 = now();
    await queue.resume();
    // Done when no job waits or is in hand: a job leaves "active" only after its record is stored.
    for (;;) {
      const c = await queue.getJobCounts('wait', 'active', 'prioritized');
      if (!c.wait && !c.active && !c.prioritized) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    workerMs += now() - t0;

    // Baseline: this round's stored documents, raw insertMany in the same batch size.
    const docs = await models.events.collection.find({ seq: { $gt: r * perRound } }, { projection: { _id: 0 } }).sort({ seq: 1 }).toArray();
    const t1 = now();
    for (let i = 0; i < docs.length; i += BATCH) await raw.insertMany(docs.slice(i, i + BATCH), { ordered: true });
    rawMs += now() - t1;
    console.error(`round ${r + 1}/${ROUNDS}: ${docs.length} events; worker ${round(workerMs)} ms, raw ${round(rawMs)} ms so far`);
  }
  await worker.close();
  const stored = await models.events.countDocuments({});
  const total = perRound * ROUNDS;
  if (stored !== total) throw new Error(`stored ${stored} of ${total}`);

  const t2 = now();
  const verified = await verifyAuditChain(streamRecords(models), await allCheckpoints(models), signingKey);
  const verifyMs = now() - t2;
  // The verifier's own cost, apart from how fast the server streams: the same records replayed from memory.
  const sample = await models.events.collection.find({}).sort({ seq: 1 }).limit(2000).toArray();
  const checkpointsForSample = (await allCheckpoints(models)).filter((cp) => cp.lastSeq <= sample.length);
  const t3 = now();
  const replayed = await verifyAuditChain((async function* () { yield* sample; })(), checkpointsForSample, signingKey);
  const perRecordUs = ((now() - t3) * 1000) / sample.length;
  console.error(`verifier CPU: ${round(perRecordUs)} µs per record (${replayed.ok ? 'ok' : 'BROKEN'}), i.e. ~${round(perRecordUs, 0)} s per million records plus streaming`);
  const rate = total / (workerMs / 1000);
  const baseline = total / (rawMs / 1000);
  console.error(`audit worker: ${total} events in ${round(workerMs)} ms; raw insertMany: ${round(rawMs)} ms; verify: ${verified.ok ? 'intact' : JSON.stringify(verified.problem)} in ${round(verifyMs)} ms`);
  report({ bench: 'audit', rate: round(rate), baseline_rate: round(baseline), ratio: round(rate / baseline, 3), chain_ok: verified.ok });
} finally {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  redis.disconnect();
  await conn.dropDatabase().catch(() => undefined);
  await conn.close();
}
