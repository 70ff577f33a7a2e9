// How a SCIM User becomes a custos employee, pure (table-tested in test/scim.test.ts). The IdP's
// department name goes through CUSTOS_SCIM_DEPARTMENTS (or is a custos department already), else the
// default department; without either the user is refused: guessing a department would guess what
// customer data they may see. Group memberships give roles (CUSTOS_SCIM_GROUP_ROLES), staff when none.
import type { ScimSettings } from '../config.ts';
import { DEPARTMENTS, ROLES, type Department, type Employee, type EmployeeStatus, type Role } from '../core/domain.ts';
import type { Locale } from '../core/messages.ts';
import type { ScimUserData } from '../store/scim-store.ts';
import { badRequest } from './errors.ts';
import { ENTERPRISE_SCHEMA } from './protocol.ts';

const DEFAULT_TZ = 'Asia/Shanghai';

export function departmentOf(data: ScimUserData, settings: ScimSettings): Department {
  const given = data.enterprise?.department?.trim();
  if (given) {
    const mapped = settings.departments[given.toLowerCase()];
    if (mapped) return mapped;
    const own = DEPARTMENTS.find((d) => d === given.toLowerCase());
    if (own) return own;
  }
  if (settings.defaultDepartment) return settings.defaultDepartment;
  throw badRequest('invalidValue', given
    ? `attribute ${ENTERPRISE_SCHEMA}:department names a department custos does not know; map it in CUSTOS_SCIM_DEPARTMENTS or set CUSTOS_SCIM_DEFAULT_DEPARTMENT`
    : `attribute ${ENTERPRISE_SCHEMA}:department is missing and CUSTOS_SCIM_DEFAULT_DEPARTMENT is not set`);
}

export function rolesOf(groupNames: readonly string[], settings: ScimSettings): Role[] {
  const roles = new Set<Role>();
  for (const g of groupNames) {
    const role = settings.groupRoles[g.toLowerCase()];
    if (role) roles.add(role);
  }
  return roles.size === 0 ? ['staff'] : ROLES.filter((r) => roles.has(r));
}

/** Roles in `before` and not in `after`. `staff` is what a user in no mapped group has: joining one loses nothing. */
export function lostRoles(before: readonly Role[], after: readonly Role[]): Role[] {
  return before.filter((r) => !after.includes(r) && r !== 'staff');
}

export function emailOf(data: ScimUserData): string {
  const emails = data.emails ?? [];
  const chosen = emails.find((e) => e.primary) ?? emails.find((e) => e.type?.toLowerCase() === 'work') ?? emails[0];
  if (chosen) return chosen.value.trim().toLowerCase();
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(data.userName)) return data.userName.trim().toLowerCase();
  throw badRequest('invalidValue', 'a User needs an e-mail address: give emails, or a userName that is an e-mail address');
}

export function nameOf(data: ScimUserData): string {
  const parts = [data.name?.givenName, data.name?.familyName].filter(Boolean).join(' ');
  return (data.displayName ?? data.name?.formatted ?? (parts || data.userName)).trim().slice(0, 200);
}

/** employeeNumber as a custos employee id: E-0042 as is, 42 as E-0042; anything else is refused. */
export function employeeIdOf(data: ScimUserData): string | undefined {
  const n = data.enterprise?.employeeNumber?.trim();
  if (!n) return undefined;
  if (/^E-\d{4,}$/i.test(n)) return n.toUpperCase();
  if (/^\d{1,12}$/.test(n)) return `E-${n.padStart(4, '0')}`;
  throw badRequest('invalidValue', `attribute ${ENTERPRISE_SCHEMA}:employeeNumber must be a custos employee id like E-0042 or a number`);
}

function localeOf(data: ScimUserData, fallback: Locale): Employee['locale'] {
  const tag = (data.preferredLanguage ?? data.locale ?? '').toLowerCase();
  if (tag.startsWith('zh')) return 'zh-CN';
  if (tag.startsWith('en')) return 'en';
  return fallback === 'en' ? 'en' : 'zh-CN';
}

function timezoneOf(data: ScimUserData): string {
  if (!data.timezone) return DEFAULT_TZ;
  try {
    new Intl.DateTimeFormat('en', { timeZone: data.timezone });
    return data.timezone;
  } catch {
    throw badRequest('invalidValue', 'attribute timezone must be an IANA time zone such as Asia/Shanghai');
  }
}

/**
 * The status a SCIM write leaves: `active: false` offboards; `active: true` keeps a freeze (set by an
 * anomaly detector or an admin, lifted only by an admin's Unfreeze) and brings an offboarded employee
 * back only as a reactivation (decided by the caller).
 */
export function statusOf(active: boolean, before: EmployeeStatus | undefined): EmployeeStatus {
  if (!active) return 'offboarded';
  return before === 'frozen' ? 'frozen' : 'active';
}

export interface EmployeeContext {
  employeeId: string;
  managerId: string | undefined;
  groupNames: readonly string[];
  before: Employee | null;
  defaultLocale: Locale;
}

/** The employee record a SCIM User stands for (chat bindings are the directory's, kept as they are). */
export function toEmployee(data: ScimUserData, settings: ScimSettings, ctx: EmployeeContext): Employee {
  const e: Employee = {
    employeeId: ctx.employeeId,
    email: emailOf(data),
    name: nameOf(data),
    department: departmentOf(data, settings),
    roles: rolesOf(ctx.groupNames, settings),
    region: ctx.before?.region ?? settings.defaultRegion,
    timezone: timezoneOf(data),
    locale: localeOf(data, ctx.defaultLocale),
    status: statusOf(data.active, ctx.before?.status),
    external: ['guest', 'external'].includes((data.userType ?? '').toLowerCase()),
    chat: ctx.before?.chat ?? {},
  };
  if (ctx.managerId) e.managerId = ctx.managerId;
  return e;
}
