// Anchored checkpoints, pure: the signed checkpoints as they are kept OUTSIDE the database (an
// append-only file, an HTTP endpoint, each SIEM sink), one canonical JSON line each, and the checks
// `custos audit verify --anchors FILE` adds. Someone who can rewrite the database and holds the signing
// key can rewrite records AND re-sign the database's own checkpoints; the verifier then finds nothing
// wrong inside the database. The anchors were written before the rewrite and are out of reach, so a
// record whose hash differs from an anchored checkpoint's, a checkpoint that differs from its anchored
// copy, or a chain shorter than an anchor vouches for, is caught.
import { canonicalJSON, checkpointSignature, sameHex, type AuditCheckpoint } from './audit-event.ts';
import { CustosError, ErrorCode } from './errors.ts';
import type { VerifyProblem } from './audit-verify.ts';

type CheckpointLike = Omit<AuditCheckpoint, 'createdAt'> & { createdAt: Date | string };

const FIELDS = ['n', 'lastSeq', 'lastHash', 'count', 'prevSig', 'createdAt', 'sig'] as const;

/** One anchor line: the signed checkpoint's fields only, canonical JSON, dates as ISO strings. */
export function anchorLine(cp: CheckpointLike): string {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = f === 'createdAt' ? new Date(cp.createdAt).toISOString() : cp[f];
  return canonicalJSON(out);
}

/**
 * Parses an anchor file (JSON lines; blank lines ignored). A line that is not a signed checkpoint stops
 * the check with its line number: an anchor file that cannot be read fully vouches for nothing.
 */
export function parseAnchors(text: string, signingKey: Buffer): AuditCheckpoint[] {
  const anchors: AuditCheckpoint[] = [];
  const problems: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    let v: Record<string, unknown>;
    try { v = JSON.parse(line) as Record<string, unknown>; } catch { problems.push(`line ${i + 1}: not JSON`); continue; }
    const shapeOk = Number.isInteger(v.n) && Number.isInteger(v.lastSeq) && Number.isInteger(v.count)
      && typeof v.lastHash === 'string' && typeof v.prevSig === 'string' && typeof v.sig === 'string'
      && typeof v.createdAt === 'string' && !Number.isNaN(Date.parse(v.createdAt));
    if (!shapeOk) { problems.push(`line ${i + 1}: not a signed checkpoint (n, lastSeq, lastHash, count, prevSig, createdAt, sig)`); continue; }
    const cp = { ...(v as unknown as AuditCheckpoint), createdAt: new Date(v.createdAt as string) };
    if (!sameHex(cp.sig, checkpointSignature(signingKey, cp))) { problems.push(`line ${i + 1}: checkpoint #${cp.n}'s signature does not verify under CUSTOS_AUDIT_SIGNING_KEY`); continue; }
    anchors.push(cp);
  }
  if (problems.length > 0) {
    throw new CustosError(ErrorCode.AuditAnchorsInvalid, `the anchor file cannot be used (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  }
  if (anchors.length === 0) throw new CustosError(ErrorCode.AuditAnchorsInvalid, 'the anchor file holds no checkpoints: nothing to check against', { problems: ['empty'] });
  return anchors;
}

/** The database's checkpoints against the anchored copies: each anchored one must be there, unchanged. */
export function checkpointAnchorProblem(dbCheckpoints: readonly AuditCheckpoint[], anchors: readonly AuditCheckpoint[]): VerifyProblem | null {
  const byN = new Map(dbCheckpoints.map((cp) => [cp.n, cp]));
  for (const a of anchors) {
    const cp = byN.get(a.n);
    if (!cp) continue; // archived or deleted: the records' hashes and the chain's length are still checked
    if (cp.sig !== a.sig || cp.lastHash !== a.lastHash || cp.lastSeq !== a.lastSeq) {
      return { seq: a.lastSeq, problem: `checkpoint #${a.n} in the database differs from its anchored copy: the checkpoints were rewritten (re-signed)` };
    }
  }
  return null;
}
