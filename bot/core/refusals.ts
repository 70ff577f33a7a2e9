// The one path by which a chat interaction refused before any service decides is recorded: an unknown,
// frozen, offboarded or external user, or a payload we cannot read — on Slack, Lark and the playground
// alike, for every kind of interaction (lookup, share, approval, review, security alert, …). Adapters
// and the shared identifier (identity.ts) call `recordRefusal`; nothing else builds these events.
// Refusals of typed lookups keep their established action `lookup.refused` (the refusals detector and
// existing audit queries read it); every other interaction is `interaction.refused` with
// `meta.interaction` naming what was refused.
import type { AuditEventInput, AuditPlatform, AuditRecorder } from './audit.ts';
import { newEventId } from './audit-event.ts';
import type { Clock } from './ports.ts';

/** What was refused: a typed or replayed lookup, a share, an audit query, or a button / form on a card. */
export const REFUSED_INTERACTIONS = ['lookup', 'share', 'audit', 'request', 'approval', 'review', 'security', 'menu'] as const;
export type RefusedInteraction = (typeof REFUSED_INTERACTIONS)[number];

export interface Refusal {
  platform: AuditPlatform;
  platformUserId: string;
  /** Known when the chat user matched an employee (frozen, offboarded); null for strangers. */
  employeeId: string | null;
  /** A stable code: the CustosError code of the refusal, or `malformed`. */
  reasonCode: string;
  interaction: RefusedInteraction;
  correlationId?: string;
  /** The request a refused approval click was about, when the payload named a well-formed one. */
  requestId?: string;
}

export interface RefusalDeps { recorder: AuditRecorder; clock: Clock }

const REQUEST_ID = /^R-[A-P]{10}$/;

/**
 * Records the refusal; resolves true when the audit queue accepted it, false when it could not (the
 * refusal is given either way: it shows no data). Callers may say "this attempt was recorded" only on true.
 */
export async function recordRefusal(deps: RefusalDeps, refusal: Refusal): Promise<boolean> {
  try {
    await deps.recorder.record(refusalEvent(deps.clock.now(), refusal));
    return true;
  } catch {
    return false;
  }
}

export function refusalEvent(now: Date, r: Refusal): AuditEventInput {
  return {
    v: 1,
    eventId: newEventId(now),
    occurredAt: now.toISOString(),
    actor: { employeeId: r.employeeId, platform: r.platform, platformUserId: r.platformUserId },
    channelKind: 'none',
    action: r.interaction === 'lookup' ? 'lookup.refused' : 'interaction.refused',
    customerIds: [],
    fields: [],
    decision: 'denied',
    ruleIds: [],
    reasonCode: r.reasonCode,
    ...(r.correlationId ? { correlationId: r.correlationId } : {}),
    ...(r.requestId && REQUEST_ID.test(r.requestId) ? { requestId: r.requestId } : {}),
    meta: { interaction: r.interaction },
  };
}
