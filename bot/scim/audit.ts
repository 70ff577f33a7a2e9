// Audit records of SCIM provisioning. Each change is recorded before it takes effect (the caller
// awaits `record` first), so without the audit queue nothing is provisioned or deprovisioned (fail
// closed, 503). Records carry ids only: the SCIM id, the employee id and which token was used
// (`token-2`, its position in CUSTOS_SCIM_TOKENS) — never a name, e-mail or externalId.
import type { AuditAction, AuditRecorder } from '../core/audit.ts';
import { newEventId } from '../core/audit-event.ts';
import type { Clock } from '../core/ports.ts';

export type ScimAuditAction = Extract<AuditAction, `scim.${string}`>;

export interface ScimAuditFacts {
  resource: 'User' | 'Group' | 'none';
  scimId?: string;
  employeeId?: string;
  change?: string;
  reason?: string;
  status?: number;
  method?: string;
  count?: number;
}

export class ScimAudit {
  constructor(private readonly recorder: AuditRecorder, private readonly clock: Clock) {}

  async record(action: ScimAuditAction, token: string | null, facts: ScimAuditFacts): Promise<void> {
    const now = this.clock.now();
    const meta: Record<string, string | number | boolean> = { resource: facts.resource };
    if (facts.scimId) meta.scimId = facts.scimId;
    if (facts.employeeId) meta.subject = facts.employeeId;
    if (facts.change) meta.change = facts.change;
    if (facts.status !== undefined) meta.status = facts.status;
    if (facts.method) meta.method = facts.method;
    if (facts.count !== undefined) meta.count = facts.count;
    await this.recorder.record({
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
      actor: { employeeId: null, platform: 'scim', ...(token ? { platformUserId: token } : {}) },
      channelKind: 'none', action, customerIds: [], fields: [],
      decision: action === 'scim.refused' ? 'denied' : 'allowed', ruleIds: [],
      ...(facts.reason ? { reasonCode: facts.reason } : {}),
      meta,
    });
  }
}
