// Revoking a user's access (offboarding, a transfer, "Revoke all grants" on an alert card): their active
// grants, and their pending requests cancelled. Cancelling goes through the approval service once the
// chat app that renders its cards exists, so every approver's card copy, on whichever platform it was
// posted, says "cancelled" in place and nobody approves a dead request; before that (or without any chat
// client, e.g. a CLI with neither Slack nor Lark settings) the request store alone cancels them.
import type { SystemCancelReason } from '../approvals/service.ts';
import type { RequestStore } from '../approvals/types.ts';
import type { Clock } from '../ports.ts';
import type { AccessRevoker } from './guard.ts';

export interface GrantRevocation { revokeAllFor(granteeId: string, by: string, at: Date): Promise<number> }

/** Cancels a requester's pending requests; returns how many this call cancelled. */
export type PendingCanceller = (employeeId: string, reason: SystemCancelReason) => Promise<number>;

/** The store-only canceller: compare-and-swap per request, no card updates (no chat client). */
export function storeCanceller(requests: RequestStore, clock: Clock): PendingCanceller {
  return async (employeeId, reason) => {
    let cancelled = 0;
    for (const r of await requests.pendingOf(employeeId)) {
      const at = clock.now();
      const { won } = await requests.decide({ requestId: r.requestId, outcome: 'cancelled', by: [], at, reason });
      if (!won) continue;
      cancelled++;
      await requests.update(r.requestId, { status: 'cancelled', decidedBy: [], decidedAt: at, denyReason: reason });
    }
    return cancelled;
  };
}

export class GrantAndRequestRevoker implements AccessRevoker {
  constructor(private readonly grants: GrantRevocation, private canceller: PendingCanceller) {}

  /** Switches to the approval service's canceller once the chat app exists (cards updated in place). */
  useCanceller(canceller: PendingCanceller): void {
    this.canceller = canceller;
  }

  async revokeAll(employeeId: string, by: string, at: Date, reason: SystemCancelReason): Promise<{ grants: number; requests: number }> {
    const grants = await this.grants.revokeAllFor(employeeId, by, at);
    const requests = await this.canceller(employeeId, reason);
    return { grants, requests };
  }
}
