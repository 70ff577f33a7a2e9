// Approval timing and export limits, from the policy's settings (policies/schema.ts) with defaults.
import type { Policy } from '../../../policies/load.ts';

export interface ApprovalSettings {
  remindAfterMinutes: number;
  escalateAfterMinutes: number;
  requestTtlMinutes: number;
  exportMaxRows: number;
  /** How long an approved export may take to start (the export grant's lifetime). */
  exportWindowMinutes: number;
}

export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = {
  remindAfterMinutes: 60, escalateAfterMinutes: 240, requestTtlMinutes: 1440, exportMaxRows: 5000, exportWindowMinutes: 1440,
};

export function approvalSettingsOf(policy: Pick<Policy, 'settings'> | undefined): ApprovalSettings {
  const s = policy?.settings;
  return {
    ...DEFAULT_APPROVAL_SETTINGS,
    ...(s?.approvalTimeouts ?? {}),
    ...(s?.exportMaxRows ? { exportMaxRows: s.exportMaxRows } : {}),
  };
}
