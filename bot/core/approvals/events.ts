// The approval flow's audit events (README "Audit log"), built in one place so that every path states
// the same facts:
//   request.vote      an approver's click as an ATTEMPT, before any compare-and-swap (decision allowed),
//                     or a click refused before it could count (decision denied, reasonCode names why);
//   request.lost      a click that reached the compare-and-swap, or came after the decision, and lost;
//   request.approve / .deny / .cancel / .expire
//                     THE decision, once per request, by the winner of the transition, before any effect.
//                     Its event id derives from the request id, so a retry (the sweeper finishing a
//                     decision whose event could not be written) cannot add a second one.
import type { AuditAction, AuditEventInput, AuditPlatform } from '../audit.ts';
import { newEventId, stepEventId } from '../audit-event.ts';
import { decodePageToken, describeFilter } from '../audit-query-service.ts';
import type { Employee } from '../domain.ts';
import { requestAuditFields } from './export-fields.ts';
import type { AccessRequest, FinalOutcome, RequestDecision } from './types.ts';

export type ClickKind = 'approve' | 'deny' | 'cancel';

const DECISION_ACTIONS: Record<FinalOutcome, AuditAction> = { approved: 'request.approve', denied: 'request.deny', cancelled: 'request.cancel', expired: 'request.expire' };

/** The one event id of a request's decision (UUID-shaped, no ':'), the same in every process. */
export function decisionEventId(requestId: string): string {
  return stepEventId(`request:${requestId}:decision`);
}

/** An audit export's filter for its audit events (ids and codes, as the audit query's own event has it). */
function auditFilterMeta(r: AccessRequest): { filters?: string } {
  if (!r.auditQuery) return {};
  try { return { filters: describeFilter(decodePageToken(r.auditQuery).filter) }; } catch { return {}; }
}

export class ApprovalEvents {
  constructor(private readonly now: () => Date, private readonly platform: AuditPlatform) {}

  /** An event about request `r` (its customers, fields, purpose and parts). */
  about(action: AuditAction, actorId: string | null, r: AccessRequest, decision: 'allowed' | 'denied', meta: Record<string, number | string> = {}): AuditEventInput {
    const now = this.now();
    return {
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
      actor: { employeeId: actorId, platform: actorId ? this.platform : 'system' },
      channelKind: 'none', action, customerIds: r.customerIds,
      fields: requestAuditFields(r),
      decision, ruleIds: r.ruleIds.slice(0, 200), requestId: r.requestId,
      ...(r.grantId ? { grantId: r.grantId } : {}), ...(r.exportId ? { exportId: r.exportId } : {}),
      purpose: r.purpose,
      meta: { kind: r.kind, durationMinutes: r.durationMinutes, parts: r.parts.map((p) => `${p.name}:${p.quorum}`).join(' '), ...auditFilterMeta(r), ...meta },
    };
  }

  /**
   * A click by `clicker`: the attempt (allowed), or a refusal (denied + reasonCode). Without a request
   * (unknown or malformed id) it names the request id only when it is well-formed.
   */
  click(clicker: Employee, kind: ClickKind, target: AccessRequest | { requestId?: string }, decision: 'allowed' | 'denied', reasonCode?: string): AuditEventInput {
    const base = 'parts' in target ? this.about('request.vote', clicker.employeeId, target, decision, { vote: kind }) : this.bare('request.vote', clicker, target.requestId, { vote: kind }, decision);
    return { ...base, ...(reasonCode ? { reasonCode } : {}) };
  }

  /** A click that lost: the request was (or just got) decided as `outcome`. */
  lost(clicker: Employee, kind: ClickKind, r: AccessRequest, outcome: FinalOutcome): AuditEventInput {
    return { ...this.about('request.lost', clicker.employeeId, r, 'denied', { vote: kind, outcome }), reasonCode: 'already_decided' };
  }

  /**
   * THE decision, by content and id a function of the stored decision only (its time, deciders, reason):
   * re-recording it after a failure writes the same event, which the audit log keeps once.
   */
  decision(r: AccessRequest, d: RequestDecision): AuditEventInput {
    const actor = d.outcome === 'expired' ? null : (d.by.at(-1) ?? null);
    const allowed = d.outcome === 'approved' || d.outcome === 'cancelled';
    const base = this.about(DECISION_ACTIONS[d.outcome], actor, r, allowed ? 'allowed' : 'denied', { by: d.by.join(' ').slice(0, 200) || 'system' });
    return {
      ...base, eventId: decisionEventId(r.requestId), occurredAt: d.at.toISOString(),
      // The deny reason is the approver's words for this decision (checked for PII like any purpose).
      ...(d.outcome === 'denied' && d.reason ? { purpose: d.reason } : {}),
      ...(d.outcome === 'cancelled' && d.reason ? { reasonCode: d.reason } : {}),
    };
  }

  private bare(action: AuditAction, clicker: Employee, requestId: string | undefined, meta: Record<string, string>, decision: 'allowed' | 'denied'): AuditEventInput {
    const now = this.now();
    return {
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(), actor: { employeeId: clicker.employeeId, platform: this.platform },
      channelKind: 'none', action, customerIds: [], fields: [], decision, ruleIds: [], ...(requestId ? { requestId } : {}), meta,
    };
  }
}
