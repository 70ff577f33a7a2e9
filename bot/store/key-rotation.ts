// Master-key rotation: every customer's data key re-wrapped under the current (first) key of
// CUSTOS_DATA_KEYS. Only the 32-byte wrapped keys change; the sealed values stay as they are.
//
// Resumable by construction: the progress IS the data. Each document says which master key wraps its
// data key (`kek`), and `dek` + `kek` change together in one single-document update, so a run killed at
// any point leaves every customer readable under the key its `kek` names, and the next run simply picks
// up the customers still under an old key. The update is conditional on the exact wrapped key it read
// (a compare-and-swap on `dek`, which starts with the wrapping key's id and carries a random IV): a
// customer rewritten meanwhile (an import, a second rotation run) is left alone and counted as skipped,
// never overwritten with a stale key and never wrapped twice. The CAS is on `dek` rather than on `kek`
// alone because an importer still configured with the old key would write a NEW data key under the
// same old key id; re-wrapping the stale one over it would make the customer's values unreadable.
//
// Where the time goes: the cryptography is two AES-GCM operations on 32 bytes per customer
// (microseconds). The cost is the store's: one update statement per customer (each its own commit on
// FerretDB), sent UPDATE_CHUNK statements per command (the FerretDB-safe size), ROTATE_WRITERS commands
// at once, plus the reads. So the pass reads all old-key customers through ONE cursor (one scan of the
// collection, not one per batch), and reading the next batch overlaps writing this one. The cursor's snapshot may still list a customer this run already
// moved; its compare-and-swap then simply does not match.
import type { Collection, Document, FindCursor } from 'mongodb';
import type { Connection } from 'mongoose';
import type { Customer } from '../core/domain.ts';
import type { FieldCipher } from './crypto.ts';
import { UPDATE_CHUNK, type CustomerStore } from './customer-store.ts';
import { CUSTOMER_COLLECTION } from './models.ts';

/** Update statements per write command: the shared FerretDB-safe size (see UPDATE_CHUNK). */
export const ROTATE_UPDATE_CHUNK = UPDATE_CHUNK;

/**
 * Update commands in flight at once. FerretDB commits every statement on its own, so a lone writer
 * waits for one WAL flush per customer; concurrent commits share flushes (measured on PostgreSQL,
 * 3,000 customers under load: 1 writer 58/s, 2 writers 95/s, 3 writers 102/s). 2 x UPDATE_CHUNK = 20
 * statements stays well inside FerretDB's pool of 50 (see UPDATE_CHUNK), leaving room for an import
 * and the bots at the same time.
 */
export const ROTATE_WRITERS = 2;

export interface RotateProgress { rewrapped: number; remaining: number }
export interface RotateReport { keyId: string; rewrapped: number; skipped: number; byKey: Record<string, number> }

/** The new wrapped key for a customer's wrapped key, or null when it is already under the target key. */
export type Rewrap = (customerId: string, dek: string) => string | null;

export interface PassCounts { read: number; rewrapped: number; skipped: number }

/**
 * How many customers each master key id wraps, e.g. `{ k2: 1000, k1: 0 }` (configured ids always listed).
 * One `$group` pass: FerretDB counts by fetching every matching document, so a `distinct` plus a count
 * per key read the collection twice (80 s each at 100,000 customers under load).
 */
export async function keyStatus(conn: Connection, keyIds: readonly string[]): Promise<Record<string, number>> {
  const groups = await conn.collection(CUSTOMER_COLLECTION).aggregate<{ _id: unknown; n: number }>([
    { $group: { _id: '$kek', n: { $sum: 1 } } },
  ]).toArray();
  const out: Record<string, number> = Object.fromEntries(keyIds.map((id) => [id, 0]));
  for (const g of groups) if (g._id !== null && g._id !== undefined) out[String(g._id)] = g.n;
  return out;
}

/** Up to `n` documents from the cursor (fewer only at its end). */
async function readBatch(cursor: FindCursor<Document>, n: number): Promise<Document[]> {
  const out: Document[] = [];
  while (out.length < n) {
    const d = await cursor.next();
    if (d === null) break;
    out.push(d);
  }
  return out;
}

/** Compare-and-swap updates of one batch, UPDATE_CHUNK statements per command; how many changed. */
async function writeBatch(coll: Collection, batch: readonly Document[], toKek: string, rewrap: Rewrap): Promise<number> {
  const updates = batch.map((d) => {
    const dek = rewrap(String(d.customerId), String(d.dek)) ?? String(d.dek);
    return { updateOne: { filter: { _id: d._id, dek: d.dek }, update: { $set: { dek, kek: toKek } } } };
  });
  const chunks: (typeof updates)[] = [];
  for (let i = 0; i < updates.length; i += ROTATE_UPDATE_CHUNK) chunks.push(updates.slice(i, i + ROTATE_UPDATE_CHUNK));
  let modified = 0;
  const worker = async () => {
    for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
      const res = await coll.bulkWrite(chunk, { ordered: false });
      modified += res.modifiedCount;
    }
  };
  await Promise.all(Array.from({ length: ROTATE_WRITERS }, worker));
  return modified;
}

/**
 * One pass over the documents of `coll` whose data key `fromKek` wraps: each re-wrapped by `rewrap` and
 * moved to `toKek` by compare-and-swap. Also the bench's baseline (bench/rotate), with `rewrap` the
 * identity, so both measure the same reads and writes.
 */
export async function rewrapPass(
  coll: Collection, fromKek: string, toKek: string, rewrap: Rewrap,
  opts: { batchSize: number; onBatch?: (c: PassCounts) => void },
): Promise<PassCounts> {
  const counts: PassCounts = { read: 0, rewrapped: 0, skipped: 0 };
  // No sort: on FerretDB a sort reads every matching document first; any order finishes the same.
  const cursor = coll.find({ kek: fromKek }, { projection: { customerId: 1, dek: 1 }, batchSize: opts.batchSize });
  let next = readBatch(cursor, opts.batchSize);
  try {
    for (;;) {
      const batch = await next;
      if (batch.length === 0) break;
      next = readBatch(cursor, opts.batchSize);
      // Should the writes fail, the read in flight must not become an unhandled rejection.
      next.catch(() => undefined);
      const modified = await writeBatch(coll, batch, toKek, rewrap);
      counts.read += batch.length;
      counts.rewrapped += modified;
      counts.skipped += batch.length - modified;
      opts.onBatch?.({ ...counts });
    }
  } finally {
    await next.catch(() => undefined);
    await cursor.close().catch(() => undefined);
  }
  return counts;
}

export async function rotateKeys(
  conn: Connection, cipher: FieldCipher, opts: { batchSize: number; onProgress?: (p: RotateProgress) => void },
): Promise<RotateReport> {
  const customers = conn.collection(CUSTOMER_COLLECTION);
  const current = cipher.currentKeyId;
  const before = await keyStatus(conn, []);
  const old = Object.entries(before).filter(([id, n]) => id !== current && n > 0).map(([id]) => id);
  const total = old.reduce((sum, id) => sum + before[id]!, 0);
  const rewrap: Rewrap = (customerId, dek) => cipher.rewrapDataKey(customerId, dek);
  let rewrapped = 0;
  let skipped = 0;
  let read = 0;
  for (const keyId of old) {
    const pass = await rewrapPass(customers, keyId, current, rewrap, {
      batchSize: opts.batchSize,
      onBatch: (c) => opts.onProgress?.({ rewrapped: rewrapped + c.rewrapped, remaining: Math.max(0, total - read - c.read) }),
    });
    rewrapped += pass.rewrapped;
    skipped += pass.skipped;
    read += pass.read;
  }
  return { keyId: current, rewrapped, skipped, byKey: await keyStatus(conn, cipher.keyIds) };
}

export interface ReindexReport { rewritten: number; unchanged: number }

/**
 * Blind-index / search-token key rotation: every customer decrypted and written again, so its blind
 * indexes, tokens and row digest are computed under the configured keys. Resumable: a customer already
 * under the current keys has an equal row digest and is left alone, so a run after a crash rewrites only
 * what the crashed one had not reached. Run it with the bot stopped: until a customer is rewritten, exact
 * and fragment lookups (computed under the new keys) do not find it.
 */
export async function reindexCustomers(
  store: CustomerStore, opts: { batchSize: number; onProgress?: (r: ReindexReport) => void },
): Promise<ReindexReport> {
  const report: ReindexReport = { rewritten: 0, unchanged: 0 };
  let batch: Customer[] = [];
  const flush = async () => {
    const counts = await store.upsertMany(batch);
    report.rewritten += counts.updated + counts.inserted;
    report.unchanged += counts.unchanged;
    batch = [];
    opts.onProgress?.({ ...report });
  };
  for await (const c of store.stream({})) {
    batch.push(c);
    if (batch.length >= opts.batchSize) await flush();
  }
  if (batch.length) await flush();
  return report;
}
