// Reads and writes of the audit chain and its checkpoints, on the raw driver collections (see
// audit-model.ts for why). Every function is one small query; the chain logic lives in workers/audit.
import type { AuditCheckpoint, StoredAuditRecord } from '../core/audit-event.ts';
import type { AuditModels } from './audit-model.ts';

const DUPLICATE_KEY = 11000;

/** The last record of the chain (highest seq), or null when the chain is empty. */
export async function readTail(models: AuditModels): Promise<{ seq: number; hash: string; hasActorId: boolean } | null> {
  const doc = await models.events.collection.find({}, { projection: { seq: 1, hash: 1, actorId: 1 } }).sort({ seq: -1 }).limit(1).next();
  return doc ? { seq: Number(doc.seq), hash: String(doc.hash), hasActorId: 'actorId' in doc } : null;
}

/** Which of `eventIds` are already in the chain (a redelivered job, or a write whose ack was lost). */
export async function storedEventIds(models: AuditModels, eventIds: string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const docs = await models.events.collection.find({ eventId: { $in: eventIds } }, { projection: { eventId: 1 } }).toArray();
  return new Set(docs.map((d) => String(d.eventId)));
}

/**
 * Inserts consecutive records in order; an ordered insert stops at the first failure, so whatever was
 * stored is a gapless prefix. Returns null on success or the error; the caller re-reads the tail either
 * way rather than trusting counts (a failed batch may have been partly stored).
 */
export async function appendRecords(models: AuditModels, records: StoredAuditRecord[]): Promise<unknown> {
  try {
    // Copies: the driver adds `_id` to the objects it is given.
    await models.events.collection.insertMany(records.map((r) => ({ ...r })), { ordered: true });
    return null;
  } catch (err) {
    return err;
  }
}

export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: unknown; writeErrors?: { code?: unknown }[] | { code?: unknown } } | null;
  if (!e) return false;
  if (e.code === DUPLICATE_KEY) return true;
  const we = e.writeErrors;
  if (Array.isArray(we)) return we.some((w) => w.code === DUPLICATE_KEY);
  return we?.code === DUPLICATE_KEY;
}

/** Every record after `afterSeq` in seq order, streamed (a cursor, not an array): verify walks millions this way. */
export function streamRecords(models: AuditModels, afterSeq = 0): AsyncIterable<Record<string, unknown>> {
  return models.events.collection.find(afterSeq > 0 ? { seq: { $gt: afterSeq } } : {}).sort({ seq: 1 }).batchSize(2000);
}

export async function latestCheckpoint(models: AuditModels): Promise<AuditCheckpoint | null> {
  const doc = await models.checkpoints.collection.find({}).sort({ n: -1 }).limit(1).next();
  return doc as unknown as AuditCheckpoint | null;
}

/** Inserts a checkpoint; false when checkpoint `n` exists already (another writer got there first). */
export async function insertCheckpoint(models: AuditModels, cp: AuditCheckpoint): Promise<boolean> {
  try {
    await models.checkpoints.collection.insertOne({ ...cp });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export async function allCheckpoints(models: AuditModels): Promise<AuditCheckpoint[]> {
  return (await models.checkpoints.collection.find({}).sort({ n: 1 }).toArray()) as unknown as AuditCheckpoint[];
}
