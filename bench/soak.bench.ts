// The soak: the scaled-out deployment (Redis Cluster by default, two bots behind a round-robin proxy, two
// workers; test/helpers/scale-topology.ts) under steady mixed Slack traffic — lookups of different
// customers, help and unknown commands — for BENCH_SOAK_MINUTES (default 30). Each sample (every minute;
// every 15 s when the run is shorter than 5 minutes) records the RSS of every process (bots, workers,
// Redis nodes), each bot's event-loop lag (its /metrics), the audit queue depth and the audit lag (event
// to stored). It prints the RSS slope of each process (least squares over the samples after warm-up) and
// fails its own check if a custos process grows faster than BENCH_SOAK_MAX_SLOPE_MB_PER_H (default 64):
// memory that grows without bound shows as a slope that does not flatten. Runs shorter than 10 minutes
// report the slopes with `"check":"too-short"` (start-up and GC swings dominate them).
// BENCH_SOAK_TOPOLOGY=standalone runs the same on the REDIS_URL the bench runner started.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { Queue } from 'bullmq';
import mongoose from 'mongoose';
import { loadConfig, section } from '../bot/config.ts';
import { AUDIT_QUEUE } from '../bot/queue/audit-producer.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { demoEmployeeList } from '../bot/store/demo-company.ts';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { createRedis } from '../bot/store/redis-client.ts';
import { seedDemo } from '../bot/store/seed.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';
import { startRedisCluster, type RedisCluster } from '../test/helpers/redis-topology.ts';
import { killHard, startComponent, startProxy, waitReady, type CustosProcess } from '../test/helpers/scale-topology.ts';
import { FORM, sign, slashCommandBody } from '../test/helpers/slack-sign.ts';
import { percentile, report, requireEnv, round, unthrottledPolicyDir } from './lib.ts';

const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 30);
const TOPOLOGY = process.env.BENCH_SOAK_TOPOLOGY ?? 'cluster';
const MAX_SLOPE = Number(process.env.BENCH_SOAK_MAX_SLOPE_MB_PER_H ?? 64);
const CONCURRENCY = Number(process.env.BENCH_SOAK_CONCURRENCY ?? 4);
const SAMPLE_MS = MINUTES < 5 ? 15_000 : 60_000;
const WARMUP_SAMPLES = 2;
const SECRET = 'soak-bench-signing-secret-0123456789';
const log = (msg: string) => process.stderr.write(`soak: ${msg}\n`);

function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch { return undefined; }
}

/** Least-squares slope of (hours, MB) points. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function eventLoopLagMs(port: number | undefined): Promise<number | undefined> {
  if (!port) return undefined;
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text()).catch(() => '');
  const m = /^custos_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : undefined;
}

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const dbName = `bench_soak_${suffix}`;
  const policyDir = unthrottledPolicyDir('policies');
  const fake = new FakeSlackApi();
  const employees = demoEmployeeList().filter((e) => e.department === 'support');
  const users = employees.map((e, i) => ({ id: `U${i}SOAK`, dm: `D${i}SOAK`, employeeId: e.employeeId, email: e.email }));
  for (const u of users) { fake.addUser({ id: u.id, email: u.email, locale: 'en' }); fake.addChannel({ id: u.dm, isIm: true, members: [u.id, 'UBOT'] }); }
  await fake.start();
  let cluster: RedisCluster | undefined;
  const procs: CustosProcess[] = [];
  const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName }).asPromise();
  try {
    if (TOPOLOGY === 'cluster') cluster = await startRedisCluster();
    const env: NodeJS.ProcessEnv = {
      NODE_ENV: 'production', MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: dbName, CUSTOS_QUEUE_PREFIX: `soak-${suffix}`,
      ...(cluster ? cluster.env : { REDIS_URL: requireEnv('REDIS_URL') }),
      CUSTOS_DATA_KEYS: `k1:${randomBytes(32).toString('base64')}`, CUSTOS_BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
      CUSTOS_AUDIT_HMAC_KEY: randomBytes(32).toString('base64'), CUSTOS_AUDIT_SIGNING_KEY: randomBytes(32).toString('base64'),
      SLACK_BOT_TOKEN: fake.token, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: fake.apiUrl, SLACK_API_RETRIES: '0', CUSTOS_POLICY_DIR: policyDir,
      CUSTOS_ERASURE_LIST: `/tmp/custos-soak-erasures-${suffix}.txt`,
    };
    const config = loadConfig(env, { require: ['mongo', 'crypto', 'redis'] });
    await seedDemo(conn, new FieldCipher(config.crypto!), { customers: 200, seed: 'soak' });
    const directory = new EmployeeStore(conn);
    for (const u of users) await directory.bindChatId(u.employeeId, 'slack', u.id);
    const started = await Promise.all([
      startComponent('bot-a', 'bot', env), startComponent('bot-b', 'bot', env),
      startComponent('worker-1', 'worker', env), startComponent('worker-2', 'worker', env),
    ]);
    procs.push(...started);
    await Promise.all(started.map((p) => waitReady(p, /audit worker started/)));
    const proxy = await startProxy(started.filter((p) => p.port).map((p) => p.port!));
    const connection = createRedis(section(config, 'redis'), { maxRetriesPerRequest: null });
    connection.on('error', () => undefined); // a failed sample shows as a missing depth, not a crash
    const queue = new Queue(AUDIT_QUEUE, { connection, prefix: section(config, 'redis').queuePrefix });
    queue.on('error', () => undefined);
    log(`${TOPOLOGY}: 2 bots, 2 workers up; ${MINUTES} min of traffic, a sample every ${SAMPLE_MS / 1000} s`);

    let lookups = 0;
    let errors = 0;
    let n = 0;
    const endAt = Date.now() + MINUTES * 60_000;
    const texts = (i: number) => (i % 10 === 9 ? 'help' : i % 10 === 8 ? 'no-such-thing-here' : demoCustomerId(1 + (i % 200)));
    const lane = async () => {
      while (Date.now() < endAt) {
        const i = n++;
        const u = users[i % users.length]!;
        const responseUrl = fake.responseUrl();
        const raw = slashCommandBody({ text: texts(i), userId: u.id, channelId: u.dm, responseUrl });
        const reply = fake.nextCallTo(new URL(responseUrl).pathname, 60_000);
        reply.catch(() => undefined);
        const res = await fetch(`${proxy.url}/slack/events`, { method: 'POST', ...sign(SECRET, raw, FORM) }).catch(() => undefined);
        if (res?.status !== 200 || !(await reply.then(() => true, () => false))) { errors++; continue; }
        if (i % 10 < 8) lookups++;
      }
    };
    const samples: { t: number; rss: Record<string, number>; lagMs: Record<string, number>; depth: number }[] = [];
    const pids = (): Record<string, number | undefined> => ({
      ...Object.fromEntries(procs.map((p) => [p.name, p.child.pid])),
      ...Object.fromEntries((cluster?.nodes ?? []).map((node) => [`redis-${node.port}`, node.child.pid])),
    });
    const sampler = async () => {
      const t0 = Date.now();
      while (Date.now() < endAt) {
        await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, Math.max(0, endAt - Date.now()))));
        const rss: Record<string, number> = {};
        for (const [name, pid] of Object.entries(pids())) { const mb = rssMb(pid); if (mb !== undefined) rss[name] = mb; }
        const lagMs: Record<string, number> = {};
        for (const p of procs.filter((x) => x.port)) { const l = await eventLoopLagMs(p.port); if (l !== undefined) lagMs[p.name] = round(l); }
        const c = await queue.getJobCounts('waiting', 'active', 'delayed').catch(() => ({}));
        const depth = Object.values(c).reduce((s: number, v) => s + Number(v), 0);
        samples.push({ t: (Date.now() - t0) / 3_600_000, rss, lagMs, depth });
        log(`+${round((Date.now() - t0) / 60_000, 1)} min: ${lookups} lookups, ${errors} errors, queue ${depth}, lag ${JSON.stringify(lagMs)} ms, RSS ${JSON.stringify(Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, round(v, 1)])))} MB`);
      }
    };
    await Promise.all([...Array.from({ length: CONCURRENCY }, lane), sampler()]);

    // Audit lag: event to stored, over every record of the run (the queue drains first).
    for (let i = 0; i < 600; i++) {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed');
      if (Object.values(c).every((v) => v === 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const lags = (await conn.collection('audit_events').find({}, { projection: { occurredAt: 1, storedAt: 1 } }).toArray())
      .map((d) => (d.storedAt as Date).getTime() - (d.occurredAt as Date).getTime()).sort((a, b) => a - b);
    const steady = samples.slice(WARMUP_SAMPLES);
    const names = Object.keys(samples.at(-1)?.rss ?? {});
    const slopes = Object.fromEntries(names.map((name) => [name, round(slope(steady.filter((s) => s.rss[name] !== undefined).map((s) => [s.t, s.rss[name]!])), 1)]));
    // A few minutes show start-up and garbage-collection swings, not a trend: judged from 10 minutes on.
    const judged = MINUTES >= 10 && steady.length >= 3;
    const growing = Object.entries(slopes).filter(([name, v]) => !name.startsWith('redis-') && v > MAX_SLOPE);
    const check = !judged ? 'too-short' : growing.length ? 'fail' : 'ok';
    if (growing.length && judged) log(`memory grows: ${growing.map(([k, v]) => `${k} ${v} MB/h`).join(', ')} (limit ${MAX_SLOPE} MB/h)`);
    // Not awaited: a Queue's close() on a cluster can wait on slot refreshes; the connection is ours.
    void queue.close().catch(() => undefined);
    connection.disconnect();
    await proxy.close();
    const lagsByBot = Object.fromEntries(procs.filter((p) => p.port).map((p) => [p.name, round(Math.max(...samples.map((s) => s.lagMs[p.name] ?? 0)))]));
    report({
      bench: 'soak', topology: TOPOLOGY, minutes: MINUTES, rss_slope_mb_per_h: slopes, lookups, errors,
      audit_lag_p99_ms: round(percentile(lags, 99)), event_loop_lag_p99_max_ms: lagsByBot,
      queue_depth_max: Math.max(0, ...samples.map((s) => s.depth)), samples: samples.length, check, max_slope_mb_per_h: MAX_SLOPE,
    });
    if (check === 'fail' || errors > 0) process.exitCode = 1;
  } finally {
    await Promise.all(procs.map(killHard));
    await cluster?.stop();
    await fake.stop();
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
    rmSync(policyDir, { recursive: true, force: true });
  }
}

await main();
// The cluster clients of the worker pool and BullMQ may hold timers a moment longer: the result is out.
process.exit(process.exitCode ?? 0);
