// The access review's chat I/O on Lark: cards sent to the reviewer by open_id (the bot's DM with them),
// every copy updated in place with im.message.patch — re-sent as a new message when Lark says the card
// cannot be updated any more (230054, 220340, …), so the reviewer still sees the outcome — and one-line
// notices (reminders, the DPO summary, the grantee told of a revocation). Used by the review worker and
// by the Lark bot's click handlers.
import { createHash } from 'node:crypto';
import type { Employee } from '../core/domain.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import { noticeView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { LarkApiError, type LarkApi } from './api.ts';
import { renderView } from './cards.ts';
import { renderReviewCard } from './review-cards.ts';

export class LarkReviewNotifier implements ReviewNotifier {
  constructor(private readonly api: LarkApi, private readonly logger: Logger) {}

  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> {
    const openId = to.chat.lark;
    if (!openId) return null;
    // A retried job posting the same review to the same person is a no-op on Lark's side (uuid ≤ 50 chars).
    const messageId = await this.api.sendCard('open_id', openId, renderReviewCard(view), `rv-${digest(`${view.reviewId}|${to.employeeId}`)}`);
    return messageId ? { platform: 'lark', channel: openId, ts: messageId, employeeId: to.employeeId } : null;
  }

  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> {
    if (ref.platform !== 'lark') return;
    try {
      const how = await this.api.patchOrResend(ref.ts, ref.channel, renderReviewCard(view));
      if (how === 'resent') this.logger.info('lark: review card not updatable; sent it as a new message');
    } catch (err) {
      // The decision stands either way; a card that could not be updated only keeps stale buttons.
      this.logger.warn({ code: err instanceof LarkApiError ? err.code : -1 }, 'lark: could not update a review card');
    }
  }

  async tell(to: Employee, text: string): Promise<void> {
    if (to.chat.lark) await this.api.sendCard('open_id', to.chat.lark, renderView(noticeView(text)));
  }
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 40);
}
