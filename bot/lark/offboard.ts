// Offboarding from the directory side of Lark: `contact.user.deleted_v3`, or `contact.user.updated_v3`
// with `status.is_resigned`, marks the bound employee offboarded and at once revokes every active grant
// and cancels their pending requests, so nothing they were given outlives them. Platform-neutral: the
// adapter only says which chat identity left. The status flip comes first, so the next lookup is
// refused even if a revocation step fails; every step is idempotent, so a redelivered event is harmless.
import type { AuditEventInput, AuditRecorder } from '../core/audit.ts';
import { newEventId } from '../core/audit-event.ts';
import type { ChatPlatform, Clock, EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';

export interface OffboardingDeps {
  directory: EmployeeDirectory;
  grants: { revokeAllFor(granteeId: string, by: string, at: Date): Promise<number> };
  /** Cancels the employee's pending access requests (the approvals service); returns how many. */
  cancelPending?: (employeeId: string, at: Date) => Promise<number>;
  recorder: AuditRecorder;
  clock: Clock;
  logger: Logger;
}

export interface OffboardResult { employeeId: string; grantsRevoked: number; requestsCancelled: number }

export class Offboarding {
  constructor(private readonly deps: OffboardingDeps) {}

  /** null when the chat user is not bound to an employee (nothing to do). */
  async chatUserLeft(platform: ChatPlatform, chatUserId: string, correlationId?: string): Promise<OffboardResult | null> {
    const employee = await this.deps.directory.byChatId(platform, chatUserId);
    if (!employee) return null;
    const at = this.deps.clock.now();
    await this.deps.directory.setStatus(employee.employeeId, 'offboarded');
    const grantsRevoked = await this.deps.grants.revokeAllFor(employee.employeeId, 'system:offboarding', at);
    const requestsCancelled = this.deps.cancelPending ? await this.deps.cancelPending(employee.employeeId, at) : 0;
    const event: AuditEventInput = {
      v: 1,
      eventId: newEventId(at),
      occurredAt: at.toISOString(),
      actor: { employeeId: null, platform: 'system' },
      channelKind: 'none',
      action: 'admin.offboard',
      customerIds: [],
      fields: [],
      decision: 'allowed',
      ruleIds: [],
      reasonCode: `${platform}_user_left`,
      meta: { employeeId: employee.employeeId, grantsRevoked, requestsCancelled },
      ...(correlationId ? { correlationId } : {}),
    };
    await this.deps.recorder.record(event).catch((err: unknown) => {
      this.deps.logger.error({ err: err instanceof Error ? err.name : typeof err }, 'offboarding: audit event not accepted');
    });
    this.deps.logger.info({ employeeId: employee.employeeId, grantsRevoked, requestsCancelled }, 'employee offboarded');
    return { employeeId: employee.employeeId, grantsRevoked, requestsCancelled };
  }
}
