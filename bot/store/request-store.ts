// Access requests in MongoDB (FerretDB 1.24 and MongoDB >= 6). All approval state lives here, so pending
// requests and active grants survive a restart; timers are re-derived from the stored dates.
//
// Transitions are unique inserts, not conditional updates: FerretDB does not apply
// `findOneAndUpdate({ status: 'pending' })` atomically under concurrency (grant-store.ts), while a unique
// index refuses the second insert on both servers. So:
//   request_decisions  unique requestId             — exactly one final outcome per request
//   request_votes      unique (requestId, approverId) — one vote per approver (quorum)
//   request_notices    unique key                   — each reminder / escalation / expiry notice once
//   request_asks       unique key                   — one pending request per (requester, what is asked):
//                                                     two identical submissions at the same instant make one
// The request document's `status` is a copy written by the winner; `get` merges the decision in, so a
// reader never sees "pending" after the decision exists.
import type { Collection, Connection } from 'mongoose';
import type { AccessRequest, CardRef, PartName, RequestDecision, RequestPart, RequestStore, Vote } from '../core/approvals/types.ts';

export const REQUEST_COLLECTION = 'access_requests';
export const DECISION_COLLECTION = 'request_decisions';
export const VOTE_COLLECTION = 'request_votes';
export const NOTICE_COLLECTION = 'request_notices';
export const ASK_COLLECTION = 'request_asks';

type Doc = Record<string, unknown>;

function isDuplicate(err: unknown): boolean {
  return (err as { code?: unknown }).code === 11000;
}

// FerretDB 1.24 refuses nested arrays, so approver tiers are stored as [{ ids: [...] }]. Each part's
// `tiersAsked` lives in `partTiersAsked.<part>`, a field of its own: escalations of two parts set two
// fields and cannot overwrite each other (there is no atomic update of one array element on FerretDB).
interface StoredPart { name: PartName; tiers: { ids: string[] }[]; quorum: number; maxDurationMinutes: number; ruleId: string }

function toRequest(doc: Doc): AccessRequest {
  const { _id: _ignored, parts, partTiersAsked, approverTiers, quorum, tiersAsked, ...rest } = doc;
  const asked = (partTiersAsked ?? {}) as Record<string, number>;
  const stored = parts as StoredPart[] | undefined;
  const request = rest as unknown as Omit<AccessRequest, 'parts'>;
  const decoded: RequestPart[] = stored
    ? stored.map((p) => ({ name: p.name, approverTiers: p.tiers.map((t) => t.ids), tiersAsked: asked[p.name] ?? 1, quorum: p.quorum, maxDurationMinutes: p.maxDurationMinutes, ruleId: p.ruleId }))
    // A request stored before requirements were kept per part: its combined requirement is one part.
    : [{
      name: 'request', approverTiers: ((approverTiers ?? []) as { ids: string[] }[]).map((t) => t.ids),
      tiersAsked: asked.request ?? Number(tiersAsked ?? 1), quorum: Number(quorum ?? 1),
      maxDurationMinutes: request.durationMinutes, ruleId: request.ruleIds?.[0] ?? 'request',
    }];
  return { ...request, parts: decoded };
}

function toDoc(r: AccessRequest): Doc {
  const { parts, ...rest } = r;
  return {
    ...rest,
    parts: parts.map((p): StoredPart => ({ name: p.name, tiers: p.approverTiers.map((ids) => ({ ids })), quorum: p.quorum, maxDurationMinutes: p.maxDurationMinutes, ruleId: p.ruleId })),
    partTiersAsked: Object.fromEntries(parts.map((p) => [p.name, p.tiersAsked])),
  };
}

function fromDecisionDoc(d: Doc): RequestDecision {
  return { requestId: String(d.requestId), outcome: d.outcome as RequestDecision['outcome'], by: d.by as string[], at: new Date(d.at as Date), ...(d.reason ? { reason: String(d.reason) } : {}) };
}

function withDecision(r: AccessRequest, d: RequestDecision | null): AccessRequest {
  if (!d) return r;
  return {
    ...r, status: d.outcome, decidedBy: d.by, decidedAt: d.at,
    ...(d.reason ? { denyReason: d.reason } : {}),
  };
}

export class MongoRequestStore implements RequestStore {
  private readonly requests: Collection;
  private readonly decisions: Collection;
  private readonly voteRows: Collection;
  private readonly notices: Collection;
  private readonly asks: Collection;

  constructor(conn: Connection) {
    this.requests = conn.collection(REQUEST_COLLECTION);
    this.decisions = conn.collection(DECISION_COLLECTION);
    this.voteRows = conn.collection(VOTE_COLLECTION);
    this.notices = conn.collection(NOTICE_COLLECTION);
    this.asks = conn.collection(ASK_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.requests.createIndex({ requestId: 1 }, { unique: true });
    await this.requests.createIndex({ status: 1, expiresAt: 1 });
    await this.requests.createIndex({ status: 1, decidedAt: 1 }); // the export sweep's approved-in-a-window query, every minute
    await this.requests.createIndex({ requesterId: 1, status: 1 });
    await this.decisions.createIndex({ requestId: 1 }, { unique: true });
    await this.voteRows.createIndex({ requestId: 1, approverId: 1 }, { unique: true });
    await this.notices.createIndex({ key: 1 }, { unique: true });
    await this.asks.createIndex({ key: 1 }, { unique: true });
  }

  async claimAsk(key: string, requestId: string, at: Date): Promise<{ requestId: string; at: Date } | null> {
    try {
      await this.asks.insertOne({ key, requestId, at });
      return null;
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      const held = await this.asks.findOne({ key });
      // Released between the insert and this read: report a holder that is gone, so the caller retries.
      return held ? { requestId: String(held.requestId), at: new Date(held.at as Date) } : { requestId: '', at: new Date(0) };
    }
  }

  async releaseAsk(key: string, requestId: string): Promise<void> {
    await this.asks.deleteOne({ key, requestId });
  }

  async create(request: AccessRequest): Promise<void> {
    await this.requests.insertOne(toDoc(request));
  }

  async get(requestId: string): Promise<AccessRequest | null> {
    const doc = await this.requests.findOne({ requestId });
    if (!doc) return null;
    return withDecision(toRequest(doc as Doc), await this.decisionOf(requestId));
  }

  private async decisionOf(requestId: string): Promise<RequestDecision | null> {
    const d = await this.decisions.findOne({ requestId });
    return d ? fromDecisionDoc(d as Doc) : null;
  }

  async addVote(requestId: string, approverId: string, at: Date): Promise<boolean> {
    try {
      await this.voteRows.insertOne({ requestId, approverId, at });
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  async votes(requestId: string): Promise<Vote[]> {
    const rows = await this.voteRows.find({ requestId }).sort({ at: 1 }).toArray();
    return rows.map((r) => ({ approverId: String(r.approverId), at: new Date(r.at as Date) }));
  }

  async decide(decision: RequestDecision): Promise<{ won: boolean; decision: RequestDecision }> {
    try {
      await this.decisions.insertOne({ ...decision } as Doc);
      return { won: true, decision };
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      const earlier = await this.decisionOf(decision.requestId);
      return { won: false, decision: earlier ?? decision };
    }
  }

  async update(requestId: string, patch: Parameters<RequestStore['update']>[1]): Promise<void> {
    await this.requests.updateOne({ requestId }, { $set: patch });
  }

  async askTiers(requestId: string, part: PartName, tiersAsked: number): Promise<void> {
    await this.requests.updateOne({ requestId }, { $set: { [`partTiersAsked.${part}`]: tiersAsked } });
  }

  async halfDecided(before: Date): Promise<{ request: AccessRequest; decision: RequestDecision }[]> {
    const docs = await this.requests.find({ status: 'pending' }).toArray();
    if (docs.length === 0) return [];
    const decided = await this.decisions.find({ requestId: { $in: docs.map((d) => String(d.requestId)) }, at: { $lte: before } }).toArray();
    const byId = new Map(docs.map((d) => [String(d.requestId), toRequest(d as Doc)]));
    return decided.map((d) => {
      const decision = fromDecisionDoc(d as Doc);
      return { request: withDecision(byId.get(decision.requestId)!, decision), decision };
    });
  }

  async addCard(requestId: string, card: CardRef): Promise<void> {
    await this.requests.updateOne({ requestId }, { $push: { cards: card } } as Doc);
  }

  async claimNotice(key: string, at: Date): Promise<boolean> {
    try {
      await this.notices.insertOne({ key, at });
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  async duePending(now: Date): Promise<AccessRequest[]> {
    const docs = await this.requests.find({ status: 'pending', $or: [{ remindAt: { $lte: now } }, { escalateAt: { $lte: now } }, { expiresAt: { $lte: now } }] }).toArray();
    const merged = await Promise.all(docs.map(async (d) => withDecision(toRequest(d as Doc), await this.decisionOf(String(d.requestId)))));
    return merged.filter((r) => r.status === 'pending');
  }

  async expiredGrants(now: Date): Promise<AccessRequest[]> {
    const docs = await this.requests.find({ status: 'approved', grantExpiresAt: { $lte: now } }).toArray();
    return docs.map((d) => toRequest(d as Doc));
  }

  async approvedExports(from: Date, to: Date): Promise<AccessRequest[]> {
    const docs = await this.requests.find({ status: 'approved', exportId: { $exists: true }, decidedAt: { $gte: from, $lte: to } }).toArray();
    return docs.map((d) => toRequest(d as Doc));
  }

  async pendingOf(requesterId: string): Promise<AccessRequest[]> {
    const docs = await this.requests.find({ requesterId, status: 'pending' }).toArray();
    return docs.map((d) => toRequest(d as Doc));
  }

  /** Pending requests naming `customerId` (a customer deleted by its CRM sync has its requests cancelled). */
  async pendingOnCustomer(customerId: string): Promise<AccessRequest[]> {
    const docs = await this.requests.find({ customerIds: customerId, status: 'pending' }).toArray();
    return docs.map((d) => toRequest(d as Doc));
  }
}
