// The audit worker as real child processes: SIGKILLed mid-batch over and over, and two of them at once.
// Every acknowledged event must end up stored exactly once, `seq` gapless, and the chain must verify.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { Queue } from 'bullmq';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { verifyAuditChain } from '../bot/core/audit-verify.ts';
import { loadConfig, section } from '../bot/config.ts';
import { AUDIT_QUEUE, createAuditProducer, type AuditProducer } from '../bot/queue/audit-producer.ts';
import { auditModels, type AuditModels } from '../bot/store/audit-model.ts';
import { allCheckpoints, streamRecords } from '../bot/store/audit-store.ts';
import { dropPrefix, testDatabase, testEnv, testRedis, uniqueName } from './helpers/services.ts';
import { entryArgs } from './helpers/run-custos.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const db = await testDatabase(import.meta.url);
let models: AuditModels;
test.before(async () => { models = await auditModels(db.conn); });
const prefixes: string[] = [];
test.after.always(async () => { await db.drop(); for (const p of prefixes) await dropPrefix(p); });

/** Small timings so a killed worker's lease and job locks lapse within about a second. */
function envFor(prefix: string, dbName: string) {
  return testEnv(dbName, prefix, {
    LOG_LEVEL: 'debug',
    CUSTOS_AUDIT_LOCK_MS: '1000',
    CUSTOS_AUDIT_STALLED_MS: '500',
    CUSTOS_AUDIT_LEASE_MS: '1000',
    CUSTOS_AUDIT_BATCH: '20',
    CUSTOS_AUDIT_CHECKPOINT_EVERY: '100',
  });
}

interface Child { proc: ChildProcess; log: string[]; started: Promise<void>; exited: Promise<{ code: number | null; signal: string | null }> }

/** Runs `entry` (a path from the checkout root) with `args` as a child process. */
function spawnWorker(env: NodeJS.ProcessEnv, entry: string, args: string[] = []): Child {
  const proc = spawn(process.execPath, [...entryArgs(entry), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let onStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => { onStarted = resolve; });
  proc.stderr!.on('data', (d: Buffer) => {
    log.push(d.toString());
    if (d.toString().includes('audit worker started')) onStarted();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, log, started, exited };
}

function makeEvent(i: number): AuditEventInput {
  return {
    v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
    actor: { employeeId: 'E-0007', platform: 'slack' }, channelKind: 'dm', action: 'lookup',
    customerIds: [`C-${String(i).padStart(6, '0')}`], fields: [{ name: 'email', outcome: 'mask:email' }],
    decision: 'allowed', ruleIds: ['support-tickets'], meta: { i },
  };
}

async function recordMany(producer: AuditProducer, from: number, n: number, acked: string[]): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const e = makeEvent(i);
    await producer.record(e);
    acked.push(e.eventId); // acknowledged: record() resolved
  }
}

/**
 * Polls `cond` every `everyMs` until it holds. Each poll is a count the database answers by reading the
 * collection, so only the wait that times a kill polls fast; the others poll every 250 ms.
 */
async function waitFor(cond: () => Promise<boolean>, ms: number, everyMs = 250): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The chain in `dbName` holds exactly `acked`, once each, seq 1..n, and verifies. */
async function assertExactlyOnce(t: ExecutionContext, m: AuditModels, acked: string[], signingKey: Buffer): Promise<void> {
  const docs = await m.events.collection.find({}, { projection: { seq: 1, eventId: 1 } }).sort({ seq: 1 }).toArray();
  t.is(docs.length, acked.length, 'one record per acknowledged event');
  t.deepEqual(docs.map((d) => d.seq), acked.map((_, i) => i + 1), 'seq is gapless from 1');
  t.deepEqual(docs.map((d) => String(d.eventId)).sort(), [...acked].sort(), 'exactly the acknowledged events');
  const result = await verifyAuditChain(streamRecords(m), await allCheckpoints(m), signingKey);
  t.true(result.ok, JSON.stringify(result.problem));
}

test.serial('worker SIGKILLed mid-batch 10 times, then restarted: every acknowledged event stored exactly once, verify passes', async (t) => {
  t.timeout(600_000); // eleven child-process starts on a shared, busy machine
  const prefix = uniqueName(import.meta.url, 'prefix');
  prefixes.push(prefix);
  const env = envFor(prefix, db.name);
  const config = loadConfig(env, { require: ['redis', 'audit'] });
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 2000 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  const qConn = testRedis();
  const queue = new Queue(AUDIT_QUEUE, { connection: qConn, prefix });
  t.teardown(async () => { await queue.close(); qConn.disconnect(); });

  const acked: string[] = [];
  await recordMany(producer, 0, 300, acked);
  let killedWithJobsInHand = 0;
  let storedWhileKilled = 0;
  const logs: string[][] = [];
  for (let round = 0; round < 10; round++) {
    const child = spawnWorker(env, 'workers/main.ts');
    logs.push(child.log);
    await child.started;
    const before = await models.events.countDocuments({});
    // Kill as soon as this process has stored something (it is writing batches), at a random moment.
    await waitFor(async () => (await models.events.countDocuments({})) > before, 60_000, 50);
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 60)));
    child.proc.kill('SIGKILL');
    const active = await queue.getActiveCount();
    if (active > 0) killedWithJobsInHand++;
    await child.exited;
    storedWhileKilled = await models.events.countDocuments({});
    await recordMany(producer, acked.length, 60, acked); // the bot keeps recording meanwhile
  }
  t.log(`kills with jobs in hand: ${killedWithJobsInHand}/10; stored before the final run: ${storedWhileKilled}/${acked.length}`);
  t.true(killedWithJobsInHand >= 1, 'at least one kill landed mid-batch');

  const final = spawnWorker(env, 'workers/main.ts');
  logs.push(final.log);
  await final.started;
  await waitFor(async () => (await models.events.countDocuments({})) >= acked.length && (await queue.getActiveCount()) === 0
    && (await queue.getWaitingCount()) === 0, 60_000);
  final.proc.kill('SIGTERM');
  const exit = await final.exited;
  t.is(exit.code, 0, final.log.join('').slice(-2000));
  const redelivered = logs.flat().join('').split('\n').filter((l) => /"duplicates":[1-9]/.test(l)).length;
  t.log(`batches that met events stored by a killed process (stored, never acknowledged): ${redelivered}`);
  t.is(await queue.getFailedCount(), 0, 'no audit job ended in failed');
  await assertExactlyOnce(t, models, acked, section(config, 'audit').signingKey);
  // The graceful stop wrote a checkpoint covering the whole chain.
  const cps = await allCheckpoints(models);
  t.is(cps.at(-1)!.lastSeq, acked.length);
});

test.serial('two worker processes (custos start --only worker) at once, one killed: one chain, verify passes, SIGTERM exits cleanly', async (t) => {
  t.timeout(300_000);
  const prefix = uniqueName(import.meta.url, 'prefix');
  prefixes.push(prefix);
  const other = await testDatabase(`${import.meta.url}-two`);
  t.teardown(other.drop);
  const m = await auditModels(other.conn);
  const env = envFor(prefix, other.name);
  const config = loadConfig(env, { require: ['redis', 'audit'] });
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 2000 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));

  const a = spawnWorker(env, 'bot/cli/main.ts', ['start', '--only', 'worker']);
  const b = spawnWorker(env, 'bot/cli/main.ts', ['start', '--only', 'worker']);
  await Promise.all([a.started, b.started]);
  const acked: string[] = [];
  await recordMany(producer, 0, 200, acked);
  // Kill whichever holds the chain-writer lease; the other must take over.
  const holder = () => [a, b].find((c) => c.log.join('').includes('chain-writer lease acquired'));
  await waitFor(async () => holder() !== undefined, 60_000);
  const first = holder()!;
  const survivor = first === a ? b : a;
  first.proc.kill('SIGKILL');
  await first.exited;
  await recordMany(producer, acked.length, 200, acked);
  await waitFor(async () => (await m.events.countDocuments({})) >= acked.length, 60_000);
  t.true(survivor.log.join('').includes('chain-writer lease acquired'), 'the survivor took over the chain');
  survivor.proc.kill('SIGTERM');
  const exit = await survivor.exited;
  t.is(exit.code, 0);
  t.regex(survivor.log.join(''), /audit worker stopped/);
  await assertExactlyOnce(t, m, acked, section(config, 'audit').signingKey);
});

test.serial('SIGTERM mid-run (custos start --only worker): the batch in hand is stored and acknowledged, the rest released; exit 0; a restart stores every event exactly once', async (t) => {
  t.timeout(300_000);
  const prefix = uniqueName(import.meta.url, 'prefix');
  prefixes.push(prefix);
  const other = await testDatabase(`${import.meta.url}-term`);
  t.teardown(other.drop);
  const m = await auditModels(other.conn);
  const env = envFor(prefix, other.name);
  const config = loadConfig(env, { require: ['redis', 'audit'] });
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 2000 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  const qConn = testRedis();
  const queue = new Queue(AUDIT_QUEUE, { connection: qConn, prefix });
  t.teardown(async () => { await queue.close(); qConn.disconnect(); });

  // A backlog far longer than one batch, so the stop lands while the worker is busy.
  const acked: string[] = [];
  await recordMany(producer, 0, 1000, acked);
  const first = spawnWorker(env, 'bot/cli/main.ts', ['start', '--only', 'worker']);
  await first.started;
  await waitFor(async () => (await m.events.countDocuments({})) > 0, 60_000, 50); // the stop must land mid-run
  first.proc.kill('SIGTERM');
  const exit = await first.exited;
  const log = first.log.join('');
  t.is(exit.code, 0, log.slice(-2000));
  t.regex(log, /shutting down/);
  t.regex(log, /audit worker stopped/);
  t.notRegex(log, /still in flight at shutdown/, 'the batch in hand was finished, not abandoned');
  const storedAtStop = await m.events.countDocuments({});
  t.log(`stored before the stop: ${storedAtStop}/${acked.length}`);
  t.true(storedAtStop < acked.length, 'the stop came mid-run, and the worker did not drain the backlog before exiting (it stops promptly)');
  // Finished jobs were acknowledged and unfetched ones left waiting: nothing is left locked to a dead process.
  t.is(await queue.getActiveCount(), 0, 'no job left active');
  t.is(await queue.getWaitingCount() + await queue.getPrioritizedCount(), acked.length - storedAtStop, 'every unstored event still queued');
  t.is((await allCheckpoints(m)).at(-1)?.lastSeq, storedAtStop, 'the stop wrote a checkpoint covering the chain');

  const second = spawnWorker(env, 'bot/cli/main.ts', ['start', '--only', 'worker']);
  await second.started;
  await waitFor(async () => (await m.events.countDocuments({})) >= acked.length, 120_000);
  second.proc.kill('SIGTERM');
  t.is((await second.exited).code, 0);
  t.is(await queue.getFailedCount(), 0);
  await assertExactlyOnce(t, m, acked, section(config, 'audit').signingKey);
});
