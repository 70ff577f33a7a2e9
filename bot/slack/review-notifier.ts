// The access review's chat I/O on Slack: cards into the reviewer's DM (conversations.open +
// chat.postMessage), every copy updated in place (chat.update), one-line DMs (reminders, the DPO
// summary, the grantee told of a revocation). Used by the review worker and by the bot's click handlers.
import type { webApi } from '@slack/bolt';
import type { Employee } from '../core/domain.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import { noticeView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { renderView } from './blocks.ts';
import { errorSummary } from './receiver.ts';
import { renderReview } from './review-blocks.ts';

export class SlackReviewNotifier implements ReviewNotifier {
  constructor(private readonly client: webApi.WebClient, private readonly logger: Logger) {}

  private async dmOf(e: Employee): Promise<string | null> {
    if (!e.chat.slack) return null;
    return (await this.client.conversations.open({ users: e.chat.slack })).channel?.id ?? null;
  }

  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> {
    const channel = await this.dmOf(to);
    if (!channel) return null;
    const res = await this.client.chat.postMessage({ channel, ...renderReview(view) });
    return res.ts ? { platform: 'slack', channel: res.channel ?? channel, ts: res.ts, employeeId: to.employeeId } : null;
  }

  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> {
    if (ref.platform !== 'slack') return;
    try {
      await this.client.chat.update({ channel: ref.channel, ts: ref.ts, ...renderReview(view) });
    } catch (err) {
      // The decision stands either way; a card that could not be updated only keeps stale buttons.
      this.logger.warn({ err: errorSummary(err) }, 'slack: could not update a review card');
    }
  }

  async tell(to: Employee, text: string): Promise<void> {
    const channel = await this.dmOf(to);
    if (channel) await this.client.chat.postMessage({ channel, ...renderView(noticeView(text)) });
  }
}
