// Where the top-level `actorId` of audit records starts. Records carry `actorId` (a copy of
// `actor.employeeId`, hashed like every member) so "by actor" is a top-level equality — the only kind
// FerretDB pushes down to its storage; `actor.employeeId` is a dotted path it reads every record for.
// Records written before that change have no `actorId` and cannot get one (their hash would change), so
// the chain writer records once, before it appends its first record with `actorId`, the seq from which
// every record has one. Queries filter records below it by the dotted path (audit-query-store.ts).
// The marker is written with a unique `_id` insert (exactly-once on FerretDB too): the first writer
// wins, and it wrote it before any record with `actorId` existed, so the value is never too low.
import type { Connection } from 'mongoose';
import { isDuplicateKey } from './audit-store.ts';

export const AUDIT_META_COLLECTION = 'audit_meta';
const ACTOR_ID_SINCE = 'actorIdSince';

/** Records from `seq` on carry `actorId`; a no-op when the marker is already there. */
export async function markActorIdSince(conn: Connection, seq: number): Promise<void> {
  try {
    await conn.collection(AUDIT_META_COLLECTION).insertOne({ _id: ACTOR_ID_SINCE as never, seq });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** The seq from which every record has `actorId`, or null when no writer has recorded it yet. */
export async function actorIdSince(conn: Connection): Promise<number | null> {
  const doc = await conn.collection(AUDIT_META_COLLECTION).findOne({ _id: ACTOR_ID_SINCE as never });
  return doc && typeof doc.seq === 'number' ? doc.seq : null;
}
