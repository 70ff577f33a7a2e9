// The workers' chat I/O when Slack, Lark or both are configured, routed per platform by the same module
// the bots use (bot/runtime/chat-routing.ts): each person is reached on the first configured platform
// they are bound to (Slack, then Lark), each card is updated on the platform it was posted to, and a
// reveal on the platform it was asked from. The sweeper's notices, the export worker's deliveries and
// the access review's cards and notices go through these.
import type { Config } from '../../bot/config.ts';
import type { ApprovalNotifier } from '../../bot/core/approvals/service.ts';
import type { Employee } from '../../bot/core/domain.ts';
import type { LookupService } from '../../bot/core/lookup.ts';
import type { ReviewNotifier } from '../../bot/core/reviews/service.ts';
import type { Logger } from '../../bot/logger.ts';
import { chatClients, reach, routedApprovalNotifier, routedReviewNotifier, type PerPlatform } from '../../bot/runtime/chat-routing.ts';
import type { ExportDelivery } from '../export/job.ts';
import { LarkExportDelivery } from '../export/lark-delivery.ts';
import { SlackExportDelivery } from '../export/slack-delivery.ts';

export interface WorkerChat { notifier: ApprovalNotifier; delivery: ExportDelivery; reviews: ReviewNotifier }

/** `lookup` lets a re-mask at grant expiry show the whole card again, masked (without it: the title alone). */
export function workerChat(config: Config, logger: Logger, lookup?: LookupService): WorkerChat {
  const clients = chatClients(config, logger);
  const deliveries: PerPlatform<ExportDelivery> = {};
  if (clients.slack) deliveries.slack = new SlackExportDelivery(clients.slack);
  if (clients.lark) deliveries.lark = new LarkExportDelivery(clients.lark);
  return {
    notifier: routedApprovalNotifier(clients, logger, lookup), delivery: new RoutingDelivery(deliveries), reviews: routedReviewNotifier(clients, logger),
  };
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
