// The DingTalk bot as a running component (`custos start` when DINGTALK_APP_KEY is set; `--only
// dingtalk`): the shared services (bot/runtime/services.ts: database, policy engine with grants, the
// fail-closed audit producer, Redis, rate limit and detectors, the conversation layer, /metrics), the
// Open API client (DINGTALK_API_URL / DINGTALK_OAPI_URL), and the verifying receiver on
// POST /dingtalk/callback, POST /dingtalk/events when the event subscription is configured (offboarding),
// POST /dingtalk/card for card clicks when DINGTALK_CARD_CALLBACK_TOKEN is set, plus /healthz, /readyz,
// /metrics, SCIM and the CRM sync's push and webhook routes (in Stream mode too), on DINGTALK_HTTP_PORT.
// Approvals and reviews behind the clicks come from the platform registry (`flows`); security-alert
// clicks use the shared security service.
import type { Config } from '../config.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { FlowServices } from '../conversation/flows.ts';
import { redisOnce } from '../runtime/once.ts';
import { ChannelSecurityAlerts } from '../runtime/security-alerts.ts';
import { serveBot, type RunningChatBot } from '../runtime/serve.ts';
import { buildServices, startOn, type BotServices, type ServiceOverrides } from '../runtime/services.ts';
import { serviceRoutes } from '../runtime/service-routes.ts';
import type { EmployeeStore } from '../store/employee-store.ts';
import { DingTalkApi } from './api.ts';
import { cardCallback, DINGTALK_CARD_PATH } from './card-callback.ts';
import { dingtalkCards, type DingTalkCards } from './card-delivery.ts';
import { dingtalkSecurityGroup } from './notifiers.ts';
import { loadDingTalkConfig, type DingTalkSettings } from './config.ts';
import { DINGTALK_EVENTS_PATH, dingtalkEventCrypto, eventsCallback } from './events.ts';
import { DingTalkHandlers } from './handlers.ts';
import { DINGTALK_CALLBACK_PATH, robotCallback, signatureClaims } from './receiver.ts';
import { streamMode } from './stream-callbacks.ts';

/** DingTalk retries a robot message it thinks failed; one day of msgIds covers its retries. */
const EVENT_TTL_SECONDS = 86_400;

export interface DingTalkOverrides extends ServiceOverrides {
  /** Wall-clock for the signature window (tests move it). */
  now?: () => number;
  onHandled?: (msgId: string) => void;
  /** The services behind clicks and forms (approvals, reviews, audit), built on this bot's cards. */
  flows?: (services: BotServices, cards: DingTalkCards) => Promise<FlowServices>;
}

export interface RunningDingTalkBot extends RunningChatBot<EmployeeStore> { handlers: DingTalkHandlers; cards: DingTalkCards }

export async function startDingTalkBot(config: Config, logger: Logger, overrides: DingTalkOverrides = {}, settings: DingTalkSettings = loadDingTalkConfig()): Promise<RunningDingTalkBot> {
  const prefix = config.redis?.keyPrefix ?? 'custos';
  const api = new DingTalkApi(settings, overrides.now);
  let alerts: ChannelSecurityAlerts | undefined;
  // Anomaly alerts go to DINGTALK_SECURITY_CONVERSATION_ID as cards with buttons, once the cards (on the
  // services' Redis) exist; bot/runtime/security.ts logs each alert before it gets here.
  const services = await buildServices(config, logger, overrides, () => ({ alert: async (a) => { await alerts?.alert(a); } }));
  return startOn(services, async () => {
    const cards = dingtalkCards(api, services.redis, prefix);
    alerts = new ChannelSecurityAlerts({ destination: dingtalkSecurityGroup(cards, settings.securityConversationId), directory: services.directory, locale: config.defaultLocale });
    const flows = { security: services.security, ...(await overrides.flows?.(services, cards)) };
    const offboarding = { directory: services.directory, offboarding: services.offboarding, logger };
    const handlers = new DingTalkHandlers({
      api, cards, conversation: services.conversation.with(flows), logger, events: redisOnce(services.redis, `${prefix}:dingtalk-msg`, EVENT_TTL_SECONDS, logger, 'redeliver'),
      ...(overrides.onHandled ? { onHandled: overrides.onHandled } : {}),
    });
    services.onClose(() => handlers.drain());
    const stream = settings.mode === 'stream' ? streamMode({ settings, handlers, cards, logger, offboarding }) : undefined;
    const now = overrides.now ? { now: overrides.now } : {};
    // /metrics, SCIM and the CRM sync's routes, as on every bot (bot/runtime/service-routes.ts).
    const routes: Route[] = await serviceRoutes(services, config, logger, { sync: overrides.sync, approvals: flows.approvals });
    if (!stream) {
      const signatures = signatureClaims(services.redis, `${prefix}:dingtalk-sign`);
      routes.push({ method: 'POST', path: DINGTALK_CALLBACK_PATH, handler: robotCallback({ settings, handlers, logger, signatures, ...now }) });
    }
    if (settings.cardCallbackToken && !stream) {
      const clicks = cardCallback({ token: settings.cardCallbackToken, corpId: settings.corpId, ledger: cards.ledger, handlers, logger });
      routes.push({ method: 'POST', path: DINGTALK_CARD_PATH, handler: clicks });
    }
    if (settings.events) {
      // Offboarding on `user_leave_org` (events.ts), when the HTTP event subscription is configured.
      routes.push({ method: 'POST', path: DINGTALK_EVENTS_PATH, handler: eventsCallback({ crypto: dingtalkEventCrypto(settings.events, settings.appKey), ...offboarding, ...now }) });
    }
    const readiness = [...services.readiness, ...(stream ? [stream.readiness] : [])];
    const { url, address } = await serveBot(services, { routes, readiness, host: config.http.host, port: settings.httpPort, logger });
    // Stream mode (stream-callbacks.ts): messages and clicks arrive on a socket custos opens, into the same handlers.
    if (stream) { services.onClose(() => stream.stream.close()); await stream.stream.start(); }
    logger.info({ mode: settings.mode, port: address.port }, 'dingtalk bot started');
    return { url, address, conn: services.conn, directory: services.directory, handlers, cards, close: services.close };
  });
}
