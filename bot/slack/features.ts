// The services behind the Slack bot's clicks and forms, built on the app's own Web API client (their
// notifiers post and update cards on Slack, and reach Lark for copies posted there): approvals
// (bot/runtime/approvals.ts), access reviews, security decisions and audit queries. The conversation
// layer dispatches to them (bot/conversation/flows.ts); this file only builds them once the app exists.
import type { App } from '@slack/bolt';
import type { Connection } from 'mongoose';
import type { FlowServices } from '../conversation/layer.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import type { LookupService } from '../core/lookup.ts';
import { prepareBotApprovals, type BotApprovalDeps } from '../runtime/approvals.ts';
import { auditQueryService } from '../runtime/audit-query.ts';
import { PlatformChats, routedReviewNotifier } from '../runtime/chat-routing.ts';
import type { BotServices } from '../runtime/services.ts';
import { prepareReviewService } from '../store/review-service.ts';
import type { SlackFeature } from './app.ts';

export interface SlackFlowDeps extends BotApprovalDeps {
  services: BotServices;
  lookup: LookupService;
  /** Told the approval service once the app exists (offboarding cancels pending requests through it). */
  onService?: (approvals: ApprovalService) => void;
}

/**
 * Fills `flows` (read by the layer at each turn) as the app starts: the feature to register, the flows to
 * hand to the layer, and close() for the one PlatformChats approvals and reviews notify through.
 */
export async function slackFlows(deps: SlackFlowDeps): Promise<{ flows: FlowServices; feature: SlackFeature; close(): Promise<void> }> {
  const flows: FlowServices = { security: deps.services.security, audit: await auditQueryService(deps.services, deps.config) };
  const approvals = await prepareBotApprovals(deps);
  const reviews = await prepareReviewService(deps.conn as Connection);
  let chats: PlatformChats | undefined;
  const feature = (app: App) => {
    chats = new PlatformChats(deps.config, deps.logger, { lookup: deps.lookup, redis: deps.services.redis, own: { platform: 'slack', client: app.client } });
    flows.approvals = approvals('slack', chats);
    deps.onService?.(flows.approvals);
    flows.reviews = reviews({ notifier: routedReviewNotifier(chats), recorder: deps.recorder, clock: deps.clock, timing: deps.config.review });
  };
  return { flows, feature, close: async () => { await chats?.close(); } };
}

