// Offboarding from the directory side of Lark: `contact.user.deleted_v3`, or `contact.user.updated_v3`
// with `status.is_resigned`, offboards the bound employee through the shared OffboardingService
// (bot/core/offboarding.ts), exactly as Slack's `user_change` does: status flipped first (the next
// lookup is refused even if a later step fails), every active grant revoked and every pending request
// cancelled at once, audited. Every step is idempotent, so a redelivered event is harmless.
import type { OffboardingService, OffboardResult } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';

export interface LarkOffboardingDeps {
  directory: EmployeeDirectory;
  service: OffboardingService;
  logger: Logger;
}

export class Offboarding {
  constructor(private readonly deps: LarkOffboardingDeps) {}

  /** null when the Lark user is not bound to an employee (nothing to do). */
  async chatUserLeft(openId: string): Promise<OffboardResult | null> {
    const employee = await this.deps.directory.byChatId('lark', openId);
    if (!employee) return null;
    const result = await this.deps.service.offboard(employee.employeeId, 'lark', openId);
    this.deps.logger.info({ employeeId: employee.employeeId, grants: result.grants, requests: result.requests }, 'lark: employee offboarded');
    return result;
  }
}
