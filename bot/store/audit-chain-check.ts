// Verifies the stored audit chain (CLI `custos audit verify`, `/audit verify`, the playground): loads the
// checkpoints and streams the records, from the archived checkpoint when there is one (after an archive
// the records it covers are gone; see bot/core/audit-verify.ts). The starting point is the latest signed
// archive record (`custos audit archive`, audit-archiver.ts), or a checkpoint the operator names
// (--from-checkpoint, CUSTOS_AUDIT_ARCHIVED_CHECKPOINT: archives made by hand before the command
// existed), whichever is further along: records before an archive are gone for good.
import type { AuditModels } from './audit-model.ts';
import { ArchiveRecords, archiveRecordValid, type ArchiveRecord } from './audit-archive-store.ts';
import { allCheckpoints, streamRecords } from './audit-store.ts';
import type { AuditCheckpoint } from '../core/audit-event.ts';
import { verifyAuditChain, type VerifyResult } from '../core/audit-verify.ts';

export type StoredChainResult = VerifyResult & {
  /** The archive the walk continued from: its range, closing checkpoint and bundle hash. */
  archive?: Pick<ArchiveRecord, 'firstSeq' | 'lastSeq' | 'checkpoint' | 'bundleSha256' | 'state'>;
};

function failed(base: VerifyResult, seq: number, problem: string): StoredChainResult {
  return { ...base, ok: false, problem: { seq, problem } };
}

export async function verifyStoredChain(
  models: AuditModels, signingKey: Buffer, fromCheckpoint?: number, anchors?: readonly AuditCheckpoint[],
): Promise<StoredChainResult> {
  const checkpoints = await allCheckpoints(models);
  const archived = await new ArchiveRecords(models.events.db.db!).latest();
  const base: VerifyResult = { ok: false, events: 0, checkpoints: checkpoints.length };
  if (archived && !archiveRecordValid(signingKey, archived)) {
    return failed(base, archived.lastSeq, `the archive record for seq ${archived.firstSeq}-${archived.lastSeq} has an invalid signature: it was forged or edited (records may have been deleted under its cover)`);
  }
  const start = archived && (fromCheckpoint === undefined || fromCheckpoint < archived.checkpoint) ? archived.checkpoint : fromCheckpoint;
  const from = checkpoints.find((cp) => cp.n === start);
  if (archived && start === archived.checkpoint && from && (from.lastHash !== archived.lastHash || from.lastSeq !== archived.lastSeq)) {
    return failed(base, archived.lastSeq, `checkpoint #${from.n} differs from the archive's closing checkpoint (seq ${archived.lastSeq}): the checkpoints were rewritten`);
  }
  const result = await verifyAuditChain(streamRecords(models, from?.lastSeq ?? 0), checkpoints, signingKey, {
    ...(start === undefined ? {} : { fromCheckpoint: start }),
    ...(anchors ? { anchors } : {}),
  });
  if (!archived) return result;
  const { firstSeq, lastSeq, checkpoint, bundleSha256, state } = archived;
  return { ...result, archive: { firstSeq, lastSeq, checkpoint, bundleSha256, state } };
}
