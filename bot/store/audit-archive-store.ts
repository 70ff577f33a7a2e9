// The archive records (collection `audit_archives`): one per archived range, written after its bundle
// was written and verified and BEFORE any record is removed. It is what makes an archive resumable (a
// run that died while removing finds it in state `removing` and finishes) and what `custos audit
// verify` starts from (the closing checkpoint and hash). Each record is HMAC-signed under the signing
// key, so a record forged to excuse deleted events needs the key, like a forged checkpoint would.
// One insert with a unique _id (exactly-once on FerretDB too); the state changes once, to `done`.
import { createHmac } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { canonicalJSON, sameHex } from '../core/audit-event.ts';
import { isDuplicateKey } from './audit-store.ts';

export const AUDIT_ARCHIVES_COLLECTION = 'audit_archives';

export interface ArchiveRecord {
  _id: string; // `seq-<first>-<last>`
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
  checkpoint: number;
  events: number;
  bundleSha256: string;
  /** Where the bundle was written (as given to the command): needed to resume. */
  file: string;
  eventId: string;
  before: Date;
  createdAt: Date;
  sig: string;
  state: 'removing' | 'done';
  removedAt?: Date;
}

type Signed = Omit<ArchiveRecord, 'state' | 'removedAt' | 'sig'>;

export function archiveRecordSignature(signingKey: Buffer, r: Signed | ArchiveRecord): string {
  const { state: _st, removedAt: _r, sig: _s, ...signed } = r as ArchiveRecord;
  return createHmac('sha256', signingKey).update(`custos-audit-archive-record:${canonicalJSON(signed)}`).digest('hex');
}

export function archiveRecordValid(signingKey: Buffer, r: ArchiveRecord): boolean {
  return sameHex(r.sig, archiveRecordSignature(signingKey, r));
}

export class ArchiveRecords {
  private readonly coll: Collection<ArchiveRecord>;

  constructor(db: Db) { this.coll = db.collection<ArchiveRecord>(AUDIT_ARCHIVES_COLLECTION); }

  /** Inserts the record; false when one for this range exists already (a re-run). */
  async insert(r: ArchiveRecord): Promise<boolean> {
    try {
      await this.coll.insertOne({ ...r });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async get(id: string): Promise<ArchiveRecord | null> { return this.coll.findOne({ _id: id }); }

  /** The archive that ends furthest along the chain (what live verification starts after), or null. */
  async latest(): Promise<ArchiveRecord | null> {
    return (await this.coll.find({}).sort({ lastSeq: -1 }).limit(1).toArray())[0] ?? null;
  }

  /** An archive whose removal did not finish (a crash, a failure): it must be finished first. */
  async unfinished(): Promise<ArchiveRecord | null> {
    return this.coll.findOne({ state: 'removing' });
  }

  /** The last archived seq (0 when nothing was archived): records up to it may be gone. */
  async archivedThrough(): Promise<number> {
    return (await this.latest())?.lastSeq ?? 0;
  }

  async markDone(id: string, at: Date): Promise<void> {
    await this.coll.updateOne({ _id: id }, { $set: { state: 'done', removedAt: at } });
  }
}
