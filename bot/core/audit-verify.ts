// The audit chain verifier, pure: walks records in seq order (streamed, constant memory) against the
// signed checkpoints and reports the FIRST bad seq and what is wrong with it:
//   edited     → the record's content no longer gives its hash;
//   forged     → hash consistent but its MAC is not one the worker made (needs the signing key);
//   deleted    → a seq is missing;
//   inserted / reordered → a record's prevHash does not link to the record before it, or a seq repeats;
//   truncated  → the chain ends before the last seq a signed checkpoint vouches for.
import {
  GENESIS_HASH, chainHash, checkpointSignature, recordMac, sameHex, type AuditCheckpoint,
} from './audit-event.ts';

export interface VerifyProblem { seq: number; problem: string }

export interface VerifyResult {
  ok: boolean;
  events: number;
  checkpoints: number;
  latestCheckpoint?: { n: number; lastSeq: number; sig: string };
  problem?: VerifyProblem;
}

/** Checks the checkpoints' own chain: signatures, gapless numbering, links, monotonic coverage. */
function checkCheckpoints(cps: AuditCheckpoint[], signingKey: Buffer): VerifyProblem | null {
  let prevSig = GENESIS_HASH;
  let prevSeq = 0;
  for (const [i, cp] of cps.entries()) {
    const at = { seq: cp.lastSeq };
    if (cp.n !== i + 1) return { ...at, problem: `checkpoint #${i + 1} is missing (found #${cp.n} next): checkpoints were deleted` };
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
  return null;
}

export async function verifyAuditChain(
  records: AsyncIterable<Record<string, unknown>>,
  checkpoints: AuditCheckpoint[],
  signingKey: Buffer,
): Promise<VerifyResult> {
  const latest = checkpoints.at(-1);
  const base: VerifyResult = {
    ok: false, events: 0, checkpoints: checkpoints.length,
    ...(latest ? { latestCheckpoint: { n: latest.n, lastSeq: latest.lastSeq, sig: latest.sig } } : {}),
  };
  // Checkpoints by the seq they vouch for, so the walk can compare as it passes each one.
  const bySeq = new Map<number, AuditCheckpoint[]>();
  for (const cp of checkpoints) bySeq.set(cp.lastSeq, [...(bySeq.get(cp.lastSeq) ?? []), cp]);

  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let firstProblem: VerifyProblem | null = null;
  for await (const rec of records) {
    const problem = checkRecord(rec, expectedSeq, prevHash, signingKey);
    if (problem) { firstProblem = problem; break; }
    for (const cp of bySeq.get(expectedSeq) ?? []) {
      if (cp.lastHash !== rec.hash) {
        firstProblem = { seq: expectedSeq, problem: `hash differs from the one signed in checkpoint #${cp.n}: the chain was rewritten` };
        break;
      }
    }
    if (firstProblem) break;
    base.events++;
    prevHash = String(rec.hash);
    expectedSeq++;
  }
  if (!firstProblem) firstProblem = checkCheckpoints(checkpoints, signingKey);
  const vouched = checkpoints.reduce((max, cp) => Math.max(max, cp.lastSeq), 0);
  if (!firstProblem && vouched > base.events) {
    firstProblem = {
      seq: base.events + 1,
      problem: `the chain ends at seq ${base.events} but signed checkpoint #${latest?.n} covers seq ${vouched}: records were deleted from the end (truncated)`,
    };
  }
  if (firstProblem) return { ...base, problem: firstProblem };
  return { ...base, ok: true };
}
