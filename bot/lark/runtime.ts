// The Lark bot as a running component (`custos start` when LARK_APP_ID is set; `--only lark`):
// the shared services (bot/runtime/services.ts: database, policy engine with grants, the fail-closed
// audit producer, Redis, rate limit and detectors around lookups, /metrics), Redis for nonces and event
// dedupe, `audit …` queries, the SDK client (Open API at LARK_DOMAIN), and either
//  - http mode: our verifying receiver on POST /lark/events (plus /healthz, /readyz) on LARK_HTTP_PORT, or
//  - ws mode: the SDK's WSClient long connection (long-connection.ts: no public URL; Lark authenticates
//    the connection; start waits for it and /readyz reports it).
// Tests start it the same way, with seams (`overrides`) to count customer reads and handler calls.
import * as lark from '@larksuiteoapi/node-sdk';
import { section, type Config } from '../config.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { auditQueryService } from '../runtime/audit-query.ts';
import { PlatformChats } from '../runtime/chat-routing.ts';
import { buildServices, startOn, type ServiceOverrides } from '../runtime/services.ts';
import { SealedAnswers } from '../runtime/sealed-answers.ts';
import { serviceRoutes } from '../runtime/service-routes.ts';
import type { MongoGrantStore } from '../store/grant-store.ts';
import { LarkApi } from './api.ts';
import { larkApprovals } from './approval-features.ts';
import { redisOnce } from '../runtime/once.ts';
import { ChannelSecurityAlerts } from '../runtime/security-alerts.ts';
import { serveBot, type RunningChatBot } from '../runtime/serve.ts';
import { EVENT_TTL_SECONDS, NONCE_TTL_SECONDS } from './guards.ts';
import { LarkHandlers } from './handlers.ts';
import { acceptMessageRecord } from './pending.ts';
import { startLongConnection, type LongConnection } from './long-connection.ts';
import { larkSdkLogger } from './sdk-logger.ts';
import { LARK_EVENTS_PATH, LarkReceiver } from './receiver.ts';
import { larkReviews } from './review-handlers.ts';
import { larkSecurityChat } from './security-cards.ts';
import { LarkVerifier } from './verify.ts';

export const LARK_CONFIG_SECTIONS = ['mongo', 'redis', 'crypto', 'audit', 'lark'] as const;

export interface LarkOverrides extends ServiceOverrides {
  /** Wall-clock for the timestamp window (tests move it). */
  now?: () => number;
  callbackBudgetMs?: number;
  onHandlerCall?: (eventType: string) => void;
}

export interface RunningLarkBot extends RunningChatBot { grants: MongoGrantStore; handlers: LarkHandlers }

export async function startLarkBot(config: Config, logger: Logger, overrides: LarkOverrides = {}): Promise<RunningLarkBot> {
  const settings = section(config, 'lark');
  const redisSettings = section(config, 'redis');
  const api = LarkApi.create(settings, logger);
  // Alert cards go to LARK_SECURITY_CHAT when set, else they are only logged; the freeze does not depend on them.
  const services = await buildServices(config, logger, overrides, (directory) => new ChannelSecurityAlerts({
    destination: larkSecurityChat(api, settings.securityChat), directory, locale: config.defaultLocale,
  }));
  const { conn, directory, grants, recorder, clock, redis, metrics } = services;
  return startOn(services, async () => {
    const common = { defaultLocale: config.defaultLocale, securityContact: config.securityContact, logger, metrics };
    // Requests, approvals and exports (issue 6) on Lark cards; approved exports feed the export-volume
    // detector, and offboarding cancels pending requests through this service so their cards say so.
    // One PlatformChats for approvals and reviews: each module's chat is loaded once, on this process's Redis.
    const chats = new PlatformChats(config, logger, { lookup: services.lookup, redis, own: { platform: 'lark', client: api } });
    services.onClose(() => chats.close());
    const approvals = await larkApprovals({
      conn, config, chats, engine: services.engine, customers: services.customers, directory, grants, recorder, clock, logger,
      exportWatch: services.security,
    });
    services.onClose(() => approvals.close());
    services.revoker.useCanceller((id, reason) => approvals.approvals.cancelAllOf(id, reason));
    // The services behind clicks and forms, dispatched by the layer: requests and decisions, Keep / Revoke
    // on access-review cards (the review worker posts them), alert cards, `audit …` queries.
    const conversation = services.conversation.with({
      approvals: approvals.approvals, security: services.security,
      reviews: await larkReviews({ conn, config, chats, recorder, clock, logger }), audit: await auditQueryService(services, config),
    });
    // Messages acknowledged by a bot that then died are finished by another replica (pending.ts). Every
    // reply of a message carries a uuid, and Lark sends one message per uuid within an hour: a reply whose
    // sender died mid-send is sent again by the claimer, not lost.
    const pending = new SealedAnswers({
      platform: 'lark', repliesDeduplicated: true, redis, prefix: redisSettings.keyPrefix, settings: config.pendingAnswers, sealer: services.cipher, clock, logger, accept: acceptMessageRecord,
    });
    const handlers = new LarkHandlers({
      api, conversation, approvals: approvals.approvals, audit: true, pending, ...common,
      offboarding: { directory, logger, offboarding: services.offboarding },
      events: redisOnce(redis, `${redisSettings.keyPrefix}:lark-event`, EVENT_TTL_SECONDS, logger, 'allow'),
      ...(overrides.callbackBudgetMs !== undefined ? { callbackBudgetMs: overrides.callbackBudgetMs } : {}),
      ...(overrides.onHandlerCall ? { onHandlerCall: overrides.onHandlerCall } : {}),
    });
    services.onClose(() => handlers.drain());
    pending.start((record, guard) => handlers.resume(record, guard));
    services.onClose(async () => pending.stop());
    // The SDK's own checks are bypassed (needCheck: false) in http mode; our verifier ran first.
    const dispatcher = new lark.EventDispatcher({ logger: larkSdkLogger(logger), loggerLevel: lark.LoggerLevel.warn }).register(handlers.handlers());
    // /metrics, SCIM and the CRM sync's routes, as on every bot (bot/runtime/service-routes.ts).
    const routes: Route[] = await serviceRoutes(services, config, logger, { sync: overrides.sync, approvals: approvals.approvals });
    const readiness = [...services.readiness];
    if (settings.mode === 'http') {
      const receiver = new LarkReceiver({
        verifier: new LarkVerifier({ encryptKey: settings.encryptKey ?? '', verificationToken: settings.verificationToken ?? '' }),
        dispatcher, logger,
        nonces: redisOnce(redis, `${redisSettings.keyPrefix}:lark-nonce`, NONCE_TTL_SECONDS, logger, 'refuse'),
        ...(overrides.now ? { now: overrides.now } : {}),
      });
      routes.push({ method: 'POST', path: LARK_EVENTS_PATH, handler: receiver.handle.bind(receiver) });
    }
    // The HTTP server (health, readiness, metrics) is up before the long connection, as for Slack's Socket
    // Mode: while Lark is unreachable the process is alive and /readyz says why it is not ready.
    let ws: LongConnection | undefined;
    if (settings.mode === 'ws') {
      readiness.push({
        name: 'lark-connection',
        check: async () => {
          if (!ws?.connected()) throw new Error(ws ? 'lark long connection is not connected' : 'lark long connection is connecting');
        },
      });
    }
    const { url, address } = await serveBot(services, { routes, readiness, host: config.http.host, port: settings.httpPort, logger });
    if (settings.mode === 'ws') {
      // Waits for the first connection; a final refusal (wrong app id or secret) fails the start.
      ws = await startLongConnection({ settings, dispatcher, logger: larkSdkLogger(logger) });
      const connection = ws;
      services.onClose(() => connection.close());
    }
    logger.info({ mode: settings.mode, port: address.port }, 'lark bot started');
    return { url, address, conn, directory, grants, handlers, close: services.close };
  });
}
