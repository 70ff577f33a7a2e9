// Principals as the policy sees them, and which rules apply to them.
import type { Employee } from '../../bot/domain/domain.ts';
import type { Who } from '../schema.ts';
import type { Principal } from '../types.ts';

export function principalOf(employee: Employee): Principal {
  const principal: Principal = {
    employeeId: employee.employeeId,
    department: employee.department,
    roles: [...employee.roles],
    region: employee.region,
    external: employee.external,
    timezone: employee.timezone,
  };
  if (employee.managerId) principal.managerId = employee.managerId;
  return principal;
}

/** External users match only rules that name them (`external: true` or `any`): default deny for guests. */
export function matchesWho(who: Who, p: Principal): boolean {
  if (who.external !== 'any' && who.external !== p.external) return false;
  if (who.departments && !who.departments.includes(p.department)) return false;
  if (who.regions && !who.regions.includes(p.region)) return false;
  if (who.roles && !who.roles.some((r) => p.roles.includes(r))) return false;
  return true;
}

/** The attributes that decide which rules apply and how their variables resolve. */
export function principalKey(p: Principal, withEmployeeId: boolean, withManagerId: boolean): string {
  const roles = p.roles.length > 1 ? [...p.roles].sort().join(',') : (p.roles[0] ?? '');
  return `${p.department}|${roles}|${p.region}|${p.external ? 1 : 0}|${withEmployeeId ? p.employeeId : ''}|${withManagerId ? (p.managerId ?? '') : ''}`;
}
