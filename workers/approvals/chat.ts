// The workers' chat I/O on every configured platform, routed by the same module the bots use
// (bot/runtime/chat-routing.ts, which reaches each platform through its module in bot/platforms.ts):
// each person is reached on the first configured platform they are bound to, each card is updated on
// the platform it was posted to, and a reveal on the platform it was asked from. The sweeper's
// notices, the export worker's deliveries and the access review's cards and notices go through these.
import type { Config } from '../../bot/config.ts';
import type { ApprovalNotifier } from '../../bot/core/approvals/service.ts';
import type { LookupService } from '../../bot/core/lookup.ts';
import type { ReviewNotifier } from '../../bot/core/reviews/service.ts';
import type { Logger } from '../../bot/logger.ts';
import { PlatformChats, routedApprovalNotifier, routedDelivery, routedReviewNotifier, type ChatOptions } from '../../bot/runtime/chat-routing.ts';
import type { ExportDelivery } from '../export/job.ts';

export interface WorkerChat { notifier: ApprovalNotifier; delivery: ExportDelivery; reviews: ReviewNotifier; close(): Promise<void> }

/** `lookup` lets a re-mask at grant expiry show the whole card again, masked (without it: the title alone). */
export function workerChat(config: Config, logger: Logger, lookup?: LookupService, opts: Omit<ChatOptions, 'lookup'> = {}): WorkerChat {
  const chats = new PlatformChats(config, logger, { ...opts, ...(lookup ? { lookup } : {}) });
  return {
    notifier: routedApprovalNotifier(chats), delivery: routedDelivery(chats), reviews: routedReviewNotifier(chats),
    close: () => chats.close(),
  };
}
