// The approval flow as part of the Lark bot (runtime.ts wires it in): the approval service
// (bot/runtime/approvals.ts) with its notifier on the bot's own SDK client for Lark, and routed to Slack
// for the copies posted there, and the export and wake-up queues (the workers run the sweeper and the
// exports). The conversation layer dispatches the card callbacks and `export` / `erase` to it.
import type { ApprovalService } from '../core/approvals/service.ts';
import { approvalQueues } from '../queue/approval-queues.ts';
import { prepareBotApprovals, type BotApprovalDeps } from '../runtime/approvals.ts';
import type { PlatformChats } from '../runtime/chat-routing.ts';

export interface LarkApprovalFeatureDeps extends Omit<BotApprovalDeps, 'exports' | 'wakeUps'> {
  /** The bot's PlatformChats (its own client as `own`), shared with its reviews. */
  chats: PlatformChats;
}

export async function larkApprovals(deps: LarkApprovalFeatureDeps): Promise<{ approvals: ApprovalService; close(): Promise<void> }> {
  const redis = deps.config.redis!;
  const queues = approvalQueues(redis, redis.queuePrefix, deps.clock);
  try {
    const approvals = (await prepareBotApprovals({ ...deps, exports: queues.exports, wakeUps: queues.wakeUps }))('lark', deps.chats);
    return { approvals, close: () => queues.close() };
  } catch (err) {
    await queues.close();
    throw err;
  }
}
