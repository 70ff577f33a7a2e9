// Slack side of the access review: Keep / Revoke on a review card. The clicker is identified by their
// bound Slack id and re-checked by the core (only the review's reviewer or escalation target, active);
// the first answer wins, later clicks are told who answered and when. The cards themselves are updated
// by the core through the notifier, every copy alike.
import type { App } from '@slack/bolt';
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import type { ChatIdentifier } from '../core/identity.ts';
import { userMessage, type Locale } from '../core/messages.ts';
import type { Clock } from '../core/ports.ts';
import type { AccessReviewService } from '../core/reviews/service.ts';
import type { ReviewDecision } from '../core/reviews/types.ts';
import { outcomeText } from '../core/reviews/views.ts';
import type { Logger } from '../logger.ts';
import { chatClients, routedReviewNotifier } from '../runtime/chat-routing.ts';
import { prepareReviewService } from '../store/review-service.ts';
import type { SlackFeature } from './app.ts';
import { correlationIdOf } from './handlers.ts';
import { slackUser } from './identity.ts';
import { errorSummary } from './receiver.ts';
import { ACTION_REVIEW } from './review-blocks.ts';

export interface SlackReviewDeps {
  reviews: AccessReviewService;
  /** Who clicked, by the one rule of every handler; records identity refusals. */
  identity: ChatIdentifier;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
}

export function registerSlackReviewHandlers(app: App, deps: SlackReviewDeps): void {
  for (const [decision, actionId] of Object.entries(ACTION_REVIEW) as [ReviewDecision, string][]) {
    app.action({ type: 'block_actions', action_id: actionId }, async ({ ack, body, action, respond, client }) => {
      await ack();
      const reviewId = action.type === 'button' ? action.value ?? '' : '';
      const reply = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => undefined);
      let locale = deps.defaultLocale;
      try {
        const who = await deps.identity.attempt(slackUser(client, body.user.id), { interaction: 'review', correlationId: correlationIdOf(body.trigger_id) }, locale);
        // Unknown, frozen or offboarded: refused (and recorded by the identifier) before the service decides.
        if (!who.ok) return await reply(userMessage(who.refusal, who.locale, { contact: deps.securityContact }));
        const clicker = who.employee;
        locale = clicker.locale;
        const outcome = await deps.reviews.decide(clicker, 'slack', body.user.id, reviewId, decision);
        await reply(outcomeText(outcome, clicker, clicker));
      } catch (err) {
        deps.logger.error({ err: errorSummary(err) }, 'slack: review decision failed');
        await reply(userMessage(err, locale, { contact: deps.securityContact })).catch(() => undefined);
      }
    });
  }
}

export interface ReviewFeatureDeps { conn: Connection; config: Config; identity: ChatIdentifier; recorder: AuditRecorder; clock: Clock; logger: Logger }

/**
 * The click handlers as a Slack feature (runtime.ts), with a notifier on the app's own Web API client
 * for Slack and routed to Lark for copies posted there (an escalation target bound to Lark only).
 */
export async function reviewFeature(deps: ReviewFeatureDeps): Promise<SlackFeature> {
  const build = await prepareReviewService(deps.conn);
  return (app) => {
    const reviews = build({ notifier: routedReviewNotifier(chatClients(deps.config, deps.logger, { slack: app.client }), deps.logger), recorder: deps.recorder, clock: deps.clock, timing: deps.config.review });
    registerSlackReviewHandlers(app, { reviews, identity: deps.identity, defaultLocale: deps.config.defaultLocale, securityContact: deps.config.securityContact, logger: deps.logger });
  };
}
