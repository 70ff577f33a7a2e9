// The approval and review flows' chat I/O (the core's ApprovalNotifier and ReviewNotifier ports) for a
// platform that shows a card in a person's chat with the bot and updates that card in place (DingTalk's
// outTrackId, Lark's message_id): every copy is posted to one person and updated where it is, so each
// reader sees the new state; the lookup card a reveal request came from (`origin.channel`) shows the
// revealed field, and its re-masking, the same way. The platform brings its rendering and three calls.
import { createHash } from 'node:crypto';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import { revealCardView, type Revealed } from '../core/approvals/reveal-view.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import type { PlatformId } from '../core/platform-id.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import { noticeView, type View } from '../core/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';

/** What a card is about, for the platform's logs (`approval card not updatable`). */
export type CardKind = 'approval' | 'review';

export interface PersonalCards<C> {
  readonly platform: PlatformId;
  /** Posts `card` to `userId`; its handle (null: none). `key` names the copy, so a retried post can be a no-op where the platform allows. */
  post(userId: string, card: C, key?: string): Promise<string | null>;
  /** Shows `card` in place of the posted one (or, where the platform will not update it, as a new card). */
  update(userId: string, handle: string, card: C, kind: CardKind): Promise<void>;
  approval(view: ApprovalView): C;
  review(view: ReviewCardView): C;
  view(view: View): C;
}

export class CardApprovalNotifier<C> implements ApprovalNotifier {
  constructor(private readonly cards: PersonalCards<C>, private readonly lookup?: LookupService) {}

  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null> {
    const userId = to.chat[this.cards.platform];
    if (!userId) return null;
    const ts = await this.cards.post(userId, this.cards.approval(view), `ap-${view.requestId}-${to.employeeId}-${role}`);
    return ts ? { platform: this.cards.platform, channel: userId, ts, employeeId: to.employeeId, role } : null;
  }

  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> {
    if (ref.platform === this.cards.platform) await this.cards.update(ref.channel, ref.ts, this.cards.approval(view), 'approval');
  }

  async tell(to: Employee, text: string): Promise<void> {
    await tell(this.cards, to, text);
  }

  async showReveal(request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<void> {
    const handle = request.origin?.platform === this.cards.platform ? request.origin.channel : '';
    const userId = requester.chat[this.cards.platform];
    if (!handle || !userId) return;
    const view = await revealCardView(this.lookup, this.cards.platform, request, requester, revealed);
    if (view) await this.cards.update(userId, handle, this.cards.view(view), 'approval');
  }
}

export class CardReviewNotifier<C> implements ReviewNotifier {
  constructor(private readonly cards: PersonalCards<C>) {}

  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> {
    const userId = to.chat[this.cards.platform];
    if (!userId) return null;
    // A retried job posting the same review to the same person can be a no-op (keys ≤ 50 characters).
    const ts = await this.cards.post(userId, this.cards.review(view), `rv-${digest(`${view.reviewId}|${to.employeeId}`)}`);
    return ts ? { platform: this.cards.platform, channel: userId, ts, employeeId: to.employeeId } : null;
  }

  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> {
    if (ref.platform === this.cards.platform) await this.cards.update(ref.channel, ref.ts, this.cards.review(view), 'review');
  }

  async tell(to: Employee, text: string): Promise<void> {
    await tell(this.cards, to, text);
  }
}

/** A one-line notice as a card in the person's chat with the bot. */
async function tell<C>(cards: PersonalCards<C>, to: Employee, text: string): Promise<void> {
  const userId = to.chat[cards.platform];
  if (userId) await cards.post(userId, cards.view(noticeView(text)));
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 40);
}
