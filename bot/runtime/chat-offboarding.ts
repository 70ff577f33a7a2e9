// Offboarding from a chat platform's directory side: the platform says a user left (Slack's `user_change`
// with `deleted`, Lark's `contact.user.deleted_v3`, WeCom's `change_contact`, DingTalk's `user_leave_org`
// over HTTP or the Stream), and the employee bound to that user is offboarded through the shared
// OffboardingService (bot/core/offboarding.ts): status flipped first (the next lookup is refused even if a
// later step fails), every active grant revoked and every pending request cancelled at once, audited.
// Every step is idempotent, so a redelivered event is harmless.
import type { PlatformId } from '../core/platform-id.ts';
import type { OffboardingService, OffboardResult } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';

export interface ChatOffboardingDeps {
  directory: EmployeeDirectory;
  offboarding: OffboardingService;
  logger: Logger;
}

/** null when the platform's user is not bound to an employee (nothing to do). */
export async function offboardChatUser(deps: ChatOffboardingDeps, platform: PlatformId, userId: string): Promise<OffboardResult | null> {
  const employee = await deps.directory.byChatId(platform, userId);
  if (!employee) return null;
  const result = await deps.offboarding.offboard(employee.employeeId, platform, userId);
  deps.logger.info({ employeeId: employee.employeeId, grants: result.grants, requests: result.requests }, `${platform}: employee offboarded`);
  return result;
}
