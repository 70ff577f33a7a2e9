// Verifies the stored audit chain (CLI `custos audit verify`, `/audit verify`, the playground): loads the
// checkpoints and streams the records, from the archived checkpoint when one is named (after an archive
// the records it covers are gone; see bot/core/audit-verify.ts).
import type { AuditModels } from './audit-model.ts';
import { allCheckpoints, streamRecords } from './audit-store.ts';
import type { AuditCheckpoint } from '../core/audit-event.ts';
import { verifyAuditChain, type VerifyResult } from '../core/audit-verify.ts';

export async function verifyStoredChain(
  models: AuditModels, signingKey: Buffer, fromCheckpoint?: number, anchors?: readonly AuditCheckpoint[],
): Promise<VerifyResult> {
  const checkpoints = await allCheckpoints(models);
  const from = checkpoints.find((cp) => cp.n === fromCheckpoint);
  return verifyAuditChain(streamRecords(models, from?.lastSeq ?? 0), checkpoints, signingKey, {
    ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
    ...(anchors ? { anchors } : {}),
  });
}
