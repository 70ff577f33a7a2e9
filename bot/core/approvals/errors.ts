// Refusals of the approval flow. Each carries a stable reason code (never branched on message text);
// the views turn it into a sentence from the catalogue (approval.refused.<reason>).
import { CustosError, ErrorCode } from '../errors.ts';

export const REFUSAL_REASONS = [
  'malformed', 'unknown_customer', 'not_requestable', 'duration_invalid', 'reason_required', 'reason_pii',
  'no_approvers', 'unknown_request', 'self_approval', 'not_approver', 'not_requester', 'already_voted',
  'export_denied', 'segment_invalid', 'channel_denied', 'groups_required', 'already_pending', 'erase_denied',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export class ApprovalRefused extends CustosError {
  constructor(readonly reason: RefusalReason, readonly params: Record<string, string | number> = {}) {
    super(ErrorCode.PolicyDenied, `approval refused: ${reason}`, { reason, ...params });
  }
}

/** An identical request is already pending: that one is the answer (`existing`), no second one is made. */
export class AlreadyPending extends ApprovalRefused {
  constructor(readonly existing: { requestId: string }) {
    super('already_pending', { id: existing.requestId });
  }
}

/** A click on a request that is no longer pending: who decided it, and when. */
export class AlreadyDecided extends CustosError {
  constructor(readonly outcome: string, readonly by: string[], readonly at: Date) {
    super(ErrorCode.PolicyDenied, `request already ${outcome}`, { outcome });
  }
}
