// `npm run bench -- lookup --topology=cluster`: the lookup bench through the scaled-out deployment —
// two bots (`custos start --only bot`) behind the round-robin proxy and two workers — once on the
// standalone Redis the bench runner started and once on a Redis Cluster (three primaries, three
// replicas; test/helpers/redis-topology.ts), in the same run, on the same seeded FerretDB data.
// Each run: BENCH_LOOKUP_WARMUP lookups, then BENCH_LOOKUP_REQUESTS signed `/customer` lookups with
// BENCH_LOOKUP_CONCURRENCY in flight; latency = from the signed POST to the fake Slack API receiving the
// reply (a customer card, or the run fails). The cluster's rate over the standalone's is the figure
// (target ≥ 0.8). Smaller than the in-process bench's defaults: six custos processes share the machine.
// Last stdout line: {"bench":"lookup","topology":"cluster","rate":…,"standalone_rate":…,"rate_ratio":…,…}
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import mongoose from 'mongoose';
import { loadConfig } from '../bot/config.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { demoEmployeeList } from '../bot/store/demo-company.ts';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { seedDemo } from '../bot/store/seed.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';
import { startRedisCluster, type RedisCluster } from '../test/helpers/redis-topology.ts';
import { killHard, startComponent, startProxy, waitReady, type CustosProcess } from '../test/helpers/scale-topology.ts';
import { FORM, sign, slashCommandBody } from '../test/helpers/slack-sign.ts';
import { now, percentile, report, requireEnv, round, unthrottledPolicyDir } from './lib.ts';

const REQUESTS = Number(process.env.BENCH_LOOKUP_REQUESTS ?? 600);
const WARMUP = Number(process.env.BENCH_LOOKUP_WARMUP ?? 60);
const CONCURRENCY = Number(process.env.BENCH_LOOKUP_CONCURRENCY ?? 8);
const CUSTOMERS = Number(process.env.BENCH_LOOKUP_TOPOLOGY_CUSTOMERS ?? 2000);
const SECRET = 'bench-topology-signing-secret-0123456789';
const log = (msg: string) => process.stderr.write(`lookup bench (topology): ${msg}\n`);

interface Run { rate: number; p50: number; p99: number; cards: number }

export async function runTopologyComparison(): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const dbName = `bench_lookup_topo_${suffix}`;
  const policyDir = unthrottledPolicyDir('policies');
  const fake = new FakeSlackApi();
  const users = demoEmployeeList().filter((e) => e.department === 'support').map((e, i) => ({ id: `U${i}TOPO`, dm: `D${i}TOPO`, employeeId: e.employeeId, email: e.email }));
  for (const u of users) { fake.addUser({ id: u.id, email: u.email, locale: 'en' }); fake.addChannel({ id: u.dm, isIm: true, members: [u.id, 'UBOT'] }); }
  await fake.start();
  const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName }).asPromise();
  const keys = {
    CUSTOS_DATA_KEYS: `k1:${randomBytes(32).toString('base64')}`, CUSTOS_BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
    CUSTOS_AUDIT_HMAC_KEY: randomBytes(32).toString('base64'), CUSTOS_AUDIT_SIGNING_KEY: randomBytes(32).toString('base64'),
  };
  const envOf = (redis: Record<string, string>, prefix: string): NodeJS.ProcessEnv => ({
    NODE_ENV: 'production', MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: dbName, CUSTOS_QUEUE_PREFIX: prefix, ...redis, ...keys,
    SLACK_BOT_TOKEN: fake.token, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: fake.apiUrl, SLACK_API_RETRIES: '0', CUSTOS_POLICY_DIR: policyDir,
    CUSTOS_ERASURE_LIST: `/tmp/custos-topo-erasures-${suffix}.txt`,
  });
  let cluster: RedisCluster | undefined;
  try {
    const seedEnv = envOf({ REDIS_URL: requireEnv('REDIS_URL') }, `topo-${suffix}-s`);
    await seedDemo(conn, new FieldCipher(loadConfig(seedEnv, { require: ['crypto'] }).crypto!), { customers: CUSTOMERS, seed: 'topology' });
    const directory = new EmployeeStore(conn);
    for (const u of users) await directory.bindChatId(u.employeeId, 'slack', u.id);
    const standalone = await measure('standalone', seedEnv, fake, users);
    cluster = await startRedisCluster();
    // CUSTOS_REDIS_MIN_REPLICAS=0 from the bench's environment measures the cluster without the audit
    // producer's WAIT for a replica (the default there is 1), for a before / after of its cost.
    const minReplicas = process.env.CUSTOS_REDIS_MIN_REPLICAS;
    const onCluster = await measure('cluster', envOf({ ...cluster.env, ...(minReplicas ? { CUSTOS_REDIS_MIN_REPLICAS: minReplicas } : {}) }, `topo-${suffix}-c`), fake, users);
    report({
      bench: 'lookup', topology: 'cluster', requests: REQUESTS, concurrency: CONCURRENCY, customers: CUSTOMERS,
      rate: onCluster.rate, p50_ms: onCluster.p50, p99_ms: onCluster.p99,
      standalone_rate: standalone.rate, standalone_p50_ms: standalone.p50, standalone_p99_ms: standalone.p99,
      cards: onCluster.cards, standalone_cards: standalone.cards,
      rate_ratio: round(onCluster.rate / standalone.rate), target_ratio: 0.8, min_replicas: Number(minReplicas ?? 1),
    });
  } finally {
    await cluster?.stop();
    await fake.stop();
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
    rmSync(policyDir, { recursive: true, force: true });
  }
}

/** Two bots, two workers and the proxy on `env`'s Redis; warm-up, then the timed lookups. */
async function measure(name: string, env: NodeJS.ProcessEnv, fake: FakeSlackApi, users: { id: string; dm: string }[]): Promise<Run> {
  const procs: CustosProcess[] = await Promise.all([
    startComponent(`${name}-bot-a`, 'bot', env), startComponent(`${name}-bot-b`, 'bot', env),
    startComponent(`${name}-worker-1`, 'worker', env), startComponent(`${name}-worker-2`, 'worker', env),
  ]);
  try {
    await Promise.all(procs.map((p) => waitReady(p, /audit worker started/)));
    const proxy = await startProxy(procs.filter((p) => p.port).map((p) => p.port!));
    try {
      await drive(proxy.url, fake, users, WARMUP);
      const t0 = now();
      const cards = { n: 0 };
      const latencies = await drive(proxy.url, fake, users, REQUESTS, cards);
      const seconds = (now() - t0) / 1000;
      const run = { rate: round(REQUESTS / seconds, 1), p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), cards: cards.n };
      log(`${name}: ${JSON.stringify(run)}`);
      return run;
    } finally {
      await proxy.close();
    }
  } finally {
    await Promise.all(procs.map(killHard));
  }
}

/** `n` lookups, CONCURRENCY in flight; `cards` counts the replies that showed a customer. */
async function drive(url: string, fake: FakeSlackApi, users: { id: string; dm: string }[], n: number, cards = { n: 0 }): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const u = users[i % users.length]!;
      const responseUrl = fake.responseUrl();
      const raw = slashCommandBody({ text: demoCustomerId(1 + (i % CUSTOMERS)), userId: u.id, channelId: u.dm, responseUrl });
      const started = now();
      const replied = fake.nextCallTo(new URL(responseUrl).pathname, 120_000);
      replied.catch(() => undefined);
      const res = await fetch(`${url}/slack/events`, { method: 'POST', ...sign(SECRET, raw, FORM) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      const reply = JSON.stringify((await replied).body);
      // A card, or "no customer you may see" (a support agent's scope): both are answered lookups. A
      // refusal for the audit log or an error fails the run.
      if (!reply.includes('C-') && !reply.includes('没有您可查看的匹配客户')) throw new Error(`unexpected reply: ${reply.slice(0, 200)}`);
      if (reply.includes('C-')) cards.n++;
      latencies.push(now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  fake.calls.splice(0, fake.calls.length);
  return latencies.sort((a, b) => a - b);
}
