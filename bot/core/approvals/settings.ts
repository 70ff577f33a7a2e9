// Approval timing and export limits, from the policy's settings (policies/schema.ts) with defaults.
import type { Policy } from '../../../policies/load.ts';
import type { ApprovalRequirement } from '../../../policies/types.ts';

/** Who decides an audit-export request (issue 8: the DPO), from `settings.auditExport`. */
export interface AuditExportSettings { approvers: ApprovalRequirement['approvers']; quorum: number; maxDurationMinutes: number }

export interface ApprovalSettings {
  remindAfterMinutes: number;
  escalateAfterMinutes: number;
  requestTtlMinutes: number;
  exportMaxRows: number;
  /** How long an approved export may take to start (the export grant's lifetime). */
  exportWindowMinutes: number;
  auditExport: AuditExportSettings;
  /** Who decides an erasure request made in chat (issue 19: the DPO), from `settings.erasure`. */
  erasure: AuditExportSettings;
}

export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = {
  remindAfterMinutes: 60, escalateAfterMinutes: 240, requestTtlMinutes: 1440, exportMaxRows: 5000, exportWindowMinutes: 1440,
  auditExport: { approvers: [{ kind: 'role', role: 'dpo' }], quorum: 1, maxDurationMinutes: 1440 },
  erasure: { approvers: [{ kind: 'role', role: 'dpo' }], quorum: 1, maxDurationMinutes: 1440 },
};

export function approvalSettingsOf(policy: Pick<Policy, 'settings'> | undefined): ApprovalSettings {
  const s = policy?.settings;
  return {
    ...DEFAULT_APPROVAL_SETTINGS,
    ...(s?.approvalTimeouts ?? {}),
    ...(s?.exportMaxRows ? { exportMaxRows: s.exportMaxRows } : {}),
    ...(s?.auditExport ? { auditExport: auditExportOf(s.auditExport) } : {}),
    ...(s?.erasure ? { erasure: auditExportOf({ ...s.erasure, maxDurationMinutes: DEFAULT_APPROVAL_SETTINGS.erasure.maxDurationMinutes }) } : {}),
  };
}

type PolicyAuditExport = NonNullable<Policy['settings']['auditExport']>;

/** Audit data has no owning department: a `department_head: owner` approver names nobody and is dropped. */
function auditExportOf(a: PolicyAuditExport): AuditExportSettings {
  const approvers = a.approvers.flatMap((x): ApprovalRequirement['approvers'] => (
    x.kind === 'department_head' ? (x.department === 'owner' ? [] : [{ kind: 'department_head', department: x.department }]) : [x]));
  return { approvers, quorum: a.quorum, maxDurationMinutes: a.maxDurationMinutes };
}
