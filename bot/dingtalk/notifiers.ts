// The core's outgoing ports on DingTalk, shaped as Slack's and Lark's (the platform registry wires them):
// approval and access-review cards through the shared card notifiers (bot/runtime/card-notifiers.ts), and
// security alerts and notices. All go through DingTalkCards (the ledger learns their buttons); each copy
// is updated in place by its outTrackId, its old buttons then refused. A card DingTalk will not update is
// sent again as a new card, so the reader still sees the outcome.
import type { LookupService } from '../core/lookup.ts';
import type { Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { AnomalyAlert, SecurityAlerts } from '../core/security/guard.ts';
import type { NoticeView, SecurityNotices } from '../core/security/notices.ts';
import { alertView } from '../core/security/views.ts';
import type { Logger } from '../logger.ts';
import { CardApprovalNotifier, CardReviewNotifier, type PersonalCards } from '../runtime/card-notifiers.ts';
import { DingTalkApiError, type CardParams } from './api.ts';
import type { DingTalkCards } from './card-ledger.ts';
import { renderAlert, renderApproval, renderReview, renderView } from './cards.ts';

/** 1:1 robot cards for the shared notifiers. */
export function dingtalkPersonalCards(cards: DingTalkCards, logger: Logger): PersonalCards<CardParams> {
  return {
    platform: 'dingtalk',
    post: (userId, params) => cards.deliver({ kind: 'robot', userId }, params),
    // In place; when DingTalk refuses, the new state goes as a new card.
    update: async (userId, outTrackId, params) => {
      try {
        await cards.update(outTrackId, `robot:${userId}`, params);
      } catch (err) {
        logger.info({ code: err instanceof DingTalkApiError ? err.code : 'unknown' }, 'dingtalk: card not updatable; sent it as a new card');
        await cards.deliver({ kind: 'robot', userId }, params);
      }
    },
    approval: renderApproval,
    review: renderReview,
    view: renderView,
  };
}

export class DingTalkApprovalNotifier extends CardApprovalNotifier<CardParams> {
  constructor(deps: { cards: DingTalkCards; logger: Logger; lookup?: LookupService }) {
    super(dingtalkPersonalCards(deps.cards, deps.logger), deps.lookup);
  }
}

export class DingTalkReviewNotifier extends CardReviewNotifier<CardParams> {
  constructor(deps: { cards: DingTalkCards; logger: Logger }) {
    super(dingtalkPersonalCards(deps.cards, deps.logger));
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
