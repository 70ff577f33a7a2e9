// The approval flow as part of the Lark bot (runtime.ts wires it in): the request store, the approval
// service with a Lark notifier on the bot's own SDK client, the export and wake-up queues (the workers
// run the sweeper and the exports), and the flow the card callbacks and `export` command call.
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { ApprovalService, type ExportWatch } from '../core/approvals/service.ts';
import { approvalSettingsOf } from '../core/approvals/settings.ts';
import type { LookupService } from '../core/lookup.ts';
import type { Clock, CustomerReader } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import { approvalQueues } from '../queue/approval-queues.ts';
import type { EmployeeStore } from '../store/employee-store.ts';
import type { MongoGrantStore } from '../store/grant-store.ts';
import { MongoRequestStore } from '../store/request-store.ts';
import type { Policy } from '../../policies/load.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import type { LarkApi } from './api.ts';
import { LarkApprovalFlow } from './approval-handlers.ts';
import { LarkApprovalNotifier } from './approval-notifier.ts';

export interface LarkApprovalFeatureDeps {
  conn: Connection;
  config: Config;
  api: LarkApi;
  engine: PolicyEngine & { policy?: Policy };
  customers: CustomerReader;
  directory: EmployeeStore;
  grants: MongoGrantStore;
  lookup: LookupService;
  recorder: AuditRecorder;
  clock: Clock;
  logger: Logger;
  /** The export-volume detector: approved exports count towards it. */
  exportWatch?: ExportWatch;
}

export async function larkApprovals(deps: LarkApprovalFeatureDeps): Promise<{ flow: LarkApprovalFlow; approvals: ApprovalService; close(): Promise<void> }> {
  const requests = new MongoRequestStore(deps.conn);
  await requests.ensureIndexes();
  const redis = deps.config.redis!;
  const queues = approvalQueues(redis.url, redis.queuePrefix, deps.clock);
  const approvals = new ApprovalService({
    engine: deps.engine, customers: deps.customers, requests, grants: deps.grants, directory: deps.directory,
    recorder: deps.recorder, clock: deps.clock, notifier: new LarkApprovalNotifier(deps.api, deps.logger, deps.lookup),
    settings: approvalSettingsOf(deps.engine.policy), platform: 'lark', exports: queues.exports, wakeUps: queues.wakeUps,
    ...(deps.exportWatch ? { exportWatch: deps.exportWatch } : {}),
  });
  const flow = new LarkApprovalFlow({ approvals, api: deps.api, securityContact: deps.config.securityContact, logger: deps.logger });
  return { flow, approvals, close: () => queues.close() };
}
