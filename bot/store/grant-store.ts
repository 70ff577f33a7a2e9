// Grants in MongoDB: the GrantStore the policy engine reads active grants through. Expiry is a plain
// date compared at read time (and again by the engine with the decision's clock); no TTL index, which
// FerretDB lacks and which would be no security boundary anyway.
//
// Revocation: FerretDB 1.24 does NOT apply conditional updates atomically (two concurrent
// `findOneAndUpdate({ revokedAt: { $exists: false } })` both succeed — measured), so a revocation is an
// insert into `grant_revocations`, whose unique index on grantId lets exactly one revoker win on FerretDB
// and MongoDB alike. That collection is the source of truth for "revoked"; the grant's own revokedAt is
// a copy written by the winner, for reading convenience.
import { Schema, type Connection, type Model } from 'mongoose';
import { ACTIONS } from '../../policies/types.ts';
import { assertValidGrant, isGrantActive, type Grant, type GrantStore } from '../../policies/grants.ts';
import { FIELD_GROUP_NAMES } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { GrantChanges } from './grant-cache.ts';

export const GRANT_COLLECTION = 'grants';
export const REVOCATION_COLLECTION = 'grant_revocations';

interface RevocationDoc { grantId: string; granteeId: string; revokedAt: Date; revokedBy: string }

const revocationSchema = new Schema<RevocationDoc>({
  grantId: { type: String, required: true },
  granteeId: { type: String, required: true },
  revokedAt: { type: Date, required: true },
  revokedBy: { type: String, required: true },
}, { collection: REVOCATION_COLLECTION, autoIndex: false, versionKey: false });
revocationSchema.index({ grantId: 1 }, { unique: true });

/** A stored grant. Segment conditions are kept as JSON text: `$`-prefixed keys are not valid field names. */
export interface GrantDoc {
  grantId: string;
  granteeId: string;
  targetKind: 'customers' | 'segment';
  customerIds: string[];
  segmentId?: string;
  conditionsJson?: string;
  groups: string[];
  actions: string[];
  expiresAt: Date;
  grantedBy: string[];
  purpose: string;
  createdAt: Date;
  requestId?: string;
  revokedAt?: Date;
  revokedBy?: string;
}

const grantSchema = new Schema<GrantDoc>({
  grantId: { type: String, required: true },
  granteeId: { type: String, required: true },
  targetKind: { type: String, required: true, enum: ['customers', 'segment'] },
  customerIds: { type: [String], default: [] },
  segmentId: String,
  conditionsJson: String,
  groups: { type: [String], required: true, enum: FIELD_GROUP_NAMES },
  actions: { type: [String], required: true, enum: ACTIONS },
  expiresAt: { type: Date, required: true },
  grantedBy: { type: [String], required: true },
  purpose: { type: String, required: true },
  createdAt: { type: Date, required: true },
  requestId: String,
  revokedAt: Date,
  revokedBy: String,
}, { collection: GRANT_COLLECTION, autoIndex: false, versionKey: false, minimize: true });

grantSchema.index({ grantId: 1 }, { unique: true });
grantSchema.index({ granteeId: 1, expiresAt: 1 });
grantSchema.index({ expiresAt: 1 });

export function grantModel(conn: Connection): Model<GrantDoc> {
  return (conn.models[GRANT_COLLECTION] as Model<GrantDoc> | undefined) ?? conn.model<GrantDoc>(GRANT_COLLECTION, grantSchema);
}

function revocationModel(conn: Connection): Model<RevocationDoc> {
  return (conn.models[REVOCATION_COLLECTION] as Model<RevocationDoc> | undefined) ?? conn.model<RevocationDoc>(REVOCATION_COLLECTION, revocationSchema);
}

function toDoc(g: Grant): GrantDoc {
  const doc: GrantDoc = {
    grantId: g.grantId, granteeId: g.granteeId, targetKind: g.target.kind,
    customerIds: g.target.kind === 'customers' ? [...g.target.customerIds] : [],
    groups: [...g.groups], actions: [...g.actions], expiresAt: g.expiresAt, grantedBy: [...g.grantedBy],
    purpose: g.purpose, createdAt: g.createdAt,
  };
  if (g.target.kind === 'segment') {
    doc.segmentId = g.target.segmentId;
    doc.conditionsJson = JSON.stringify(g.target.conditions);
  }
  if (g.requestId) doc.requestId = g.requestId;
  return doc;
}

export function fromGrantDoc(d: GrantDoc): Grant {
  const g: Grant = {
    grantId: d.grantId, granteeId: d.granteeId,
    target: d.targetKind === 'segment'
      ? { kind: 'segment', segmentId: d.segmentId ?? '', conditions: JSON.parse(d.conditionsJson ?? '{}') as Record<string, unknown> }
      : { kind: 'customers', customerIds: [...d.customerIds] },
    groups: [...d.groups] as Grant['groups'], actions: [...d.actions] as Grant['actions'],
    expiresAt: new Date(d.expiresAt), grantedBy: [...d.grantedBy], purpose: d.purpose, createdAt: new Date(d.createdAt),
  };
  if (d.requestId) g.requestId = d.requestId;
  if (d.revokedAt) g.revokedAt = new Date(d.revokedAt);
  if (d.revokedBy) g.revokedBy = d.revokedBy;
  return g;
}

const NOT_REVOKED = { revokedAt: { $exists: false } };

export class MongoGrantStore implements GrantStore {
  readonly model: Model<GrantDoc>;
  private readonly revocations: Model<RevocationDoc>;

  /** `changes`: where to announce a stored or revoked grant, so replicas' caches (grant-cache.ts) drop their entry. */
  constructor(conn: Connection, private readonly changes?: GrantChanges) {
    this.model = grantModel(conn);
    this.revocations = revocationModel(conn);
  }

  /** Creates the collections and their indexes (idempotent). */
  async ensureIndexes(): Promise<void> {
    for (const model of [this.model, this.revocations] as Model<unknown>[]) {
      await model.createCollection().catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== 48) throw err; // NamespaceExists
      });
      await model.createIndexes();
    }
  }

  /** The subset of `grantIds` that has been revoked (the revocation collection is the truth). */
  private async revokedIds(grantIds: string[]): Promise<Set<string>> {
    if (grantIds.length === 0) return new Set();
    const docs = await this.revocations.find({ grantId: { $in: grantIds } }, { grantId: 1 }).lean<{ grantId: string }[]>().exec();
    return new Set(docs.map((d) => d.grantId));
  }

  async create(grant: Grant): Promise<Grant> {
    assertValidGrant(grant);
    try {
      await this.model.collection.insertOne(toDoc(grant));
    } catch (err) {
      if ((err as { code?: unknown }).code === 11000) {
        throw new CustosError(ErrorCode.GrantInvalid, `grant ${grant.grantId} already exists`, { grantId: grant.grantId });
      }
      throw err;
    }
    await this.changes?.changed(grant.granteeId);
    return grant;
  }

  async byId(grantId: string): Promise<Grant | null> {
    const doc = await this.model.findOne({ grantId }).lean<GrantDoc>().exec();
    if (!doc) return null;
    const grant = fromGrantDoc(doc);
    if (!grant.revokedAt) {
      // A revocation whose copy onto the grant was interrupted still counts.
      const rev = await this.revocations.findOne({ grantId }).lean<RevocationDoc>().exec();
      if (rev) Object.assign(grant, { revokedAt: new Date(rev.revokedAt), revokedBy: rev.revokedBy });
    }
    return grant;
  }

  async activeFor(granteeId: string, at: Date): Promise<Grant[]> {
    const docs = await this.model.find({ granteeId, expiresAt: { $gt: at }, ...NOT_REVOKED }).lean<GrantDoc[]>().exec();
    const revoked = await this.revokedIds(docs.map((d) => d.grantId));
    // The query already excludes expired grants; isGrantActive checks again so the rule lives in one place.
    return docs.filter((d) => !revoked.has(d.grantId)).map(fromGrantDoc).filter((g) => isGrantActive(g, at));
  }

  /** Every grant active at `at`, all grantees (the access review), in grantId order. */
  async liveAt(at: Date): Promise<Grant[]> {
    const docs = await this.model.find({ expiresAt: { $gt: at }, ...NOT_REVOKED }).sort({ grantId: 1 }).lean<GrantDoc[]>().exec();
    const revoked = await this.revokedIds(docs.map((d) => d.grantId));
    return docs.filter((d) => !revoked.has(d.grantId)).map(fromGrantDoc).filter((g) => isGrantActive(g, at));
  }

  async revoke(grantId: string, by: string, at: Date): Promise<Grant | null> {
    const grant = await this.byId(grantId);
    if (!grant) return null;
    try {
      await this.revocations.collection.insertOne({ grantId, granteeId: grant.granteeId, revokedAt: at, revokedBy: by });
    } catch (err) {
      if ((err as { code?: unknown }).code === 11000) return null; // someone else revoked it first
      throw err;
    }
    await this.model.updateOne({ grantId }, { $set: { revokedAt: at, revokedBy: by } }).exec();
    await this.changes?.changed(grant.granteeId);
    return { ...grant, revokedAt: at, revokedBy: by };
  }

  async revokeAllFor(granteeId: string, by: string, at: Date): Promise<number> {
    const active = await this.activeFor(granteeId, at);
    const results = await Promise.all(active.map((g) => this.revoke(g.grantId, by, at)));
    return results.filter(Boolean).length;
  }

  /** Active grants naming `customerId` (a customer deleted by its CRM sync loses them all). */
  async activeOnCustomer(customerId: string, at: Date): Promise<Grant[]> {
    const docs = await this.model.find({ customerIds: customerId, expiresAt: { $gt: at }, ...NOT_REVOKED }).lean<GrantDoc[]>().exec();
    const revoked = await this.revokedIds(docs.map((d) => d.grantId));
    return docs.filter((d) => !revoked.has(d.grantId)).map(fromGrantDoc).filter((g) => isGrantActive(g, at));
  }

  async expiredBetween(since: Date, until: Date): Promise<Grant[]> {
    const docs = await this.model.find({ expiresAt: { $gt: since, $lte: until } }).sort({ expiresAt: 1 }).lean<GrantDoc[]>().exec();
    return docs.map(fromGrantDoc);
  }
}
