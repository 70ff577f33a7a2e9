// The access review's and the security operations' chat I/O on WeCom, the same shapes as Slack's and
// Lark's (ReviewNotifier; SecurityAlerts + SecurityNotices). An application message goes to one member
// at a time, so a review card goes to the reviewer and an alert card to each of WECOM_SECURITY_USERS.
// Their buttons carry the codec's actions (`review_keep|RV-…`, `security_unfreeze|E-…`) and their
// clicks come back through the conversation layer. A card's reference is its task_id: a click's
// response_code is stored under it (handlers.ts), and the review's settled state uses it once; without
// one (never clicked, already used, older than 72 hours) the outcome arrives as a new message.
import type { Employee } from '../core/domain.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { Logger } from '../logger.ts';
import type { SecurityDestination } from '../runtime/security-alerts.ts';
import { WeComApiError, type WeComApi } from './api.ts';
import type { ResponseCodes } from './approval-notifier.ts';
import { clipBytes, finalLabel, LIMITS, renderView, type Rendered } from './render.ts';

/** Sends a rendered view: its text, then its card; the card's task_id ('' without one). */
async function post(api: WeComApi, userId: string, out: Rendered): Promise<string> {
  await api.sendText(userId, out.text);
  if (!out.card) return '';
  await api.sendCard(userId, out.card);
  return out.card.task_id;
}

export class WeComReviewNotifier implements ReviewNotifier {
  constructor(private readonly deps: { api: WeComApi; codes: ResponseCodes; logger: Logger }) {}

  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> {
    const userId = to.chat.wecom;
    if (!userId) return null;
    const taskId = await post(this.deps.api, userId, renderView(view));
    return { platform: 'wecom', channel: userId, ts: taskId, employeeId: to.employeeId };
  }

  /** A settled card: its one update when a click on it left a code, else the settled card as a new message. */
  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> {
    if (ref.platform !== 'wecom') return;
    const settled = view.buttons.length === 0;
    const code = settled && ref.ts ? await this.deps.codes.take(ref.ts) : null;
    try {
      if (code) return await this.deps.api.finishCard(ref.channel, code, finalLabel('done', view.status));
    } catch (err) {
      this.deps.logger.info({ code: err instanceof WeComApiError ? err.code : -1 }, 'wecom: review card not updatable; the outcome goes as a new message');
    }
    try {
      await this.deps.api.sendText(ref.channel, renderView(view).text);
    } catch (err) {
      // The decision stands either way; a copy that could not be told only keeps stale buttons.
      this.deps.logger.warn({ code: err instanceof WeComApiError ? err.code : -1 }, 'wecom: could not send a review update');
    }
  }

  async tell(to: Employee, text: string): Promise<void> {
    if (to.chat.wecom) await this.deps.api.sendText(to.chat.wecom, clipBytes(text, LIMITS.textBytes));
  }
}

/**
 * The security members (bot/runtime/security-alerts.ts): an alert card to each, and notices (a lagging sync
 * source, a stalled audit stream) as a text to each; null without any (alerts are then only logged).
 */
export function wecomSecurityMembers(api: WeComApi, users: readonly string[]): SecurityDestination | null {
  if (users.length === 0) return null;
  return {
    // One card per member, each rendered with its own task_id: each click has its own one update.
    alert: async (view) => { for (const userId of users) await post(api, userId, renderView(view)); },
    notice: async (view) => { for (const userId of users) await api.sendText(userId, renderView(view).text); },
  };
}
