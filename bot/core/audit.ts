// The audit contract the core writes through. The event schema and its PII guard live in
// bot/core/audit-event.ts; the BullMQ producer (bot/queue) implements AuditRecorder.
// Rule (DESIGN.md): no customer data is read or shown unless its audit event was accepted.

import type { PlatformId } from './platform-id.ts';

export const AUDIT_ACTIONS = [
  'lookup', 'lookup.refused', 'share', 'reveal', 'request.create', 'request.cancel', 'request.approve',
  'request.deny', 'request.expire', 'request.remind', 'request.escalate', 'request.vote', 'request.lost', 'interaction.refused', 'grant.start', 'grant.use',
  'grant.expire', 'grant.revoke', 'export.start', 'export.complete', 'export.download', 'audit.query',
  'audit.verify', 'admin.freeze', 'admin.unfreeze', 'admin.offboard', 'admin.reactivate',
  'review.open', 'review.keep', 'review.revoke', 'review.remind', 'review.escalate', 'review.close', 'heartbeat',
  // A customer's personal data erased on request (PIPL Art. 47): recorded before anything is destroyed.
  'customer.erase',
  // An erased customer's id carried again by a source record re-created after the erasure (bot/sync).
  'customer.recreate',
  // CRM sync (bot/sync): one per run (counts and cursors, no PII) and one per customer deleted by its source.
  'sync.run', 'sync.delete',
  // A chat interaction refused before any service decided (bot/core/refusals.ts).
  'interaction.refused',
  // Provisioning from an identity provider over SCIM 2.0 (bot/scim); ids only, never names or e-mails.
  'scim.create', 'scim.update', 'scim.deactivate', 'scim.delete', 'scim.refused',
  // Events past the retention window moved to a signed bundle (bot/store/audit-archiver.ts): recorded
  // before they are removed from the live collection, with the range and the bundle's hash.
  'audit.archive',
  // The policy files a process loaded at start: version and each file's SHA-256 (bot/runtime/policy-load.ts).
  'policy.load',
  // A DPO report written (bot/reports): which report, its period and id; ids only, like every event.
  'report.generate',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * Who acted, as the audit log records it: a chat platform's id (open: any registered platform, plus the
 * playground) or one of the non-chat routes below. Validated by pattern (platform-id.ts), not by a list, so
 * a new platform needs no schema change and old events stay valid.
 */
export type AuditPlatform = PlatformId;
export const NON_CHAT_ACTORS = ['cli', 'system', 'scim'] as const;

export const AUDIT_QUERY_KINDS = ['id', 'phone', 'email', 'idNumber', 'text', 'segment', 'audit'] as const;

/** One audit event as produced (before the worker adds seq / prevHash / hash). Version 1. */
export interface AuditEventInput {
  v: 1;
  eventId: string; // minted by the producer before anything is shown; no ':' (BullMQ job id)
  occurredAt: string; // ISO-8601 UTC
  actor: { employeeId: string | null; platform: AuditPlatform; platformUserId?: string };
  channelKind: 'dm' | 'private' | 'public' | 'shared' | 'none';
  action: AuditAction;
  customerIds: string[]; // C-000123 identifiers, never names or contact values
  fields: { name: string; outcome: string }[]; // outcome: show | hide | mask:<preset>
  decision: 'allowed' | 'denied' | 'error';
  ruleIds: string[];
  reasonCode?: string; // stable code (deny reason, error code)
  grantId?: string;
  requestId?: string;
  exportId?: string;
  purpose?: string; // free text, checked for PII-looking content
  query?: { kind: (typeof AUDIT_QUERY_KINDS)[number]; hmac: string }; // HMAC of the raw query text
  correlationId?: string; // follows one platform request through logs and the audit record
  meta?: Record<string, string | number | boolean>; // small, non-PII facts (counts, durations)
  /** audit.archive only: the archived seq range, its closing checkpoint and the bundle's SHA-256. */
  archive?: { firstSeq: number; lastSeq: number; checkpoint: number; events: number; bundleSha256: string };
}

export interface AuditRecorder {
  /**
   * Resolves once the event is accepted by the queue (durably in Redis); rejects with
   * CustosError(AuditUnavailable) quickly when it cannot be, so callers refuse to show data.
   */
  record(event: AuditEventInput): Promise<void>;
}
