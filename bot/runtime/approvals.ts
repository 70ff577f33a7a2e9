// The approval service as either bot builds it: the request store, the policy's approval settings and a
// notifier routed across every configured platform (chat-routing.ts), so a click or a cancellation
// that arrives through one bot updates the card copies on the other platform too.
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { ApprovalService, type ExportQueue, type ExportWatch, type WakeUps } from '../core/approvals/service.ts';
import { approvalSettingsOf } from '../core/approvals/settings.ts';
import type { LookupService } from '../core/lookup.ts';
import type { Clock, CustomerReader } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { EmployeeStore } from '../store/employee-store.ts';
import type { MongoGrantStore } from '../store/grant-store.ts';
import { MongoRequestStore } from '../store/request-store.ts';
import type { Policy } from '../../policies/load.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import { PlatformChats, routedApprovalNotifier } from './chat-routing.ts';
import type { ChatContext } from './platform-module.ts';
import type { AuditPlatform } from '../core/audit.ts';
import { eraserOf } from '../store/erasure.ts';

export interface BotApprovalDeps {
  conn: Connection;
  config: Config;
  engine: PolicyEngine & { policy?: Policy };
  customers: CustomerReader;
  directory: EmployeeStore;
  grants: MongoGrantStore;
  lookup: LookupService;
  recorder: AuditRecorder;
  clock: Clock;
  logger: Logger;
  exports?: ExportQueue;
  wakeUps?: WakeUps;
  /** The export-volume detector (security runtime): approved exports count towards it. */
  exportWatch?: ExportWatch;
  /** The bot's Redis, lent to the platforms' chat (a module that keeps state there, DingTalk's card ledger, opens no connection of its own that nothing would close). */
  redis?: ChatContext['redis'];
}

/**
 * Creates the request store's indexes, then returns how to build the service once the bot's own SDK
 * client exists (Bolt's `app.client` only does inside a feature). `platform` is the audited actor's;
 * `own` the bot's own client for its platform (ChatContext.own).
 */
export async function prepareBotApprovals(deps: BotApprovalDeps): Promise<(platform: AuditPlatform, own?: ChatContext['own']) => ApprovalService> {
  const requests = new MongoRequestStore(deps.conn);
  await requests.ensureIndexes();
  return (platform, own) => new ApprovalService({
    engine: deps.engine, customers: deps.customers, requests, grants: deps.grants, directory: deps.directory,
    recorder: deps.recorder, clock: deps.clock, notifier: routedApprovalNotifier(new PlatformChats(deps.config, deps.logger, { lookup: deps.lookup, ...(own ? { own } : {}), ...(deps.redis ? { redis: deps.redis } : {}) })),
    settings: approvalSettingsOf(deps.engine.policy), platform,
    ...(deps.exports ? { exports: deps.exports } : {}), ...(deps.wakeUps ? { wakeUps: deps.wakeUps } : {}),
    ...(deps.exportWatch ? { exportWatch: deps.exportWatch } : {}),
    erasure: eraserOf(deps.conn, deps.config, deps.recorder, deps.clock),
  });
}
