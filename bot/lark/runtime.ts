// The Lark bot as a running component (`custos start` when LARK_APP_ID is set; `--only lark`):
// database, policy engine with grants, the fail-closed audit producer, Redis for nonces and event
// dedupe, the SDK client (Open API at LARK_DOMAIN), and either
//  - http mode: our verifying receiver on POST /lark/events (plus /healthz, /readyz) on LARK_HTTP_PORT, or
//  - ws mode: the SDK's WSClient long connection (no public URL; Lark authenticates the connection).
// Tests start it the same way, with seams (`overrides`) to count customer reads and handler calls.
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { section, type Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { LookupService } from '../core/lookup.ts';
import { systemClock, type Clock, type CustomerReader, type EmployeeDirectory } from '../core/ports.ts';
import { applyDecision } from '../core/view.ts';
import { closeServer, createHttpServer, listen, type ReadinessCheck } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { createAuditProducer, type AuditProducer } from '../queue/audit-producer.ts';
import { FieldCipher } from '../store/crypto.ts';
import { CustomerStore } from '../store/customer-store.ts';
import { connectDatabase, ensureIndexes } from '../store/db.ts';
import { EmployeeStore } from '../store/employee-store.ts';
import { MongoGrantStore } from '../store/grant-store.ts';
import { createPolicyEngine, loadPolicy } from '../../policies/index.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import { LarkApi } from './api.ts';
import { larkApprovals } from './approval-features.ts';
import { EVENT_TTL_SECONDS, NONCE_TTL_SECONDS, redisOnce } from './guards.ts';
import { LarkHandlers } from './handlers.ts';
import { Offboarding } from './offboard.ts';
import { OffboardingService } from '../core/offboarding.ts';
import { storeAccessRevoker } from '../store/access-revoker.ts';
import { LARK_EVENTS_PATH, LarkReceiver } from './receiver.ts';
import { LarkVerifier } from './verify.ts';

export const LARK_CONFIG_SECTIONS = ['mongo', 'redis', 'crypto', 'audit', 'lark'] as const;

export interface LarkOverrides {
  wrapCustomers?: (reader: CustomerReader) => CustomerReader;
  recorder?: AuditRecorder & { ready?: (timeoutMs?: number) => Promise<boolean> };
  engine?: PolicyEngine;
  clock?: Clock;
  /** Wall-clock for the timestamp window (tests move it). */
  now?: () => number;
  callbackBudgetMs?: number;
  onHandlerCall?: (eventType: string) => void;
}

export interface RunningLarkBot {
  url: string; // http://host:port (http mode; health endpoints in ws mode too)
  address: AddressInfo;
  conn: Connection;
  directory: EmployeeDirectory;
  grants: MongoGrantStore;
  handlers: LarkHandlers;
  close(): Promise<void>;
}

export async function startLarkBot(config: Config, logger: Logger, overrides: LarkOverrides = {}): Promise<RunningLarkBot> {
  const settings = section(config, 'lark');
  const redisSettings = section(config, 'redis');
  const clock = overrides.clock ?? systemClock;
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
    const engine = overrides.engine ?? createPolicyEngine(loadPolicy(config.policyDir), { grants });
    let producer: AuditProducer | undefined;
    if (!overrides.recorder) {
      producer = createAuditProducer({ redisUrl: redisSettings.url, prefix: redisSettings.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs, logger });
      const p = producer;
      closers.push(() => p.close());
      if (!(await producer.ready(2000))) logger.warn('audit queue not reachable yet; lookups are refused until it is');
    }
    const recorder = overrides.recorder ?? producer!;
    const queueReady = overrides.recorder ? overrides.recorder.ready?.bind(overrides.recorder) : producer?.ready.bind(producer);
    const redis = new Redis(redisSettings.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, retryStrategy: (n) => Math.min(100 * n, 2000) });
    redis.on('error', () => undefined); // reported by readiness and by the guards' fallback log
    closers.push(async () => redis.disconnect());
    // Without an offline queue, commands sent before the connection is up fail: wait for it (bounded).
    await waitReady(redis, 2000, logger);
    // With the grant store, a lookup under a grant says so on the card and is audited as grant.use (as on Slack).
    const lookup = new LookupService({ engine, customers, recorder, present: applyDecision, clock, queryHmacKey: section(config, 'audit').hmacKey, grants });
    const api = LarkApi.create(settings, sdkLogger(logger));
    const approvals = await larkApprovals({ conn, config, api, engine, customers, directory, grants, lookup, recorder, clock, logger });
    closers.push(() => approvals.close());
    const handlers = new LarkHandlers({
      api, lookup, directory, approvals: approvals.flow, defaultLocale: config.defaultLocale, securityContact: config.securityContact, logger,
      offboarding: new Offboarding({ directory, logger, service: new OffboardingService({ directory, revoker: storeAccessRevoker(conn), recorder, clock }) }),
      events: redisOnce(redis, `${redisSettings.queuePrefix}:lark-event`, EVENT_TTL_SECONDS, logger),
      ...(overrides.callbackBudgetMs !== undefined ? { callbackBudgetMs: overrides.callbackBudgetMs } : {}),
      ...(overrides.onHandlerCall ? { onHandlerCall: overrides.onHandlerCall } : {}),
    });
    closers.push(() => handlers.drain());
    // The SDK's own checks are bypassed (needCheck: false) in http mode; our verifier ran first.
    const dispatcher = new lark.EventDispatcher({ logger: sdkLogger(logger), loggerLevel: lark.LoggerLevel.warn }).register(handlers.handlers());
    const routes = [];
    if (settings.mode === 'http') {
      const receiver = new LarkReceiver({
        verifier: new LarkVerifier({ encryptKey: settings.encryptKey ?? '', verificationToken: settings.verificationToken ?? '' }),
        dispatcher, logger,
        nonces: redisOnce(redis, `${redisSettings.queuePrefix}:lark-nonce`, NONCE_TTL_SECONDS, logger, false),
        ...(overrides.now ? { now: overrides.now } : {}),
      });
      routes.push({ method: 'POST' as const, path: LARK_EVENTS_PATH, handler: receiver.handle.bind(receiver) });
    } else {
      const ws = new lark.WSClient({ appId: settings.appId, appSecret: settings.appSecret, domain: settings.domain, logger: sdkLogger(logger), loggerLevel: lark.LoggerLevel.warn, autoReconnect: true });
      await ws.start({ eventDispatcher: dispatcher });
      closers.push(async () => ws.close({ force: true }));
    }
    const readiness: ReadinessCheck[] = [
      { name: 'redis', check: () => redis.ping() },
      { name: 'database', check: () => conn.db!.command({ ping: 1 }) },
      { name: 'queue', check: async () => { if (queueReady && !(await queueReady(500))) throw new Error('audit queue not connected'); } },
    ];
    const server = createHttpServer({ routes, readiness, logger });
    const address = await listen(server, config.http.host, settings.httpPort);
    closers.push(() => closeServer(server));
    logger.info({ mode: settings.mode, port: address.port }, 'lark bot started');
    return { url: `http://${address.address}:${address.port}`, address, conn, directory, grants, handlers, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function waitReady(redis: Redis, ms: number, logger: Logger): Promise<void> {
  if (redis.status === 'ready') return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { redis.off('ready', onReady); resolve(false); }, ms);
    const onReady = () => { clearTimeout(timer); resolve(true); };
    redis.once('ready', onReady);
  });
  if (!ready) logger.warn('redis not reachable yet; Lark pushes are refused until it is (nonce check fails closed)');
}

/** The SDK's logger over pino. Its messages are operational; error objects are reduced to their names. */
function sdkLogger(log: Logger): lark.Logger {
  const child = log.child({ component: 'lark-sdk' });
  const line = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.name : typeof m === 'object' ? '[object]' : String(m))).join(' ');
  return {
    error: (...msg: unknown[]) => child.error(line(msg)),
    warn: (...msg: unknown[]) => child.warn(line(msg)),
    info: (...msg: unknown[]) => child.debug(line(msg)),
    debug: (...msg: unknown[]) => child.debug(line(msg)),
    trace: (...msg: unknown[]) => child.trace(line(msg)),
  };
}
