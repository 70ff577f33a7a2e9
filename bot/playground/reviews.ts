// The access review in the playground: the review worker's cards (the same neutral card Slack and Lark
// post to reviewers' DMs) land in the reviewer's playground inbox with Keep / Revoke carrying the review
// id; the service updates every copy in place (same ref) once decided, and its one-line messages (the
// DPO's summary, follow-ups) are inbox notices. The clicks go through the conversation layer.
import type { Employee } from '../core/domain.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import { noticeView } from '../core/views.ts';
import { escapeHtml, renderViewHtml } from './html.ts';
import { newRef, type PlaygroundInbox } from './inbox.ts';

export const REVIEW_KIND = 'review';

export class PlaygroundReviewNotifier implements ReviewNotifier {
  constructor(private readonly inbox: PlaygroundInbox) {}

  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef> {
    const ref: ReviewCardRef = { platform: 'playground', channel: 'inbox', ts: newRef('review'), employeeId: to.employeeId };
    await this.show(ref, view);
    return ref;
  }

  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> {
    if (ref.platform === 'playground') await this.show(ref, view);
  }

  async tell(to: Employee, text: string): Promise<void> {
    await this.inbox.push(to.employeeId, newRef('msg'), { kind: 'notice', html: renderViewHtml(noticeView(text)) });
  }

  private show(ref: ReviewCardRef, view: ReviewCardView): Promise<void> {
    return this.inbox.push(ref.employeeId, ref.ts, { kind: REVIEW_KIND, html: reviewHtml(view) }, { requestId: view.reviewId, state: view.buttons.length ? 'open' : 'done' });
  }
}

/** Title, the grant's lines, the status line, Keep / Revoke (their value: the review id). */
export function reviewHtml(view: ReviewCardView): string {
  const buttons = view.buttons.map((b) => `<button type="button" class="action" data-action="review_${b.decision}" data-value="${escapeHtml(view.reviewId)}">${escapeHtml(b.label)}</button>`);
  return `<article class="review" data-kind="${REVIEW_KIND}" data-review-id="${escapeHtml(view.reviewId)}"><h3>${escapeHtml(view.title)}</h3><dl>${view.lines.map((l) =>
    `<dt>${escapeHtml(l.label)}</dt><dd>${escapeHtml(l.value)}</dd>`).join('')}</dl><p class="status" role="status">${escapeHtml(view.status)}</p>${buttons.length ? `<div class="actions">${buttons.join(' ')}</div>` : ''}</article>`;
}
