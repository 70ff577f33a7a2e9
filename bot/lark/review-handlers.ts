// Lark side of the access review: the review service as the Lark bot builds it. Keep / Revoke clicks
// go through the conversation layer (bot/conversation/flows.ts): the core decides (only the reviewer or
// the escalation target, first answer wins) and patches every copy of the card through the notifier;
// the callback answers with a toast and, once the review needs no answer any more, the settled card.
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import type { Clock } from '../core/ports.ts';
import type { AccessReviewService } from '../core/reviews/service.ts';
import type { Logger } from '../logger.ts';
import { routedReviewNotifier, type PlatformChats } from '../runtime/chat-routing.ts';
import { prepareReviewService } from '../store/review-service.ts';

export interface LarkReviewFeatureDeps { conn: Connection; config: Config; chats: PlatformChats; recorder: AuditRecorder; clock: Clock; logger: Logger }

/** Its cards are updated through the bot's own SDK client, copies on Slack through Slack's (`chats`, shared with approvals). */
export async function larkReviews(deps: LarkReviewFeatureDeps): Promise<AccessReviewService> {
  const build = await prepareReviewService(deps.conn);
  const notifier = routedReviewNotifier(deps.chats);
  return build({ notifier, recorder: deps.recorder, clock: deps.clock, timing: deps.config.review });
}
