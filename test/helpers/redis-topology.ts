// Redis topologies from Debian's redis-server on free local ports, for the scale drills (test/scale/)
// and benches: a Redis Cluster (three primaries, three replicas, made by `redis-cli --cluster create`) and
// a Sentinel set (one primary, two replicas, three sentinels). Each node is a child process with its own
// directory; `stop()` kills them all and removes the directories. No persistence: the drills are about
// failover, which a replica's copy survives; a restart from disk is not what they test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './run-custos.ts';

export interface RedisNode { port: number; child: ChildProcess; dir: string }

/** Polls `fn` until it returns a value (not undefined); at most `ms`, then throws naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startNode(args: string[], port: number, base: string): RedisNode {
  const dir = path.join(base, String(port));
  spawnSync('mkdir', ['-p', dir]);
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  return { port, child, dir };
}

/** Whether `port` can be bound on 127.0.0.1 now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A cluster node on free ports, answering PING. A node also binds its cluster bus at port + 10000, which
 * freePort does not see: with that port held (by any connection's ephemeral port) redis-server exits at once
 * ("Failed listening on port … (cluster), aborting"; tried), and a gating run's drill waited its minute for
 * nothing and failed. The bus port is checked too, and a node that exits anyway is started again elsewhere.
 */
async function startClusterNode(args: string[], base: string, taken: number[]): Promise<RedisNode> {
  for (let attempt = 1; ; attempt++) {
    let port = await freePort();
    while (port >= 55_535 || taken.includes(port) || !(await portFree(port + 10_000))) port = await freePort();
    const node = startNode(args, port, base);
    const exited = () => node.child.exitCode !== null || node.child.signalCode !== null;
    const up = await until(`redis ${port}`, async () => (exited() ? false : (await ping(port)) ? true : undefined)).catch(async (err: unknown) => { await kill(node); throw err; });
    if (up) return node;
    if (attempt === 3) throw new Error(`redis-server would not start a cluster node (three tries; the last on ports ${port} and ${port + 10_000})`);
  }
}

async function ping(port: number): Promise<boolean> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try { await r.connect(); return (await r.ping()) === 'PONG'; } finally { r.disconnect(); }
}

async function info(port: number, command: string[]): Promise<string> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 2000 });
  r.on('error', () => undefined);
  try { await r.connect(); return String(await r.call(command[0]!, ...command.slice(1))); } finally { r.disconnect(); }
}

function kill(node: RedisNode): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => node.child.once('exit', () => r()));
  node.child.kill('SIGKILL');
  return exited;
}

export interface RedisCluster {
  nodes: RedisNode[];
  /** REDIS_CLUSTER_NODES for custos. */
  env: Record<string, string>;
  /** Ports of the current primaries / replicas, as the cluster itself reports them. */
  roles(): Promise<{ primaries: number[]; replicas: { port: number; of: number }[] }>;
  /** The port of the primary that serves `key`'s slot now. */
  primaryOf(key: string): Promise<number>;
  /** `CLUSTER FAILOVER` on a replica of `primaryPort`: a planned, lossless hand-over. */
  failover(primaryPort: number): Promise<number>;
  /**
   * SIGKILL a primary; resolves once one of its replicas has been promoted, the cluster is ok, and the
   * killed node has been restarted and is in sync as the promoted one's replica.
   */
  killPrimary(primaryPort: number): Promise<number>;
  /**
   * SIGSTOP a primary and its replica: their slots are unreachable (nothing can take over) until
   * `resume()` (SIGCONT), which resolves once the cluster is ok again. An outage that lasts as long as
   * the test wants, so what /readyz says during it can be checked without a race.
   */
  pauseShard(primaryPort: number): Promise<{ resume(): Promise<void> }>;
  stop(): Promise<void>;
}

/** Three primaries and three replicas, `cluster_state:ok` on every node before it resolves. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'custos-cluster-'));
  // node-timeout 2 s: a killed primary is declared failed (and replaced) within a few seconds.
  // repl-diskless-sync-delay 0: a restarted node syncs as a replica at once, not after the default 5 s
  // (while its shard has no replica, audit jobs of its slots are refused: CUSTOS_REDIS_MIN_REPLICAS).
  const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-replica-validity-factor', '0', '--repl-diskless-sync-delay', '0'];
  const nodes: RedisNode[] = [];
  const stop = async () => { await Promise.all(nodes.map(kill)); rmSync(base, { recursive: true, force: true }); };
  try {
    while (nodes.length < 6) nodes.push(await startClusterNode(clusterArgs, base, nodes.map((n) => n.port)));
    const ports = nodes.map((n) => n.port);
    const made = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (made.status !== 0) throw new Error(`redis-cli --cluster create failed: ${made.stdout.slice(-500)} ${made.stderr.slice(-500)}`);
    const alive = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
    const allOk = async () => {
      for (const n of alive()) if (!(await info(n.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return undefined;
      return true;
    };
    await until('cluster_state:ok', allOk);
    const roles = async () => {
      const text = await info(alive()[0]!.port, ['CLUSTER', 'NODES']);
      const lines = text.trim().split('\n').map((l) => l.split(' '));
      const portOf = (addr: string) => Number(addr.split('@')[0]!.split(':')[1]);
      const idToPort = new Map(lines.map((l) => [l[0]!, portOf(l[1]!)]));
      const up = lines.filter((l) => !l[2]!.includes('fail'));
      return {
        primaries: up.filter((l) => l[2]!.includes('master') && l.length > 8).map((l) => portOf(l[1]!)),
        replicas: up.filter((l) => l[2]!.includes('slave')).map((l) => ({ port: portOf(l[1]!), of: idToPort.get(l[3]!)! })),
      };
    };
    // A replica's first sync starts after `repl-diskless-sync-delay` (5 s): until then a primary has no
    // replica to confirm a write (the audit producer's WAIT), so wait for every one to be online.
    await until('every primary\'s replica in sync', async () => {
      const online = await Promise.all(nodes.map(async (n) => (await info(n.port, ['INFO', 'replication'])).includes('state=online')));
      return online.filter(Boolean).length === 3 ? true : undefined;
    });
    // And every replica known as one in the view `roles` reads (gossip can lag behind replication: a test
    // once found a shard's primary with no replica listed, under the suite's load).
    await until('every replica in the cluster view', async () => ((await roles()).replicas.length === 3 ? true : undefined));
    const replicaOf = async (primary: number) => {
      const r = (await roles()).replicas.find((x) => x.of === primary);
      if (!r) throw new Error(`primary ${primary} has no replica`);
      return r.port;
    };
    const primaryOf = async (key: string) => {
      const slot = Number(await info(alive()[0]!.port, ['CLUSTER', 'KEYSLOT', key]));
      const text = await info(alive()[0]!.port, ['CLUSTER', 'NODES']);
      for (const l of text.trim().split('\n').map((x) => x.split(' '))) {
        if (!l[2]!.includes('master') || l[2]!.includes('fail')) continue;
        const ranges = l.slice(8).map((r) => r.split('-').map(Number));
        if (ranges.some(([from, to]) => slot >= from! && slot <= (to ?? from)!)) return Number(l[1]!.split('@')[0]!.split(':')[1]);
      }
      throw new Error(`no primary serves slot ${slot} of ${key}`);
    };
    return {
      nodes, roles, stop, primaryOf,
      env: { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') },
      async failover(primary) {
        const replica = await replicaOf(primary);
        await info(replica, ['CLUSTER', 'FAILOVER']);
        await until(`replica ${replica} promoted`, async () => ((await roles()).primaries.includes(replica) ? true : undefined));
        await until('cluster_state:ok', allOk);
        return replica;
      },
      async pauseShard(primary) {
        const pair = [primary, await replicaOf(primary)].map((p) => nodes.find((n) => n.port === p)!);
        for (const n of pair) n.child.kill('SIGSTOP');
        return {
          async resume() {
            for (const n of pair) n.child.kill('SIGCONT');
            await until('cluster_state:ok after the shard resumed', allOk, 120_000);
          },
        };
      },
      async killPrimary(primary) {
        const replica = await replicaOf(primary);
        const at = nodes.findIndex((n) => n.port === primary);
        await kill(nodes[at]!);
        await until(`replica ${replica} promoted after its primary died`, async () => ((await info(replica, ['ROLE'])).startsWith('master') ? true : undefined));
        await until('cluster_state:ok', allOk);
        // Restarted as a supervisor would: it rejoins (its nodes.conf) as the promoted node's replica, so the
        // shard has a replica again — without one the audit producer's WAIT refuses every job of its slots.
        nodes[at] = startNode(clusterArgs, primary, base);
        await until(`${primary} back as ${replica}'s replica, in sync`, async () => ((await info(replica, ['INFO', 'replication'])).includes('state=online') ? true : undefined), 120_000);
        return replica;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface RedisSentinelSet {
  primary: RedisNode; replicas: RedisNode[]; sentinels: RedisNode[];
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME for custos. */
  env: Record<string, string>;
  /** The port the sentinels name as primary now. */
  currentPrimary(): Promise<number>;
  /** SIGKILL the current primary; resolves with the promoted replica's port once the sentinels agree. */
  killPrimary(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * One standalone redis-server of a test's own, for tests that stop its writes (CLIENT PAUSE … WRITE):
 * the shared server of `npm test` serves every test file at once, and a pause there stalls them all.
 */
export async function startPrivateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'custos-redis-'));
  const node = startNode([], await freePort(), base);
  const stop = async () => { await kill(node); rmSync(base, { recursive: true, force: true }); };
  try {
    await until(`redis ${node.port}`, async () => ((await ping(node.port)) ? true : undefined), 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${node.port}`, stop };
}

export const SENTINEL_NAME = 'custos-main';

/** One primary, two replicas, three sentinels (quorum 2); resolves once every sentinel sees both replicas. */
export async function startRedisSentinel(): Promise<RedisSentinelSet> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'custos-sentinel-'));
  const ports: number[] = [];
  while (ports.length < 6) { const p = await freePort(); if (!ports.includes(p)) ports.push(p); }
  const [pp, r1, r2, ...sp] = ports as [number, number, number, number, number, number];
  const primary = startNode([], pp, base);
  const replicas = [r1, r2].map((p) => startNode(['--replicaof', '127.0.0.1', String(pp)], p, base));
  const sentinels = sp.map((p) => {
    const conf = path.join(base, `sentinel-${p}.conf`);
    writeFileSync(conf, [
      `port ${p}`, 'bind 127.0.0.1', `dir ${base}`,
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${pp} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} 2000`,
      `sentinel failover-timeout ${SENTINEL_NAME} 10000`,
      `sentinel parallel-syncs ${SENTINEL_NAME} 1`, '',
    ].join('\n'));
    return { port: p, dir: base, child: spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }) };
  });
  const all = [primary, ...replicas, ...sentinels];
  const stop = async () => { await Promise.all(all.map(kill)); rmSync(base, { recursive: true, force: true }); };
  const currentPrimary = async () => {
    const r = new Redis(sentinels[0]!.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try { await r.connect(); const [, port] = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as [string, string]; return Number(port); } finally { r.disconnect(); }
  };
  try {
    for (const n of all) await until(`redis ${n.port}`, async () => ((await ping(n.port)) ? true : undefined));
    await until('both replicas in sync', async () => ((await info(pp, ['INFO', 'replication'])).match(/state=online/g)?.length === 2 ? true : undefined));
    for (const s of sentinels) {
      await until(`sentinel ${s.port} sees the replicas and its peers`, async () => {
        const m = String(await info(s.port, ['SENTINEL', 'MASTERS'])) ;
        return m.includes(SENTINEL_NAME) && (await info(s.port, ['INFO', 'sentinel'])).includes('sentinels=3') ? true : undefined;
      });
    }
    return {
      primary, replicas, sentinels, stop, currentPrimary,
      env: { REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','), REDIS_SENTINEL_NAME: SENTINEL_NAME },
      async killPrimary() {
        const was = await currentPrimary();
        await kill(all.find((n) => n.port === was)!);
        const now = await until('sentinels promote a replica', async () => { const p = await currentPrimary(); return p !== was ? p : undefined; });
        await until(`${now} acts as primary`, async () => ((await info(now, ['ROLE'])).startsWith('master') ? true : undefined));
        return now;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
