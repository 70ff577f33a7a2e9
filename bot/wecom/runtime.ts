// The WeCom bot as a running component (`custos start` when WECOM_CORP_ID is set; `--only wecom`): the
// shared services (bot/runtime/services.ts: database, policy engine, the fail-closed audit producer,
// Redis, rate limit and detectors around lookups, the conversation layer, /metrics), Redis for
// delivery ids, the WeCom API client (WECOM_API_URL) and our verifying receiver on GET and POST
// /wecom/callback (plus /healthz, /readyz, SCIM and CRM push routes) on WECOM_HTTP_PORT.
import { section, type Config } from '../config.ts';
import { EncryptedCallback } from '../http/encrypted-callback.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { FlowServices } from '../conversation/layer.ts';
import { auditQueryService } from '../runtime/audit-query.ts';
import { redisOnce } from '../runtime/once.ts';
import { ChannelSecurityAlerts } from '../runtime/security-alerts.ts';
import { serveBot, type RunningChatBot } from '../runtime/serve.ts';
import { buildServices, startOn, type BotServices, type ServiceOverrides } from '../runtime/services.ts';
import { serviceRoutes } from '../runtime/service-routes.ts';
import { WeComApi } from './api.ts';
import { ResponseCodes, wecomResponseCodes } from './approval-notifier.ts';
import { wecomSecurityMembers } from './notices.ts';
import { PendingReasons } from './reasons.ts';
import type { WeComConfig } from './config.ts';
import { WeComHandlers } from './handlers.ts';
import { WECOM_CALLBACK_PATH, WeComReceiver } from './receiver.ts';

/** WeCom retries an unanswered callback three times within seconds; a day's memory also covers a replay inside the window. */
const DELIVERY_TTL_SECONDS = 86_400;

export interface WeComOverrides extends ServiceOverrides {
  /** Wall-clock for the timestamp window (tests move it). */
  now?: () => number;
  /** Observes every callback that passed verification, by MsgType (tests count them). */
  onHandlerCall?: (msgType: string) => void;
  /**
   * The approval and review services behind clicks and forms, built on this bot's parts (the WeCom
   * notifiers need its API client and response codes). Until the platform registry wires them, tests
   * pass them here; without them, requests and reviews are refused as not wired.
   */
  flows?: (parts: WeComParts) => Promise<FlowServices>;
}

/** What the WeCom notifiers are built on. */
export interface WeComParts { services: BotServices; api: WeComApi; codes: ResponseCodes; config: Config }

export interface RunningWeComBot extends RunningChatBot { handlers: WeComHandlers }

export async function startWeComBot(config: Config, settings: WeComConfig, logger: Logger, overrides: WeComOverrides = {}): Promise<RunningWeComBot> {
  const api = new WeComApi(settings, logger);
  // Alert cards go to WECOM_SECURITY_USERS when set, else they are only logged; the freeze does not depend on them.
  const services = await buildServices(config, logger, overrides, (directory) => new ChannelSecurityAlerts({
    destination: wecomSecurityMembers(api, settings.securityUsers), directory, locale: config.defaultLocale,
  }));
  const { conn, directory, redis } = services;
  const prefix = section(config, 'redis').queuePrefix;
  return startOn(services, async () => {
    const codes = new ResponseCodes(redis, wecomResponseCodes(prefix));
    // Alert clicks and audit queries need nothing of WeCom's; requests and reviews come with `flows`.
    const flows: FlowServices = { security: services.security, audit: await auditQueryService(services, config), ...await overrides.flows?.({ services, api, codes, config }) };
    const handlers = new WeComHandlers({
      api, conversation: services.conversation.with(flows), logger, codes, securityUsers: settings.securityUsers,
      reasons: new PendingReasons(redis, `${prefix}:wecom-reason`),
      offboarding: services.offboarding, directory,
      events: redisOnce(redis, `${section(config, 'redis').keyPrefix}:wecom-delivery`, DELIVERY_TTL_SECONDS, logger, 'redeliver'),
    });
    services.onClose(() => handlers.drain());
    const receiver = new WeComReceiver({
      verifier: wecomCallbacks(settings), handlers, corpId: settings.corpId, agentId: settings.agentId, logger,
      ...(overrides.now ? { now: overrides.now } : {}),
      ...(overrides.onHandlerCall ? { onHandlerCall: overrides.onHandlerCall } : {}),
    });
    const routes: Route[] = [
      // /metrics, SCIM and the CRM sync's routes, as on every bot (bot/runtime/service-routes.ts).
      ...await serviceRoutes(services, config, logger, { sync: overrides.sync, approvals: flows.approvals }),
      { method: 'GET', path: WECOM_CALLBACK_PATH, handler: receiver.verifyUrl.bind(receiver) },
      { method: 'POST', path: WECOM_CALLBACK_PATH, handler: receiver.callback.bind(receiver) },
    ];
    const { url, address } = await serveBot(services, { routes, readiness: services.readiness, host: config.http.host, port: settings.httpPort, logger });
    logger.info({ port: address.port }, 'wecom bot started');
    return { url, address, conn, directory, handlers, close: services.close };
  });
}

/** WeCom's callbacks (bot/http/encrypted-callback.ts): our CorpID as receiver, ±5 minutes as for Slack and Lark (WeCom retries within seconds). */
function wecomCallbacks(s: WeComConfig): EncryptedCallback {
  return new EncryptedCallback({ token: s.token, encodingAesKey: s.encodingAesKey, receiver: s.corpId, windowSeconds: 300 });
}
