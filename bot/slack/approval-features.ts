// The approval flow as a Slack feature (runtime.ts adds it next to the admin features): the request
// store, the approval service with a Slack notifier on the app's own Web API client, and the listeners.
import type { App } from '@slack/bolt';
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
import type { PolicyEngine } from '../../policies/types.ts';
import type { Policy } from '../../policies/load.ts';
import { SlackApprovalNotifier } from './approval-notifier.ts';
import { registerSlackApprovalHandlers } from './approval-handlers.ts';
import type { SlackFeature } from './app.ts';

export interface ApprovalFeatureDeps {
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
  /** The export-volume detector (security runtime). */
  exportWatch?: ExportWatch;
  /** Told the service once the app exists (offboarding cancels pending requests through it). */
  onService?: (approvals: ApprovalService) => void;
}

export async function approvalFeatures(deps: ApprovalFeatureDeps): Promise<SlackFeature[]> {
  const requests = new MongoRequestStore(deps.conn);
  await requests.ensureIndexes();
  const register = (app: App) => {
    const approvals = new ApprovalService({
      engine: deps.engine, customers: deps.customers, requests, grants: deps.grants, directory: deps.directory,
      recorder: deps.recorder, clock: deps.clock, notifier: new SlackApprovalNotifier(app.client, deps.logger, deps.lookup),
      settings: approvalSettingsOf(deps.engine.policy), platform: 'slack',
      ...(deps.exports ? { exports: deps.exports } : {}), ...(deps.wakeUps ? { wakeUps: deps.wakeUps } : {}),
      ...(deps.exportWatch ? { exportWatch: deps.exportWatch } : {}),
    });
    deps.onService?.(approvals);
    registerSlackApprovalHandlers(app, {
      approvals, directory: deps.directory, defaultLocale: deps.config.defaultLocale, securityContact: deps.config.securityContact, logger: deps.logger,
    });
  };
  return [register];
}
