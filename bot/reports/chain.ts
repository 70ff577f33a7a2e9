// What a compliance pack asked in chat reads besides the log, wired as `custos report pack` wires it:
// the stored chain verified with the signing key (from CUSTOS_AUDIT_ARCHIVED_CHECKPOINT when set) and
// every signed checkpoint. Undefined without the audit keys: the export worker then refuses a pack.
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import { auditModels } from '../store/audit-model.ts';
import { verifyStoredChain } from '../store/audit-chain-check.ts';
import { allCheckpoints } from '../store/audit-store.ts';
import type { RenderDeps } from './generate.ts';

export async function reportChainOf(conn: Connection, config: Pick<Config, 'audit' | 'auditArchivedCheckpoint'>): Promise<Pick<RenderDeps, 'verify' | 'checkpoints'> | undefined> {
  const keys = config.audit;
  if (!keys) return undefined;
  const models = await auditModels(conn);
  return {
    verify: () => verifyStoredChain(models, keys.signingKey, config.auditArchivedCheckpoint),
    checkpoints: () => allCheckpoints(models),
  };
}
