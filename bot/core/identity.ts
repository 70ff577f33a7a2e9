// Who is asking: a chat user becomes an employee. A bound chat id is trusted first; otherwise the
// platform's e-mail for that user is matched once and the chat id bound (compare-and-swap), so a later
// e-mail change in the chat workspace cannot hijack another employee's rights. Unknown, frozen and
// offboarded users are refused with a reason code the adapters turn into "why, and whom to ask".
import type { Employee } from './domain.ts';
import { CustosError, ErrorCode } from './errors.ts';
import { parseLocale, type Locale } from './messages.ts';
import type { ChatPlatform, EmployeeDirectory } from './ports.ts';
import type { Principal } from '../../policies/types.ts';

/** What the platform says about a chat user (Slack `users.info`, Lark contact API). */
export interface ChatProfile { email?: string; locale?: string }

export async function resolveEmployee(
  directory: EmployeeDirectory,
  platform: ChatPlatform,
  chatUserId: string,
  profile: () => Promise<ChatProfile>,
): Promise<Employee> {
  const bound = await directory.byChatId(platform, chatUserId);
  if (bound) return requireActive(bound);
  const { email } = await profile();
  if (!email) throw unknown('no_email');
  const byEmail = await directory.byEmail(email.trim().toLowerCase());
  if (!byEmail) throw unknown('no_employee');
  if (byEmail.chat[platform] !== undefined && byEmail.chat[platform] !== chatUserId) throw unknown('bound_elsewhere');
  requireActive(byEmail);
  const bindResult = await directory.bindChatId(byEmail.employeeId, platform, chatUserId);
  // null: someone else bound this employee between our read and the bind; do not trust the e-mail match.
  if (!bindResult) throw unknown('bound_elsewhere');
  return requireActive(bindResult);
}

function requireActive(employee: Employee): Employee {
  if (employee.status === 'frozen') {
    throw new CustosError(ErrorCode.EmployeeFrozen, 'employee is frozen', { employeeId: employee.employeeId });
  }
  if (employee.status === 'offboarded') {
    throw new CustosError(ErrorCode.EmployeeOffboarded, 'employee is offboarded', { employeeId: employee.employeeId });
  }
  return employee;
}

function unknown(reason: string): CustosError {
  return new CustosError(ErrorCode.EmployeeUnknown, `chat user is not a known employee (${reason})`, { reason });
}

export function principalOf(e: Employee): Principal {
  return {
    employeeId: e.employeeId,
    department: e.department,
    roles: [...e.roles],
    region: e.region,
    external: e.external,
    timezone: e.timezone,
    ...(e.managerId ? { managerId: e.managerId } : {}),
  };
}

/**
 * Stands in for a channel member the directory does not know (a guest, a bot, someone from another
 * organisation): external, no roles, the department that owns no customer data. Policies grant such a
 * principal the least, so the audience view can only get stricter because of them.
 */
export function mostRestrictedPrincipal(chatUserId: string): Principal {
  return {
    employeeId: `unknown:${chatUserId}`,
    department: 'it',
    roles: [],
    region: 'overseas',
    external: true,
    timezone: 'UTC',
  };
}

/** The employee's locale, else the platform's locale for the user, else the configured default. */
export function localeFor(employee: Employee | null, platformLocale: string | undefined, fallback: Locale): Locale {
  if (employee) return employee.locale;
  return parseLocale(platformLocale, fallback);
}
