// The core's outgoing ports on DingTalk, shaped as Slack's and Lark's (the platform registry wires them):
// approval and access-review cards through the shared card notifiers (bot/runtime/card-notifiers.ts),
// export delivery, and security alerts and notices. All go through DingTalkCards (the ledger learns their buttons); each copy
// is updated in place by its outTrackId, its old buttons then refused. A card DingTalk will not update is
// sent again as a new card, so the reader still sees the outcome.
import type { LookupService } from '../core/lookup.ts';
import type { Logger } from '../logger.ts';
import { CardApprovalNotifier, CardReviewNotifier, type PersonalCards } from '../runtime/card-notifiers.ts';
import type { PlatformChat } from '../runtime/platform-module.ts';
import type { SecurityDestination } from '../runtime/security-alerts.ts';
import { DingTalkApiError, type CardParams } from './api.ts';
import type { DingTalkCards } from './card-delivery.ts';
import { renderAlert, renderApproval, renderReview, renderView } from './cards.ts';
import { dingtalkExportDelivery } from './export-delivery.ts';

/**
 * The platform's outgoing chat (bot/runtime/platform-module.ts) on these cards: approval and review cards
 * as 1:1 robot cards through the shared notifiers, export files, and notices into `securityGroup` if any.
 */
export function dingtalkChat(cards: DingTalkCards, logger: Logger, securityGroup: string | undefined, lookup?: LookupService): PlatformChat {
  const security = dingtalkSecurityGroup(cards, securityGroup);
  const personal: PersonalCards<CardParams> = {
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
  return {
    approvals: new CardApprovalNotifier(personal, lookup),
    reviews: new CardReviewNotifier(personal),
    delivery: dingtalkExportDelivery(cards),
    ...(security ? { securityNotice: security.notice } : {}),
  };
}

/**
 * The security group (bot/runtime/security-alerts.ts): alert cards with Unfreeze / Keep frozen / Revoke all
 * grants, and notices (a lagging sync source, a stalled audit stream) as cards; null without a group.
 */
export function dingtalkSecurityGroup(cards: DingTalkCards, conversationId: string | undefined): SecurityDestination | null {
  if (!conversationId) return null;
  const post = async (params: CardParams) => { await cards.deliver({ kind: 'group', conversationId }, params); };
  return {
    alert: (view) => post(renderAlert(view)),
    notice: (view) => post(renderView({ kind: 'help', title: view.title, lines: view.lines })),
  };
}
