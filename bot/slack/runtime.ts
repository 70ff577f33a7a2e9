// The Slack bot as a running component (`custos start`, `--only bot`): database, policy engine, the
// fail-closed audit producer, Redis for dedupe, the Bolt app and the HTTP port with /slack/events,
// /healthz and /readyz. Tests and the bench start it the same way, with a few seams (`overrides`) to
// count customer reads or point the audit producer at a dead Redis.
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { section, type Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import type { Presenter } from '../core/lookup.ts';
import { systemClock, type Clock, type CustomerReader, type EmployeeDirectory } from '../core/ports.ts';
import { closeServer, createHttpServer, listen, type ReadinessCheck, type Route } from '../http/server.ts';
import { createMetrics } from '../metrics.ts';
import type { Logger } from '../logger.ts';
import { createAuditProducer, type AuditProducer } from '../queue/audit-producer.ts';
import { FieldCipher } from '../store/crypto.ts';
import { CustomerStore } from '../store/customer-store.ts';
import { connectDatabase, ensureIndexes } from '../store/db.ts';
import { EmployeeStore } from '../store/employee-store.ts';
import { createPolicyEngine, loadPolicy } from '../../policies/index.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import { createSlackApp } from './app.ts';
import { redisDeduper } from './dedupe.ts';
import { applyDecision } from '../core/view.ts';
import { SLACK_EVENTS_PATH } from './receiver.ts';
import { adminFeatures } from './security-features.ts';
import { securityRuntime } from './security-runtime.ts';
import { GuardedLookupService } from '../core/security/guarded-lookup.ts';
import { approvalFeatures } from './approval-features.ts';
import { reviewFeature } from './review-handlers.ts';
import { approvalQueues } from '../queue/approval-queues.ts';
import { MongoGrantStore } from '../store/grant-store.ts';

export const BOT_CONFIG_SECTIONS = ['mongo', 'redis', 'crypto', 'audit', 'slack'] as const;

export interface BotOverrides {
  /** Wraps the customer reader (tests count reads through it). */
  wrapCustomers?: (reader: CustomerReader) => CustomerReader;
  /** Records audit events somewhere else (tests: a producer on a dead Redis); `ready` feeds /readyz. */
  recorder?: AuditRecorder & { ready?: (timeoutMs?: number) => Promise<boolean> };
  engine?: PolicyEngine;
  presenter?: Presenter;
  clock?: Clock;
}

export interface RunningBot {
  url: string; // http://host:port of the bot's HTTP server
  address: AddressInfo;
  conn: Connection;
  directory: EmployeeDirectory;
  close(): Promise<void>;
}

export async function startBot(config: Config, logger: Logger, overrides: BotOverrides = {}): Promise<RunningBot> {
  const slackSettings = section(config, 'slack');
  const redisSettings = section(config, 'redis');
  const conn = await connectDatabase(section(config, 'mongo'));
  const closers: (() => Promise<unknown>)[] = [() => conn.close()];
  const closeAll = async () => { for (const c of closers.reverse()) await c().catch(() => undefined); };
  try {
    await ensureIndexes(conn);
    const cipher = new FieldCipher(section(config, 'crypto'));
    const store = new CustomerStore(conn, cipher);
    const customers = overrides.wrapCustomers ? overrides.wrapCustomers(store) : store;
    const directory = new EmployeeStore(conn);
    const grants = new MongoGrantStore(conn);
    await grants.ensureIndexes();
    // Decisions see active grants (approvals, issue 6); the engine re-checks expiry with the decision's clock.
    const engine = overrides.engine ?? createPolicyEngine(loadPolicy(config.policyDir), { grants });
    let producer: AuditProducer | undefined;
    if (!overrides.recorder) {
      producer = createAuditProducer({ redisUrl: redisSettings.url, prefix: redisSettings.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs, logger });
      const p = producer;
      closers.push(() => p.close());
      // Not fatal at start: lookups are refused (fail closed) until Redis answers, help keeps working.
      if (!(await producer.ready(2000))) logger.warn('audit queue not reachable yet; lookups are refused until it is');
    }
    const queueReady = overrides.recorder ? overrides.recorder.ready?.bind(overrides.recorder) : producer?.ready.bind(producer);
    const redis = new Redis(redisSettings.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, retryStrategy: (n) => Math.min(100 * n, 2000) });
    redis.on('error', () => undefined); // reported by readiness and by the dedupe fallback log
    closers.push(async () => redis.disconnect());
    // Rate limit and anomaly detectors around every lookup; alert cards, offboarding (issue 8).
    // /metrics (bot/metrics.ts): lookups are counted where their audit events are accepted.
    const metrics = createMetrics({ conn, redis: redisSettings, clock: overrides.clock ?? systemClock });
    closers.push(() => metrics.close());
    const auditRecorder = metrics.wrapRecorder(overrides.recorder ?? producer!);
    const secured = securityRuntime({ conn, redis, config, engine, directory, recorder: auditRecorder, clock: overrides.clock ?? systemClock, logger });
    const lookup = new GuardedLookupService({
      engine, customers,
      recorder: auditRecorder,
      present: overrides.presenter ?? applyDecision,
      clock: overrides.clock ?? systemClock,
      queryHmacKey: section(config, 'audit').hmacKey,
      grants,
    }, secured.security);
    const features = await adminFeatures({ conn, config, engine, directory, lookup, recorder: auditRecorder, clock: overrides.clock ?? systemClock, logger });
    features.push(secured.feature);
    const queues = approvalQueues(redisSettings.url, redisSettings.queuePrefix);
    closers.push(() => queues.close());
    features.push(...await approvalFeatures({
      conn, config, engine, customers, directory, grants, lookup, recorder: auditRecorder, clock: overrides.clock ?? systemClock, logger,
      exports: queues.exports, wakeUps: queues.wakeUps,
    }));
    // Keep / Revoke on access-review cards (the review worker posts them).
    features.push(await reviewFeature({ conn, config, directory, recorder: auditRecorder, clock: overrides.clock ?? systemClock, logger }));
    const slack = createSlackApp(slackSettings, {
      lookup, directory, defaultLocale: config.defaultLocale, securityContact: config.securityContact,
      logger, deduper: redisDeduper(redis, redisSettings.queuePrefix, logger), features,
    });
    const routes: Route[] = slack.receiver ? [{ method: 'POST', path: SLACK_EVENTS_PATH, handler: (req, res) => slack.receiver!.handle(req, res) }] : [];
    routes.push(metrics.route);
    const readiness: ReadinessCheck[] = [
      { name: 'redis', check: () => redis.ping() },
      { name: 'database', check: () => conn.db!.command({ ping: 1 }) },
      { name: 'queue', check: async () => { if (queueReady && !(await queueReady(500))) throw new Error('audit queue not connected'); } },
    ];
    const server = createHttpServer({ routes, readiness, logger });
    const address = await listen(server, config.http.host, config.http.port);
    closers.push(() => closeServer(server));
    await slack.start();
    closers.push(() => slack.stop());
    logger.info({ mode: slackSettings.mode, port: address.port }, 'slack bot started');
    return { url: `http://${address.address}:${address.port}`, address, conn, directory, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
