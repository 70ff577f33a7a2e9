// The workers' chat I/O when Slack, Lark or both are configured: each person is reached on the first
// configured platform they are bound to (Slack, then Lark), each card is updated on the platform it was
// posted to, and a reveal on the platform it was asked from. The sweeper's notices, the export
// worker's deliveries and the access review's cards and notices go through these.
import { webApi } from '@slack/bolt';
import { section, type Config } from '../../bot/config.ts';
import type { ApprovalNotifier } from '../../bot/core/approvals/service.ts';
import type { AccessRequest, CardRef } from '../../bot/core/approvals/types.ts';
import type { Revealed } from '../../bot/core/approvals/reveal-view.ts';
import type { Employee } from '../../bot/core/domain.ts';
import type { LookupService } from '../../bot/core/lookup.ts';
import type { ChatPlatform } from '../../bot/core/ports.ts';
import type { ReviewNotifier } from '../../bot/core/reviews/service.ts';
import type { ReviewCardRef } from '../../bot/core/reviews/types.ts';
import type { ReviewCardView } from '../../bot/core/reviews/views.ts';
import type { ApprovalView } from '../../bot/core/views-approval.ts';
import { LarkApi } from '../../bot/lark/api.ts';
import { LarkApprovalNotifier } from '../../bot/lark/approval-notifier.ts';
import { LarkReviewNotifier } from '../../bot/lark/review-notifier.ts';
import type { Logger } from '../../bot/logger.ts';
import { SlackApprovalNotifier } from '../../bot/slack/approval-notifier.ts';
import { SlackReviewNotifier } from '../../bot/slack/review-notifier.ts';
import type { ExportDelivery } from '../export/job.ts';
import { LarkExportDelivery } from '../export/lark-delivery.ts';
import { SlackExportDelivery } from '../export/slack-delivery.ts';

type PerPlatform<T> = Partial<Record<ChatPlatform, T>>;

export interface WorkerChat { notifier: ApprovalNotifier; delivery: ExportDelivery; reviews: ReviewNotifier; slack?: webApi.WebClient }

/** `lookup` lets a re-mask at grant expiry show the whole card again, masked (without it: the title alone). */
export function workerChat(config: Config, logger: Logger, lookup?: LookupService): WorkerChat {
  const notifiers: PerPlatform<ApprovalNotifier> = {};
  const deliveries: PerPlatform<ExportDelivery> = {};
  const reviews: PerPlatform<ReviewNotifier> = {};
  let slack: webApi.WebClient | undefined;
  if (config.slack) {
    const s = section(config, 'slack');
    slack = new webApi.WebClient(s.botToken, { slackApiUrl: s.apiUrl, retryConfig: { retries: s.apiRetries } });
    notifiers.slack = new SlackApprovalNotifier(slack, logger, lookup);
    deliveries.slack = new SlackExportDelivery(slack);
    reviews.slack = new SlackReviewNotifier(slack, logger);
  }
  if (config.lark) {
    const api = LarkApi.create(section(config, 'lark'));
    notifiers.lark = new LarkApprovalNotifier(api, logger, lookup);
    deliveries.lark = new LarkExportDelivery(api);
    reviews.lark = new LarkReviewNotifier(api, logger);
  }
  return {
    notifier: new RoutingNotifier(notifiers), delivery: new RoutingDelivery(deliveries), reviews: new RoutingReviewNotifier(reviews),
    ...(slack ? { slack } : {}),
  };
}

const ORDER: ChatPlatform[] = ['slack', 'lark'];

function reach<T>(by: PerPlatform<T>, e: Employee): T | undefined {
  const platform = ORDER.find((p) => by[p] && e.chat[p]);
  return platform ? by[platform] : undefined;
}

class RoutingNotifier implements ApprovalNotifier {
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
class RoutingReviewNotifier implements ReviewNotifier {
  constructor(private readonly by: PerPlatform<ReviewNotifier>) {}
  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> { return (await reach(this.by, to)?.post(to, view)) ?? null; }
  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> { await this.by[ref.platform]?.update(ref, view); }
  async tell(to: Employee, text: string): Promise<void> { await reach(this.by, to)?.tell(to, text); }
}

class RoutingDelivery implements ExportDelivery {
  constructor(private readonly by: PerPlatform<ExportDelivery>) {}
  private to(e: Employee): ExportDelivery {
    const d = reach(this.by, e);
    if (!d) throw new Error('requester has no chat identity on a configured platform');
    return d;
  }
  async start(to: Employee, text: string): Promise<unknown> { const d = this.to(to); return { d, inner: await d.start(to, text) }; }
  async progress(handle: unknown, text: string): Promise<void> { const h = handle as { d: ExportDelivery; inner: unknown }; await h.d.progress(h.inner, text); }
  async upload(to: Employee, file: string, filename: string, title: string): Promise<string | undefined> { return this.to(to).upload(to, file, filename, title); }
}
