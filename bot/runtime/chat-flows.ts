// The services behind clicks and forms for a chat bot that brings no platform-specific wiring of its own
// (DingTalk, WeCom, and the next platform): requests and decisions, access reviews, alert actions and
// `audit …` queries, each notifying through the platform registry (chat-routing.ts), so a card posted on
// any platform is updated where it was posted. Offboarding cancels pending requests through the same
// approval service, so their cards say so. Slack and Lark build the same from their own features.
import type { Config } from '../config.ts';
import type { FlowServices } from '../conversation/flows.ts';
import type { PlatformId } from '../core/platform-id.ts';
import type { Logger } from '../logger.ts';
import { approvalQueues } from '../queue/approval-queues.ts';
import { prepareReviewService } from '../store/review-service.ts';
import { prepareBotApprovals } from './approvals.ts';
import { auditQueryService } from './audit-query.ts';
import { PlatformChats, routedReviewNotifier } from './chat-routing.ts';
import type { ChatContext } from './platform-module.ts';
import type { PlatformRegistry } from './platform-registry.ts';
import { startOn, type BotServices } from './services.ts';

export interface ChatFlows { flows: FlowServices; close(): Promise<void> }

export interface ChatFlowOptions {
  /** The bot's own client, so its cards are updated through it (ChatContext.own); absent, the module builds one. */
  own?: ChatContext['own'];
  /** The platforms to route through (default: bot/platforms.ts); tests bring their own. */
  registry?: PlatformRegistry;
}

/**
 * `platform`: the audited actor's platform for decisions made in this bot. Approvals and reviews notify
 * through ONE PlatformChats on this process's Redis, so each module's chat() runs once per process.
 */
export async function chatFlows(services: BotServices, config: Config, logger: Logger, platform: PlatformId, opts: ChatFlowOptions = {}): Promise<ChatFlows> {
  const redis = config.redis!;
  const queues = approvalQueues(redis, redis.queuePrefix, services.clock);
  const chats = new PlatformChats(config, logger, {
    lookup: services.lookup, redis: services.redis, ...(opts.own ? { own: opts.own } : {}), ...(opts.registry ? { registry: opts.registry } : {}),
  });
  const close = async () => { await chats.close(); await queues.close(); };
  return startOn({ close }, async () => {
    const approvals = (await prepareBotApprovals({
      conn: services.conn, config, engine: services.engine, customers: services.customers, directory: services.directory,
      grants: services.grants, recorder: services.recorder, clock: services.clock, logger,
      exports: queues.exports, wakeUps: queues.wakeUps, exportWatch: services.security,
    }))(platform, chats);
    services.revoker.useCanceller((id, reason) => approvals.cancelAllOf(id, reason));
    const reviews = (await prepareReviewService(services.conn))({ notifier: routedReviewNotifier(chats), recorder: services.recorder, clock: services.clock, timing: config.review });
    const audit = await auditQueryService(services, config);
    return { flows: { approvals, reviews, security: services.security, audit }, close };
  });
}

/** chatFlows for a bot's lifetime, closed with its services: what DingTalk's and WeCom's `custos start` wire. */
export async function botFlows(services: BotServices, config: Config, logger: Logger, platform: PlatformId): Promise<FlowServices> {
  const built = await chatFlows(services, config, logger, platform);
  services.onClose(() => built.close());
  return built.flows;
}
