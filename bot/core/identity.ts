// Who is asking: a chat user becomes an employee. A bound chat id is trusted first; otherwise the
// platform's e-mail for that user is matched once and the chat id bound (compare-and-swap), so a later
// e-mail change in the chat workspace cannot hijack another employee's rights. Unknown, frozen and
// offboarded users are refused with a reason code the adapters turn into "why, and whom to ask".
// `ChatIdentifier` is the one place every handler on every platform goes through (lookups, shares,
// audit queries, approval / review / security-alert buttons and forms, and each member of a channel a
// card is shared into), so the rule cannot differ by handler; its refusals are recorded (refusals.ts).
import type { Employee } from './domain.ts';
import { CustosError, ErrorCode, isCustosError } from './errors.ts';
import { parseLocale, type Locale } from './messages.ts';
import type { ChatPlatform, EmployeeDirectory } from './ports.ts';
import { recordRefusal, type RefusalDeps, type Refusal, type RefusedInteraction } from './refusals.ts';
import type { Principal } from '../../policies/types.ts';

/** What the platform says about a chat user (Slack `users.info`, Lark contact API). */
export interface ChatProfile { email?: string; locale?: string }

/**
 * A user's profile as the platform's contact API reads them (the e-mail to match once, a locale where the
 * platform has one). `unavailable`: the platform's answer for a user it will not describe to us (another
 * organisation's member, outside the app's visibility) — no e-mail we could match, so an unknown user,
 * refused as such, not an error. Any other failure is one.
 */
export async function contactProfile(read: () => Promise<{ email?: string | null; locale?: string | null } | null>, unavailable: (err: unknown) => boolean = () => false): Promise<ChatProfile> {
  const user = await read().catch((err: unknown) => {
    if (unavailable(err)) return null;
    throw err;
  });
  return { ...(user?.email ? { email: user.email } : {}), ...(user?.locale ? { locale: user.locale } : {}) };
}

/**
 * A chat user as an adapter presents them: the platform, their id there, and how to read their profile
 * (the adapter memoises it, so one request asks the platform at most once).
 */
export interface ChatUser { platform: ChatPlatform; id: string; profile: () => Promise<ChatProfile> }

/** What the identifier is identifying the user for: recorded with a refusal. */
export interface IdentifyPurpose { interaction: RefusedInteraction; correlationId?: string; requestId?: string }

export type Identified = { ok: true; employee: Employee } | { ok: false; refusal: CustosError; locale: Locale };

export class ChatIdentifier {
  constructor(private readonly deps: { directory: EmployeeDirectory } & RefusalDeps) {}

  /** The employee behind `user`, or a CustosError (unknown, frozen, offboarded) whose refusal was recorded. */
  async identify(user: ChatUser, why: IdentifyPurpose): Promise<Employee> {
    try {
      return await resolveEmployee(this.deps.directory, user.platform, user.id, user.profile);
    } catch (err) {
      await recordIdentityRefusal(this.deps, err, { platform: user.platform, platformUserId: user.id, ...why });
      throw err;
    }
  }

  /**
   * `identify` for a click or form: an identity refusal (already recorded) comes back as a value with
   * the locale to explain it in, so the handler answers it in place; anything else still throws.
   */
  async attempt(user: ChatUser, why: IdentifyPurpose, fallback: Locale): Promise<Identified> {
    try {
      return { ok: true, employee: await this.identify(user, why) };
    } catch (err) {
      if (!isIdentityRefusal(err)) throw err;
      return { ok: false, refusal: err, locale: await this.localeOf(user, fallback) };
    }
  }

  /**
   * A member of a conversation a card is shared into, by the same rule (bound id, else the profile's
   * e-mail once, then bound). Anyone who is not an active employee counts as the most restricted.
   */
  async member(user: ChatUser): Promise<Principal> {
    try {
      return principalOf(await resolveEmployee(this.deps.directory, user.platform, user.id, user.profile));
    } catch (err) {
      if (isIdentityRefusal(err)) return mostRestrictedPrincipal(user.id);
      throw err;
    }
  }

  /** The locale to answer `user` in: their employee's, else the platform's for them, else `fallback`. */
  async localeOf(user: ChatUser, fallback: Locale): Promise<Locale> {
    const employee = await this.deps.directory.byChatId(user.platform, user.id).catch(() => null);
    if (employee) return employee.locale;
    const profile = await user.profile().catch((): ChatProfile => ({}));
    return localeFor(null, profile.locale, fallback);
  }
}

/** Unknown, frozen or offboarded: refused before any service decides. */
export function isIdentityRefusal(err: unknown): err is CustosError {
  return isCustosError(err, ErrorCode.EmployeeUnknown) || isCustosError(err, ErrorCode.EmployeeFrozen) || isCustosError(err, ErrorCode.EmployeeOffboarded);
}

/**
 * Records `err` through the shared refusal path when it is an identity refusal (the playground, whose
 * identity is picked rather than verified, refuses its own way and records here too). True when recorded.
 */
export async function recordIdentityRefusal(deps: RefusalDeps, err: unknown, who: Omit<Refusal, 'employeeId' | 'reasonCode'>): Promise<boolean> {
  if (!isIdentityRefusal(err)) return false;
  const employeeId = typeof err.details.employeeId === 'string' ? err.details.employeeId : null;
  return recordRefusal(deps, { ...who, employeeId, reasonCode: err.code });
}

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

/** The employee, or the refusal of a frozen or offboarded one. */
export function requireActive(employee: Employee): Employee {
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
