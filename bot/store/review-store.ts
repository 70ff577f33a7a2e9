// Access-review state in MongoDB (FerretDB 1.24 and MongoDB >= 6), in the manner of request-store.ts:
// every one-time step is a unique insert, because FerretDB does not apply conditional updates atomically.
//   review_cycles  unique cycleId   — a cycle opens once, however often the schedule fires
//   review_items   unique reviewId  — one review per grant and cycle (whoever inserts it posts the card)
//   review_claims  unique key       — each decision, follow-up, escalation and closing happens once;
//                                     a decision claim carries the decision and is its source of truth
// The item's `decision` is a copy written by the winner; readers merge the claim in, so an interrupted
// copy never makes an answered review look unanswered.
import type { Collection, Connection } from 'mongoose';
import type { DecisionRecord, ReviewCardRef, ReviewCycle, ReviewItem, ReviewStore } from '../core/reviews/types.ts';

export const REVIEW_CYCLES = 'review_cycles';
export const REVIEW_ITEMS = 'review_items';
export const REVIEW_CLAIMS = 'review_claims';

type Doc = Record<string, unknown>;

const isDuplicate = (err: unknown) => (err as { code?: unknown }).code === 11000;
const decisionKey = (reviewId: string) => `decision:${reviewId}`;

/** Inserts `doc`; false when the unique index already holds its key. */
async function insertOnce(collection: Collection, doc: Doc): Promise<boolean> {
  try {
    await collection.insertOne(doc);
    return true;
  } catch (err) {
    if (isDuplicate(err)) return false;
    throw err;
  }
}

function strip<T>(doc: Doc | null): T | null {
  if (!doc) return null;
  const { _id: _ignored, ...rest } = doc;
  return rest as T;
}

function toDecision(doc: Doc): DecisionRecord {
  return { decision: doc.decision as DecisionRecord['decision'], by: doc.by as string, at: new Date(doc.at as Date) };
}

export class MongoReviewStore implements ReviewStore {
  private readonly cycles: Collection;
  private readonly itemRows: Collection;
  private readonly claims: Collection;

  constructor(conn: Connection) {
    this.cycles = conn.collection(REVIEW_CYCLES);
    this.itemRows = conn.collection(REVIEW_ITEMS);
    this.claims = conn.collection(REVIEW_CLAIMS);
  }

  async ensureIndexes(): Promise<void> {
    await this.cycles.createIndex({ cycleId: 1 }, { unique: true });
    await this.itemRows.createIndex({ reviewId: 1 }, { unique: true });
    await this.itemRows.createIndex({ cycleId: 1 });
    await this.claims.createIndex({ key: 1 }, { unique: true });
  }

  openCycle(cycle: ReviewCycle): Promise<boolean> {
    return insertOnce(this.cycles, { ...cycle });
  }

  async cycle(cycleId: string): Promise<ReviewCycle | null> {
    return strip<ReviewCycle>(await this.cycles.findOne({ cycleId }));
  }

  async openCycles(): Promise<ReviewCycle[]> {
    const docs = await this.cycles.find({ closedAt: { $exists: false } }).sort({ cycleId: 1 }).toArray();
    return docs.map((d) => strip<ReviewCycle>(d)!);
  }

  async closeCycle(cycleId: string, at: Date): Promise<void> {
    await this.cycles.updateOne({ cycleId }, { $set: { closedAt: at } });
  }

  addItem(item: ReviewItem): Promise<boolean> {
    return insertOnce(this.itemRows, { ...item });
  }

  async addCard(reviewId: string, card: ReviewCardRef): Promise<void> {
    await this.itemRows.updateOne({ reviewId }, { $push: { cards: { ...card } } } as Doc);
  }

  async item(reviewId: string): Promise<ReviewItem | null> {
    const item = strip<ReviewItem>(await this.itemRows.findOne({ reviewId }));
    return item ? (await this.withDecisions([item]))[0]! : null;
  }

  async items(cycleId: string): Promise<ReviewItem[]> {
    const docs = await this.itemRows.find({ cycleId }).sort({ reviewId: 1 }).toArray();
    return this.withDecisions(docs.map((d) => strip<ReviewItem>(d)!));
  }

  /** Merges decision claims into items whose copy is missing. */
  private async withDecisions(items: ReviewItem[]): Promise<ReviewItem[]> {
    const missing = items.filter((i) => !i.decision).map((i) => decisionKey(i.reviewId));
    if (missing.length === 0) return items;
    const claims = await this.claims.find({ key: { $in: missing } }).toArray();
    const byKey = new Map(claims.map((c) => [c.key as string, toDecision(c)]));
    return items.map((i) => {
      const decision = i.decision ?? byKey.get(decisionKey(i.reviewId));
      return decision ? { ...i, decision } : i;
    });
  }

  claim(key: string): Promise<boolean> {
    return insertOnce(this.claims, { key });
  }

  async claimed(key: string): Promise<boolean> {
    return (await this.claims.findOne({ key }, { projection: { _id: 1 } })) !== null;
  }

  async decide(reviewId: string, decision: DecisionRecord): Promise<{ won: boolean; decision: DecisionRecord }> {
    const key = decisionKey(reviewId);
    if (await insertOnce(this.claims, { key, ...decision })) {
      await this.itemRows.updateOne({ reviewId }, { $set: { decision } });
      return { won: true, decision };
    }
    const earlier = await this.claims.findOne({ key });
    return { won: false, decision: toDecision(earlier!) };
  }

  async setEscalated(reviewId: string, to: string): Promise<void> {
    await this.itemRows.updateOne({ reviewId }, { $set: { escalatedTo: to } });
  }
}
