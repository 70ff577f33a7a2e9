// `npm run bench -- lookup`: concurrent signed `/customer` requests through the real HTTP stack (our
// verifying receiver → Bolt → dedupe → identity → policy → audit producer → scoped read → masking →
// audit → Block Kit → response_url on the fake Slack API) against 100,000 customers, next to a baseline
// in the same run: the same HTTP server, receiver, Bolt app, dedupe, identity and database read, but no
// policy decision, no masking and no audit events.
//
// Processes, as deployed (docker/compose.yaml runs `bot` and `worker` apart) and as Slack is remote:
// - this process runs the bot under test (the baseline app, then custos) and nothing else on its loop;
// - `bench/lookup-load.ts`, a child, hosts the fake Slack API and sends the requests;
// - the audit worker is `custos start --only worker`, a child, during the custos run.
// Latency of one request = from sending the signed POST to the fake Slack API receiving its reply.
// The measured requests go in rounds (BENCH_LOOKUP_ROUNDS, default 12), the baseline's and custos's taking
// turns on the same asks, so a shared machine's change of speed lands on both alike.
// 6,000 requests per app (BENCH_LOOKUP_REQUESTS), not 2,000: the bench process collects its old generation
// about once per 5,000 requests of either app, holding the 16 requests in flight 100-300 ms, and the machine
// stalls every process at once now and then; at 2,000 the 20 slowest requests are mostly one such event, and
// which app's round it falls in decided the p99 ratio (0.9-1.85 on the same code). At 6,000 each app meets
// several, as it would in service.
// After each custos round the bench waits until the worker has stored every audit event and reports how
// long that took in all (`audit_drain_ms`; the worker's and the database's CPU meanwhile counts as
// custos's): a worker that fell behind cannot hide behind a fast bot.
// CPU per lookup for each process (bot, load generator, worker, FerretDB, PostgreSQL, Redis) is read from
// /proc and reported for both runs: on 2 shared cores the sum is what bounds throughput.
// Six askers from four departments ask hundreds of times a second, far beyond the default policy's
// per-user throttles (burst 40, 60/min, a freeze after 45 distinct customers in 10 min): the bot runs on
// a copy of the default policy with those raised (`unthrottledPolicyDir`), so the limiter and detectors
// still run on every lookup but refuse nothing. Six askers rather than hundreds: scopes, masks and the
// identity path differ by department, not by person, and the demo directory has a few dozen staff.
// `npm run bench` runs FerretDB on the local PostgreSQL server when it answers (index pushdown for
// top-level equality); the result line names the backend.
// BENCH_LOOKUP_PROFILE=FILE writes the bot's CPU profile of the last measured custos round (DevTools format).
// BENCH_LOOKUP_TRACE=FILE writes each measured request's start (epoch ms) and latency, the bot's GC
// pauses and when the bot's and the load generator's event loops ran 20 ms late, as JSON: where the
// slowest requests fall and what else happened then.
// BENCH_WORKER_PROF=DIR writes the worker process's CPU profile there (node --cpu-prof).
// BENCH_WORKER_LOG=debug has the audit worker log each batch's size and timings (`audit worker: batch timings`).
// Last stdout line: {"bench":"lookup","rate":…,"p50_ms":…,"baseline_p50_ms":…,"p95_ms":…,"baseline_p95_ms":…,"p99_ms":…,"baseline_p99_ms":…,"p99_ratio":…,
// …,"major_gcs":…,"baseline_major_gcs":…} (the bot process's major collections during each app's rounds)
import { standaloneUrl } from '../bot/config-redis.ts';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { App } from '@slack/bolt';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { loadConfig, section } from '../bot/config.ts';
import type { Customer } from '../bot/core/domain.ts';
import { principalOf, resolveEmployee } from '../bot/core/identity.ts';
import { parseCommand } from '../bot/core/query.ts';
import { formatValue } from '../bot/core/view.ts';
import { closeServer, createHttpServer, listen } from '../bot/http/server.ts';
import { createLogger } from '../bot/logger.ts';
import { dedupeMiddleware, redisDeduper } from '../bot/slack/dedupe.ts';
import { SlackHttpReceiver } from '../bot/slack/receiver.ts';
import { startBot } from '../bot/slack/runtime.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { toCustomerDoc } from '../bot/store/customer-doc.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { connectDatabase, ensureIndexes } from '../bot/store/db.ts';
import { demoEmployeeList } from '../bot/store/demo-company.ts';
import { demoCustomers } from '../bot/store/demo-data.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { customerModel } from '../bot/store/models.ts';
import { AUDIT_QUEUE } from '../bot/queue/audit-producer.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { indexEqualityPushdown } from './ferretdb-pg.ts';
import { runnable } from './processes.ts';
import { databaseBackend, cpuMeter, loopStalls, now, percentile, pidListeningOn, report, requireEnv, round, unthrottledPolicyDir } from './lib.ts';
import type { Ask, LoadReply, LoadRequest } from './lookup-load.ts';

// `--topology cluster`: the scaled-out comparison, cluster against standalone (lookup-topology.ts).
if (process.argv.includes('--topology=cluster')) {
  const { runTopologyComparison } = await import('./lookup-topology.ts');
  await runTopologyComparison();
  // The cluster clients of the workers may hold timers a moment longer: the result is out.
  process.exit(0);
}

const CUSTOMERS = Number(process.env.BENCH_LOOKUP_CUSTOMERS ?? 100_000);
const REQUESTS = Number(process.env.BENCH_LOOKUP_REQUESTS ?? 6000);
const CONCURRENCY = Number(process.env.BENCH_LOOKUP_CONCURRENCY ?? 16);
/** 0: leave FerretDB-on-PostgreSQL without the GIN indexes its pushdown can use (see ferretdb-pg.ts). */
const PG_GIN = process.env.BENCH_PG_GIN !== '0';
const WARMUP = Number(process.env.BENCH_LOOKUP_WARMUP ?? 200);
/** The measured requests are split into this many rounds per app, the two apps taking turns. */
const ROUNDS = Math.max(1, Math.min(REQUESTS, Number(process.env.BENCH_LOOKUP_ROUNDS ?? 12)));
/** A file to write the bot's CPU profile of the last measured custos round to (open it in Chrome DevTools). */
const PROFILE = process.env.BENCH_LOOKUP_PROFILE;
/** A file to write each measured request's start and latency, the bot's GC pauses and both loops' stalls to (JSON). */
const TRACE = process.env.BENCH_LOOKUP_TRACE;
const SECRET = 'bench-signing-secret-0123456789abcdef';
const SEED = 'bench-lookup';
/** A Tuesday, 10:30 in Shanghai: inside everyone's working hours, so no lookup is refused by the clock. */
const WORKDAY = Date.parse('2026-06-30T02:30:00Z');
// Askers from four departments with different scopes and masks.
const ASKERS = ['supportAgent', 'financeClerk', 'legalCounsel', 'salesRep', 'supportLead', 'financeHead'] as const;

const log = (msg: string) => process.stderr.write(`lookup bench: ${msg}\n`);
const suffix = randomBytes(4).toString('hex');
const dbName = `bench_lookup_${suffix}`;
const prefix = `bench-lookup-${suffix}`;
const policyDir = unthrottledPolicyDir('policies');
const env = {
  NODE_ENV: 'production', LOG_LEVEL: 'warn', MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: dbName,
  REDIS_URL: requireEnv('REDIS_URL'), CUSTOS_QUEUE_PREFIX: prefix,
  CUSTOS_DATA_KEYS: `k1:${randomBytes(32).toString('base64')}`, CUSTOS_BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
  CUSTOS_AUDIT_HMAC_KEY: randomBytes(32).toString('base64'), CUSTOS_AUDIT_SIGNING_KEY: randomBytes(32).toString('base64'),
  SLACK_SIGNING_SECRET: SECRET, SLACK_API_RETRIES: '0', HTTP_PORT: '0', CUSTOS_POLICY_DIR: policyDir,
};

/** The top-level equality keys the product's lookups filter on (bot/store/customer-store.ts lookupFilter). */
const LOOKUP_KEYS = ['_id', 'customerId', 'biPhone', 'biEmail', 'biIdNumber'];

async function seed(conn: mongoose.Connection, cipher: FieldCipher): Promise<Customer[]> {
  await ensureIndexes(conn);
  const store = new CustomerStore(conn, cipher);
  const t0 = now();
  const sample: Customer[] = [];
  let batch: Customer[] = [];
  const pending: Promise<unknown>[] = [];
  for (const c of demoCustomers(CUSTOMERS, SEED)) {
    if (c.customerId.endsWith('7')) sample.push(c); // every tenth customer is a query candidate
    batch.push(c);
    if (batch.length === 2000) {
      const docs = batch.map((x) => toCustomerDoc(x, cipher));
      batch = [];
      pending.push(store.upsertDocs(docs));
      if (pending.length >= 2) await pending.shift();
    }
  }
  if (batch.length) pending.push(store.upsertDocs(batch.map((x) => toCustomerDoc(x, cipher))));
  await Promise.all(pending);
  log(`inserted ${CUSTOMERS} customers in ${round((now() - t0) / 1000, 1)} s`);
  if (PG_GIN && indexEqualityPushdown(dbName, customerModel(conn).collection.collectionName, LOOKUP_KEYS)) {
    log(`GIN indexes for FerretDB's pushdown on ${LOOKUP_KEYS.join(', ')}`);
  }
  const directory = new EmployeeStore(conn);
  await directory.upsertMany(demoEmployeeList());
  for (const e of demoEmployeeList()) await directory.bindChatId(e.employeeId, 'slack', `U${e.employeeId.replace(/\D/g, '')}`);
  return sample;
}

/** The request mix: each asker queries customers in their own scope, by id, phone, e-mail and name. */
async function plan(sample: Customer[], policyDir: string): Promise<Ask[]> {
  const engine = createPolicyEngine(loadPolicy(policyDir));
  const employees = demoEmployeeList();
  const asks: Ask[] = [];
  for (const key of ASKERS) {
    const e = employees.find((x) => x.email.startsWith(keyLogin(key)))!;
    const d = await engine.decide(principalOf(e), 'lookup', { channel: 'dm', at: new Date(WORKDAY) });
    const visible = sample.filter((c) => engine.inScope(d, c));
    visible.forEach((c, i) => {
      const kind = i % 10;
      const text = kind < 5 ? c.customerId : kind < 7 && c.phone ? c.phone : kind < 9 && c.email ? c.email : c.customerId;
      asks.push({ userId: `U${e.employeeId.replace(/\D/g, '')}`, text });
    });
  }
  // Interleave askers deterministically.
  return asks.sort((a, b) => hash(a.text + a.userId) - hash(b.text + b.userId));
}

function keyLogin(key: (typeof ASKERS)[number]): string {
  return { supportAgent: 'lin.feng', financeClerk: 'han.xue', legalCounsel: 'feng.lei', salesRep: 'zhang.wei', supportLead: 'he.xin', financeHead: 'song.jia' }[key];
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Baseline: same server, receiver, Bolt, dedupe, identity and read, without policy, masking or audit. */
async function startBaseline(settings: { uri: string; db: string }, cipher: FieldCipher, slack: SlackApi, redisUrl: string) {
  // Its own connection, as the bot has: the bench's seeding connection stays out of the measurement.
  const conn = await connectDatabase(settings);
  const logger = createLogger({ level: 'warn' });
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const receiver = new SlackHttpReceiver({ signingSecrets: [SECRET], logger });
  const app = new App({ token: slack.token, receiver, clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }, logLevel: undefined, convoStore: false });
  const customers = new CustomerStore(conn, cipher);
  const directory = new EmployeeStore(conn);
  app.use(dedupeMiddleware(redisDeduper(redis, `${prefix}-base`, logger), logger));
  app.error(async (err) => { log(`baseline listener failed: ${err.code} ${(err as { original?: Error }).original?.stack ?? err.stack}`); });
  app.command('/customer', async ({ ack, command, respond, client }) => {
    await ack();
    await resolveEmployee(directory, 'slack', command.user_id, async () => {
      const r = await client.users.info({ user: command.user_id });
      return { email: r.user?.profile?.email };
    });
    const parsed = parseCommand(command.text);
    if (parsed.kind !== 'lookup') return;
    const found = await customers.find(parsed.query, {}, 10);
    const c = found[0]!;
    const lines = Object.entries(c).map(([k, v]) => `*${k}*: ${formatValue(v)}`).join('\n').slice(0, 2900);
    await respond({ response_type: 'ephemeral', text: c.customerId, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${c.customerId}\n${lines}` } }] });
  });
  const server = createHttpServer({ routes: [{ method: 'POST', path: '/slack/events', handler: (req, res) => receiver.handle(req, res) }], readiness: [], logger });
  const address = await listen(server, '127.0.0.1', 0);
  return { url: `http://127.0.0.1:${address.port}/slack/events`, close: async () => { await closeServer(server); redis.disconnect(); await conn.close(); } };
}

interface SlackApi { apiUrl: string; token: string }

/** The load generator child (bench/lookup-load.ts): one request and its answer at a time over IPC. */
function startLoadGenerator(): { child: ChildProcess; ask(req: LoadRequest): Promise<LoadReply> } {
  const load = runnable('./lookup-load.ts', import.meta.url);
  const child = fork(load.file, [], { execArgv: load.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (req: LoadRequest) => new Promise<LoadReply>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`load generator exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (reply: LoadReply) => {
      child.off('exit', onExit);
      if (reply.type === 'failed') reject(new Error(`load generator: ${reply.message}`));
      else resolve(reply);
    });
    child.send(req);
  });
  return { child, ask };
}

/** `custos start --only worker` as its own process, the way docker/compose.yaml runs it. */
function startWorkerProcess(workerEnv: Record<string, string>): ChildProcess {
  const cli = runnable('../bot/cli/main.ts', import.meta.url);
  return spawn(process.execPath, [...(process.env.BENCH_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`] : []), ...cli.execArgv, cli.file, 'start', '--only', 'worker'], {
    env: { ...process.env, ...workerEnv, ...(process.env.BENCH_WORKER_LOG ? { LOG_LEVEL: process.env.BENCH_WORKER_LOG } : {}) }, stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Waits until the audit queue holds no waiting or active job; returns how long that took. */
async function auditDrained(queue: Queue, timeoutMs = 300_000): Promise<number> {
  const t0 = now();
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
    if (Object.values(counts).every((n) => n === 0)) return now() - t0;
    if (now() - t0 > timeoutMs) throw new Error(`audit queue not drained after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Profiles this process (the bot under test) until the returned function is called; it gives the profile. */
async function startProfile(): Promise<() => Promise<unknown>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile;
  };
}

/** The bot process's major (mark-compact) collections that started inside one of `windows` (epoch ms). */
function majorCollectionsIn(pauses: ReadonlyArray<[number, number, number]>, windows: ReadonlyArray<[number, number]>): number {
  return pauses.filter(([at, , kind]) => kind === constants.NODE_PERFORMANCE_GC_MAJOR && windows.some(([from, to]) => at >= from && at <= to)).length;
}

/** CPU milliseconds per lookup for each process group during one measured run. */
function perLookup(cpuSeconds: Record<string, number>, requests: number): Record<string, number> {
  return Object.fromEntries(Object.entries(cpuSeconds).map(([k, v]) => [k, round((v * 1000) / requests, 2)]));
}

/** One app's measured rounds, added up. */
interface Measured { latencies: number[]; seconds: number; trace: Array<[number, number]>; cpu: Record<string, number> }

function emptyRun(): Measured {
  return { latencies: [], seconds: 0, trace: [], cpu: {} };
}

/** A round's requests, added to the app's. */
function addRound(into: Measured, driven: { latencies: number[]; seconds: number; trace: Array<[number, number]> }): void {
  into.latencies.push(...driven.latencies);
  into.seconds += driven.seconds;
  into.trace.push(...driven.trace);
}

function addCpu(into: Measured, cpu: Record<string, number>): void {
  for (const [k, v] of Object.entries(cpu)) into.cpu[k] = (into.cpu[k] ?? 0) + v;
}

/** Requests in round `r`: REQUESTS split evenly, the last round taking the remainder. */
function roundSize(r: number): number {
  const each = Math.floor(REQUESTS / ROUNDS);
  return r === ROUNDS - 1 ? REQUESTS - each * (ROUNDS - 1) : each;
}

async function main(): Promise<void> {
  const load = startLoadGenerator();
  const users = demoEmployeeList().map((e) => ({ id: `U${e.employeeId.replace(/\D/g, '')}`, email: e.email }));
  const channels = users.map((u) => ({ id: `D${u.id.slice(1)}`, isIm: true, members: [u.id, 'UBOT'] }));
  const ready = await load.ask({ type: 'start', users, channels });
  if (ready.type !== 'ready') throw new Error('load generator did not start');
  const slack: SlackApi = { apiUrl: ready.apiUrl, token: ready.token };
  const botEnv = { ...env, SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.apiUrl };
  const config = loadConfig(botEnv, { require: ['mongo', 'redis', 'crypto', 'audit', 'slack'] });
  const cipher = new FieldCipher(section(config, 'crypto'));
  const conn = await mongoose.createConnection(section(config, 'mongo').uri, { dbName, autoIndex: false }).asPromise();
  const auditQueue = new Queue(AUDIT_QUEUE, { connection: { url: standaloneUrl(section(config, 'redis')) }, prefix });
  const logger = createLogger({ level: 'warn' });
  let worker: ChildProcess | undefined;
  try {
    log(`database backend: ${databaseBackend()}`);
    // The seeded sample (10,000 customers, ~22 MB) is not kept: this process's heap holds the bot under
    // test, and every major collection of the bot would otherwise mark the bench's own data too.
    const asks = await plan(await seed(conn, cipher), config.policyDir);
    log(`${asks.length} distinct lookups planned; ${REQUESTS} measured per run, ${CONCURRENCY} in flight`);
    const pick = (n: number, offset: number) => Array.from({ length: n }, (_, i) => asks[(i + offset) % asks.length]!);
    const drive = async (url: string, batch: Ask[]) => {
      const reply = await load.ask({ type: 'drive', url, secret: SECRET, asks: batch, concurrency: CONCURRENCY, traceStalls: TRACE !== undefined });
      if (reply.type !== 'driven') throw new Error('load generator did not drive');
      return reply;
    };
    // This bench's own FerretDB and Redis, found by their ports (other ones may share the machine);
    // PostgreSQL is the machine's server, counted whole.
    const services = { ferretdb: pidListeningOn(Number(new URL(section(config, 'mongo').uri).port)), 'redis-server': pidListeningOn(Number(new URL(standaloneUrl(section(config, 'redis'))).port)) };
    const meter = (named: Record<string, number>) => cpuMeter({ bot: process.pid, load: load.child.pid!, ...services, ...named }, ['postgres']);

    const gcPauses: Array<[number, number, number]> = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcPauses.push([performance.timeOrigin + e.startTime, e.duration, (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0]);
    });
    // Always observed (a few hundred entries a run): the result line counts the major collections that fell
    // in each app's rounds, as the p99 ratio turns on them (see the top of this file).
    gcObserver.observe({ entryTypes: ['gc'] });
    const windows: { base: Array<[number, number]>; run: Array<[number, number]> } = { base: [], run: [] };
    // Both apps are up for the whole measurement and take turns (baseline, custos, baseline, …), so a
    // change in the shared machine's speed lands on both alike; run one after the other, a drift of
    // ±20 % between the halves showed as the ratio. The idle one's timers cost nothing measurable.
    const baseline = await startBaseline(section(config, 'mongo'), cipher, slack, standaloneUrl(section(config, 'redis')));
    worker = startWorkerProcess(botEnv);
    const bot = await startBot(config, logger, { clock: { now: () => new Date(WORKDAY + (Date.now() % 3_600_000)) } });
    const url = `${bot.url}/slack/events`;
    await drive(baseline.url, pick(WARMUP, 0));
    await drive(url, pick(WARMUP, 0));
    await auditDrained(auditQueue); // the worker is up and has caught up before the measured run
    const base = emptyRun(), run = emptyRun();
    const botStalls = TRACE ? loopStalls() : undefined;
    const loadStalls: Array<[number, number]> = [];
    let backlog = 0, drainMs = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // Each round's slice of the same request list: both apps answer the same asks in the same order.
      const asksOfRound = pick(roundSize(r), WARMUP + r * Math.floor(REQUESTS / ROUNDS));
      const baseMeter = meter({});
      const baseStart = Date.now();
      const baseRound = await drive(baseline.url, asksOfRound);
      windows.base.push([baseStart, Date.now()]);
      addRound(base, baseRound);
      loadStalls.push(...baseRound.stalls);
      addCpu(base, baseMeter.stop());
      const runMeter = meter({ worker: worker.pid! });
      const profiler = PROFILE && r === ROUNDS - 1 ? await startProfile() : undefined;
      const runStart = Date.now();
      const runRound = await drive(url, asksOfRound);
      windows.run.push([runStart, Date.now()]);
      addRound(run, runRound);
      loadStalls.push(...runRound.stalls);
      if (profiler) writeFileSync(PROFILE!, JSON.stringify(await profiler()));
      // What the worker still holds is stored before the next baseline round, and counted for custos.
      backlog = Math.max(backlog, await auditQueue.getWaitingCount());
      drainMs += await auditDrained(auditQueue);
      addCpu(run, runMeter.stop());
    }
    const baseCpu = perLookup(base.cpu, REQUESTS);
    const runCpu = perLookup(run.cpu, REQUESTS);
    base.latencies.sort((a, b) => a - b);
    run.latencies.sort((a, b) => a - b);
    log(`baseline: ${round(REQUESTS / base.seconds)} req/s, p50 ${round(percentile(base.latencies, 50))} ms, p99 ${round(percentile(base.latencies, 99))} ms; CPU ms per lookup ${JSON.stringify(baseCpu)}`);
    log(`custos: ${round(REQUESTS / run.seconds)} req/s, p50 ${round(percentile(run.latencies, 50))} ms, p99 ${round(percentile(run.latencies, 99))} ms; audit backlog at most ${backlog}, drained in ${round(drainMs)} ms in all; CPU ms per lookup ${JSON.stringify(runCpu)}`);
    await bot.close();
    await baseline.close();
    gcObserver.disconnect();
    if (TRACE) {
      writeFileSync(TRACE, JSON.stringify({ baseline: base.trace, custos: run.trace, gc: gcPauses, botStalls: botStalls?.stop() ?? [], loadStalls }));
    }

    const p99 = percentile(run.latencies, 99);
    const baseP99 = percentile(base.latencies, 99);
    report({
      bench: 'lookup',
      rate: round(REQUESTS / run.seconds, 1),
      p50_ms: round(percentile(run.latencies, 50)),
      baseline_p50_ms: round(percentile(base.latencies, 50)),
      p95_ms: round(percentile(run.latencies, 95)),
      baseline_p95_ms: round(percentile(base.latencies, 95)),
      p99_ms: round(p99),
      baseline_p99_ms: round(baseP99),
      p99_ratio: round(p99 / baseP99),
      baseline_rate: round(REQUESTS / base.seconds, 1),
      audit_backlog: backlog, audit_drain_ms: round(drainMs),
      major_gcs: majorCollectionsIn(gcPauses, windows.run), baseline_major_gcs: majorCollectionsIn(gcPauses, windows.base),
      cpu_ms_per_lookup: runCpu, baseline_cpu_ms_per_lookup: baseCpu,
      customers: CUSTOMERS, requests: REQUESTS, concurrency: CONCURRENCY, pg_gin_indexes: PG_GIN && databaseBackend() === 'ferretdb-postgresql',
    });
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await load.ask({ type: 'stop' }).catch(() => undefined);
    rmSync(policyDir, { recursive: true, force: true });
    await auditQueue.close().catch(() => undefined);
    await conn.dropDatabase().catch(() => undefined);
    await conn.close().catch(() => undefined);
    const r = new Redis(standaloneUrl(section(config, 'redis')));
    let cursor = '0';
    do {
      const [nextCursor, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
    r.disconnect();
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
}
