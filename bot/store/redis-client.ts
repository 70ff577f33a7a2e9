// The one place a Redis client is made (everything else asks here): a plain `Redis` for REDIS_URL, a
// Sentinel-configured `Redis` (it asks the sentinels for the current primary and follows a failover),
// or an ioredis `Cluster` (it follows MOVED / ASK redirections and refreshes the slot map after a
// failover). Callers give the per-connection behaviour they need (offline queue, retries, timeouts) as
// standalone RedisOptions; this maps them onto the cluster's split between top-level and per-node options.
// A standalone or Sentinel client sends the commands of one event-loop turn in one write (CoalescingRedis
// below); a cluster's node connections are ioredis's own.
//
// Keys of one operation must share a slot on a cluster: BullMQ gets a hash-tagged prefix (`{custos}`,
// bot/config-redis.ts) and the few multi-key commands of our own hash-tag their keys (ratelimit.ts).
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Socket } from 'node:net';
import type { RedisSettings } from '../config-redis.ts';

/** Either client: the commands custos sends exist with the same signatures on both. */
export type RedisClient = Redis | Cluster;

/** Settings from the configuration, or a plain URL (tests, tools). */
export type RedisTarget = RedisSettings | string;

/** During a cluster failover a slot has no primary for a moment: retry instead of failing at once. */
const CLUSTER_FAILOVER_OPTIONS: ClusterOptions = {
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 300,
  retryDelayOnTryAgain: 100,
  retryDelayOnMoved: 50,
  maxRedirections: 32,
  // Replicas report the slot map too; refresh it often enough that a promoted replica is found quickly.
  slotsRefreshInterval: 2000,
};

/**
 * `coalesce: false` for a connection whose caller already sends one command per turn from a setImmediate
 * callback (the audit producer's groups): corked there, the write would wait for the next turn's.
 */
export function createRedis(target: RedisTarget, options: RedisOptions = {}, { coalesce = true } = {}): RedisClient {
  const Client = coalesce ? CoalescingRedis : Redis;
  if (typeof target === 'string') return new Client(target, options);
  const t = target.topology;
  const auth = {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  if (t.kind === 'standalone') return new Client(t.url, options);
  if (t.kind === 'sentinel') {
    return new Client({
      ...options, ...auth,
      sentinels: t.sentinels, name: t.name,
      ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(target.tls ? { enableTLSForSentinelMode: true } : {}),
      // After a failover the old primary may answer as a replica for a moment: reconnect on READONLY.
      reconnectOnError: (err) => err.message.startsWith('READONLY') ? 2 : false,
    });
  }
  return new Cluster(t.nodes, clusterOptions(options, auth));
}

/** Standalone options → cluster options: offline queue and retry strategy are the cluster's own. */
function clusterOptions(options: RedisOptions, auth: Partial<RedisOptions>): ClusterOptions {
  const { enableOfflineQueue, retryStrategy, lazyConnect, host: _host, port: _port, ...perNode } = options;
  return {
    ...CLUSTER_FAILOVER_OPTIONS,
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    redisOptions: { ...perNode, ...auth },
  };
}

/**
 * Commands sent during one turn of the event loop go out in one write: the socket is corked at the
 * turn's first command and uncorked once the turn's callbacks have run (setImmediate). Each write to a
 * local Redis is a system call that also runs Redis's side of the TCP stack; under load many lookups send
 * their next command in the same turn (their previous replies arrived in one read). Commands stay
 * independent (unlike ioredis's autoPipelining, which holds one pipeline in flight per connection).
 */
class CoalescingRedis extends Redis {
  /** The socket corked for this turn (a reconnect brings a new one, corked afresh). */
  private corked: Socket | null = null;

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const socket = this.stream as Socket | undefined;
    if (!args[1] && this.status === 'ready' && socket && this.corked !== socket) {
      this.corked = socket;
      socket.cork();
      setImmediate(() => { if (this.corked === socket) this.corked = null; socket.uncork(); });
    }
    return super.sendCommand(...args);
  }
}
