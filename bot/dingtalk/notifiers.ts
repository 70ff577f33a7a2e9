// The core's outgoing ports on DingTalk, shaped as Slack's and Lark's (the platform registry wires them):
// approval, access-review and security cards. All go through DingTalkCards (the ledger learns their
// buttons); each copy is updated in place by its outTrackId (CardRef.ts), its old buttons then refused.
// A card DingTalk will not update is sent again as a new card, so the reader still sees the outcome.
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import { revealCardView, type Revealed } from '../core/approvals/reveal-view.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import type { Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { AnomalyAlert, SecurityAlerts } from '../core/security/guard.ts';
import type { NoticeView, SecurityNotices } from '../core/security/notices.ts';
import { alertView } from '../core/security/views.ts';
import { noticeView } from '../core/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import type { Logger } from '../logger.ts';
import { DingTalkApiError, type CardParams } from './api.ts';
import type { DingTalkCards } from './card-ledger.ts';
import { renderAlert, renderApproval, renderReview, renderView } from './cards.ts';

/** Updates a 1:1 robot card in place; when DingTalk refuses, sends the new state as a new card. */
async function updateOrResend(cards: DingTalkCards, logger: Logger, outTrackId: string, userId: string, params: CardParams): Promise<void> {
  try {
    await cards.update(outTrackId, `robot:${userId}`, params);
  } catch (err) {
    logger.info({ code: err instanceof DingTalkApiError ? err.code : 'unknown' }, 'dingtalk: card not updatable; sent it as a new card');
    await cards.deliver({ kind: 'robot', userId }, params);
  }
}

export class DingTalkApprovalNotifier implements ApprovalNotifier {
  constructor(private readonly deps: { cards: DingTalkCards; logger: Logger; lookup?: LookupService }) {}

  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null> {
    const userId = to.chat.dingtalk;
    if (!userId) return null;
    const outTrackId = await this.deps.cards.deliver({ kind: 'robot', userId }, renderApproval(view));
    return { platform: 'dingtalk', channel: userId, ts: outTrackId, employeeId: to.employeeId, role };
  }

  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> {
    if (ref.platform !== 'dingtalk') return;
    await updateOrResend(this.deps.cards, this.deps.logger, ref.ts, ref.channel, renderApproval(view));
  }

  async tell(to: Employee, text: string): Promise<void> {
    if (to.chat.dingtalk) await this.deps.cards.deliver({ kind: 'robot', userId: to.chat.dingtalk }, renderView(noticeView(text)));
  }

  /** The lookup card the request came from (origin.channel is its outTrackId), for the requester only. */
  async showReveal(request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<void> {
    const outTrackId = request.origin?.platform === 'dingtalk' ? request.origin.channel : '';
    const userId = requester.chat.dingtalk;
    if (!outTrackId || !userId) return;
    const view = await revealCardView(this.deps.lookup, 'dingtalk', request, requester, revealed);
    if (view) await updateOrResend(this.deps.cards, this.deps.logger, outTrackId, userId, renderView(view));
  }
}

export class DingTalkReviewNotifier implements ReviewNotifier {
  constructor(private readonly deps: { cards: DingTalkCards; logger: Logger }) {}

  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> {
    const userId = to.chat.dingtalk;
    if (!userId) return null;
    const outTrackId = await this.deps.cards.deliver({ kind: 'robot', userId }, renderReview(view));
    return { platform: 'dingtalk', channel: userId, ts: outTrackId, employeeId: to.employeeId };
  }

  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> {
    if (ref.platform !== 'dingtalk') return;
    await updateOrResend(this.deps.cards, this.deps.logger, ref.ts, ref.channel, renderReview(view));
  }

  async tell(to: Employee, text: string): Promise<void> {
    if (to.chat.dingtalk) await this.deps.cards.deliver({ kind: 'robot', userId: to.chat.dingtalk }, renderView(noticeView(text)));
  }
}

/** Alert cards (Unfreeze / Keep frozen / Revoke all grants) and notices into the security group; without one, nothing is posted. */
export class DingTalkSecurityAlerts implements SecurityAlerts, SecurityNotices {
  constructor(private readonly deps: { cards: DingTalkCards; conversationId: string | undefined; directory: EmployeeDirectory; locale: Locale }) {}

  async alert(alert: AnomalyAlert): Promise<void> {
    const conversationId = this.deps.conversationId;
    if (!conversationId) return;
    const employee = await this.deps.directory.byId(alert.employeeId);
    await this.deps.cards.deliver({ kind: 'group', conversationId }, renderAlert(alertView(alert, employee?.name ?? alert.employeeId, this.deps.locale)));
  }

  async notice(view: NoticeView): Promise<void> {
    if (this.deps.conversationId) await postDingTalkNotice(this.deps.cards, this.deps.conversationId, view);
  }
}

/** A security notice (a lagging sync source, a stalled audit stream) as a card in the security group. */
export async function postDingTalkNotice(cards: DingTalkCards, conversationId: string, view: NoticeView): Promise<void> {
  await cards.deliver({ kind: 'group', conversationId }, renderView({ kind: 'help', title: view.title, lines: view.lines }));
}
