// The approval service as every bot builds it: the request store, the policy's approval settings and a
// notifier routed across every configured platform (chat-routing.ts), so a click or a cancellation
// that arrives through one bot updates the card copies on the other platform too. The bot hands in the
// one PlatformChats it routes everything through (approvals, reviews), so each module's chat is loaded
// once per process, on the process's own Redis.
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { ApprovalService, type ExportQueue, type ExportWatch, type WakeUps } from '../core/approvals/service.ts';
import { approvalSettingsOf } from '../core/approvals/settings.ts';
import type { Clock, CustomerReader } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { EmployeeStore } from '../store/employee-store.ts';
import type { MongoGrantStore } from '../store/grant-store.ts';
import { MongoRequestStore } from '../store/request-store.ts';
import type { Policy } from '../../policies/load.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import { routedApprovalNotifier, type PlatformChats } from './chat-routing.ts';
import type { AuditPlatform } from '../core/audit.ts';
import { eraserOf } from '../store/erasure.ts';

export interface BotApprovalDeps {
  conn: Connection;
  config: Config;
  engine: PolicyEngine & { policy?: Policy };
  customers: CustomerReader;
  directory: EmployeeStore;
  grants: MongoGrantStore;
  recorder: AuditRecorder;
  clock: Clock;
  logger: Logger;
  exports?: ExportQueue;
  wakeUps?: WakeUps;
  /** The export-volume detector (security runtime): approved exports count towards it. */
  exportWatch?: ExportWatch;
}

/**
 * Creates the request store's indexes, then returns how to build the service once the bot's own SDK
 * client exists (Bolt's `app.client` only does inside a feature). `platform` is the audited actor's;
 * `chats` the bot's PlatformChats (built with its own client as ChatContext.own), shared with its reviews.
 */
export async function prepareBotApprovals(deps: BotApprovalDeps): Promise<(platform: AuditPlatform, chats: PlatformChats) => ApprovalService> {
  const requests = new MongoRequestStore(deps.conn);
  await requests.ensureIndexes();
  return (platform, chats) => new ApprovalService({
    engine: deps.engine, customers: deps.customers, requests, grants: deps.grants, directory: deps.directory,
    recorder: deps.recorder, clock: deps.clock, notifier: routedApprovalNotifier(chats),
    settings: approvalSettingsOf(deps.engine.policy), platform,
    ...(deps.exports ? { exports: deps.exports } : {}), ...(deps.wakeUps ? { wakeUps: deps.wakeUps } : {}),
    ...(deps.exportWatch ? { exportWatch: deps.exportWatch } : {}),
    erasure: eraserOf(deps.conn, deps.config, deps.recorder, deps.clock),
  });
}
