// Customers in MongoDB: the CustomerReader the core looks customers up through, plus the idempotent bulk
// upsert that the importer and the demo seed write through.
import type { Connection, Model, QueryFilter } from 'mongoose';
import type { Customer } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { CustomerQuery, CustomerReader, ScopeFilter } from '../core/ports.ts';
import { nfkc, type FieldCipher } from './crypto.ts';
import { fromCustomerDoc, toCustomerDoc } from './customer-doc.ts';
import { customerModel, type CustomerDoc } from './models.ts';
import { matchesFragment, normaliseSearchText, queryTokens } from './search-tokens.ts';

export interface UpsertCounts { inserted: number; updated: number; unchanged: number }

export const MAX_FIND_LIMIT = 1000;
const STREAM_BATCH = 500;
/**
 * Update / replace statements per write command, for every bulk update custos sends. FerretDB 1.24
 * holds one backend connection per statement of an `update` command until the command ends, and waits
 * for a free one when its pool (50 connections on PostgreSQL, ~100 on SQLite) is used up: one command
 * with 50 statements, or several concurrent ones adding up to 50 (measured: 2 x 20 pass, 3 x 20 hang),
 * hangs FerretDB for every client, with idle connections and no CPU. That is what stopped an employee
 * import's offboarding pass (its 200-row batches rewritten 50 statements at a time) at 1,000+ rows.
 * 10 leaves room for a few writers at once (an import, a key rotation, the bots). Inserts are not affected.
 */
export const UPDATE_CHUNK = 10;

export class CustomerStore implements CustomerReader {
  readonly model: Model<CustomerDoc>;

  constructor(conn: Connection, private readonly cipher: FieldCipher) {
    this.model = customerModel(conn);
  }

  async find(query: CustomerQuery, scope: ScopeFilter, limit: number): Promise<Customer[]> {
    const n = Math.max(1, Math.min(MAX_FIND_LIMIT, Math.floor(limit)));
    // The scope sits in its own `$and`, never merged into the lookup: a scope that names the same path
    // as the lookup (or uses `$or`) must narrow the result, not overwrite a condition. The lookup's own
    // top-level equality stays outside it so FerretDB can answer it from an index instead of a scan.
    const filter = { ...lookupFilter(query, this.cipher), $and: [scope] } as QueryFilter<CustomerDoc>;
    if (query.kind !== 'text') {
      const docs = await this.model.find(filter).sort({ customerId: 1 }).limit(n).lean<CustomerDoc[]>();
      return docs.map((d) => fromCustomerDoc(d, this.cipher));
    }
    return this.findFragment(filter, query.value, n);
  }

  /** Token candidates, decrypted in id order, until `n` really contain the fragment (false positives dropped). */
  private async findFragment(filter: QueryFilter<CustomerDoc>, fragment: string, n: number): Promise<Customer[]> {
    const out: Customer[] = [];
    const cursor = this.model.find(filter).sort({ customerId: 1 }).lean<CustomerDoc[]>().cursor({ batchSize: Math.min(n * 2, STREAM_BATCH) });
    try {
      for await (const doc of cursor) {
        const c = fromCustomerDoc(doc as CustomerDoc, this.cipher);
        if (matchesFragment(fragment, c.name, c.company)) out.push(c);
        if (out.length >= n) break;
      }
    } finally {
      await cursor.close();
    }
    return out;
  }

  async *stream(scope: ScopeFilter): AsyncIterable<Customer> {
    const cursor = this.model.find({ $and: [scope] } as QueryFilter<CustomerDoc>)
      .sort({ customerId: 1 }).lean<CustomerDoc[]>().cursor({ batchSize: STREAM_BATCH });
    try {
      for await (const doc of cursor) yield fromCustomerDoc(doc as CustomerDoc, this.cipher);
    } finally {
      await cursor.close();
    }
  }

  /** One customer by id, ignoring scope: for internal flows (workers) that have already authorised. */
  async get(customerId: string): Promise<Customer | null> {
    const doc = await this.model.findOne({ customerId }).lean<CustomerDoc>();
    return doc ? fromCustomerDoc(doc, this.cipher) : null;
  }

  async count(scope: ScopeFilter = {}): Promise<number> {
    return this.model.countDocuments({ $and: [scope] } as QueryFilter<CustomerDoc>);
  }

  /**
   * Inserts new customers and replaces changed ones, by customerId; customers whose content is identical
   * to what is stored are left alone (so re-running an import or a seed is a no-op). Safe to run
   * concurrently with another writer.
   */
  async upsertMany(customers: readonly Customer[]): Promise<UpsertCounts> {
    return this.upsertDocs(customers.map((c) => toCustomerDoc(c, this.cipher)));
  }

  /**
   * As `upsertMany`, for documents already built with `toCustomerDoc` (lets callers prepare them in bulk).
   *
   * No read before writing: an existence check with `$in` is a full collection scan per batch on
   * FerretDB (no index pushdown there), which made imports quadratic. Instead every document is first
   * inserted (`_id` is the customerId, so an existing customer is a duplicate key), and only the
   * duplicates are replaced, conditionally on their row digest differing (`_id` equality is pushed down
   * on FerretDB and indexed on MongoDB). Fresh imports therefore cost one insertMany per batch.
   */
  async upsertDocs(docs: readonly CustomerDoc[]): Promise<UpsertCounts> {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
    if (docs.length === 0) return counts;
    if (new Set(docs.map((d) => d.customerId)).size !== docs.length) {
      throw new Error('upsertDocs: the same customerId appears twice in one batch');
    }
    const existing = await this.insertNew(docs, counts);
    await this.replaceIfChanged(existing, counts);
    return counts;
  }

  /** Deletes one customer (its source deleted it); true when there was one. */
  async remove(customerId: string): Promise<boolean> {
    const res = await this.model.collection.deleteOne({ _id: customerId as never });
    return res.deletedCount > 0;
  }

  /** insertMany unordered; returns the documents that already existed (duplicate key). */
  private async insertNew(docs: readonly CustomerDoc[], counts: UpsertCounts): Promise<CustomerDoc[]> {
    // Copies with `_id` set: the driver would otherwise add an ObjectId to the caller's objects.
    const withIds = docs.map((d) => ({ _id: d.customerId, ...d }));
    try {
      await this.model.collection.insertMany(withIds as never[], { ordered: false });
      counts.inserted += docs.length;
      return [];
    } catch (err) {
      const duplicates = duplicateKeyIndexes(err);
      if (!duplicates) throw err;
      counts.inserted += docs.length - duplicates.length;
      return duplicates.map((i) => docs[i]!);
    }
  }

  /**
   * Replaces the documents whose row digest differs (or that predate per-customer keys: no `sealed`).
   * The comparison reads each stored digest by `_id` alone, the one filter FerretDB answers from its
   * index: a write filtered on `_id` plus any other condition (the conditional replace this was) scans
   * the whole collection once per statement there, which made re-reading a few thousand unchanged
   * records (a reconciliation) take tens of minutes and looked like a stalled sync worker. Only what
   * changed is written, by `_id` alone.
   */
  private async replaceIfChanged(docs: CustomerDoc[], counts: UpsertCounts): Promise<void> {
    const changed: CustomerDoc[] = [];
    for (const d of docs) {
      const stored = await this.model.collection.findOne({ _id: d.customerId as never }, { projection: { rowHash: 1, sealed: 1 } });
      if (!stored || stored.rowHash !== d.rowHash || stored.sealed === undefined) changed.push(d);
    }
    counts.unchanged += docs.length - changed.length;
    for (let i = 0; i < changed.length; i += UPDATE_CHUNK) {
      const chunk = changed.slice(i, i + UPDATE_CHUNK);
      const res = await this.model.collection.bulkWrite(chunk.map((d) => ({ replaceOne: { filter: { _id: d.customerId as never }, replacement: d } })), { ordered: false });
      counts.updated += res.matchedCount;
      counts.unchanged += chunk.length - res.matchedCount;
    }
  }
}

/** Indexes of the documents an unordered insertMany rejected as duplicates, or null for any other failure. */
export function duplicateKeyIndexes(err: unknown): number[] | null {
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  if (list.length === 0) return null;
  const out: number[] = [];
  for (const e of list as { code?: number; index?: number; err?: { code?: number; index?: number } }[]) {
    const code = e.code ?? e.err?.code;
    const index = e.index ?? e.err?.index;
    if (code !== 11000 || index === undefined) return null;
    out.push(index);
  }
  return out;
}

/** The database condition for what the user asked for (before the scope is added). */
export function lookupFilter(query: CustomerQuery, cipher: FieldCipher): Record<string, unknown> {
  switch (query.kind) {
    case 'id':
      return { customerId: nfkc(query.value).trim().toUpperCase() };
    case 'phone':
      return { biPhone: cipher.blindIndexOf('phone', query.value) };
    case 'email':
      return { biEmail: cipher.blindIndexOf('email', query.value) };
    case 'idNumber':
      return { biIdNumber: cipher.blindIndexOf('idNumber', query.value) };
    case 'text': {
      const fragment = normaliseSearchText(query.value);
      if (fragment === '') throw new CustosError(ErrorCode.QueryInvalid, 'empty name or company fragment', { kind: 'text', problem: 'empty' });
      const tokens = queryTokens((g) => cipher.searchToken(g), fragment);
      if (tokens.length === 0) {
        throw new CustosError(ErrorCode.QueryInvalid, 'name or company fragment too short: give at least two Chinese characters or three letters', { kind: 'text', problem: 'too_short' });
      }
      return { tokens: { $all: tokens } };
    }
  }
}
