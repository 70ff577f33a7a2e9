// Offboarding and department transfers, platform-neutral: whichever route reports them (a directory
// import, Slack `user_change` deleted, Lark `contact.user.deleted_v3`), the effect is the same and
// immediate — status changed, every active grant and pending request revoked, audited. A transfer
// keeps the person active but drops what their old department gave them: grants are revoked, and the
// policy (which decides by current department) stops granting the old department's rights at once.
// Reactivation (an import that sets an offboarded employee back, only with --allow-reactivation) brings
// the person back with nothing: no grants, no pending requests, no chat bindings (the chat account is
// matched by e-mail again on first use, as for a new employee); audited before the status changes.
import type { AuditAction, AuditEventInput, AuditPlatform, AuditRecorder } from './audit.ts';
import { newEventId } from './audit-event.ts';
import type { PlatformId } from './platform-id.ts';
import type { Clock, EmployeeDirectory } from './ports.ts';
import type { AccessRevoker } from './security/guard.ts';

/** Who reported it: a directory import, an administrator, SCIM, or a chat platform's own event (its id). */
export type OffboardingRoute = 'import' | 'admin' | 'scim' | PlatformId;

/** The audited actor of a route: a platform reports as itself; the import as the CLI, an admin as the system. */
export function routeActor(route: OffboardingRoute): AuditPlatform {
  return route === 'import' ? 'cli' : route === 'admin' ? 'system' : route;
}

export interface OffboardingDeps {
  directory: EmployeeDirectory;
  revoker: AccessRevoker;
  recorder: AuditRecorder;
  clock: Clock;
}

export interface OffboardResult { employeeId: string; changed: boolean; grants: number; requests: number }

export class OffboardingService {
  constructor(private readonly deps: OffboardingDeps) {}

  /** Offboards an employee; idempotent (a second report revokes whatever appeared since and records nothing new). */
  async offboard(employeeId: string, route: OffboardingRoute, platformUserId?: string): Promise<OffboardResult> {
    const changed = await this.deps.directory.setStatus(employeeId, 'offboarded', ['active', 'frozen']);
    const { grants, requests } = await this.deps.revoker.revokeAll(employeeId, `offboarding:${route}`, this.deps.clock.now(), 'offboarded');
    if (changed || grants > 0 || requests > 0) await this.record(employeeId, route, 'offboard', grants, requests, platformUserId);
    return { employeeId, changed: changed !== null, grants, requests };
  }

  /** A department change already written by the import: revoke what the old department's work earned. */
  async transferred(employeeId: string, from: string, to: string, route: OffboardingRoute = 'import'): Promise<OffboardResult> {
    const { grants, requests } = await this.deps.revoker.revokeAll(employeeId, 'transfer', this.deps.clock.now(), 'transferred');
    await this.record(employeeId, route, `transfer:${from}->${to}`, grants, requests);
    return { employeeId, changed: true, grants, requests };
  }

  /**
   * Roles already taken away (an identity-provider group change): handled like a transfer. custos does not
   * record which role a grant or a pending request relied on, so all of them go; the person asks again
   * under the roles they have now. Without this a grant approved for a lead would keep working for
   * someone who is no longer one until it expired.
   */
  async rolesRemoved(employeeId: string, removed: readonly string[], route: OffboardingRoute): Promise<OffboardResult> {
    const { grants, requests } = await this.deps.revoker.revokeAll(employeeId, 'role-removed', this.deps.clock.now(), 'roleRemoved');
    await this.record(employeeId, route, `roles-removed:${removed.join(',')}`, grants, requests);
    return { employeeId, changed: true, grants, requests };
  }

  /**
   * An offboarded employee back at `to`. Whatever access is left is revoked (offboarding revoked it all;
   * this catches anything since) and the chat bindings are dropped while still offboarded: a chat
   * account may have changed hands meanwhile, and a bound id is trusted without an e-mail check. The
   * audit record comes before the status change, so without the audit queue nobody is reactivated.
   */
  async reactivate(employeeId: string, to: 'active' | 'frozen', route: OffboardingRoute): Promise<OffboardResult> {
    const { grants, requests } = await this.deps.revoker.revokeAll(employeeId, `reactivation:${route}`, this.deps.clock.now(), 'offboarded');
    await this.deps.directory.unbindChat(employeeId, 'offboarded');
    await this.record(employeeId, route, `reactivate:${to}`, grants, requests, undefined, 'admin.reactivate');
    const changed = await this.deps.directory.setStatus(employeeId, to, ['offboarded']);
    return { employeeId, changed: changed !== null, grants, requests };
  }

  private async record(employeeId: string, route: OffboardingRoute, change: string, grants: number, requests: number, platformUserId?: string, action: AuditAction = 'admin.offboard'): Promise<void> {
    const now = this.deps.clock.now();
    const platform = routeActor(route);
    const event: AuditEventInput = {
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
      actor: { employeeId: null, platform, ...(platformUserId ? { platformUserId } : {}) },
      channelKind: 'none', action, customerIds: [], fields: [], decision: 'allowed', ruleIds: [],
      meta: { subject: employeeId, route, change, grants, requests },
    };
    await this.deps.recorder.record(event);
  }
}
