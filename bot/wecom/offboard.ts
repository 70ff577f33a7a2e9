// Offboarding from WeCom's contact events: `change_contact` with `delete_user`, or `update_user` whose
// Status is 5 (退出企业; a deletion made through the API may arrive that way), offboards the employee
// bound to that userid through the shared OffboardingService (bot/core/offboarding.ts): status first,
// then every grant revoked and pending request cancelled, audited. Idempotent, so a retry is harmless.
import type { OffboardingService, OffboardResult } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';

export class WeComOffboarding {
  constructor(private readonly deps: { directory: EmployeeDirectory; service: OffboardingService; logger: Logger }) {}

  /** null when the WeCom user is bound to no employee (nothing to do). */
  async userLeft(userId: string): Promise<OffboardResult | null> {
    const employee = await this.deps.directory.byChatId('wecom', userId);
    if (!employee) return null;
    const result = await this.deps.service.offboard(employee.employeeId, 'wecom', userId);
    this.deps.logger.info({ employeeId: employee.employeeId, grants: result.grants, requests: result.requests }, 'wecom: employee offboarded');
    return result;
  }
}
