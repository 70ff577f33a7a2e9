// The audit pipeline end to end on real Redis and the real database, with the worker in this process:
// producer → BullMQ → chain writer → MongoDB, then the verifier over what was stored.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { hmacQuery, newEventId } from '../bot/core/audit-event.ts';
import { verifyAuditChain } from '../bot/core/audit-verify.ts';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { userMessage } from '../bot/core/messages.ts';
import type { Clock } from '../bot/core/ports.ts';
import { recordThenShow } from '../bot/core/record.ts';
import { loadConfig, section } from '../bot/config.ts';
import { createLogger } from '../bot/logger.ts';
import { AUDIT_QUEUE, createAuditProducer, type AuditProducer } from '../bot/queue/audit-producer.ts';
import { auditModels, type AuditModels } from '../bot/store/audit-model.ts';
import { allCheckpoints, readTail, streamRecords } from '../bot/store/audit-store.ts';
import { AUDIT_STREAM_BLOCKS_COLLECTION } from '../bot/store/audit-stream-blocks.ts';
import { startAuditWorker } from '../workers/audit/worker.ts';
import { startPrivateRedis } from './helpers/redis-topology.ts';
import { freePort } from './helpers/run-custos.ts';
import { timersLeftBy } from './helpers/timers.ts';
import { dropPrefix, redisDump, testDatabase, testEnv, testRedis, uniqueName } from './helpers/services.ts';

const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
const config = loadConfig(testEnv(db.name, prefix, {
  CUSTOS_AUDIT_LOCK_MS: '2000', CUSTOS_AUDIT_STALLED_MS: '1000', CUSTOS_AUDIT_LEASE_MS: '1500', CUSTOS_AUDIT_BATCH: '25',
}), { require: ['mongo', 'redis', 'audit'] });
const auditKeys = section(config, 'audit');
let models: AuditModels;

// Everything the pipeline logs, at the most verbose level, for the canary scan.
const logLines: string[] = [];
const logger = createLogger({
  level: 'trace',
  destination: new Writable({ write(chunk: Buffer, _enc, cb) { logLines.push(chunk.toString()); cb(); } }),
});

test.before(async () => { models = await auditModels(db.conn); });
test.after.always(async () => { await db.drop(); await dropPrefix(prefix); });

const CANARY = { name: '欧阳娜娜', phone: '13912345678', email: 'nana.canary@example.cn', idNumber: '110101199003074518' };

function event(clock: Clock, over: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    v: 1,
    eventId: newEventId(clock.now()),
    occurredAt: clock.now().toISOString(),
    actor: { employeeId: 'E-0001', platform: 'slack', platformUserId: 'U012ABC' },
    channelKind: 'dm',
    action: 'lookup',
    customerIds: ['C-000123'],
    fields: [{ name: 'phone', outcome: 'mask:mobile' }, { name: 'name', outcome: 'mask:name' }],
    decision: 'allowed',
    ruleIds: ['sales-own-customers'],
    ...over,
  };
}

async function waitFor(cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const systemClock: Clock = { now: () => new Date() };

test.serial('recorded events are stored once each in a chain that verifies; recording twice stores once; the canary never leaks', async (t) => {
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 1500, logger });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  const worker = await startAuditWorker({
    redis: section(config, 'redis'), prefix, models, signingKey: auditKeys.signingKey,
    clock: systemClock, settings: config.auditPipeline, logger,
  });

  // A scenario touching the canary customer: text search by name, phone search, reveal, refusal.
  const events = [
    event(systemClock, { query: { kind: 'text', hmac: hmacQuery(auditKeys.hmacKey, CANARY.name) }, purpose: '客户回访 follow-up' }),
    event(systemClock, { query: { kind: 'phone', hmac: hmacQuery(auditKeys.hmacKey, CANARY.phone) } }),
    event(systemClock, { query: { kind: 'email', hmac: hmacQuery(auditKeys.hmacKey, CANARY.email) }, action: 'reveal', fields: [{ name: 'email', outcome: 'show' }] }),
    event(systemClock, { query: { kind: 'idNumber', hmac: hmacQuery(auditKeys.hmacKey, CANARY.idNumber) }, action: 'lookup.refused', decision: 'denied', reasonCode: 'purpose_required', customerIds: [] }),
  ];
  for (let i = 0; i < 56; i++) events.push(event(systemClock, { meta: { candidates: i, cached: false } }));
  for (const e of events) await producer.record(e);
  await producer.record(events[0]!); // a retried record: same eventId
  // An event whose purpose carries the canary's phone is refused before it reaches Redis.
  const leaky = event(systemClock, { purpose: `call ${CANARY.phone} back` });
  const err = await t.throwsAsync(producer.record(leaky));
  t.true(isCustosError(err, ErrorCode.AuditEventInvalid));
  t.false(err!.message.includes(CANARY.phone));

  await waitFor(async () => (await models.events.countDocuments({})) >= events.length);
  // The same event again after it was stored and its job removed: still one record.
  const again = events[1]!;
  const replayConnection = testRedis();
  const replay = new Queue(AUDIT_QUEUE, { connection: replayConnection, prefix });
  await replay.add('audit.event', { event: again }, { jobId: `${again.eventId}-replay` });
  // Completed jobs are removed at once; a job that failed would stay (removeOnFail: false).
  await waitFor(async () => ['completed', 'unknown'].includes(await replay.getJobState(`${again.eventId}-replay`)));
  t.is(await replay.getFailedCount(), 0);
  await replay.close();
  replayConnection.disconnect();
  await worker.close();

  const docs = await models.events.collection.find({}).sort({ seq: 1 }).toArray();
  t.is(docs.length, events.length);
  t.deepEqual(docs.map((d) => d.seq), events.map((_, i) => i + 1));
  t.deepEqual(docs.map((d) => String(d.eventId)).sort(), events.map((e) => e.eventId).sort());
  t.is(docs[0]!.prevHash, '0'.repeat(64));
  t.is(docs[1]!.prevHash, docs[0]!.hash);
  t.is(docs[0]!.late, false);
  const result = await verifyAuditChain(streamRecords(models), await allCheckpoints(models), auditKeys.signingKey);
  t.true(result.ok, JSON.stringify(result.problem));
  t.is(result.events, events.length);
  t.true(result.checkpoints >= 1); // the shutdown checkpoint

  // Canary scan: every Redis key and value under the prefix, every audit document, every log line.
  const dump = await redisDump(prefix);
  const haystack: string[] = [...logLines, JSON.stringify(docs), JSON.stringify(await models.checkpoints.collection.find({}).toArray()), dump.text];
  t.true(dump.keys > 0, 'the scan does see Redis keys');
  const all = haystack.join('\n');
  t.true(all.includes(events[0]!.eventId), 'the scan does see the stored events');
  for (const [kind, value] of Object.entries(CANARY)) t.false(all.includes(value), `canary ${kind} leaked`);
});

test.serial('events stored more than a minute after they occurred are marked late', async (t) => {
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 1500 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  const before = await models.events.countDocuments({});
  const past: Clock = { now: () => new Date(Date.now() - 5 * 60_000) };
  const lateEvent = event(past);
  const onTime = event(systemClock);
  await producer.record(lateEvent);
  await producer.record(onTime);
  const worker = await startAuditWorker({
    redis: section(config, 'redis'), prefix, models, signingKey: auditKeys.signingKey,
    clock: systemClock, settings: config.auditPipeline, logger,
  });
  await waitFor(async () => (await models.events.countDocuments({})) >= before + 2);
  await worker.close();
  t.is((await models.events.collection.findOne({ eventId: lateEvent.eventId }))?.late, true);
  t.is((await models.events.collection.findOne({ eventId: onTime.eventId }))?.late, false);
  t.true((await verifyAuditChain(streamRecords(models), await allCheckpoints(models), auditKeys.signingKey)).ok);
});

test.serial('a closed worker leaves no long timer behind: the process that stopped it can exit at once', async (t) => {
  // Its close used to race its batch against a bare 10 s sleep, twice: whatever stopped the worker in its
  // own process (every test file that ran one) stayed alive 10 s after it had stopped. (`custos start`
  // exits explicitly once stopped.)
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 1500 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  const before = await models.events.countDocuments({});
  await producer.record(event(systemClock));
  const left = await timersLeftBy(async () => {
    const worker = await startAuditWorker({
      redis: section(config, 'redis'), prefix, models, signingKey: auditKeys.signingKey,
      clock: systemClock, settings: config.auditPipeline, logger,
    });
    await waitFor(async () => (await models.events.countDocuments({})) >= before + 1);
    await worker.close();
  });
  t.deepEqual(left, [], 'timers left pending by the stopped worker');
});

test.serial('Redis unreachable: record fails within its timeout and the data path is never reached', async (t) => {
  // A port nothing listens on.
  const producer = createAuditProducer({ redis: 'redis://127.0.0.1:1', prefix, timeoutMs: 300 });
  t.teardown(() => producer.close());
  let reads = 0;
  const countingReader = { find: async () => { reads++; return [{ customerId: 'C-000123' }]; } };
  // Twenty in a row within the test's time limit: a record that waited for Redis to come back would hang here.
  for (let i = 0; i < 20; i++) {
    const err = await t.throwsAsync(recordThenShow(producer, event(systemClock), () => countingReader.find()));
    t.true(isCustosError(err, ErrorCode.AuditUnavailable));
    t.regex(userMessage(err, 'en'), /audit log is unavailable/);
  }
  t.is(reads, 0);
});

test.serial('Redis stopping answering mid-run (paused with CLIENT PAUSE) → record rejects within its timeout', async (t) => {
  // A Redis of this test's own: a pause of the shared one would stall every test file's writes.
  const own = await startPrivateRedis();
  t.teardown(() => own.stop());
  const producer = createAuditProducer({ redis: own.url, prefix, timeoutMs: 300 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  let reads = 0;
  await recordThenShow(producer, event(systemClock), () => { reads++; });
  t.is(reads, 1);
  const admin = new Redis(own.url, { maxRetriesPerRequest: null });
  t.teardown(() => admin.disconnect());
  // Paused for 10 s, far beyond the producer's 300 ms: a refusal while paused can only be the producer's own
  // timeout (had it waited, Redis would have taken the job once the pause ended, and the record would
  // pass). No wall-clock bound asserted. Unpaused as the test ends, pass or fail (teardowns run in
  // reverse, so before the connection closes and the server stops).
  await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
  t.teardown(() => admin.call('CLIENT', 'UNPAUSE').then(() => undefined));
  const err = await t.throwsAsync(recordThenShow(producer, event(systemClock), () => { reads++; }));
  t.true(isCustosError(err, ErrorCode.AuditUnavailable));
  t.is(reads, 1);
});

test.serial('a connection dropped and back within the reconnect wait (a failover): record waits and Redis takes the job; without the wait it is refused', async (t) => {
  const door = await redisDoor(new URL(process.env.REDIS_URL!));
  t.teardown(() => door.shut());
  const connection = testRedis();
  const queue = new Queue(AUDIT_QUEUE, { connection, prefix });
  t.teardown(async () => { await queue.close(); connection.disconnect(); });
  for (const reconnectWaitMs of [0, 60_000]) {
    const producer = createAuditProducer({ redis: door.url, prefix, timeoutMs: 300, reconnectWaitMs });
    t.teardown(() => producer.close());
    t.true(await producer.ready(60_000));
    await door.shut();
    const e = event(systemClock);
    const recorded = producer.record(e).then(() => 'recorded', (err: unknown) => (isCustosError(err, ErrorCode.AuditUnavailable) ? 'refused' : String(err)));
    // Not opened again before a refusal without the wait: that one must not depend on timing.
    if (reconnectWaitMs === 0) t.is(await recorded, 'refused', 'no wait: refused, fail closed');
    await door.open();
    if (reconnectWaitMs > 0) t.is(await recorded, 'recorded', 'waited for the connection and the job was taken');
    t.is(Boolean(await queue.getJob(e.eventId)), reconnectWaitMs > 0, 'a job only for the recorded event');
  }
});

/** A TCP door in front of Redis: `shut` cuts every connection and refuses new ones; `open` lets them through again on the same port. */
async function redisDoor(target: URL): Promise<{ url: string; open(): Promise<void>; shut(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const open = () => new Promise<void>((resolve) => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const shut = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    if (!server?.listening) return resolve();
    server.close(() => resolve());
  });
  await open();
  return { url: `redis://127.0.0.1:${port}`, open, shut };
}

test.serial('chain writer: a redelivered event in a later batch and a rival writer with a stale tail both keep one gapless chain', async (t) => {
  const { ChainWriter } = await import('../workers/audit/chain-writer.ts');
  const other = await testDatabase(`${import.meta.url}-writer`);
  t.teardown(other.drop);
  const m = await auditModels(other.conn);
  const a = new ChainWriter(m, auditKeys.signingKey, systemClock, 60_000);
  const b = new ChainWriter(m, auditKeys.signingKey, systemClock, 60_000);
  const evs = Array.from({ length: 9 }, () => event(systemClock));
  t.is((await a.write(evs.slice(0, 3))).stored, 3); // a caches tail = 3
  t.is((await b.write(evs.slice(3, 5))).stored, 2); // b writes 4, 5 behind a's back
  // a's cached tail is stale (3) and the batch repeats an event b already stored: a must re-read, skip it.
  const r = await a.write([evs[4]!, evs[5]!, evs[6]!]);
  t.deepEqual([r.stored, r.duplicates, r.lastSeq], [2, 1, 7]);
  t.deepEqual(await a.write([evs[0]!, evs[7]!, evs[7]!, evs[8]!]), { stored: 2, duplicates: 2, lastSeq: 9 });
  const docs = await m.events.collection.find({}).sort({ seq: 1 }).toArray();
  t.deepEqual(docs.map((d) => d.eventId), evs.map((e) => e.eventId));
  t.true((await verifyAuditChain(streamRecords(m), [], auditKeys.signingKey)).ok);
});

/** A queue of the test's own (earlier tests leave jobs no worker took) and a producer on it, both removed after the test. */
async function ownQueue(t: ExecutionContext, name: string): Promise<{ queuePrefix: string; producer: AuditProducer }> {
  const queuePrefix = uniqueName(`${import.meta.url}-${name}`, 'prefix');
  t.teardown(() => dropPrefix(queuePrefix));
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix: queuePrefix, timeoutMs: 1500 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  return { queuePrefix, producer };
}

test.serial('under load a batch lingers for more events (one chain write for events 100 ms apart); without a linger each is its own write', async (t) => {
  const { queuePrefix, producer } = await ownQueue(t, 'linger');
  const pause = () => new Promise((r) => setTimeout(r, 100));
  // Each batch writes one stream block [first seq, last seq]: the blocks show how events were batched.
  const blocksAfter = async (seq: number) => (await db.conn.db!.collection(AUDIT_STREAM_BLOCKS_COLLECTION).find({ _id: { $gt: seq } as never }).sort({ _id: 1 }).toArray())
    .map((b) => [Number(b._id) - seq, Number(b.last) - seq]);
  const storedUpTo = async () => (await readTail(models))?.seq ?? 0;

  for (const lingerMs of [1000, 0]) {
    const start = await storedUpTo();
    // Four events wait before the worker starts: its first batch holds all four, so it is under load.
    for (let i = 0; i < 4; i++) await producer.record(event(systemClock));
    const worker = await startAuditWorker({
      redis: section(config, 'redis'), prefix: queuePrefix, models, signingKey: auditKeys.signingKey,
      clock: systemClock, settings: { ...config.auditPipeline, lingerMs }, logger,
    });
    await waitFor(async () => (await storedUpTo()) >= start + 4);
    // Without a linger, each event is waited for until stored: a slow store would otherwise let the next
    // one join the batch being filled (it is taken only once the batch before is stored), not a linger.
    for (let i = 0; i < 3; i++) {
      await producer.record(event(systemClock));
      if (lingerMs) await pause(); else await waitFor(async () => (await storedUpTo()) >= start + 5 + i);
    }
    await waitFor(async () => (await storedUpTo()) >= start + 7);
    await worker.close();
    const expected = lingerMs ? [[1, 4], [5, 7]] : [[1, 4], [5, 5], [6, 6], [7, 7]];
    t.deepEqual(await blocksAfter(start), expected, `lingerMs ${lingerMs}`);
  }
});

test.serial('a batch fetches what waits and no more: no empty fetch (each is BullMQ\'s whole moveToActive script, in the worker and in Redis)', async (t) => {
  const { queuePrefix, producer } = await ownQueue(t, 'fetches');
  // Every job moved to active is one RPOPLPUSH on the wait list, run by the script (MONITOR shows it);
  // a fetch that finds the list empty is one too. 30 events, batches of 25: two batches.
  const waitKey = `${queuePrefix}:${AUDIT_QUEUE}:wait`;
  let moves = 0;
  const redis = testRedis();
  const monitor = await redis.monitor();
  t.teardown(() => { monitor.disconnect(); redis.disconnect(); });
  monitor.on('monitor', (_time: string, args: string[]) => { if (args[0]?.toLowerCase() === 'rpoplpush' && args[1] === waitKey) moves++; });
  const start = (await readTail(models))?.seq ?? 0;
  for (let i = 0; i < 30; i++) await producer.record(event(systemClock));
  const worker = await startAuditWorker({
    redis: section(config, 'redis'), prefix: queuePrefix, models, signingKey: auditKeys.signingKey, clock: systemClock, settings: config.auditPipeline, logger,
  });
  await waitFor(async () => ((await readTail(models))?.seq ?? 0) >= start + 30);
  const afterStored = moves;
  await worker.close();
  // 30 moves of a job, plus at most one try per batch by the blocking fetch that starts it. Guessing how
  // many wait (4, then doubling) left a round of empty fetches after the last event of a batch.
  t.true(afterStored >= 30 && afterStored <= 32, `${afterStored} fetches for 30 events`);
});
