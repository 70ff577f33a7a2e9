// The admin and security features of the Slack bot, built in one place so runtime.ts needs one call:
// `/audit` (audit queries over the stored chain) today; the security channel's alert cards and the
// offboarding events register here too.
import type { Connection } from 'mongoose';
import { section, type Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { AuditQueryService } from '../core/audit-query-service.ts';
import type { LookupService } from '../core/lookup.ts';
import type { Clock, EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import { auditModels } from '../store/audit-model.ts';
import { MongoAuditLogReader } from '../store/audit-query-store.ts';
import { verifyStoredChain } from '../store/audit-chain-check.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import type { SlackFeature } from './app.ts';
import { registerSlackAuditHandlers } from './audit-handlers.ts';

export interface AdminFeatureDeps {
  conn: Connection;
  config: Config;
  engine: PolicyEngine;
  directory: EmployeeDirectory;
  lookup: LookupService;
  recorder: AuditRecorder;
  clock: Clock;
  logger: Logger;
}

export async function adminFeatures(deps: AdminFeatureDeps): Promise<SlackFeature[]> {
  const models = await auditModels(deps.conn);
  const signingKey = section(deps.config, 'audit').signingKey;
  const audit = new AuditQueryService({
    engine: deps.engine,
    log: new MongoAuditLogReader(models),
    directory: deps.directory,
    recorder: deps.recorder,
    clock: deps.clock,
    queryHmacKey: section(deps.config, 'audit').hmacKey,
    verifyChain: async () => {
      const r = await verifyStoredChain(models, signingKey, deps.config.auditArchivedCheckpoint);
      return {
        ok: r.ok, events: r.events,
        ...(r.problem ? { badSeq: r.problem.seq, problem: r.problem.problem } : {}),
        ...(r.latestCheckpoint ? { checkpoint: { n: r.latestCheckpoint.n, lastSeq: r.latestCheckpoint.lastSeq } } : {}),
      };
    },
  });
  const common = { directory: deps.directory, lookup: deps.lookup, clock: deps.clock, defaultLocale: deps.config.defaultLocale, securityContact: deps.config.securityContact, logger: deps.logger };
  return [(app) => registerSlackAuditHandlers(app, { audit, ...common })];
}
