// The playground as a running component: what `custos start` runs as the bot when no chat platform is
// configured. The same wiring as the Slack bot (database, policy engine, fail-closed audit producer,
// LookupService) with the playground's routes, plus /healthz, /readyz and /metrics on one port.
// It binds to loopback unless told otherwise, and says loudly that it is for local use.
import { SyncFreshness } from '../sync/freshness.ts';
import { SyncStore } from '../sync/sync-store.ts';
import { reportChainOf } from '../reports/chain.ts';
import { ReportSource } from '../reports/source.ts';
import { Conversation } from '../conversation/layer.ts';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import { section, type Config } from '../config.ts';
import { isLoopbackHost } from '../config-env.ts';
import { GuardedLookupService } from '../core/security/guarded-lookup.ts';
import { securityServices } from '../runtime/security.ts';
import { createRedis, type RedisClient } from '../store/redis-client.ts';
import { PlaygroundSecurityAlerts } from './security-alerts.ts';
import { PlaygroundReviewNotifier } from './reviews.ts';
import { prepareReviewService } from '../store/review-service.ts';
import { startReviewWorker } from '../../workers/reviews/worker.ts';
import { systemClock, type Clock } from '../core/ports.ts';
import { applyDecision } from '../core/view.ts';
import { closeServer, createHttpServer, listen, type ReadinessCheck } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';
import { createAuditProducer } from '../queue/audit-producer.ts';
import { FieldCipher } from '../store/crypto.ts';
import { CustomerStore } from '../store/customer-store.ts';
import { connectDatabase, ensureIndexes } from '../store/db.ts';
import { EmployeeStore } from '../store/employee-store.ts';
import { createPolicyEngine, loadPolicy } from '../../policies/index.ts';
import { PlaygroundFlow } from './flow.ts';
import { playgroundRoutes } from './routes.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import { ApprovalService } from '../core/approvals/service.ts';
import { approvalSettingsOf } from '../core/approvals/settings.ts';
import { auditQueryService } from '../runtime/audit-query.ts';
import { publishGrantChanges } from '../store/grant-cache.ts';
import { MongoGrantStore } from '../store/grant-store.ts';
import { MongoRequestStore } from '../store/request-store.ts';
import { PlaygroundApprovalFlow } from './approvals-flow.ts';
import { PlaygroundInbox } from './inbox.ts';
import { PlaygroundExportDelivery, PlaygroundFiles } from './export-delivery.ts';
import { approvalQueues } from '../queue/approval-queues.ts';
import { ExportStore } from '../store/export-store.ts';
import { watermarkKey } from '../core/export-watermark.ts';
import { MongoAuditLogReader } from '../store/audit-query-store.ts';
import { auditModels } from '../store/audit-model.ts';
import { startExportWorker } from '../../workers/export/worker.ts';
import { eraserOf } from '../store/erasure.ts';
import { recordPolicyLoad } from '../runtime/policy-load.ts';

const SWEEP_MS = 15_000;

export const PLAYGROUND_CONFIG_SECTIONS = ['mongo', 'redis', 'crypto', 'audit'] as const;

export interface RunningPlayground {
  url: string;
  address: AddressInfo;
  conn: Connection;
  close(): Promise<void>;
}

/** `sweepMs`: how often the approval sweep runs (reminders, escalation, expiry); tests that move the clock shorten it. */
export async function startPlayground(config: Config, logger: Logger, opts: { clock?: Clock; sweepMs?: number } = {}): Promise<RunningPlayground> {
  const log = logger.child({ module: 'playground' });
  if (!isLoopbackHost(config.http.host) && !config.playground.allowRemote) {
    throw new CustosError(ErrorCode.ConfigInvalid,
      `the playground verifies nobody and must not listen on ${config.http.host}; use HTTP_HOST=127.0.0.1, configure Slack, or set CUSTOS_PLAYGROUND_ALLOW_REMOTE=true (containers that publish the port to the host's loopback only)`);
  }
  const clock = opts.clock ?? systemClock;
  const redisSettings = section(config, 'redis');
  const conn = await connectDatabase(section(config, 'mongo'));
  const closers: (() => Promise<unknown>)[] = [() => conn.close()];
  const closeAll = async () => { for (const c of closers.reverse()) await c().catch(() => undefined); };
  try {
    await ensureIndexes(conn);
    const customers = new CustomerStore(conn, new FieldCipher(section(config, 'crypto')));
    const directory = new EmployeeStore(conn);
    const redis = createRedis(redisSettings, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, retryStrategy: (n) => Math.min(100 * n, 2000) });
    redis.on('error', () => undefined);
    closers.push(async () => redis.disconnect());
    await redisReady(redis, 2000);
    // Grants it stores are announced: chat bots sharing this database and Redis drop their cached "none".
    const grants = new MongoGrantStore(conn, publishGrantChanges(redis, redisSettings.keyPrefix, log));
    await grants.ensureIndexes();
    const requests = new MongoRequestStore(conn);
    await requests.ensureIndexes();
    const policy = loadPolicy(config.policyDir);
    // Decisions see active grants (approvals); the engine re-checks expiry with the decision's clock.
    const engine = createPolicyEngine(policy, { grants });
    const producer = createAuditProducer({ redis: redisSettings, prefix: redisSettings.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs, logger: log });
    closers.push(() => producer.close());
    if (!(await producer.ready(2000))) log.warn('audit queue not reachable yet; lookups are refused until it is');
    const metrics = createMetrics({ conn, redis: redisSettings, clock });
    closers.push(() => metrics.close());
    const recorder = metrics.wrapRecorder(producer);
    // The policy now in force goes on the record, as the chat bots' start does (the DPO's compliance pack lists it).
    const stopPolicyLoad = await recordPolicyLoad(producer, policy, 'playground', clock, log);
    closers.push(async () => stopPolicyLoad());
    // Rate limits and anomaly detectors around every lookup, as the chat bots have (counters in Redis);
    // alert cards go to the playground's security channel (security-alerts.ts).
    const inbox = new PlaygroundInbox(conn);
    await inbox.ensureIndexes();
    const alerts = new PlaygroundSecurityAlerts({ inbox, directory, engine, clock, locale: config.defaultLocale });
    const { security, revoker } = securityServices({ conn, redis, config, engine, policy, directory, grants, recorder, alerts, clock, logger: log });
    const lookup = new GuardedLookupService({
      engine, customers, recorder, present: applyDecision, clock, grants, freshness: new SyncFreshness(new SyncStore(conn)),
      queryHmacKey: section(config, 'audit').hmacKey,
    }, security);
    // The inbox shows an approved reveal on the requester's card as a new lookup would (audited), like Slack and Lark.
    inbox.revealWith(lookup);
    const files = new PlaygroundFiles(conn);
    // Approved exports go to the export queue and this process's export worker delivers them into the
    // requester's inbox as a download (what Slack and Lark do with files.uploadV2 / im files).
    const queues = approvalQueues(redisSettings, redisSettings.queuePrefix, clock);
    closers.push(() => queues.close());
    const approvals = new ApprovalService({
      engine, customers, requests, grants, directory, recorder, clock, notifier: inbox,
      settings: approvalSettingsOf(policy), platform: 'playground', exports: queues.exports,
      // Approved erasures run here too (the DPO approves in the inbox): the same eraser as the chat bots.
      erasure: eraserOf(conn, config, recorder, clock),
      exportWatch: security,
    });
    // A freeze's "revoke all" and an offboarding cancel pending requests through the service, so their cards say so.
    revoker.useCanceller((id, reason) => approvals.cancelAllOf(id, reason));
    const exportStore = new ExportStore(conn);
    await exportStore.ensureIndexes();
    const exporter = startExportWorker({
      redis: redisSettings, prefix: redisSettings.queuePrefix, logger: log.child({ worker: 'export' }),
      deps: {
        engine, customers, directory, grants, requests, exports: exportStore, recorder, clock,
        key: watermarkKey(section(config, 'audit').hmacKey), maxRows: approvalSettingsOf(policy).exportMaxRows,
        delivery: new PlaygroundExportDelivery(inbox, files), auditLog: new MongoAuditLogReader(await auditModels(conn)), reports: new ReportSource(conn), reportChain: await reportChainOf(conn, config),
      },
    });
    closers.push(() => exporter.close());
    const audit = await auditQueryService({ conn, engine, directory, recorder, clock }, config);
    // Access reviews: the review worker (its schedule from CUSTOS_REVIEW_*) asks reviewers in their inbox,
    // as the chat workers ask them in their DMs (a playground runs no chat workers).
    const reviews = (await prepareReviewService(conn))({ notifier: new PlaygroundReviewNotifier(inbox), recorder, clock, timing: config.review });
    const reviewWorker = await startReviewWorker({ redis: redisSettings, prefix: redisSettings.queuePrefix, settings: config.review, reviews, logger: log.child({ worker: 'reviews' }) });
    closers.push(() => reviewWorker.close());
    const flow = new PlaygroundFlow({
      // No metrics here: the playground's route times every command, the layer's and its own alike.
      conversation: new Conversation({ lookup, directory, refusals: { recorder, clock }, defaultLocale: config.defaultLocale, securityContact: config.securityContact, logger: log, flows: { approvals, audit, security, reviews } }),
      defaultLocale: config.defaultLocale, securityContact: config.securityContact, logger: log,
      approvals: new PlaygroundApprovalFlow({ approvals, securityContact: config.securityContact }), inbox, alerts,
    });
    // Reminders, escalation, request expiry and grant expiry: the same sweep the chat runtime schedules.
    const sweeper = setInterval(() => { approvals.sweep().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.name : typeof err }, 'playground: approval sweep failed')); }, opts.sweepMs ?? SWEEP_MS);
    sweeper.unref();
    closers.push(async () => clearInterval(sweeper));
    const routes = [
      ...playgroundRoutes({ flow, employees: directory, defaultLocale: config.defaultLocale, bindHost: config.http.host, logger: log, metrics, inbox, files }),
      metrics.route,
    ];
    const readiness: ReadinessCheck[] = [
      { name: 'redis', check: () => redis.ping() },
      { name: 'database', check: () => conn.db!.command({ ping: 1 }) },
      { name: 'queue', check: async () => { if (!(await producer.ready(500))) throw new Error('audit queue not connected'); } },
    ];
    const server = createHttpServer({ routes, readiness, logger: log });
    const address = await listen(server, config.http.host, config.http.port);
    closers.push(() => closeServer(server));
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host}:${address.port}/`;
    log.warn({ host, port: address.port }, 'PLAYGROUND: local use only — it verifies nobody; anyone who can open this page can act as any employee');
    return { url, address, conn, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Without an offline queue, commands sent before the connection is up fail: wait for it (bounded; counters fall back until then). */
async function redisReady(redis: RedisClient, ms: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { redis.off('ready', onReady); resolve(); }, ms);
    const onReady = () => { clearTimeout(timer); resolve(); };
    redis.once('ready', onReady);
  });
}
