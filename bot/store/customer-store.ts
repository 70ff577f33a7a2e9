// Customers in MongoDB: the CustomerReader the core looks customers up through, plus the idempotent bulk
// upsert that the importer and the demo seed write through.
import type { Connection, Model, QueryFilter } from 'mongoose';
import type { Customer } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { CustomerQuery, CustomerReader, ScopeFilter } from '../core/ports.ts';
import { nfkc, type FieldCipher } from './crypto.ts';
import { fromCustomerDoc, toCustomerDoc } from './customer-doc.ts';
import { customerModel, type CustomerDoc } from './models.ts';
import { escapeRegex, normaliseSearchText, queryTokens } from './search-tokens.ts';

export interface UpsertCounts { inserted: number; updated: number; unchanged: number }

export const MAX_FIND_LIMIT = 1000;
const STREAM_BATCH = 500;
/**
 * Update / replace statements per write command. FerretDB 1.24 (SQLite) deadlocks the whole database on
 * an `update` command carrying 100 or more statements (measured: 99 pass, 100 hang), so bulk updates are
 * sent in chunks well below that. Inserts are not affected.
 */
export const UPDATE_CHUNK = 50;

export class CustomerStore implements CustomerReader {
  readonly model: Model<CustomerDoc>;

  constructor(conn: Connection, private readonly cipher: FieldCipher) {
    this.model = customerModel(conn);
  }

  async find(query: CustomerQuery, scope: ScopeFilter, limit: number): Promise<Customer[]> {
    const n = Math.max(1, Math.min(MAX_FIND_LIMIT, Math.floor(limit)));
    // The scope is a separate `$and` member, never merged into the lookup: a scope that names the same
    // path as the lookup (or uses `$or`) must narrow the result, not overwrite a condition.
    const filter = { $and: [lookupFilter(query, this.cipher), scope] } as QueryFilter<CustomerDoc>;
    const docs = await this.model.find(filter).sort({ customerId: 1 }).limit(n).lean<CustomerDoc[]>();
    return docs.map((d) => fromCustomerDoc(d, this.cipher));
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
   * concurrently with another writer: an insert that loses a race becomes a replace.
   */
  async upsertMany(customers: readonly Customer[]): Promise<UpsertCounts> {
    return this.upsertDocs(customers.map((c) => toCustomerDoc(c, this.cipher)));
  }

  /** As `upsertMany`, for documents already built with `toCustomerDoc` (lets callers prepare them in bulk). */
  async upsertDocs(docs: readonly CustomerDoc[]): Promise<UpsertCounts> {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
    if (docs.length === 0) return counts;
    const ids = docs.map((d) => d.customerId);
    if (new Set(ids).size !== ids.length) throw new Error('upsertDocs: the same customerId appears twice in one batch');
    const existing = new Map<string, string>();
    const found = this.model.collection.find({ customerId: { $in: ids } }, { projection: { _id: 0, customerId: 1, rowHash: 1 } });
    for await (const d of found) existing.set(String(d.customerId), String(d.rowHash));

    const fresh: CustomerDoc[] = [];
    const changed: CustomerDoc[] = [];
    for (const d of docs) {
      const hash = existing.get(d.customerId);
      if (hash === undefined) fresh.push(d);
      else if (hash === d.rowHash) counts.unchanged++;
      else changed.push(d);
    }
    const lostRaces = await this.insertFresh(fresh, counts);
    await this.replaceChanged([...changed, ...lostRaces], counts);
    return counts;
  }

  /** insertMany unordered; returns the documents that hit a duplicate key (inserted meanwhile by someone else). */
  private async insertFresh(docs: CustomerDoc[], counts: UpsertCounts): Promise<CustomerDoc[]> {
    if (docs.length === 0) return [];
    // The driver adds `_id` to the objects it inserts; give it copies so callers' documents stay clean.
    const copies = docs.map((d) => ({ ...d }));
    try {
      await this.model.collection.insertMany(copies, { ordered: false });
      counts.inserted += docs.length;
      return [];
    } catch (err) {
      const writeErrors = duplicateKeyIndexes(err);
      if (!writeErrors) throw err;
      counts.inserted += docs.length - writeErrors.length;
      return writeErrors.map((i) => docs[i]!);
    }
  }

  private async replaceChanged(docs: CustomerDoc[], counts: UpsertCounts): Promise<void> {
    for (let i = 0; i < docs.length; i += UPDATE_CHUNK) {
      const res = await this.model.collection.bulkWrite(
        docs.slice(i, i + UPDATE_CHUNK).map((d) => ({ replaceOne: { filter: { customerId: d.customerId }, replacement: d, upsert: true } })),
        { ordered: false },
      );
      counts.inserted += res.upsertedCount;
      counts.updated += res.matchedCount;
    }
  }
}

/** Indexes of the documents an unordered insertMany rejected as duplicates, or null for any other failure. */
function duplicateKeyIndexes(err: unknown): number[] | null {
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
      return { 'bi.phone': cipher.blindIndexOf('phone', query.value) };
    case 'email':
      return { 'bi.email': cipher.blindIndexOf('email', query.value) };
    case 'idNumber':
      return { 'bi.idNumber': cipher.blindIndexOf('idNumber', query.value) };
    case 'text': {
      const fragment = normaliseSearchText(query.value);
      if (fragment === '') throw new CustosError(ErrorCode.QueryInvalid, 'empty name or company fragment', { kind: 'text' });
      return { tokens: { $all: queryTokens(fragment) }, search: { $regex: escapeRegex(fragment), $options: 'i' } };
    }
  }
}
