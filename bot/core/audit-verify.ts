// The audit chain verifier, pure: walks records in seq order (streamed, constant memory) against the
// signed checkpoints and reports the FIRST bad seq and what is wrong with it:
//   edited     → the record's content no longer gives its hash;
//   forged     → hash consistent but its MAC is not one the worker made (needs the signing key);
//   deleted    → a seq is missing;
//   inserted / reordered → a record's prevHash does not link to the record before it, or a seq repeats;
//   truncated  → the chain ends before the last seq a signed checkpoint vouches for.
// After an archive (README: Retention and archive) the records up to a signed checkpoint are gone; the
// walk then starts from that checkpoint, which the operator names explicitly (`fromCheckpoint`): starting
// wherever the oldest remaining record happens to be would make deleting old records undetectable.
import { checkpointAnchorProblem } from './audit-anchors.ts';
import {
  GENESIS_HASH, chainHash, checkpointSignature, recordMac, sameHex, type AuditCheckpoint,
} from './audit-event.ts';

export interface VerifyProblem { seq: number; problem: string }

export interface VerifyResult {
  ok: boolean;
  events: number;
  checkpoints: number;
  latestCheckpoint?: { n: number; lastSeq: number; sig: string };
  /** The checkpoint the walk started from (records up to its lastSeq were archived). */
  from?: { n: number; lastSeq: number; sig: string };
  problem?: VerifyProblem;
}

export interface VerifyOptions {
  /** Start after this checkpoint's lastSeq: records (and checkpoints) before it were archived. */
  fromCheckpoint?: number;
  /** Signed checkpoints kept outside the database (audit-anchors.ts): the chain must agree with each. */
  anchors?: readonly AuditCheckpoint[];
}

/** Where the walk starts: seq 1 from genesis, or the record after an archived checkpoint. */
interface Anchor { n: number; seq: number; hash: string; sig: string }
const GENESIS: Anchor = { n: 0, seq: 0, hash: GENESIS_HASH, sig: GENESIS_HASH };

/**
 * Checks the checkpoints' own chain from the anchor on: signatures, gapless numbering, links, monotonic
 * coverage. Checkpoints before the anchor were archived with their records and are not required.
 */
function checkCheckpoints(all: AuditCheckpoint[], signingKey: Buffer, anchor: Anchor): VerifyProblem | null {
  const cps = all.filter((cp) => cp.n > anchor.n);
  let prevSig = anchor.sig;
  let prevSeq = anchor.seq;
  for (const [i, cp] of cps.entries()) {
    const at = { seq: cp.lastSeq };
    const expectedN = anchor.n + i + 1;
    if (cp.n !== expectedN) return { ...at, problem: `checkpoint #${expectedN} is missing (found #${cp.n} next): checkpoints were deleted` };
    if (!sameHex(cp.sig, checkpointSignature(signingKey, cp))) return { ...at, problem: `checkpoint #${cp.n} has an invalid signature: it was edited or forged` };
    if (cp.prevSig !== prevSig) return { ...at, problem: `checkpoint #${cp.n} does not link to checkpoint #${cp.n - 1}` };
    if (cp.lastSeq < prevSeq || cp.count !== cp.lastSeq) return { ...at, problem: `checkpoint #${cp.n} covers less than the one before it` };
    prevSig = cp.sig;
    prevSeq = cp.lastSeq;
  }
  return null;
}

/** Checks one record against the expected position; returns what is wrong, or null. */
function checkRecord(rec: Record<string, unknown>, expectedSeq: number, prevHash: string, signingKey: Buffer): VerifyProblem | null {
  const seq = Number(rec.seq);
  if (seq > expectedSeq) return { seq: expectedSeq, problem: `seq ${expectedSeq} is missing (the next record is seq ${seq}): a record was deleted` };
  if (seq < expectedSeq) return { seq, problem: `seq ${seq} appears more than once: a record was inserted` };
  if (rec.prevHash !== prevHash) {
    return { seq, problem: `prevHash does not match the hash of seq ${seq - 1}: records were inserted, deleted or reordered here` };
  }
  const hash = chainHash(rec);
  if (!sameHex(rec.hash, hash)) return { seq, problem: 'its content does not match its hash: the record was edited' };
  if (!sameHex(rec.mac, recordMac(signingKey, hash))) return { seq, problem: 'its MAC is invalid: the record was not written by the audit worker (forged or inserted)' };
  // Queries find records "by actor" through the top-level copy: it must say what the record says.
  if ('actorId' in rec && rec.actorId !== ((rec.actor as { employeeId?: unknown } | undefined)?.employeeId ?? null)) {
    return { seq, problem: 'its actorId differs from actor.employeeId: "by actor" queries would misreport it' };
  }
  return null;
}

/** The named checkpoint as a starting point, or why it cannot be one. */
function anchorOf(checkpoints: AuditCheckpoint[], n: number | undefined, signingKey: Buffer): Anchor | VerifyProblem {
  if (n === undefined) return GENESIS;
  const cp = checkpoints.find((c) => c.n === n);
  if (!cp) return { seq: 0, problem: `checkpoint #${n} does not exist: nothing to start from` };
  if (!sameHex(cp.sig, checkpointSignature(signingKey, cp))) return { seq: cp.lastSeq, problem: `checkpoint #${n} has an invalid signature: it was edited or forged` };
  return { n: cp.n, seq: cp.lastSeq, hash: cp.lastHash, sig: cp.sig };
}

/** The operator's next step when the chain starts after seq 1 where a signed checkpoint ends. */
function archiveHint(checkpoints: AuditCheckpoint[], firstSeq: number): string {
  const cp = checkpoints.find((c) => c.lastSeq === firstSeq - 1);
  return cp ? `; if seq 1-${cp.lastSeq} were archived, verify with --from-checkpoint ${cp.n}` : '';
}

export async function verifyAuditChain(
  records: AsyncIterable<Record<string, unknown>>,
  checkpoints: AuditCheckpoint[],
  signingKey: Buffer,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const latest = checkpoints.at(-1);
  const base: VerifyResult = {
    ok: false, events: 0, checkpoints: checkpoints.length,
    ...(latest ? { latestCheckpoint: { n: latest.n, lastSeq: latest.lastSeq, sig: latest.sig } } : {}),
  };
  const anchor = anchorOf(checkpoints, opts.fromCheckpoint, signingKey);
  if ('problem' in anchor) return { ...base, problem: anchor };
  if (anchor.n > 0) base.from = { n: anchor.n, lastSeq: anchor.seq, sig: anchor.sig };
  // Checkpoints by the seq they vouch for, so the walk can compare as it passes each one.
  const bySeq = new Map<number, AuditCheckpoint[]>();
  for (const cp of checkpoints) bySeq.set(cp.lastSeq, [...(bySeq.get(cp.lastSeq) ?? []), cp]);
  const anchors = opts.anchors ?? [];
  const anchorsBySeq = new Map<number, AuditCheckpoint[]>();
  for (const a of anchors) anchorsBySeq.set(a.lastSeq, [...(anchorsBySeq.get(a.lastSeq) ?? []), a]);

  let expectedSeq = anchor.seq + 1;
  let prevHash = anchor.hash;
  let firstProblem: VerifyProblem | null = null;
  for await (const rec of records) {
    if (Number(rec.seq) <= anchor.seq) continue; // archived; a copy may still be here until it is deleted
    const problem = checkRecord(rec, expectedSeq, prevHash, signingKey);
    if (problem && anchor.n === 0 && expectedSeq === 1) problem.problem += archiveHint(checkpoints, Number(rec.seq));
    if (problem) { firstProblem = problem; break; }
    for (const cp of bySeq.get(expectedSeq) ?? []) {
      if (cp.lastHash !== rec.hash) {
        firstProblem = { seq: expectedSeq, problem: `hash differs from the one signed in checkpoint #${cp.n}: the chain was rewritten` };
        break;
      }
    }
    for (const a of anchorsBySeq.get(expectedSeq) ?? []) {
      if (firstProblem) break;
      if (a.lastHash !== rec.hash) {
        firstProblem = { seq: expectedSeq, problem: `hash differs from the one in anchored checkpoint #${a.n} (kept outside the database): the chain was rewritten` };
      }
    }
    if (firstProblem) break;
    base.events++;
    prevHash = String(rec.hash);
    expectedSeq++;
  }
  if (!firstProblem) firstProblem = checkCheckpoints(checkpoints, signingKey, anchor);
  if (!firstProblem) firstProblem = checkpointAnchorProblem(checkpoints, anchors);
  const anchored = anchors.reduce((max, a) => Math.max(max, a.lastSeq), 0);
  const lastWalked = expectedSeq - 1;
  if (!firstProblem && anchored > lastWalked) {
    firstProblem = { seq: lastWalked + 1, problem: `the chain ends at seq ${lastWalked} but anchored checkpoint covers seq ${anchored}: records were deleted from the end (truncated)` };
  }
  const vouched = checkpoints.reduce((max, cp) => Math.max(max, cp.lastSeq), 0);
  const lastSeq = expectedSeq - 1;
  if (!firstProblem && vouched > lastSeq) {
    firstProblem = {
      seq: lastSeq + 1,
      problem: `the chain ends at seq ${lastSeq} but signed checkpoint #${latest?.n} covers seq ${vouched}: records were deleted from the end (truncated)`,
    };
  }
  if (firstProblem) return { ...base, problem: firstProblem };
  return { ...base, ok: true };
}
