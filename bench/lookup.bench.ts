// `npm run bench -- lookup`: concurrent signed `/customer` requests through the real HTTP stack (our
// verifying receiver → Bolt → dedupe → identity → policy → audit producer → scoped read → masking →
// audit → Block Kit → response_url on the fake Slack API) against 100,000 customers, next to a baseline
// in the same run: the same HTTP server, receiver, Bolt app, dedupe, identity and database read, but no
// policy decision, no masking and no audit events.
//
// Latency of one request = from sending the signed POST to the fake Slack API receiving its reply.
// The audit worker runs in the same process during the custos run (as `custos start` runs it).
// Six askers from four departments ask hundreds of times a second, far beyond the default policy's
// per-user throttles (burst 40, 60/min, a freeze after 45 distinct customers in 10 min): the bot runs on
// a copy of the default policy with those raised (`unthrottledPolicyDir`), so the limiter and detectors
// still run on every lookup but refuse nothing. Six askers rather than hundreds: scopes, masks and the
// identity path differ by department, not by person, and the demo directory has a few dozen staff.
// `npm run bench` runs FerretDB on the local PostgreSQL server when it answers (index pushdown for
// top-level equality); the result line names the backend.
// Where the time goes (100,000 customers, load average ~12 on 2 cores, per-process CPU sampled from
// /proc): the baseline costs ~11 ms of this process's CPU and ~8 ms of FerretDB's per lookup, custos
// ~21 ms and ~11 ms plus ~2 ms of Redis (policy, masking, two audit jobs queued, the in-process audit
// worker storing them, limiter and detectors). With that, 300 lookups/s needs ~10 free cores.
// Last stdout line: {"bench":"lookup","rate":…,"p50_ms":…,"p99_ms":…,"baseline_p99_ms":…,"p99_ratio":…}
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { App } from '@slack/bolt';
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
import { startWorkers } from '../workers/main.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';
import { FORM, sign, slashCommandBody } from '../test/helpers/slack-sign.ts';
import { indexEqualityPushdown } from './ferretdb-pg.ts';
import { databaseBackend, now, percentile, report, requireEnv, round, unthrottledPolicyDir } from './lib.ts';

const CUSTOMERS = Number(process.env.BENCH_LOOKUP_CUSTOMERS ?? 100_000);
const REQUESTS = Number(process.env.BENCH_LOOKUP_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_LOOKUP_CONCURRENCY ?? 16);
/** 0: leave FerretDB-on-PostgreSQL without the GIN indexes its pushdown can use (see ferretdb-pg.ts). */
const PG_GIN = process.env.BENCH_PG_GIN !== '0';
const WARMUP = Number(process.env.BENCH_LOOKUP_WARMUP ?? 200);
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

interface Ask { userId: string; text: string }
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

/** Sends `asks` with `CONCURRENCY` in flight; latency = POST sent → reply received by the fake. */
async function drive(url: string, fake: FakeSlackApi, asks: Ask[]): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= asks.length) return;
      const ask = asks[i]!;
      const responseUrl = fake.responseUrl();
      const raw = slashCommandBody({ text: ask.text, userId: ask.userId, channelId: `D${ask.userId.slice(1)}`, responseUrl });
      const path = new URL(responseUrl).pathname;
      const started = now();
      const replied = fake.waitFor((c) => c.path === path, 120_000);
      replied.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      const res = await fetch(url, { method: 'POST', ...sign(SECRET, raw, FORM) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      const reply = await replied;
      if (!String(JSON.stringify(reply.body)).includes('C-')) throw new Error(`unexpected reply: ${JSON.stringify(reply.body).slice(0, 200)}`);
      latencies.push(now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { latencies: latencies.sort((a, b) => a - b), seconds: (now() - t0) / 1000 };
}

/** Baseline: same server, receiver, Bolt, dedupe, identity and read, without policy, masking or audit. */
async function startBaseline(settings: { uri: string; db: string }, cipher: FieldCipher, fake: FakeSlackApi, redisUrl: string) {
  // Its own connection, as the bot has: the bench's seeding connection stays out of the measurement.
  const conn = await connectDatabase(settings);
  const logger = createLogger({ level: 'warn' });
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const receiver = new SlackHttpReceiver({ signingSecrets: [SECRET], logger });
  const app = new App({ token: fake.token, receiver, clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } }, logLevel: undefined });
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

async function main(): Promise<void> {
  const fake = new FakeSlackApi({ users: demoEmployeeList().map((e) => ({ id: `U${e.employeeId.replace(/\D/g, '')}`, email: e.email })) });
  for (const e of demoEmployeeList()) {
    const id = `U${e.employeeId.replace(/\D/g, '')}`;
    fake.addChannel({ id: `D${id.slice(1)}`, isIm: true, members: [id, 'UBOT'] });
  }
  await fake.start();
  // The fake keeps every call; a bench run makes tens of thousands: keep memory flat.
  const trim = setInterval(() => { if (fake.calls.length > 5000) fake.calls.splice(0, fake.calls.length - 1000); }, 1000);
  const config = loadConfig({ ...env, SLACK_BOT_TOKEN: fake.token, SLACK_API_URL: fake.apiUrl }, { require: ['mongo', 'redis', 'crypto', 'audit', 'slack'] });
  const cipher = new FieldCipher(section(config, 'crypto'));
  const conn = await mongoose.createConnection(section(config, 'mongo').uri, { dbName, autoIndex: false }).asPromise();
  const logger = createLogger({ level: 'warn' });
  try {
    log(`database backend: ${databaseBackend()}`);
    const sample = await seed(conn, cipher);
    const asks = await plan(sample, config.policyDir);
    log(`${asks.length} distinct lookups planned; ${REQUESTS} measured per run, ${CONCURRENCY} in flight`);
    const pick = (n: number, offset: number) => Array.from({ length: n }, (_, i) => asks[(i + offset) % asks.length]!);

    const baseline = await startBaseline(section(config, 'mongo'), cipher, fake, section(config, 'redis').url);
    await drive(baseline.url, fake, pick(WARMUP, 0));
    const base = await drive(baseline.url, fake, pick(REQUESTS, WARMUP));
    await baseline.close();
    log(`baseline: ${round(REQUESTS / base.seconds)} req/s, p50 ${round(percentile(base.latencies, 50))} ms, p99 ${round(percentile(base.latencies, 99))} ms`);

    const workers = await startWorkers(config, logger);
    const bot = await startBot(config, logger, { clock: { now: () => new Date(WORKDAY + (Date.now() % 3_600_000)) } });
    const url = `${bot.url}/slack/events`;
    await drive(url, fake, pick(WARMUP, 0));
    const run = await drive(url, fake, pick(REQUESTS, WARMUP));
    log(`custos: ${round(REQUESTS / run.seconds)} req/s, p50 ${round(percentile(run.latencies, 50))} ms, p99 ${round(percentile(run.latencies, 99))} ms`);
    await bot.close();
    await workers.close();

    const p99 = percentile(run.latencies, 99);
    const baseP99 = percentile(base.latencies, 99);
    report({
      bench: 'lookup',
      rate: round(REQUESTS / run.seconds, 1),
      p50_ms: round(percentile(run.latencies, 50)),
      p99_ms: round(p99),
      baseline_p99_ms: round(baseP99),
      p99_ratio: round(p99 / baseP99),
      customers: CUSTOMERS, requests: REQUESTS, concurrency: CONCURRENCY, pg_gin_indexes: PG_GIN && databaseBackend() === 'ferretdb-postgresql',
    });
  } finally {
    clearInterval(trim);
    rmSync(policyDir, { recursive: true, force: true });
    await conn.dropDatabase().catch(() => undefined);
    await conn.close().catch(() => undefined);
    await fake.stop();
    const r = new Redis(section(config, 'redis').url);
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
