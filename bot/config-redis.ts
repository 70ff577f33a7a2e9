// Configuration of the Redis connection: one standalone server (REDIS_URL), a Redis Cluster
// (REDIS_CLUSTER_NODES) or a Sentinel-managed primary (REDIS_SENTINELS + REDIS_SENTINEL_NAME). Parsed
// once with zod; every problem is reported with the rest of bot/config.ts's, at once. The one factory
// that turns these settings into a client is bot/store/redis-client.ts.
import { z } from 'zod';
import { zodProblems } from './config-env.ts';

export interface HostPort { host: string; port: number }

export type RedisTopology =
  | { kind: 'standalone'; url: string }
  | { kind: 'cluster'; nodes: HostPort[] }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string };

export interface RedisSettings {
  topology: RedisTopology;
  /**
   * BullMQ's key prefix. On a cluster always a hash tag (`{custos}`): every key of one queue then lives
   * in one slot, which BullMQ's multi-key Lua scripts need (BullMQ docs: "Redis Cluster").
   */
  queuePrefix: string;
  /**
   * Prefix of custos's own keys (dedupe, nonces, rate limits): the queue prefix without a hash tag, so
   * on a cluster they spread over all slots. Each operation touches one key, or hash-tags its keys itself.
   */
  keyPrefix: string;
  /** Credentials and TLS of the data nodes (cluster / sentinel; a REDIS_URL carries its own). */
  username?: string;
  password?: string;
  sentinelPassword?: string;
  tls: boolean;
  /**
   * Replicas that must confirm an audit job (Redis `WAIT`) before the producer reports it recorded.
   * Replication is asynchronous: without this a primary killed right after acknowledging a job loses it
   * in the failover. 0: the primary's acknowledgement is enough (a standalone server has no replica).
   */
  minReplicas: number;
  /** How long `WAIT` may wait for those replicas before the producer refuses (fail closed). */
  replicaWaitMs: number;
}

/** Settings of this section that may be given as `NAME_FILE`. */
export const REDIS_SECRET_SETTINGS = ['REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD'] as const;

/** The settings any one of which makes the redis section present. */
export const REDIS_CHOICES = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const;

const hostPorts = (name: string) => z.string().transform((v, ctx) => {
  const out: HostPort[] = [];
  for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(part);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65_535) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a comma-separated list of host:port (e.g. redis-1:6379,redis-2:6379); "${part.slice(0, 64)}" is not` });
      return z.NEVER;
    }
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: `${name} is empty; list at least one host:port` });
    return z.NEVER;
  }
  return out;
});

const schema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'REDIS_URL must start with redis:// or rediss://').optional(),
  REDIS_CLUSTER_NODES: hostPorts('REDIS_CLUSTER_NODES').optional(),
  REDIS_SENTINELS: hostPorts('REDIS_SENTINELS').optional(),
  REDIS_SENTINEL_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'REDIS_SENTINEL_NAME must be the monitored primary\'s name (sentinel monitor <name> …): 1-64 letters, digits, . _ or -').optional(),
  REDIS_USERNAME: z.string().min(1).max(256).optional(),
  REDIS_PASSWORD: z.string().min(1).max(512).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).max(512).optional(),
  REDIS_TLS: z.enum(['true', 'false'], { error: 'REDIS_TLS must be true or false' }).default('false'),
  // `{name}` is accepted as given (already a hash tag); a bare name is wrapped on a cluster.
  // Default by topology (parseRedisSection): 0 for REDIS_URL, 1 for a cluster or sentinel-managed primary.
  CUSTOS_REDIS_MIN_REPLICAS: z.coerce.number().int().min(0, 'CUSTOS_REDIS_MIN_REPLICAS must be 0-5').max(5, 'CUSTOS_REDIS_MIN_REPLICAS must be 0-5').optional(),
  CUSTOS_REDIS_WAIT_TIMEOUT_MS: z.coerce.number().int().min(10, 'CUSTOS_REDIS_WAIT_TIMEOUT_MS must be 10-60000').max(60_000, 'CUSTOS_REDIS_WAIT_TIMEOUT_MS must be 10-60000').default(1000),
  CUSTOS_QUEUE_PREFIX: z.string().regex(/^(\{[A-Za-z0-9_-]{1,32}\}|[A-Za-z0-9_-]{1,32})$/, 'CUSTOS_QUEUE_PREFIX must be 1-32 letters, digits, _ or - (optionally in braces, a Redis Cluster hash tag such as {custos})').default('custos'),
});

/** Whether any setting that selects a Redis topology is given (the section's `require` check). */
export function redisConfigured(values: Record<string, string | undefined>): boolean {
  return REDIS_CHOICES.some((name) => values[name] !== undefined);
}

/**
 * The redis section, or undefined when none of REDIS_CHOICES is set. Problems are appended to
 * `problems` (the caller throws one error listing them all).
 */
export function parseRedisSection(values: Record<string, string | undefined>, problems: string[]): RedisSettings | undefined {
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    zodProblems(parsed.error, problems);
    return undefined;
  }
  const r = parsed.data;
  const chosen = REDIS_CHOICES.filter((name) => r[name] !== undefined);
  const before = problems.length;
  if (chosen.length > 1) problems.push(`${chosen.join(' and ')} are all set; set exactly one of REDIS_URL (one server), REDIS_CLUSTER_NODES (Redis Cluster) or REDIS_SENTINELS (Sentinel)`);
  if (r.REDIS_SENTINELS && !r.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS; set it to the name the sentinels monitor (sentinel monitor <name> …)');
  if (r.REDIS_SENTINEL_NAME && !r.REDIS_SENTINELS) problems.push('REDIS_SENTINEL_NAME is set without REDIS_SENTINELS; list the sentinels as host:port,host:port or unset it');
  if (r.REDIS_SENTINEL_PASSWORD && !r.REDIS_SENTINELS) problems.push('REDIS_SENTINEL_PASSWORD is set without REDIS_SENTINELS; unset it');
  if (r.REDIS_URL && (r.REDIS_PASSWORD || r.REDIS_USERNAME || r.REDIS_TLS === 'true')) {
    problems.push('REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS apply to REDIS_CLUSTER_NODES / REDIS_SENTINELS; with REDIS_URL put them in the URL (rediss://user:password@host:port)');
  }
  if (problems.length > before || chosen.length === 0) return undefined;
  const topology: RedisTopology = r.REDIS_CLUSTER_NODES
    ? { kind: 'cluster', nodes: r.REDIS_CLUSTER_NODES }
    : r.REDIS_SENTINELS
      ? { kind: 'sentinel', sentinels: r.REDIS_SENTINELS, name: r.REDIS_SENTINEL_NAME! }
      : { kind: 'standalone', url: r.REDIS_URL! };
  return {
    topology,
    queuePrefix: topology.kind === 'cluster' ? hashTagged(r.CUSTOS_QUEUE_PREFIX) : r.CUSTOS_QUEUE_PREFIX,
    keyPrefix: r.CUSTOS_QUEUE_PREFIX.replace(/^\{(.*)\}$/, '$1'),
    ...(r.REDIS_USERNAME ? { username: r.REDIS_USERNAME } : {}),
    ...(r.REDIS_PASSWORD ? { password: r.REDIS_PASSWORD } : {}),
    ...(r.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: r.REDIS_SENTINEL_PASSWORD } : {}),
    tls: r.REDIS_TLS === 'true',
    minReplicas: r.CUSTOS_REDIS_MIN_REPLICAS ?? (topology.kind === 'standalone' ? 0 : 1),
    replicaWaitMs: r.CUSTOS_REDIS_WAIT_TIMEOUT_MS,
  };
}

/** `custos` → `{custos}`; an already tagged prefix unchanged. */
export function hashTagged(prefix: string): string {
  return prefix.startsWith('{') ? prefix : `{${prefix}}`;
}

/** The topology in one line without credentials, for logs and `custos doctor`-style output. */
export function describeRedis(settings: RedisSettings): string {
  const t = settings.topology;
  const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (t.kind === 'cluster') return `cluster ${list(t.nodes)}`;
  if (t.kind === 'sentinel') return `sentinel ${t.name}@${list(t.sentinels)}`;
  return `standalone ${t.url.replace(/\/\/[^@/]*@/, '//***@')}`;
}

/** The URL of a standalone server (tools and benches that only run on one); throws on a cluster or sentinel. */
export function standaloneUrl(settings: RedisSettings): string {
  if (settings.topology.kind !== 'standalone') throw new Error(`a standalone Redis (REDIS_URL) is needed here, not ${settings.topology.kind}`);
  return settings.topology.url;
}

/** Settings for one server at `url` (tests, tools). */
export function standaloneSettings(url: string, queuePrefix: string): RedisSettings {
  return { topology: { kind: 'standalone', url }, queuePrefix, keyPrefix: queuePrefix, tls: false, minReplicas: 0, replicaWaitMs: 1000 };
}
