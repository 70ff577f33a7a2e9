// Master-key rotation: every customer's data key re-wrapped under the current (first) key of
// CUSTOS_DATA_KEYS. Only the 32-byte wrapped keys change; the sealed values stay as they are.
//
// Resumable by construction: the progress IS the data. Each document says which master key wraps its
// data key (`kek`), and `dek` + `kek` change together in one single-document update, so a run killed at
// any point leaves every customer readable under the key its `kek` names, and the next run simply picks
// up the customers still under an old key. The update is conditional on the wrapped key it read (a
// compare-and-swap), so a customer rewritten meanwhile by an import is never overwritten with a stale key.
import type { Connection } from 'mongoose';
import type { Customer } from '../core/domain.ts';
import type { FieldCipher } from './crypto.ts';
import { UPDATE_CHUNK, type CustomerStore } from './customer-store.ts';
import { CUSTOMER_COLLECTION } from './models.ts';

/** Update statements per write command: the shared FerretDB-safe size (see UPDATE_CHUNK). */
export const ROTATE_UPDATE_CHUNK = UPDATE_CHUNK;

export interface RotateProgress { rewrapped: number; remaining: number }
export interface RotateReport { keyId: string; rewrapped: number; skipped: number; byKey: Record<string, number> }

/** How many customers each master key id wraps, e.g. `{ k2: 1000, k1: 0 }` (configured ids always listed). */
export async function keyStatus(conn: Connection, keyIds: readonly string[]): Promise<Record<string, number>> {
  const customers = conn.collection(CUSTOMER_COLLECTION);
  const ids = new Set<string>([...keyIds, ...(await customers.distinct('kek')).map(String)]);
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = await customers.countDocuments({ kek: id });
  return out;
}

export async function rotateKeys(
  conn: Connection, cipher: FieldCipher, opts: { batchSize: number; onProgress?: (p: RotateProgress) => void },
): Promise<RotateReport> {
  const customers = conn.collection(CUSTOMER_COLLECTION);
  const current = cipher.currentKeyId;
  const old = Object.entries(await keyStatus(conn, [])).filter(([id, n]) => id !== current && n > 0).map(([id]) => id);
  let remaining = 0;
  for (const id of old) remaining += await customers.countDocuments({ kek: id });
  let rewrapped = 0;
  let skipped = 0;
  for (const keyId of old) {
    for (;;) {
      // No sort: on FerretDB a sort reads every matching document first; any order finishes the same.
      const batch = await customers.find({ kek: keyId }, { projection: { customerId: 1, dek: 1 } }).limit(opts.batchSize).toArray();
      if (batch.length === 0) break;
      const updates = batch.map((d) => {
        const dek = cipher.rewrapDataKey(String(d.customerId), String(d.dek)) ?? String(d.dek);
        return { updateOne: { filter: { _id: d._id, dek: d.dek }, update: { $set: { dek, kek: current } } } };
      });
      for (let i = 0; i < updates.length; i += ROTATE_UPDATE_CHUNK) {
        const res = await customers.bulkWrite(updates.slice(i, i + ROTATE_UPDATE_CHUNK), { ordered: false });
        rewrapped += res.modifiedCount;
        skipped += Math.min(ROTATE_UPDATE_CHUNK, updates.length - i) - res.modifiedCount;
      }
      remaining = Math.max(0, remaining - batch.length);
      opts.onProgress?.({ rewrapped, remaining });
    }
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
