// The approval service for a process that is not a bot and changes requests now and then (`custos
// customer erase`, `custos import employees`, the sync worker and `custos sync run`): with any chat
// platform the registry finds configured (bot/platforms.ts, whichever it is), the service with chat
// clients of its own, so every approver's card copy is updated in place on the platform it was posted
// to; with none, undefined and the caller changes the store alone (there are no cards to update).
import type { Connection } from 'mongoose';
import type { Config } from '../../bot/config.ts';
import type { AuditRecorder } from '../../bot/core/audit.ts';
import type { ApprovalService } from '../../bot/core/approvals/service.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { Logger } from '../../bot/logger.ts';
import { chatPlatforms } from '../../bot/runtime/chat-routing.ts';

/** `close` releases the chat clients (a module's own Redis connection) when the caller stops. */
export interface ChatApprovals { approvals: ApprovalService; close(): Promise<void> }

export async function chatApprovals(conn: Connection, config: Config, logger: Logger, clock: Clock, recorder: AuditRecorder): Promise<ChatApprovals | undefined> {
  if (chatPlatforms(config).length === 0) return undefined;
  // Loaded here, not at the top: the policy engine and the stores, which a caller without chat never needs.
  const { workerApprovalParts } = await import('./service.ts');
  const { approvals, chat } = await workerApprovalParts(conn, config, logger, clock, recorder);
  return { approvals, close: () => chat.close() };
}
