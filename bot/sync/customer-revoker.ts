// What a customer deleted by its source takes with it: every pending request on it cancelled with the
// reason `deletedAtSource` and every active grant naming it revoked. A grant naming several customers is
// revoked whole: default deny, the approver can grant the others again. Requests are cancelled through
// `cancelPending` when given — the approval service's cancelAllOn, which updates every card copy in place
// (the sync worker passes it when Slack or Lark is configured) — else in the store alone, a
// compare-and-swap per request as the store-only canceller of offboarding does (no chat to update).
import type { Grant } from '../../policies/grants.ts';
import type { AccessRequest, RequestStore } from '../core/approvals/types.ts';

export interface CustomerAccessRevoker {
  revokeOnCustomer(customerId: string, by: string, at: Date): Promise<{ grants: number; requests: number }>;
}

interface GrantsOnCustomer {
  activeOnCustomer(customerId: string, at: Date): Promise<Grant[]>;
  revoke(grantId: string, by: string, at: Date): Promise<Grant | null>;
}
type RequestsOnCustomer = Pick<RequestStore, 'decide' | 'update'> & { pendingOnCustomer(customerId: string): Promise<AccessRequest[]> };

/** Cancels the pending requests naming a customer deleted at its source; returns how many it cancelled. */
export type PendingOnCustomerCanceller = (customerId: string) => Promise<number>;

export const DELETED_AT_SOURCE = 'deletedAtSource';

export class StoreCustomerRevoker implements CustomerAccessRevoker {
  constructor(private readonly grants: GrantsOnCustomer, private readonly requests: RequestsOnCustomer, private readonly cancelPending?: PendingOnCustomerCanceller) {}

  async revokeOnCustomer(customerId: string, by: string, at: Date): Promise<{ grants: number; requests: number }> {
    let grants = 0;
    for (const g of await this.grants.activeOnCustomer(customerId, at)) if (await this.grants.revoke(g.grantId, by, at)) grants++;
    const requests = this.cancelPending ? await this.cancelPending(customerId) : await this.cancelInStore(customerId, at);
    return { grants, requests };
  }

  private async cancelInStore(customerId: string, at: Date): Promise<number> {
    let requests = 0;
    for (const r of await this.requests.pendingOnCustomer(customerId)) {
      const { won } = await this.requests.decide({ requestId: r.requestId, outcome: 'cancelled', by: [], at, reason: DELETED_AT_SOURCE });
      if (!won) continue;
      requests++;
      await this.requests.update(r.requestId, { status: 'cancelled', decidedBy: [], decidedAt: at, denyReason: DELETED_AT_SOURCE });
    }
    return requests;
  }
}
