// What the access review reads from the audit log: a grantee's lookups of the period (cards) and the
// period's totals (the DPO summary). Both are bounded, index-backed reads (actor + occurredAt,
// action + occurredAt); the grantee's most looked-up customers come from at most MAX_SCANNED events.
import type { Model } from 'mongoose';
import type { AuditAction } from '../core/audit.ts';
import type { LookupActivity, PeriodCounts, ReviewActivity } from '../core/reviews/types.ts';
import type { StoredAuditRecord } from '../core/audit-event.ts';

const MAX_SCANNED = 5_000;
const TOP = 3;

/** The actions each summary count is made of. */
const COUNTED: Record<keyof PeriodCounts, AuditAction> = {
  lookups: 'lookup', refusals: 'lookup.refused', reveals: 'reveal', exports: 'export.complete', freezes: 'admin.freeze',
};

export class MongoReviewActivity implements ReviewActivity {
  constructor(private readonly events: Model<StoredAuditRecord>) {}

  async ofEmployee(employeeId: string, since: Date, until: Date): Promise<LookupActivity> {
    const docs = await this.events.collection
      .find({ 'actor.employeeId': employeeId, occurredAt: { $gte: since, $lt: until }, action: 'lookup', decision: 'allowed' }, { projection: { customerIds: 1 } })
      .limit(MAX_SCANNED).toArray();
    const perCustomer = new Map<string, number>();
    let lookups = 0;
    for (const d of docs) {
      // A lookup event that showed nobody (none found, a help page) is no lookup of customer data.
      const ids = (d.customerIds as string[] | undefined) ?? [];
      if (ids.length > 0) lookups++;
      for (const id of ids) perCustomer.set(id, (perCustomer.get(id) ?? 0) + 1);
    }
    const top = [...perCustomer].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP).map(([customerId, count]) => ({ customerId, count }));
    return { lookups, distinctCustomers: perCustomer.size, top };
  }

  async totals(since: Date, until: Date): Promise<PeriodCounts> {
    const entries = await Promise.all(Object.entries(COUNTED).map(async ([name, action]) => {
      const filter = { action, occurredAt: { $gte: since, $lt: until }, ...(action === 'admin.freeze' ? { decision: 'allowed' as const } : {}) };
      return [name, await this.events.collection.countDocuments(filter)] as const;
    }));
    return Object.fromEntries(entries) as unknown as PeriodCounts;
  }
}
