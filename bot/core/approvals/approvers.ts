// Who may approve: the policy's approval requirements resolved against the employee directory, in tiers.
// Tier order follows the requirement's approver list (e.g. the manager first, then the data-owning
// department's head); escalation asks the next tier. The requester is never an approver of their own
// request, and only active employees count.
import type { Employee } from '../domain.ts';
import type { ApprovalRequirement } from '../../../policies/types.ts';

/** The slice of the employee directory approvals need. */
export interface ApproverDirectory {
  byId(employeeId: string): Promise<Employee | null>;
  all(): Promise<Employee[]>;
}

type Spec = ApprovalRequirement['approvers'][number];

function matches(spec: Spec, e: Employee, requester: Employee): boolean {
  if (spec.kind === 'manager') return requester.managerId === e.employeeId;
  if (spec.kind === 'role') return spec.role !== undefined && e.roles.includes(spec.role);
  return e.roles.includes('head') && e.department === spec.department;
}

/** Tiers of eligible approvers (each non-empty, no one twice, never the requester). */
export function approverTiers(specs: readonly Spec[], requester: Employee, staff: readonly Employee[]): string[][] {
  const seen = new Set<string>([requester.employeeId]);
  const tiers: string[][] = [];
  for (const spec of specs) {
    const tier = staff
      .filter((e) => e.status === 'active' && !e.external && !seen.has(e.employeeId) && matches(spec, e, requester))
      .map((e) => e.employeeId)
      .sort();
    for (const id of tier) seen.add(id);
    if (tier.length) tiers.push(tier);
  }
  return tiers;
}
