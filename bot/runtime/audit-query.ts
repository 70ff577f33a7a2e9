// The audit query service over the stored chain, for every adapter (Slack `/audit`, Lark and playground `audit …`):
// reads through the indexed audit collections, verifies the chain with the signing key on `verify`, and
// resolves `by @…` through every registered platform's mention form and the employees' chat-id map.
import { section, type Config } from '../config.ts';
import { AuditQueryService } from '../core/audit-query-service.ts';
import { auditModels } from '../store/audit-model.ts';
import { MongoAuditLogReader } from '../store/audit-query-store.ts';
import { verifyStoredChain } from '../store/audit-chain-check.ts';
import { PLATFORMS } from '../platforms.ts';
import type { PlatformRegistry } from './platform-registry.ts';
import type { BotServices } from './services.ts';

export type AuditQueryDeps = Pick<BotServices, 'conn' | 'engine' | 'directory' | 'recorder' | 'clock'>;

/** `registry`: whose mention forms `by @…` understands (default: bot/platforms.ts). */
export async function auditQueryService(services: AuditQueryDeps, config: Config, registry: PlatformRegistry = PLATFORMS): Promise<AuditQueryService> {
  const models = await auditModels(services.conn);
  const { signingKey, hmacKey } = section(config, 'audit');
  return new AuditQueryService({
    engine: services.engine,
    log: new MongoAuditLogReader(models),
    directory: services.directory,
    recorder: services.recorder,
    clock: services.clock,
    queryHmacKey: hmacKey,
    mentions: registry.mentionForms(),
    verifyChain: async () => {
      const r = await verifyStoredChain(models, signingKey, config.auditArchivedCheckpoint);
      return {
        ok: r.ok, events: r.events,
        ...(r.problem ? { badSeq: r.problem.seq, problem: r.problem.problem } : {}),
        ...(r.latestCheckpoint ? { checkpoint: { n: r.latestCheckpoint.n, lastSeq: r.latestCheckpoint.lastSeq } } : {}),
      };
    },
  });
}
