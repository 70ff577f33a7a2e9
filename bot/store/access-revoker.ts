// What offboarding and an admin's "revoke" take away, over the stores: every active grant of the
// person, and each of their pending access requests (cancelled through the same compare-and-swap as a
// Cancel click, so a request decided at the same moment keeps its one outcome). Shared by the Slack
// and Lark runtimes (bot/core/offboarding.ts and the security service call it).
import type { Connection } from 'mongoose';
import type { AccessRevoker } from '../core/security/guard.ts';
import { MongoGrantStore } from './grant-store.ts';
import { MongoRequestStore } from './request-store.ts';

export function storeAccessRevoker(conn: Connection): AccessRevoker {
  const requests = new MongoRequestStore(conn);
  const grantStore = new MongoGrantStore(conn);
  return {
    async revokeAll(employeeId, by, at) {
      const grants = await grantStore.revokeAllFor(employeeId, by, at);
      let cancelled = 0;
      for (const r of await requests.pendingOf(employeeId)) {
        const { won } = await requests.decide({ requestId: r.requestId, outcome: 'cancelled', by: [by], at });
        if (won) { cancelled++; await requests.update(r.requestId, { status: 'cancelled', decidedBy: [by], decidedAt: at }); }
      }
      return { grants, requests: cancelled };
    },
  };
}
