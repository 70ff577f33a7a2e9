// What the reports read: the audit log (raw driver collection, as stored and hashed) and, where an
// event lacks a fact, the request, grant and employee stores. Read-only. Reads are bounded by the
// report's period and use the log's (customerIds, occurredAt) and (action, occurredAt) indexes.
import type { Connection } from 'mongoose';
import type { AccessRequest } from '../core/approvals/types.ts';
import type { AuditAction } from '../core/audit.ts';
import type { Employee } from '../core/domain.ts';
import { AUDIT_EVENTS_COLLECTION } from '../store/audit-model.ts';
import { EmployeeStore } from '../store/employee-store.ts';
import { tombstoneOf } from '../store/erasure.ts';
import { grantModel, type GrantDoc } from '../store/grant-store.ts';
import { CUSTOMER_COLLECTION } from '../store/models.ts';
import { MongoRequestStore } from '../store/request-store.ts';
import type { ReportPeriod } from './period.ts';

/** One audit record as the reports use it (ids and codes only, like the log itself). */
export interface ReportEvent {
  seq: number;
  occurredAt: Date;
  action: AuditAction;
  decision: string;
  actorId: string | null;
  platform: string;
  channelKind: string;
  customerIds: string[];
  fields: { name: string; outcome: string }[];
  ruleIds: string[];
  purpose?: string;
  reasonCode?: string;
  grantId?: string;
  requestId?: string;
  exportId?: string;
  meta: Record<string, string | number | boolean>;
}

function toEvent(d: Record<string, unknown>): ReportEvent {
  const actor = (d.actor ?? {}) as { employeeId?: string | null; platform?: string };
  const opt = (k: string) => (typeof d[k] === 'string' ? { [k]: d[k] as string } : {});
  return {
    seq: Number(d.seq), occurredAt: new Date(d.occurredAt as Date), action: d.action as AuditAction, decision: String(d.decision),
    actorId: actor.employeeId ?? null, platform: actor.platform ?? '', channelKind: String(d.channelKind ?? ''),
    customerIds: (d.customerIds as string[] | undefined) ?? [], fields: (d.fields as ReportEvent['fields'] | undefined) ?? [],
    ruleIds: (d.ruleIds as string[] | undefined) ?? [], meta: (d.meta as ReportEvent['meta'] | undefined) ?? {},
    ...opt('purpose'), ...opt('reasonCode'), ...opt('grantId'), ...opt('requestId'), ...opt('exportId'),
  };
}

export class ReportSource {
  private readonly requests: MongoRequestStore;
  private readonly directory: EmployeeStore;
  private readonly people = new Map<string, Promise<Employee | null>>();

  constructor(private readonly conn: Connection) {
    this.requests = new MongoRequestStore(conn);
    this.directory = new EmployeeStore(conn);
  }

  private get log() { return this.conn.collection(AUDIT_EVENTS_COLLECTION); }

  /** Every event naming `customerId` in the period, in chain order. */
  async customerEvents(customerId: string, period: ReportPeriod): Promise<ReportEvent[]> {
    return this.read({ customerIds: customerId, occurredAt: { $gte: period.from, $lt: period.end } });
  }

  /** Every event of these actions in the period, in chain order. */
  async actionEvents(actions: readonly AuditAction[], period: ReportPeriod): Promise<ReportEvent[]> {
    return this.read({ action: { $in: [...actions] }, occurredAt: { $gte: period.from, $lt: period.end } });
  }

  /** The newest event of `action` before `at` (what was in force when the period began). */
  async lastBefore(action: AuditAction, at: Date): Promise<ReportEvent | null> {
    const docs = await this.log.find({ action, occurredAt: { $lt: at } }).sort({ occurredAt: -1, seq: -1 }).limit(1).toArray();
    return docs[0] ? toEvent(docs[0]) : null;
  }

  /** Per action and decision, how many events the period holds (streamed: only two fields are read). */
  async decisionCounts(period: ReportPeriod): Promise<Map<string, Record<string, number>>> {
    const counts = new Map<string, Record<string, number>>();
    const cursor = this.log.find({ occurredAt: { $gte: period.from, $lt: period.end } }, { projection: { action: 1, decision: 1 } });
    for await (const d of cursor) {
      const row = counts.get(String(d.action)) ?? {};
      row[String(d.decision)] = (row[String(d.decision)] ?? 0) + 1;
      counts.set(String(d.action), row);
    }
    return counts;
  }

  /** Whether custos knows the customer: stored now, erased (tombstone), or named anywhere in the log. */
  async customerKnown(customerId: string): Promise<boolean> {
    if ((await this.conn.collection(CUSTOMER_COLLECTION).countDocuments({ _id: customerId as never }, { limit: 1 })) > 0) return true;
    if (await tombstoneOf(this.conn, customerId)) return true;
    return (await this.log.countDocuments({ customerIds: customerId }, { limit: 1 })) > 0;
  }

  async request(requestId: string | undefined): Promise<AccessRequest | null> {
    return requestId ? this.requests.get(requestId) : null;
  }

  async grant(grantId: string | undefined): Promise<GrantDoc | null> {
    if (!grantId) return null;
    return grantModel(this.conn).findOne({ grantId }).lean<GrantDoc>();
  }

  async employee(employeeId: string | null | undefined): Promise<Employee | null> {
    if (!employeeId) return null;
    let p = this.people.get(employeeId);
    if (!p) { p = this.directory.byId(employeeId); this.people.set(employeeId, p); }
    return p;
  }

  private async read(filter: Record<string, unknown>): Promise<ReportEvent[]> {
    const docs = await this.log.find(filter).toArray();
    return docs.map(toEvent).sort((a, b) => a.seq - b.seq);
  }
}
