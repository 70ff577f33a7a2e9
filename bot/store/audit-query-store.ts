// The audit log read for admin queries (AuditLogReader): bounded, index-backed finds per page.
// Every filter the query language offers has an index that starts with its field and ends with `seq`
// (audit-model.ts), so "newest first after a seq cursor" is an index walk that stops after `limit`
// rows; time bounds ride along as a range on occurredAt. maxTimeMS bounds the worst case (a rare
// combination of filters on a huge log) to an error rather than a hung chat command.
// Shaped for FerretDB too, which only pushes top-level equality down to its storage: "by actor" filters
// the top-level `actorId` (audit-actor-index.ts; older records by `actor.employeeId`), and several
// actions (e.g. the export actions) are one equality find per action, merged by seq, instead of `$in`.
import type { Connection } from 'mongoose';
import type { AuditCursor, AuditFilter, AuditLogReader, AuditRow } from '../core/audit-query-service.ts';
import { actorIdSince } from './audit-actor-index.ts';
import type { AuditModels } from './audit-model.ts';

export const AUDIT_QUERY_MAX_TIME_MS = 120_000;

/**
 * The actor condition. `since` is where records with `actorId` start (null: not recorded yet, so any
 * record may lack it and only the dotted path is complete).
 */
function actorCondition(actorId: string, since: number | null): Record<string, unknown> {
  if (since === null) return { 'actor.employeeId': actorId };
  if (since <= 1) return { actorId };
  return { $or: [{ actorId }, { 'actor.employeeId': actorId, seq: { $lt: since } }] };
}

/**
 * The MongoDB filters for `filter` after `cursor`, one per action when several are asked for; the page
 * is the newest `limit` of their union (exported so the bench can issue the same finds directly).
 */
export function auditMongoFilters(filter: AuditFilter, cursor: AuditCursor, since: number | null): Record<string, unknown>[] {
  const q: Record<string, unknown> = {};
  if (filter.actorId) Object.assign(q, actorCondition(filter.actorId, since));
  if (filter.customerId) q.customerIds = filter.customerId;
  if (filter.decision) q.decision = filter.decision;
  if (filter.grantId) q.grantId = filter.grantId;
  if (filter.channelKind) q.channelKind = filter.channelKind;
  if (filter.from || filter.to) {
    q.occurredAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
  }
  if (cursor) q.seq = 'older' in cursor ? { $lt: cursor.older } : { $gt: cursor.newer };
  if (!filter.actions) return [q];
  return [...new Set(filter.actions)].map((action) => ({ ...q, action }));
}

/** The `limit` rows nearest the cursor from several finds' results, each sorted the same way. */
export function nearestRows<T extends Record<string, unknown>>(results: T[][], ascending: boolean, limit: number): T[] {
  const dir = ascending ? 1 : -1;
  return results.flat().sort((a, b) => dir * (Number(a.seq) - Number(b.seq))).slice(0, limit);
}

const PROJECTION = { seq: 1, occurredAt: 1, actor: 1, action: 1, decision: 1, channelKind: 1, customerIds: 1, grantId: 1, reasonCode: 1 } as const;

export class MongoAuditLogReader implements AuditLogReader {
  /** Cached once known: the marker never moves after it is written. */
  private since: number | null = null;

  constructor(private readonly models: AuditModels) {}

  async page(filter: AuditFilter, cursor: AuditCursor, limit: number): Promise<AuditRow[]> {
    const newer = cursor !== null && 'newer' in cursor;
    const since = filter.actorId ? await this.actorIdSince() : null;
    // Paging back up reads ascending from the cursor, then flips, so rows are always newest first.
    const finds = auditMongoFilters(filter, cursor, since).map((q) => this.models.events.collection.find(q, { projection: PROJECTION })
      .sort({ seq: newer ? 1 : -1 }).limit(limit).maxTimeMS(AUDIT_QUERY_MAX_TIME_MS).toArray());
    const docs = nearestRows(await Promise.all(finds), newer, limit);
    if (newer) docs.reverse();
    return docs.map(toRow);
  }

  private async actorIdSince(): Promise<number | null> {
    this.since ??= await actorIdSince(this.models.events.db as Connection);
    return this.since;
  }
}

function toRow(d: Record<string, unknown>): AuditRow {
  const actor = (d.actor ?? {}) as { employeeId?: string | null };
  return {
    seq: Number(d.seq),
    occurredAt: d.occurredAt instanceof Date ? d.occurredAt : new Date(String(d.occurredAt)),
    actorId: actor.employeeId ?? null,
    action: String(d.action),
    decision: String(d.decision),
    channelKind: String(d.channelKind ?? 'none'),
    customerIds: Array.isArray(d.customerIds) ? d.customerIds.map(String) : [],
    ...(typeof d.grantId === 'string' ? { grantId: d.grantId } : {}),
    ...(typeof d.reasonCode === 'string' ? { reasonCode: d.reasonCode } : {}),
  };
}
