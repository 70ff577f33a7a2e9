// Errors carry a stable string code (in the manner of bolt-js src/errors.ts). Code branches on `code`,
// never on message text; users see only the sentence that `userMessage` (messages.ts) maps the code to.
// `details` may hold safe, non-PII facts (line numbers, field names, setting names) for operators.

export const ErrorCode = {
  ConfigInvalid: 'custos_config_invalid',
  ImportInvalid: 'custos_import_invalid',
  ImportFileUnreadable: 'custos_import_file_unreadable',
  PolicyInvalid: 'custos_policy_invalid',
  PolicyDenied: 'custos_policy_denied',
  GrantInvalid: 'custos_grant_invalid',
  AuditUnavailable: 'custos_audit_unavailable',
  DeliveryCheckUnavailable: 'custos_delivery_check_unavailable',
  AuditEventInvalid: 'custos_audit_event_invalid',
  AuditAnchorsInvalid: 'custos_audit_anchors_invalid',
  AuditArchiveRefused: 'custos_audit_archive_refused',
  AuditArchiveInvalid: 'custos_audit_archive_invalid',
  CryptoKeyUnknown: 'custos_crypto_key_unknown',
  CryptoTampered: 'custos_crypto_tampered',
  EmployeeUnknown: 'custos_employee_unknown',
  EmployeeFrozen: 'custos_employee_frozen',
  EmployeeOffboarded: 'custos_employee_offboarded',
  QueryInvalid: 'custos_query_invalid',
  ErasureInvalid: 'custos_erasure_invalid',
  ReportInvalid: 'custos_report_invalid',
  NotFound: 'custos_not_found',
  ScimRefused: 'custos_scim_refused',
  ImportScimManaged: 'custos_import_scim_managed',
  SyncMappingInvalid: 'custos_sync_mapping_invalid',
  SyncSourceUnknown: 'custos_sync_source_unknown',
  SyncSourceFailed: 'custos_sync_source_failed',
  SyncBudgetExhausted: 'custos_sync_budget_exhausted',
  Internal: 'custos_internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CustosError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CustosError';
    this.code = code;
    this.details = details;
  }
}

export function isCustosError(err: unknown, code?: ErrorCode): err is CustosError {
  return err instanceof CustosError && (code === undefined || err.code === code);
}
