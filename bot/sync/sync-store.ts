// What the sync framework keeps in MongoDB besides the customers themselves (which go through
// CustomerStore, the import path):
//   sync_cursors     one document per cursor move, unique (source, version): advancing is a unique
//                    insert, so of two runs racing from the same version exactly one wins (FerretDB does
//                    not apply conditional updates atomically; see grant-store.ts) and the loser stops.
//   sync_links       source record id → custos customer id (deletions arrive with the source id only).
//   sync_tombstones  a customer deleted by its source: id and time only, no personal data.
//   sync_deliveries  webhook delivery ids and push batch ids already handled (unique): duplicates are no-ops.
//   sync_status      per source: last run, last error code, counts (for `custos sync status`).
import type { Collection, Connection } from 'mongoose';
import { duplicateKeyIndexes, UPDATE_CHUNK } from '../store/customer-store.ts';

export interface CursorState { cursor: string | null; version: number; at: Date | null }
export interface SyncCounts { upserted: number; unchanged: number; deleted: number; rejected: number }
export interface SourceStatus {
  source: string; cursor: string | null; version: number; lastRunAt: Date | null; lastSuccessAt: Date | null;
  lastError: string | null; counts: SyncCounts;
}

const isDuplicate = (err: unknown) => (err as { code?: unknown }).code === 11000;

export const SYNC_STATUS_COLLECTION = 'sync_status';

export class SyncStore {
  private readonly cursors: Collection;
  private readonly links: Collection;
  private readonly tombstones: Collection;
  private readonly deliveries: Collection;
  private readonly status: Collection;

  constructor(conn: Connection) {
    this.cursors = conn.collection('sync_cursors');
    this.links = conn.collection('sync_links');
    this.tombstones = conn.collection('sync_tombstones');
    this.deliveries = conn.collection('sync_deliveries');
    this.status = conn.collection(SYNC_STATUS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.cursors.createIndex({ source: 1, version: 1 }, { unique: true });
    await this.links.createIndex({ source: 1, customerId: 1 });
    await this.links.createIndex({ customerId: 1 });
  }

  async cursor(source: string): Promise<CursorState> {
    const [doc] = await this.cursors.find({ source }).sort({ version: -1 }).limit(1).toArray();
    return doc ? { cursor: (doc.cursor as string | null) ?? null, version: Number(doc.version), at: doc.at as Date } : { cursor: null, version: 0, at: null };
  }

  /** Compare-and-swap: moves the cursor from `fromVersion` to `cursor`; false when another run moved it first. */
  async advance(source: string, fromVersion: number, cursor: string | null, at: Date): Promise<boolean> {
    try {
      await this.cursors.insertOne({ _id: `${source}:${fromVersion + 1}` as never, source, version: fromVersion + 1, cursor, at });
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  /**
   * Links source ids to customers: one unordered insertMany, then a replace only for the links that
   * existed already (a re-read page, a record whose customer number changed). A backfill costs one
   * statement per page instead of one upsert per record (FerretDB runs a bulk of upserts one by one,
   * and cannot push `$in` down, so reading the existing links first would scan them every page).
   */
  async link(source: string, pairs: { sourceId: string; customerId: string }[]): Promise<void> {
    if (pairs.length === 0) return;
    const doc = (p: { sourceId: string; customerId: string }) => ({ _id: `${source}:${p.sourceId}` as never, source, sourceId: p.sourceId, customerId: p.customerId });
    let existing: typeof pairs = [];
    try {
      await this.links.insertMany(pairs.map(doc), { ordered: false });
    } catch (err) {
      const duplicates = duplicateKeyIndexes(err);
      if (!duplicates) throw err;
      existing = duplicates.map((i) => pairs[i]!);
    }
    // Only links that now point elsewhere are rewritten, each read and written by `_id` alone: FerretDB
    // scans the whole collection per statement for any other filter (see CustomerStore.replaceIfChanged).
    // In UPDATE_CHUNK-sized commands: a larger one can hang FerretDB (see UPDATE_CHUNK).
    const moved: typeof pairs = [];
    for (const p of existing) {
      const stored = await this.links.findOne({ _id: `${source}:${p.sourceId}` as never }, { projection: { customerId: 1 } });
      if (stored?.customerId !== p.customerId) moved.push(p);
    }
    for (let i = 0; i < moved.length; i += UPDATE_CHUNK) {
      await this.links.bulkWrite(moved.slice(i, i + UPDATE_CHUNK).map((p) => ({
        replaceOne: { filter: { _id: `${source}:${p.sourceId}` as never }, replacement: { source, sourceId: p.sourceId, customerId: p.customerId } },
      })), { ordered: false });
    }
  }

  async customerOf(source: string, sourceId: string): Promise<string | null> {
    const doc = await this.links.findOne({ _id: `${source}:${sourceId}` as never });
    return doc ? String(doc.customerId) : null;
  }

  /** Every (sourceId, customerId) this source has linked, for reconciliation. */
  async linkedIds(source: string): Promise<{ sourceId: string; customerId: string }[]> {
    const docs = await this.links.find({ source }, { projection: { sourceId: 1, customerId: 1 } }).toArray();
    return docs.map((d) => ({ sourceId: String(d.sourceId), customerId: String(d.customerId) }));
  }

  async unlink(source: string, sourceId: string): Promise<void> {
    await this.links.deleteOne({ _id: `${source}:${sourceId}` as never });
  }

  async tombstone(customerId: string, at: Date): Promise<void> {
    await this.tombstones.replaceOne({ _id: customerId as never }, { customerId, deletedAt: at }, { upsert: true });
  }

  async clearTombstones(customerIds: string[]): Promise<void> {
    if (customerIds.length) await this.tombstones.deleteMany({ _id: { $in: customerIds as never[] } });
  }

  async tombstoned(customerId: string): Promise<{ customerId: string; deletedAt: Date } | null> {
    const doc = await this.tombstones.findOne({ _id: customerId as never });
    return doc ? { customerId: String(doc.customerId), deletedAt: doc.deletedAt as Date } : null;
  }

  /** Claims a delivery / batch id once; false when it was already claimed (a duplicate). */
  async claimDelivery(source: string, id: string, at: Date, result?: unknown): Promise<boolean> {
    try {
      await this.deliveries.insertOne({ _id: `${source}:${id}` as never, at, ...(result === undefined ? {} : { result }) });
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  async deliveryResult(source: string, id: string): Promise<unknown> {
    const doc = await this.deliveries.findOne({ _id: `${source}:${id}` as never });
    return doc?.result;
  }

  /**
   * Takes over a claim still without a result that was made before `staleBefore`: its holder died (or
   * stalled) mid-apply, and without this every retry of the batch would be told "being applied" forever.
   * One taker wins: a unique insert keyed by the stale claim's time (FerretDB does not apply conditional
   * updates atomically), then the claim's time moves to `at`.
   */
  async takeOverStaleDelivery(source: string, id: string, staleBefore: Date, at: Date): Promise<boolean> {
    const doc = await this.deliveries.findOne({ _id: `${source}:${id}` as never });
    if (!doc || doc.result !== undefined || !((doc.at as Date) < staleBefore)) return false;
    if (!(await this.claimDelivery(source, `${id}:takeover:${(doc.at as Date).getTime()}`, at))) return false;
    await this.deliveries.updateOne({ _id: `${source}:${id}` as never }, { $set: { at } });
    return true;
  }

  /** Gives a claimed id back (its apply failed), so the sender's retry applies it. */
  async releaseDelivery(source: string, id: string): Promise<void> {
    await this.deliveries.deleteOne({ _id: `${source}:${id}` as never });
  }

  async setDeliveryResult(source: string, id: string, result: unknown): Promise<void> {
    await this.deliveries.updateOne({ _id: `${source}:${id}` as never }, { $set: { result } });
  }

  async recordRun(source: string, at: Date, counts: SyncCounts, error: string | null, label?: string): Promise<void> {
    await this.status.updateOne({ _id: source as never }, {
      $set: { source, lastRunAt: at, lastError: error, ...(error ? {} : { lastSuccessAt: at }), ...(label ? { label } : {}) },
      $inc: { errors: error ? 1 : 0, 'counts.upserted': counts.upserted, 'counts.unchanged': counts.unchanged, 'counts.deleted': counts.deleted, 'counts.rejected': counts.rejected },
    }, { upsert: true });
  }

  /**
   * How fresh a synced customer's data is: the source that linked it (by its card label) and that
   * source's last good run — every change up to then was applied. The time is per source (sync_status),
   * not per customer, so a run that changes nothing writes no customer row (upsertMany skips unchanged
   * rows); the source per customer is its sync link. Null for a customer no source linked (imported).
   */
  /** The source that last synced a customer, or null for an imported one. */
  async sourceOfCustomer(customerId: string): Promise<string | null> {
    const link = await this.links.findOne({ customerId }, { projection: { source: 1 } });
    return link ? String(link.source) : null;
  }

  /** Each source's name on cards (its label, else its own name) and its last good run, for sources that had one. */
  async lastSuccesses(): Promise<Map<string, { source: string; at: Date }>> {
    const out = new Map<string, { source: string; at: Date }>();
    for (const doc of await this.status.find({ lastSuccessAt: { $exists: true } }).toArray()) {
      const at = doc.lastSuccessAt as Date | null;
      if (at) out.set(String(doc._id), { source: (doc.label as string | undefined) ?? String(doc._id), at });
    }
    return out;
  }

  async statusOf(source: string): Promise<SourceStatus> {
    const c = await this.cursor(source);
    const doc = await this.status.findOne({ _id: source as never });
    const counts = (doc?.counts ?? {}) as Partial<SyncCounts>;
    return {
      source, cursor: c.cursor, version: c.version,
      lastRunAt: (doc?.lastRunAt as Date | undefined) ?? null, lastSuccessAt: (doc?.lastSuccessAt as Date | undefined) ?? null,
      lastError: (doc?.lastError as string | null | undefined) ?? null,
      counts: { upserted: counts.upserted ?? 0, unchanged: counts.unchanged ?? 0, deleted: counts.deleted ?? 0, rejected: counts.rejected ?? 0 },
    };
  }

  async sources(): Promise<string[]> {
    return (await this.status.distinct('_id')).map(String);
  }
}
