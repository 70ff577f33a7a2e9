// The access review's chat I/O on Lark through the shared card notifiers (bot/runtime/card-notifiers.ts,
// Lark's calls in approval-notifier.ts): cards sent to the reviewer by open_id (the bot's DM with them),
// every copy updated in place with im.message.patch — re-sent as a new message when Lark says the card
// cannot be updated any more (230054, 220340, …), so the reviewer still sees the outcome — and one-line
// notices (reminders, the DPO summary, the grantee told of a revocation). Used by the review worker and
// by the Lark bot's click handlers.
import type { Logger } from '../logger.ts';
import { CardReviewNotifier } from '../runtime/card-notifiers.ts';
import type { LarkApi } from './api.ts';
import { larkPersonalCards } from './approval-notifier.ts';
import type { LarkCard } from './cards.ts';

export class LarkReviewNotifier extends CardReviewNotifier<LarkCard> {
  constructor(api: LarkApi, logger: Logger) {
    super(larkPersonalCards(api, logger));
  }
}
