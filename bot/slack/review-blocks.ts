// Block Kit for the access review's neutral card (bot/core/reviews/views.ts): header, the grant's
// lines, a status line, and Keep / Revoke carrying the review id. Limits as in blocks.ts.
import type { types } from '@slack/bolt';
import type { ReviewDecision } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import { escapeMrkdwn, plain, type SlackMessage } from './blocks.ts';

export const ACTION_REVIEW: Record<ReviewDecision, string> = { keep: 'review_keep', revoke: 'review_revoke' };

export function renderReview(view: ReviewCardView): SlackMessage {
  const lines = view.lines.map((l) => `*${escapeMrkdwn(l.label)}*: ${escapeMrkdwn(l.value)}`).join('\n');
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plain(view.title, 150) },
    { type: 'section', text: { type: 'mrkdwn', text: lines.slice(0, 3000) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(view.status).slice(0, 2000) }] },
  ];
  if (view.buttons.length) {
    blocks.push({
      type: 'actions',
      block_id: `review_${view.reviewId}`.slice(0, 255),
      elements: view.buttons.map((b) => ({ type: 'button' as const, action_id: ACTION_REVIEW[b.decision], text: plain(b.label, 75), value: view.reviewId, style: b.style })),
    });
  }
  return { text: `${view.title} — ${view.status}`, blocks };
}
