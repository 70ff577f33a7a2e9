// The approval flow's chat I/O on Lark through the shared card notifiers (bot/runtime/card-notifiers.ts):
// cards sent to people by open_id (the bot's DM with them), every copy updated in place with
// im.message.patch, and the requester's lookup card patched to show a revealed field (re-masked at
// expiry). A card Lark will not update any more (230054, 220340, …) is replaced by a new message, so the
// reader still sees the outcome; a post's key (uuid) makes a retried post a no-op on Lark's side.
import type { LookupService } from '../core/lookup.ts';
import type { Logger } from '../logger.ts';
import { CardApprovalNotifier, type PersonalCards } from '../runtime/card-notifiers.ts';
import { LarkApiError, type LarkApi } from './api.ts';
import { renderApproval } from './approval-cards.ts';
import { renderView, type LarkCard } from './cards.ts';
import { renderReviewCard } from './review-cards.ts';

/** Cards in the bot's DM with each person, for the shared notifiers. */
export function larkPersonalCards(api: LarkApi, logger: Logger): PersonalCards<LarkCard> {
  return {
    platform: 'lark',
    post: (openId, card, key) => api.sendCard('open_id', openId, card, key),
    update: async (openId, messageId, card, kind) => {
      try {
        if ((await api.patchOrResend(messageId, openId, card)) === 'resent') logger.info(`lark: ${kind} card not updatable; sent it as a new message`);
      } catch (err) {
        // The decision stands either way; a card that could not be updated only keeps stale buttons.
        logger.warn({ code: err instanceof LarkApiError ? err.code : -1 }, `lark: could not update ${kind === 'approval' ? 'an approval' : 'a review'} card`);
      }
    },
    approval: renderApproval,
    review: renderReviewCard,
    view: (view) => renderView(view),
  };
}

export class LarkApprovalNotifier extends CardApprovalNotifier<LarkCard> {
  constructor(api: LarkApi, logger: Logger, lookup?: LookupService) {
    super(larkPersonalCards(api, logger), lookup);
  }
}
