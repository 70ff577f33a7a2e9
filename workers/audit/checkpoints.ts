// Signed checkpoints: "the chain had `count` records ending at `lastSeq` with `lastHash`", HMAC-signed
// under CUSTOS_AUDIT_SIGNING_KEY and chained to the previous checkpoint's signature. Deleting records
// from the end of the chain leaves every remaining link valid; only a checkpoint that vouches for a
// longer chain reveals it. Checkpoint numbers are unique, so two writers cannot fork this chain either.
import { GENESIS_HASH, checkpointSignature, type AuditCheckpoint } from '../../bot/core/audit-event.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { AuditModels } from '../../bot/store/audit-model.ts';
import { insertCheckpoint, latestCheckpoint, readTail } from '../../bot/store/audit-store.ts';

/**
 * Writes the next checkpoint. `knownTail` is the last record this writer itself stored (so it is in the
 * database): using it avoids a tail query, which some servers answer with a full collection scan. With
 * `onlyIfAdvanced`, nothing is written when the latest checkpoint already covers the tail. A checkpoint
 * never covers less than the one before it (a rival writer may have moved on): then nothing is written.
 */
export async function writeCheckpoint(
  models: AuditModels, signingKey: Buffer, clock: Clock,
  opts: { onlyIfAdvanced: boolean; knownTail?: { seq: number; hash: string } | null },
): Promise<AuditCheckpoint | null> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const latest = await latestCheckpoint(models);
    const tail = opts.knownTail !== undefined ? opts.knownTail : await readTail(models);
    const lastSeq = tail?.seq ?? 0;
    if (latest && latest.lastSeq > lastSeq) return null;
    if (opts.onlyIfAdvanced && latest && latest.lastSeq >= lastSeq) return null;
    const unsigned = {
      n: (latest?.n ?? 0) + 1,
      lastSeq,
      lastHash: tail?.hash ?? GENESIS_HASH,
      count: lastSeq, // the chain is gapless from seq 1, so the count is the last seq
      prevSig: latest?.sig ?? GENESIS_HASH,
      createdAt: clock.now(),
    };
    const cp = { ...unsigned, sig: checkpointSignature(signingKey, unsigned) };
    if (await insertCheckpoint(models, cp)) return cp;
  }
  throw new Error('audit checkpoints: could not write after 10 attempts');
}
