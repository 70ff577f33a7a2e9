// What every chat bot runtime (Slack, Lark) is built on, assembled in one place so the two cannot drift:
// the database and its stores, the policy engine with grants, the fail-closed audit producer (counted by
// /metrics), Redis for dedupe / nonces / rate limits, the security services and the guarded lookup
// service. The adapters add only their SDK, receiver and listeners on top. Tests and the bench pass
// seams (`overrides`) to count customer reads or point the audit producer at a dead Redis.
import { SyncFreshness } from '../sync/freshness.ts';
import { SyncStore } from '../sync/sync-store.ts';
import { Conversation } from '../conversation/layer.ts';
import type { Connection } from 'mongoose';
import { section, type Config } from '../config.ts';
import type { SyncConfig } from '../config-sync.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { ChatIdentifier } from '../core/identity.ts';
import type { Presenter } from '../core/lookup.ts';
import type { OffboardingService } from '../core/offboarding.ts';
import { systemClock, type Clock, type CustomerReader, type EmployeeDirectory } from '../core/ports.ts';
import { GuardedLookupService } from '../core/security/guarded-lookup.ts';
import type { SecurityAlerts, SecurityService } from '../core/security/guard.ts';
import type { GrantAndRequestRevoker } from '../core/security/revoker.ts';
import { applyDecision } from '../core/view.ts';
import type { ReadinessCheck } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { createAuditProducer } from '../queue/audit-producer.ts';
import { applyErasureList } from '../store/erasure.ts';
import { FieldCipher } from '../store/crypto.ts';
import { CustomerStore } from '../store/customer-store.ts';
import { connectDatabase, ensureIndexes } from '../store/db.ts';
import { EmployeeStore } from '../store/employee-store.ts';
import { CachedGrantSource, publishGrantChanges, subscribeGrantChanges } from '../store/grant-cache.ts';
import { MongoGrantStore } from '../store/grant-store.ts';
import { answerScopedRecorder } from './answer-scope.ts';
import { Cluster } from 'ioredis';
import { createRedis, type RedisClient } from '../store/redis-client.ts';
import { createPolicyEngine, loadPolicy } from '../../policies/index.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import { recordPolicyLoad } from './policy-load.ts';
import { securityServices } from './security.ts';

/** How long "no active grant" is trusted without hearing otherwise: bounds a lost announcement. */
const GRANT_CACHE_TTL_MS = 60_000;

export interface ServiceOverrides {
  /** Wraps the customer reader (tests count reads through it). */
  wrapCustomers?: (reader: CustomerReader) => CustomerReader;
  /** Records audit events somewhere else (tests: a producer on a dead Redis); `ready` feeds /readyz. */
  recorder?: AuditRecorder & { ready?: (timeoutMs?: number) => Promise<boolean> };
  engine?: PolicyEngine;
  presenter?: Presenter;
  clock?: Clock;
  /**
   * The CRM sync settings for the bot's push and webhook routes (bot/sync/http-routes.ts), parsed where
   * the process starts (`custos start`, with the bot's own settings); absent, parsed at the bot's start.
   */
  sync?: SyncConfig;
}

export interface BotServices {
  conn: Connection;
  /** The field cipher the customer store encrypts with (the CRM sync stores through the same path). */
  cipher: FieldCipher;
  customers: CustomerReader;
  directory: EmployeeStore;
  grants: MongoGrantStore;
  engine: PolicyEngine;
  clock: Clock;
  redis: RedisClient;
  metrics: Metrics;
  /** The audit recorder every feature uses: fail-closed, and counted by /metrics. */
  recorder: AuditRecorder;
  security: SecurityService;
  offboarding: OffboardingService;
  /** Revokes a user's grants and pending requests (offboarding, transfers, alert cards). */
  revoker: GrantAndRequestRevoker;
  /** Lookups behind the rate limit and the detectors. */
  lookup: GuardedLookupService;
  /** The one identity rule of every handler (bound id, else the profile's e-mail once); records refusals. */
  identity: ChatIdentifier;
  /** The conversation layer every chat adapter hands its turns to (bot/conversation). */
  conversation: Conversation;
  /** redis, database and audit queue, for /readyz. */
  readiness: ReadinessCheck[];
  /** Registers something to close, closed in reverse order by `close`. */
  onClose(closer: () => Promise<unknown>): void;
  close(): Promise<void>;
}

/** A start on what was opened for it (a bot's services, its flows' queues): a failure on the way closes that before it is thrown. */
export async function startOn<T>(services: Pick<BotServices, 'close'>, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    await services.close();
    throw err;
  }
}

/** `alerts` gets the directory because alert cards name the employee. */
export async function buildServices(
  config: Config, logger: Logger, overrides: ServiceOverrides, alerts: (directory: EmployeeDirectory) => SecurityAlerts,
): Promise<BotServices> {
  const redisSettings = section(config, 'redis');
  const clock = overrides.clock ?? systemClock;
  const conn = await connectDatabase(section(config, 'mongo'));
  const closers: (() => Promise<unknown>)[] = [() => conn.close()];
  const close = async () => { for (const c of closers.splice(0).reverse()) await c().catch(() => undefined); };
  return startOn({ close }, async () => {
    await ensureIndexes(conn);
    const cipher = new FieldCipher(section(config, 'crypto'));
    // A database restored from a backup must not bring erased customers back (bot/store/erasure.ts).
    const reErased = await applyErasureList(conn, section(config, 'crypto').erasureList, clock);
    if (reErased > 0) logger.warn({ reErased }, 'erasure list re-applied: customers erased before had come back (a restored backup?) and were erased again');
    const store = new CustomerStore(conn, cipher);
    const customers = overrides.wrapCustomers ? overrides.wrapCustomers(store) : store;
    const directory = new EmployeeStore(conn);
    const redis = createRedis(redisSettings, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, retryStrategy: (n) => Math.min(100 * n, 2000) });
    redis.on('error', () => undefined); // reported by readiness and by the dedupe / guard fallback logs
    closers.push(async () => redis.disconnect());
    // Without an offline queue, commands sent before the connection is up fail: wait for it (bounded).
    await waitReady(redis, 2000, logger);
    // Stored and revoked grants are announced, so every replica's grant cache drops the grantee's entry.
    const grants = new MongoGrantStore(conn, publishGrantChanges(redis, redisSettings.keyPrefix, logger));
    await grants.ensureIndexes();
    // Decisions see active grants (approvals, issue 6); the engine re-checks expiry with the decision's clock.
    // "No active grant" is remembered while this replica hears the announcements (grant-cache.ts).
    const grantCache = new CachedGrantSource(grants, { ttlMs: GRANT_CACHE_TTL_MS });
    const grantSubscription = subscribeGrantChanges(redisSettings, redisSettings.keyPrefix, grantCache, logger);
    closers.push(() => grantSubscription.close());
    const policy = loadPolicy(config.policyDir);
    const engine = overrides.engine ?? createPolicyEngine(policy, { grants: grantCache });
    const { recorder: rawRecorder, queueReady } = await auditRecorder(config, logger, overrides, closers);
    // /metrics (bot/metrics.ts): lookups are counted where their audit events are accepted.
    const metrics = createMetrics({ conn, redis: redisSettings, clock });
    closers.push(() => metrics.close());
    // Inside a pending answer (answer-scope.ts) events get ids a finishing replica reproduces.
    const recorder = answerScopedRecorder(metrics.wrapRecorder(rawRecorder));
    // The policy now in force goes on the record (`policy.load`; the DPO's compliance pack lists it).
    // Not with an injected recorder: tests that bring their own count exactly the events they cause.
    if (!overrides.recorder) {
      const stop = await recordPolicyLoad(rawRecorder, policy, 'bot', clock, logger);
      closers.push(async () => stop());
    }
    // Rate limit and anomaly detectors around every lookup; offboarding (issue 8).
    const { security, offboarding, revoker } = securityServices({ conn, redis, config, engine, policy, directory, grants, recorder, alerts: alerts(directory), clock, logger });
    const lookup = new GuardedLookupService({
      engine, customers, recorder, clock, grants, freshness: new SyncFreshness(new SyncStore(conn)),
      present: overrides.presenter ?? applyDecision,
      queryHmacKey: section(config, 'audit').hmacKey,
    }, security);
    const identity = new ChatIdentifier({ directory, recorder, clock });
    const conversation = new Conversation({
      lookup, directory, refusals: { recorder, clock }, defaultLocale: config.defaultLocale, securityContact: config.securityContact, logger, metrics,
    });
    const readiness: ReadinessCheck[] = [
      { name: 'redis', check: () => redisReachable(redis) },
      { name: 'database', check: () => conn.db!.command({ ping: 1 }) },
      { name: 'queue', check: async () => { if (queueReady && !(await queueReady(500))) throw new Error('audit queue not connected'); } },
    ];
    return {
      conn, cipher, customers, directory, grants, engine, clock, redis, metrics, recorder, security, offboarding, revoker, lookup, identity, conversation, readiness,
      onClose: (c) => { closers.push(c); }, close,
    };
  });
}

/** The override, or a producer on the configured Redis; either way how to ask whether it is connected. */
async function auditRecorder(config: Config, logger: Logger, overrides: ServiceOverrides, closers: (() => Promise<unknown>)[]) {
  if (overrides.recorder) return { recorder: overrides.recorder as AuditRecorder, queueReady: overrides.recorder.ready?.bind(overrides.recorder) };
  const redisSettings = section(config, 'redis');
  const producer = createAuditProducer({
    redis: redisSettings, prefix: redisSettings.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs,
    reconnectWaitMs: config.auditPipeline.reconnectWaitMs, logger,
  });
  closers.push(() => producer.close());
  // Not fatal at start: lookups are refused (fail closed) until Redis answers, help keeps working.
  if (!(await producer.ready(2000))) logger.warn('audit queue not reachable yet; lookups are refused until it is');
  return { recorder: producer as AuditRecorder, queueReady: producer.ready.bind(producer) };
}

/**
 * Every primary answers. On a cluster a PING goes to one node, which says nothing of a primary that is
 * down (its slots fail until a replica takes over), so each primary of the client's slot map is asked.
 */
async function redisReachable(redis: RedisClient): Promise<void> {
  if (!(redis instanceof Cluster)) {
    await redis.ping();
    return;
  }
  const primaries = redis.nodes('master');
  if (primaries.length === 0) throw new Error('no cluster primary known');
  await Promise.all(primaries.map((n) => n.ping()));
}

async function waitReady(redis: RedisClient, ms: number, logger: Logger): Promise<void> {
  if (redis.status === 'ready') return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { redis.off('ready', onReady); resolve(false); }, ms);
    const onReady = () => { clearTimeout(timer); resolve(true); };
    redis.once('ready', onReady);
  });
  if (!ready) logger.warn('redis not reachable yet; dedupe, nonces and rate limits fall back until it is');
}
