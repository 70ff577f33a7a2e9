// Where the audit chain lives in MongoDB. The mongoose models declare the collections and their
// indexes; the chain writer and the verifier read and write through the raw driver collection so that
// what is stored is byte-for-byte what was hashed (no casting, no defaults, no added `__v`).
// Indexes: unique eventId (redelivery is harmless), unique seq (one record per position: the safety net
// under the chain-writer lease), and, where the server uses them, the ones admin audit queries filter and sort on.
// Only features FerretDB 1.24 and MongoDB ≥ 6 share: plain unique / compound / multikey indexes.
import { Schema, type Connection, type Model } from 'mongoose';
import type { AuditCheckpoint, StoredAuditRecord } from '../core/audit-event.ts';
import { usesSecondaryIndexes } from './server-kind.ts';

export const AUDIT_EVENTS_COLLECTION = 'audit_events';
export const AUDIT_CHECKPOINTS_COLLECTION = 'audit_checkpoints';

const opts = { versionKey: false, strict: false, autoIndex: false, _id: true } as const;

const auditEventSchema = new Schema<StoredAuditRecord>({
  seq: { type: Number, required: true },
  eventId: { type: String, required: true },
  occurredAt: { type: Date, required: true },
  storedAt: { type: Date, required: true },
  action: { type: String, required: true },
  customerIds: { type: [String], default: undefined },
  actor: { type: new Schema({ employeeId: String, platform: String, platformUserId: String }, { _id: false }) },
  actorId: { type: String }, // actor.employeeId at the top level, for queries (audit-actor-index.ts)
  prevHash: { type: String, required: true },
  hash: { type: String, required: true },
}, { ...opts, collection: AUDIT_EVENTS_COLLECTION });
auditEventSchema.index({ eventId: 1 }, { unique: true });
auditEventSchema.index({ seq: 1 }, { unique: true });

/**
 * The indexes admin audit queries (bot/store/audit-query-store.ts) and access reviews filter and sort on:
 * by actor, customer, action or grant, newest first (each page an index walk that stops after the page
 * size). Created only where the server uses them (server-kind.ts): on FerretDB 1.x they serve no query and
 * cost every insert — in bench/lookup on FerretDB-on-PostgreSQL, PostgreSQL's CPU per lookup above the
 * baseline's fell from 0.69 to 0.58 ms without them (medians of five paired runs).
 */
const QUERY_INDEXES: Record<string, 1 | -1>[] = [
  { 'actor.employeeId': 1, occurredAt: -1 },
  { customerIds: 1, occurredAt: -1 },
  { action: 1, occurredAt: -1 },
  { actorId: 1, seq: -1 },
  { 'actor.employeeId': 1, seq: -1 }, // records from before `actorId`
  { customerIds: 1, seq: -1 },
  { action: 1, seq: -1 },
  { grantId: 1, seq: -1 },
];

const checkpointSchema = new Schema<AuditCheckpoint>({
  n: { type: Number, required: true },
  lastSeq: { type: Number, required: true },
  lastHash: { type: String, required: true },
  count: { type: Number, required: true },
  prevSig: { type: String, required: true },
  createdAt: { type: Date, required: true },
  sig: { type: String, required: true },
}, { ...opts, collection: AUDIT_CHECKPOINTS_COLLECTION });
checkpointSchema.index({ n: 1 }, { unique: true });

export interface AuditModels {
  events: Model<StoredAuditRecord>;
  checkpoints: Model<AuditCheckpoint>;
}

/** The audit models on `conn`, with their indexes created (idempotent; safe at every start). */
export async function auditModels(conn: Connection): Promise<AuditModels> {
  const events = (conn.models.AuditEvent as Model<StoredAuditRecord> | undefined) ?? conn.model<StoredAuditRecord>('AuditEvent', auditEventSchema);
  const checkpoints = (conn.models.AuditCheckpoint as Model<AuditCheckpoint> | undefined) ?? conn.model<AuditCheckpoint>('AuditCheckpoint', checkpointSchema);
  await events.createCollection().catch(() => undefined);
  await checkpoints.createCollection().catch(() => undefined);
  await events.createIndexes();
  await checkpoints.createIndexes();
  await queryIndexes(events);
  return { events, checkpoints };
}

/**
 * Creates the query indexes where they serve queries; where they do not (FerretDB 1.x), removes the ones
 * an earlier version created, so inserts stop paying for them.
 */
async function queryIndexes(events: Model<StoredAuditRecord>): Promise<void> {
  if (await usesSecondaryIndexes(events.db)) {
    for (const spec of QUERY_INDEXES) await events.collection.createIndex(spec);
    return;
  }
  const present = new Set((await events.collection.indexes()).map((i) => i.name));
  for (const spec of QUERY_INDEXES) {
    const name = indexName(spec);
    // Another process starting at the same time may have removed it first: gone is what we want.
    if (present.has(name)) await events.collection.dropIndex(name).catch(() => undefined);
  }
}

/** The server's default name of an index (`field_1_other_-1`). */
function indexName(spec: Record<string, 1 | -1>): string {
  return Object.entries(spec).map(([k, v]) => `${k}_${v}`).join('_');
}
