// Lark side of the access review: Keep / Revoke on a review card (a card callback, verified and
// deduplicated like every Lark request by handlers.ts, which identifies the clicker). The core decides
// (only the reviewer or the escalation target, first answer wins) and patches every copy of the card
// through the notifier; the callback itself answers with a toast and, once the review needs no answer
// any more, the settled card — so a duplicate or stale click shows the outcome, not live buttons.
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import type { Employee } from '../core/domain.ts';
import type { Clock } from '../core/ports.ts';
import type { AccessReviewService, ReviewOutcome } from '../core/reviews/service.ts';
import type { ReviewDecision } from '../core/reviews/types.ts';
import { outcomeText } from '../core/reviews/views.ts';
import type { Logger } from '../logger.ts';
import { chatClients, routedReviewNotifier } from '../runtime/chat-routing.ts';
import { prepareReviewService } from '../store/review-service.ts';
import type { LarkApi } from './api.ts';
import type { CallbackAnswer } from './handlers.ts';
import { LARK_ACTION_REVIEW, renderReviewCard } from './review-cards.ts';

const TOAST: Record<ReviewOutcome['kind'], NonNullable<CallbackAnswer['toast']>['type']> = { done: 'success', already: 'info', not_reviewer: 'warning', unknown: 'warning' };

/** The decision a callback's `a` names, if it is a review button. */
export function reviewDecisionOf(action: string): ReviewDecision | undefined {
  return (Object.keys(LARK_ACTION_REVIEW) as ReviewDecision[]).find((d) => LARK_ACTION_REVIEW[d] === action);
}

export class LarkReviewFlow {
  constructor(private readonly reviews: AccessReviewService) {}

  async decide(clicker: Employee, openId: string, reviewId: string, decision: ReviewDecision): Promise<CallbackAnswer> {
    const outcome = await this.reviews.decide(clicker, 'lark', openId, reviewId, decision);
    const toast = { type: TOAST[outcome.kind], content: outcomeText(outcome, clicker, clicker) };
    // A refused click leaves the card as it is (it may be someone else's forwarded card).
    const settled = outcome.kind === 'done' || outcome.kind === 'already' ? await this.reviews.settledCardFor(reviewId, clicker) : null;
    return settled ? { toast, card: { type: 'raw', data: renderReviewCard(settled) } } : { toast };
  }
}

export interface LarkReviewFeatureDeps { conn: Connection; config: Config; api: LarkApi; recorder: AuditRecorder; clock: Clock; logger: Logger }

/** The review service as the Lark bot builds it: its cards are updated through the bot's own SDK client, copies on Slack through Slack's. */
export async function larkReviews(deps: LarkReviewFeatureDeps): Promise<LarkReviewFlow> {
  const build = await prepareReviewService(deps.conn);
  const notifier = routedReviewNotifier(chatClients(deps.config, deps.logger, { lark: deps.api }), deps.logger);
  return new LarkReviewFlow(build({ notifier, recorder: deps.recorder, clock: deps.clock, timing: deps.config.review }));
}
