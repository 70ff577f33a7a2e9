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
import type { BotServices } from './services.ts';

export interface ChatFlows { flows: FlowServices; close(): Promise<void> }

/**
 * `platform`: the audited actor's platform for decisions made in this bot. `own`: the bot's own client,
 * so its cards are updated through it (ChatContext.own); absent, the module builds one.
 */
export async function chatFlows(services: BotServices, config: Config, logger: Logger, platform: PlatformId, own?: ChatContext['own']): Promise<ChatFlows> {
  const redis = config.redis!;
  const queues = approvalQueues(redis, redis.queuePrefix, services.clock);
  try {
    const approvals = (await prepareBotApprovals({
      conn: services.conn, config, engine: services.engine, customers: services.customers, directory: services.directory,
      grants: services.grants, lookup: services.lookup, recorder: services.recorder, clock: services.clock, logger,
      exports: queues.exports, wakeUps: queues.wakeUps, exportWatch: services.security, redis: services.redis,
    }))(platform, own);
    services.revoker.useCanceller((id, reason) => approvals.cancelAllOf(id, reason));
    const chats = new PlatformChats(config, logger, { lookup: services.lookup, redis: services.redis, ...(own ? { own } : {}) });
    const reviews = (await prepareReviewService(services.conn))({ notifier: routedReviewNotifier(chats), recorder: services.recorder, clock: services.clock, timing: config.review });
    const audit = await auditQueryService(services, config);
    return { flows: { approvals, reviews, security: services.security, audit }, close: async () => { await chats.close(); await queues.close(); } };
  } catch (err) {
    await queues.close();
    throw err;
  }
}
