// What leaves custos on the audit stream, pure. An event record goes out exactly as stored (minus the
// database's `_id`, dates as ISO strings): its canonical JSON, and so its hash, is the same on the
// receiving side, which can therefore check the chain alone (`verifyReceivedChain`, no key needed).
// Checkpoints go out as their signed form, so a receiver holds an anchor outside custos's database.
// Records hold no personal data (the audit schema refuses it), so they can leave as they are.
import { GENESIS_HASH, chainHash, type AuditCheckpoint } from './audit-event.ts';

export type StreamRecord = Record<string, unknown> & { seq: number; eventId: string; prevHash: string; hash: string };

/** A signed checkpoint on the wire; `seq`/`hash` are its number and signature (its own chain's position). */
export type StreamCheckpoint = Omit<AuditCheckpoint, 'createdAt'> & { createdAt: string; seq: number; hash: string };

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v);
    return out;
  }
  return value;
}

/** A stored record as it is sent: without `_id`, dates as ISO strings (hashes the same). */
export function streamRecordOf(doc: Record<string, unknown>): StreamRecord {
  const { _id, ...rest } = doc;
  return plain(rest) as StreamRecord;
}

export function streamCheckpointOf(doc: Record<string, unknown>): StreamCheckpoint {
  const { _id, ...rest } = doc;
  const cp = plain(rest) as Omit<StreamCheckpoint, 'seq' | 'hash'>;
  return { ...cp, seq: cp.n, hash: cp.sig };
}

/** The checkpoint as it was signed (without the wire-only `seq` / `hash`). */
export function signedCheckpointOf(wire: StreamCheckpoint): AuditCheckpoint {
  const { seq: _s, hash: _h, ...cp } = wire;
  return { ...cp, createdAt: new Date(cp.createdAt) };
}

export interface ReceivedChainResult { ok: boolean; events: number; problem?: { seq: number; problem: string } }

/**
 * What a SIEM can check on its own copy: de-duplicated by seq (a redelivery must be identical), gapless
 * from `fromSeq`, each record's hash its content's and linked to the one before.
 */
export function verifyReceivedChain(received: readonly StreamRecord[], fromSeq = 1, fromHash = GENESIS_HASH): ReceivedChainResult {
  const bySeq = new Map<number, StreamRecord>();
  for (const r of received) {
    const seen = bySeq.get(r.seq);
    if (seen && seen.hash !== r.hash) return { ok: false, events: 0, problem: { seq: r.seq, problem: 'two different records were received for this seq' } };
    bySeq.set(r.seq, r);
  }
  let prevHash = fromHash;
  let seq = fromSeq;
  for (; bySeq.has(seq); seq++) {
    const r = bySeq.get(seq)!;
    if (r.prevHash !== prevHash) return { ok: false, events: seq - fromSeq, problem: { seq, problem: 'prevHash does not link to the record before' } };
    if (chainHash(r) !== r.hash) return { ok: false, events: seq - fromSeq, problem: { seq, problem: 'content does not match its hash' } };
    prevHash = r.hash;
  }
  if (bySeq.size !== seq - fromSeq) return { ok: false, events: seq - fromSeq, problem: { seq, problem: `seq ${seq} is missing` } };
  return { ok: true, events: seq - fromSeq };
}
