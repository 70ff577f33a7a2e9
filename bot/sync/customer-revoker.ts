// What a customer deleted by its source takes with it: every pending request on it cancelled (a
// compare-and-swap per request, as the store-only canceller of offboarding does) and every active grant
// naming it revoked. A grant naming several customers is revoked whole: default deny, the approver can
// grant the others again. Card copies of a cancelled request are not yet updated in place (README).
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

export class StoreCustomerRevoker implements CustomerAccessRevoker {
  constructor(private readonly grants: GrantsOnCustomer, private readonly requests: RequestsOnCustomer) {}

  async revokeOnCustomer(customerId: string, by: string, at: Date): Promise<{ grants: number; requests: number }> {
    let grants = 0;
    for (const g of await this.grants.activeOnCustomer(customerId, at)) if (await this.grants.revoke(g.grantId, by, at)) grants++;
    let requests = 0;
    for (const r of await this.requests.pendingOnCustomer(customerId)) {
      const { won } = await this.requests.decide({ requestId: r.requestId, outcome: 'cancelled', by: [], at, reason: 'revoked' });
      if (!won) continue;
      requests++;
      await this.requests.update(r.requestId, { status: 'cancelled', decidedBy: [], decidedAt: at, denyReason: 'revoked' });
    }
    return { grants, requests };
  }
}
