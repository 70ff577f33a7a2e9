// Lark card JSON 2.0 for the access review's neutral card (bot/core/reviews/views.ts): the grant's
// lines as plain text, the status line, and Keep / Revoke whose callback value names the action and the
// review (`{ a: 'review_keep' | 'review_revoke', r: reviewId }`), the same ids as on Slack.
import type { ReviewCardView } from '../core/reviews/views.ts';
import { button, card, type CardElement, type LarkCard } from './cards.ts';

export const LARK_ACTION_REVIEW = { keep: 'review_keep', revoke: 'review_revoke' } as const;

export function renderReviewCard(view: ReviewCardView): LarkCard {
  const elements: CardElement[] = [
    ...view.lines.map((l): CardElement => ({ tag: 'div', text: { tag: 'plain_text', content: `${l.label}: ${l.value}` } })),
    { tag: 'hr' },
    { tag: 'div', text: { tag: 'plain_text', content: view.status } },
    ...view.buttons.map((b) => button(b.label, { a: LARK_ACTION_REVIEW[b.decision], r: view.reviewId }, b.style)),
  ];
  return card(view.title, elements, view.buttons.length ? 'orange' : 'grey');
}
