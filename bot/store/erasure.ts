// Erasing one customer's personal data on request (PIPL Art. 47), while the audit log keeps its events
// (they hold ids, never values). Order matters, each step before the next:
//   1. `customer.erase` is recorded (no audit queue, nothing erased: fail closed);
//   2. the id is appended to the erasure list file, so a crash from here on, or a database restored from
//      a backup taken before, is erased again at the next start (applyErasureList);
//   3. a tombstone (id + time) is written and the customer document deleted: its wrapped data key, the
//      sealed values, blind indexes and search tokens go with it, so nothing can decrypt or find it;
//   4. pending requests naming the customer are cancelled and grants naming it revoked. With a chat
//      platform configured the approval service cancels them (every card copy, on every platform, then
//      says the customer's data was erased, and each cancel is audited as request.cancel by the winner of
//      the compare-and-swap); without one the request store alone does (RequestCanceller).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { section, type Config } from '../config.ts';
import type { AuditPlatform, AuditRecorder } from '../core/audit.ts';
import { CUSTOMER_ID_RE, looksLikePii, newEventId } from '../core/audit-event.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';
import { MongoGrantStore, grantModel } from './grant-store.ts';
import { CUSTOMER_COLLECTION } from './models.ts';
import { MongoRequestStore, REQUEST_COLLECTION } from './request-store.ts';

export const TOMBSTONE_COLLECTION = 'customer_tombstones';
const MAX_REASON = 200;
const APPLY_CHUNK = 500;

export interface EraseActor { employeeId: string | null; platform: AuditPlatform }
export interface EraseReport { customerId: string; erasedAt: Date; requestsCancelled: number; grantsRevoked: number }
export interface Tombstone {
  customerId: string;
  erasedAt: Date;
  /** The CRM records (`source:sourceId`, ids only) linked to the customer when it was erased (bot/sync). */
  sourceRecords: string[];
  /** Set when a source record re-created after the erasure brought the id back (the list skips it then). */
  recreatedAt?: Date;
}
/** Cancels the pending requests naming an erased customer; returns how many this call cancelled. */
export type RequestCanceller = (customerId: string, at: Date) => Promise<number>;

export interface EraserDeps { conn: Connection; recorder: AuditRecorder; clock: Clock; erasureList: string; cancelRequests?: RequestCanceller }

export class CustomerEraser {
  constructor(private readonly deps: EraserDeps) {}

  /** `cancelRequests` (this call only) overrides the deps' canceller: an approved chat request brings its own. */
  async erase(customerId: string, reason: string, actor: EraseActor, cancelRequests?: RequestCanceller): Promise<EraseReport> {
    const id = customerId.trim().toUpperCase();
    checkRequest(id, reason);
    const { conn } = this.deps;
    const existing = await conn.collection(CUSTOMER_COLLECTION).countDocuments({ _id: id as never });
    if (existing === 0) {
      const tomb = await tombstoneOf(conn, id);
      throw new CustosError(ErrorCode.ErasureInvalid, tomb
        ? `${id} was already erased at ${tomb.erasedAt.toISOString()}`
        : `there is no customer ${id}; check the id (custos customer erase C-000123 --reason REF)`, { customerId: id });
    }
    const now = this.deps.clock.now();
    await this.deps.recorder.record({
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(), actor, channelKind: 'none', action: 'customer.erase',
      customerIds: [id], fields: [], decision: 'allowed', ruleIds: [], purpose: reason.trim(),
    });
    appendToList(this.deps.erasureList, id);
    await tombstoneFor(conn, id, now);
    await conn.collection(CUSTOMER_COLLECTION).deleteOne({ _id: id as never });
    const cancel = cancelRequests ?? this.deps.cancelRequests ?? ((customer: string, at: Date) => storeCancelRequestsOn(conn, customer, at));
    const requestsCancelled = await cancel(id, now);
    const grantsRevoked = await revokeGrantsOn(conn, id, now);
    return { customerId: id, erasedAt: now, requestsCancelled, grantsRevoked };
  }
}

function checkRequest(id: string, reason: string): void {
  if (!CUSTOMER_ID_RE.test(id)) throw new CustosError(ErrorCode.ErasureInvalid, 'the customer id must look like C-000123', { field: 'customerId' });
  const why = reason.trim();
  if (why === '') throw new CustosError(ErrorCode.ErasureInvalid, '--reason is required: give the reference of the erasure request (e.g. DSR-2026-017)', { field: 'reason' });
  if (why.length > MAX_REASON) throw new CustosError(ErrorCode.ErasureInvalid, `--reason is at most ${MAX_REASON} characters: give a reference, not the request itself`, { field: 'reason' });
  const pii = looksLikePii(why);
  if (pii) throw new CustosError(ErrorCode.ErasureInvalid, `--reason looks like it holds personal data (${pii}); give a reference such as DSR-2026-017 instead`, { field: 'reason' });
}

const toTombstone = (d: Record<string, unknown>): Tombstone => ({
  customerId: String(d.customerId), erasedAt: new Date(d.erasedAt as Date),
  sourceRecords: Array.isArray(d.sourceRecords) ? d.sourceRecords.map(String) : [],
  ...(d.recreatedAt ? { recreatedAt: new Date(d.recreatedAt as Date) } : {}),
});

export async function tombstoneOf(conn: Connection, customerId: string): Promise<Tombstone | null> {
  const doc = await conn.collection(TOMBSTONE_COLLECTION).findOne({ _id: customerId as never });
  return doc && !doc.recreatedAt ? toTombstone(doc) : null;
}

/** Which of `ids` are erased (and not re-created since), with their tombstones. */
export async function erasedTombstones(conn: Connection, ids: readonly string[]): Promise<Map<string, Tombstone>> {
  if (ids.length === 0) return new Map();
  const docs = await conn.collection(TOMBSTONE_COLLECTION).find({ _id: { $in: ids as never[] }, recreatedAt: { $exists: false } }).toArray();
  return new Map(docs.map((d) => [String(d.customerId), toTombstone(d)]));
}

/** Which of `ids` are erased (and not re-created since), with their erasure time. */
export async function erasedAmong(conn: Connection, ids: readonly string[]): Promise<Map<string, Date>> {
  return new Map([...(await erasedTombstones(conn, ids))].map(([id, t]) => [id, t.erasedAt]));
}

/**
 * A source record re-created after the erasure carries the id again (bot/sync/runner.ts decides that):
 * the tombstone stays, marked, so the erasure list no longer takes the new customer out at start.
 */
export async function markRecreated(conn: Connection, customerId: string, sourceRecord: string, at: Date): Promise<void> {
  await conn.collection(TOMBSTONE_COLLECTION).updateOne({ _id: customerId as never }, { $set: { recreatedAt: at, recreatedFrom: sourceRecord } });
}

/** The CRM records linked to the customer (sync_links, bot/sync/sync-store.ts): ids, never values. */
async function linkedSourceRecords(conn: Connection, customerId: string): Promise<string[]> {
  const links = await conn.collection('sync_links').find({ customerId }, { projection: { source: 1, sourceId: 1 } }).toArray();
  return links.map((l) => `${String(l.source)}:${String(l.sourceId)}`);
}

/** Erasing on request: a fresh tombstone (an earlier one, of a customer re-created since, is replaced). */
async function tombstoneFor(conn: Connection, id: string, at: Date): Promise<void> {
  const sourceRecords = await linkedSourceRecords(conn, id);
  await conn.collection(TOMBSTONE_COLLECTION).replaceOne({ _id: id as never }, { customerId: id, erasedAt: at, sourceRecords }, { upsert: true });
}

/**
 * Re-applying the list: tombstones first (kept if there already is one), then the documents, never a gap
 * with neither. An id whose source record was re-created after its erasure is left alone.
 */
async function eraseDocuments(conn: Connection, ids: readonly string[], at: Date): Promise<number> {
  const tombs = conn.collection(TOMBSTONE_COLLECTION);
  const recreated = new Set((await tombs.find({ _id: { $in: ids as never[] }, recreatedAt: { $exists: true } }, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
  const gone = ids.filter((id) => !recreated.has(id));
  for (const id of gone) {
    await tombs.updateOne({ _id: id as never }, { $setOnInsert: { customerId: id, erasedAt: at, sourceRecords: [] } }, { upsert: true });
  }
  if (gone.length === 0) return 0;
  const res = await conn.collection(CUSTOMER_COLLECTION).deleteMany({ _id: { $in: gone as never[] } });
  return res.deletedCount;
}

/** The store-only canceller (no chat client): compare-and-swap per request, card copies left as they are. */
export async function storeCancelRequestsOn(conn: Connection, customerId: string, at: Date): Promise<number> {
  const store = new MongoRequestStore(conn);
  const pending = await conn.collection(REQUEST_COLLECTION).find({ customerIds: customerId, status: 'pending' }, { projection: { requestId: 1 } }).toArray();
  let cancelled = 0;
  for (const { requestId } of pending) {
    const { won } = await store.decide({ requestId: String(requestId), outcome: 'cancelled', by: [], at, reason: 'erased' });
    if (!won) continue;
    cancelled++;
    await store.update(String(requestId), { status: 'cancelled', decidedBy: [], decidedAt: at, denyReason: 'erased' });
  }
  return cancelled;
}

async function revokeGrantsOn(conn: Connection, customerId: string, at: Date): Promise<number> {
  const store = new MongoGrantStore(conn);
  const live = await grantModel(conn).find({ customerIds: customerId, expiresAt: { $gt: at }, revokedAt: { $exists: false } }, { grantId: 1 }).lean<{ grantId: string }[]>();
  const revoked = await Promise.all(live.map((g) => store.revoke(g.grantId, 'erasure', at)));
  return revoked.filter(Boolean).length;
}

function appendToList(file: string, id: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  appendFileSync(file, `${id}\n`, { mode: 0o600 });
}

/** The ids in the erasure list (missing file: none). */
export function readErasureList(file: string): string[] {
  if (!existsSync(file)) return [];
  const ids = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const bad = ids.find((id) => !CUSTOMER_ID_RE.test(id));
  if (bad !== undefined) {
    throw new CustosError(ErrorCode.ConfigInvalid, `CUSTOS_ERASURE_LIST ${file} holds a line that is not a customer id; each line must be one id such as C-000123`, { file });
  }
  return [...new Set(ids)];
}

/**
 * Re-applies the erasure list (every start, and before imports): a customer on it is deleted again and
 * keeps its tombstone, e.g. after a database was restored from a backup taken before the erasure.
 * Returns how many customer documents had come back and were erased again.
 */
export async function applyErasureList(conn: Connection, file: string, clock: Clock): Promise<number> {
  const ids = readErasureList(file);
  let erased = 0;
  for (let i = 0; i < ids.length; i += APPLY_CHUNK) erased += await eraseDocuments(conn, ids.slice(i, i + APPLY_CHUNK), clock.now());
  return erased;
}

/** The approval service's port (CustomerErasure): an approved chat request erases through the same path as the CLI. */
export function eraserOf(conn: Connection, config: Config, recorder: AuditRecorder, clock: Clock): {
  erase(customerId: string, reason: string, actor: EraseActor, cancel: (customerId: string) => Promise<number>): Promise<EraseReport>;
} {
  const eraser = new CustomerEraser({ conn, recorder, clock, erasureList: section(config, 'crypto').erasureList });
  return { erase: (customerId, reason, actor, cancel) => eraser.erase(customerId, reason, actor, (id) => cancel(id)) };
}
