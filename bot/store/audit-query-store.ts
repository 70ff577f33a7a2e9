// The audit log read for admin queries (AuditLogReader): one bounded, index-backed find per page.
// Every filter the query language offers has an index that starts with its field and ends with `seq`
// (audit-model.ts), so "newest first after a seq cursor" is an index walk that stops after `limit`
// rows; time bounds ride along as a range on occurredAt. maxTimeMS bounds the worst case (a rare
// combination of filters on a huge log; any query on FerretDB, which scans) to an error rather than a
// hung chat command.
import type { AuditCursor, AuditFilter, AuditLogReader, AuditRow } from '../core/audit-query-service.ts';
import type { AuditModels } from './audit-model.ts';

export const AUDIT_QUERY_MAX_TIME_MS = 120_000;

/** The MongoDB filter for `filter` after `cursor` (exported so the bench can issue the same query directly). */
export function auditMongoFilter(filter: AuditFilter, cursor: AuditCursor): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  if (filter.actorId) q['actor.employeeId'] = filter.actorId;
  if (filter.customerId) q.customerIds = filter.customerId;
  if (filter.actions) q.action = filter.actions.length === 1 ? filter.actions[0] : { $in: filter.actions };
  if (filter.decision) q.decision = filter.decision;
  if (filter.grantId) q.grantId = filter.grantId;
  if (filter.channelKind) q.channelKind = filter.channelKind;
  if (filter.from || filter.to) {
    q.occurredAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
  }
  if (cursor) q.seq = 'older' in cursor ? { $lt: cursor.older } : { $gt: cursor.newer };
  return q;
}

const PROJECTION = { seq: 1, occurredAt: 1, actor: 1, action: 1, decision: 1, channelKind: 1, customerIds: 1, grantId: 1, reasonCode: 1 } as const;

export class MongoAuditLogReader implements AuditLogReader {
  constructor(private readonly models: AuditModels) {}

  async page(filter: AuditFilter, cursor: AuditCursor, limit: number): Promise<AuditRow[]> {
    const newer = cursor !== null && 'newer' in cursor;
    // Paging back up reads ascending from the cursor, then flips, so rows are always newest first.
    const docs = await this.models.events.collection.find(auditMongoFilter(filter, cursor), { projection: PROJECTION })
      .sort({ seq: newer ? 1 : -1 }).limit(limit).maxTimeMS(AUDIT_QUERY_MAX_TIME_MS).toArray();
    if (newer) docs.reverse();
    return docs.map(toRow);
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
