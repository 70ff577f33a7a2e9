// Chat I/O across platforms, shared by the workers and both bots so that card copies stay in step: each
// person is reached on the first configured platform they are bound to (Slack, then Lark), each card
// copy is updated on the platform it was posted to, and a reveal is shown on the platform it was asked
// from — whichever process (Slack bot, Lark bot, worker, CLI) acts. A bot passes its own SDK client for
// its platform; the other platform, when configured, gets a client of this process's own. With one
// platform configured the routing has one target and behaves as that platform's notifier alone.
import { webApi } from '@slack/bolt';
import { section, type Config } from '../config.ts';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { Revealed } from '../core/approvals/reveal-view.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import type { ChatPlatform } from '../core/ports.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import { LarkApi } from '../lark/api.ts';
import { LarkApprovalNotifier } from '../lark/approval-notifier.ts';
import { LarkReviewNotifier } from '../lark/review-notifier.ts';
import type { Logger } from '../logger.ts';
import { SlackApprovalNotifier } from '../slack/approval-notifier.ts';
import { SlackReviewNotifier } from '../slack/review-notifier.ts';

export type PerPlatform<T> = Partial<Record<ChatPlatform, T>>;

/** The SDK clients of the configured platforms. */
export interface ChatClients { slack?: webApi.WebClient; lark?: LarkApi }

/**
 * A client for every configured platform: `own` where the caller has one already (Bolt's `app.client`,
 * the Lark bot's SDK client, so its settings and logger apply), else a new one from the configuration.
 */
export function chatClients(config: Config, logger: Logger, own: ChatClients = {}): ChatClients {
  const clients: ChatClients = {};
  if (config.slack) {
    const s = section(config, 'slack');
    clients.slack = own.slack ?? new webApi.WebClient(s.botToken, { slackApiUrl: s.apiUrl, retryConfig: { retries: s.apiRetries } });
  }
  if (config.lark) clients.lark = own.lark ?? LarkApi.create(section(config, 'lark'), logger);
  return clients;
}

const ORDER: ChatPlatform[] = ['slack', 'lark'];

/** What reaches `e`: the first configured platform (Slack, then Lark) they are bound to. */
export function reach<T>(by: PerPlatform<T>, e: Employee): T | undefined {
  const platform = ORDER.find((p) => by[p] && e.chat[p]);
  return platform ? by[platform] : undefined;
}

/** `lookup` lets a re-mask at grant expiry show the whole card again, masked (without it: the title alone). */
export function routedApprovalNotifier(clients: ChatClients, logger: Logger, lookup?: LookupService): ApprovalNotifier {
  const by: PerPlatform<ApprovalNotifier> = {};
  if (clients.slack) by.slack = new SlackApprovalNotifier(clients.slack, logger, lookup);
  if (clients.lark) by.lark = new LarkApprovalNotifier(clients.lark, logger, lookup);
  return new RoutingNotifier(by);
}

export function routedReviewNotifier(clients: ChatClients, logger: Logger): ReviewNotifier {
  const by: PerPlatform<ReviewNotifier> = {};
  if (clients.slack) by.slack = new SlackReviewNotifier(clients.slack, logger);
  if (clients.lark) by.lark = new LarkReviewNotifier(clients.lark, logger);
  return new RoutingReviewNotifier(by);
}

export class RoutingNotifier implements ApprovalNotifier {
  constructor(private readonly by: PerPlatform<ApprovalNotifier>) {}
  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null> { return (await reach(this.by, to)?.postCard(to, view, role)) ?? null; }
  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> { if (ref.platform !== 'playground') await this.by[ref.platform]?.updateCard(ref, view); }
  async tell(to: Employee, text: string): Promise<void> { await reach(this.by, to)?.tell(to, text); }
  async showReveal(request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<void> {
    const platform = request.origin?.platform;
    if (platform === 'slack' || platform === 'lark') await this.by[platform]?.showReveal(request, requester, revealed);
  }
}

/** Review cards go to the reviewer's first bound platform; a settled card is patched where it was posted. */
export class RoutingReviewNotifier implements ReviewNotifier {
  constructor(private readonly by: PerPlatform<ReviewNotifier>) {}
  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> { return (await reach(this.by, to)?.post(to, view)) ?? null; }
  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> { await this.by[ref.platform]?.update(ref, view); }
  async tell(to: Employee, text: string): Promise<void> { await reach(this.by, to)?.tell(to, text); }
}
