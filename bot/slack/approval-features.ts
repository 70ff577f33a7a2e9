// The approval flow as a Slack feature (runtime.ts adds it next to the admin features): the approval
// service (bot/runtime/approvals.ts) with its notifier on the app's own Web API client for Slack, and
// routed to Lark for the copies posted there, and the listeners.
import type { App } from '@slack/bolt';
import type { ApprovalService } from '../core/approvals/service.ts';
import type { ChatIdentifier } from '../core/identity.ts';
import { prepareBotApprovals, type BotApprovalDeps } from '../runtime/approvals.ts';
import { registerSlackApprovalHandlers } from './approval-handlers.ts';
import type { SlackFeature } from './app.ts';

export interface ApprovalFeatureDeps extends BotApprovalDeps {
  /** Told the service once the app exists (offboarding cancels pending requests through it). */
  onService?: (approvals: ApprovalService) => void;
  /** The one identity rule of every handler (bot/runtime/services.ts). */
  identity: ChatIdentifier;
}

export async function approvalFeatures(deps: ApprovalFeatureDeps): Promise<SlackFeature[]> {
  const build = await prepareBotApprovals(deps);
  const register = (app: App) => {
    const approvals = build('slack', { slack: app.client });
    deps.onService?.(approvals);
    registerSlackApprovalHandlers(app, {
      approvals, identity: deps.identity, defaultLocale: deps.config.defaultLocale, securityContact: deps.config.securityContact, logger: deps.logger,
    });
  };
  return [register];
}
