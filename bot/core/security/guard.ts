// Security operations, platform-neutral: per-user rate limiting before a lookup, anomaly detectors
// after it (distinct customers, refusals, export volume, off-hours bursts), and what happens when one
// trips — one alert to the security channel (evidence, a link to the audit query) and, when the policy
// says so, the user frozen at once. Freeze, unfreeze, "keep frozen" and "revoke all grants" are audited;
// the card's buttons are honoured only for principals the policy allows `admin`.
import type { AuditEventInput, AuditPlatform, AuditRecorder } from '../audit.ts';
import { newEventId } from '../audit-event.ts';
import type { SystemCancelReason } from '../approvals/service.ts';
import type { Employee } from '../domain.ts';
import { principalOf } from '../identity.ts';
import type { Clock, EmployeeDirectory } from '../ports.ts';
import type { PolicyEngine } from '../../../policies/types.ts';
import type { DetectorName, SecuritySettings } from './settings.ts';

/** Redis-backed counters (bot/store/ratelimit.ts). All operations atomic. */
export interface SecurityCounters {
  take(employeeId: string, nowMs: number, perMinute: number, burst: number): Promise<{ allowed: boolean; retryAfterMs: number }>;
  /** Adds `members` (at least one) to the detector's sliding window; returns how many distinct members it now holds. */
  note(detector: string, employeeId: string, members: readonly string[], nowMs: number, windowMs: number): Promise<number>;
  /**
   * True for exactly one caller per detector, user and window: the first trip at `nowMs` (the caller's
   * clock) opens a window of `windowMs` in which that detector trips no more. Detectors never share one.
   */
  tripOnce(detector: string, employeeId: string, nowMs: number, windowMs: number): Promise<boolean>;
  reset(employeeId: string): Promise<void>;
}

/** The per-user claim on an automatic freeze (a mark like a detector's trip; `reset` clears it). */
export const FREEZE_CLAIM = 'freeze';

export interface AnomalyAlert {
  employeeId: string;
  detector: DetectorName;
  count: number;
  max: number;
  windowMinutes: number;
  frozen: boolean;
  at: Date;
  /** What to type to see the evidence (`/audit by E-0012 since:10m`). */
  auditQuery: string;
}

/** Where alerts go (the Slack security channel, a Lark chat); adapters implement it. */
export interface SecurityAlerts {
  alert(alert: AnomalyAlert): Promise<void>;
}

/** Revokes a user's grants and pending requests (revoker.ts); `reason` is what the cancelled cards say. */
export interface AccessRevoker {
  revokeAll(employeeId: string, by: string, at: Date, reason: SystemCancelReason): Promise<{ grants: number; requests: number }>;
}

export interface SecurityDeps {
  settings: SecuritySettings;
  counters: SecurityCounters;
  alerts: SecurityAlerts;
  directory: EmployeeDirectory;
  recorder: AuditRecorder;
  engine: PolicyEngine;
  clock: Clock;
  revoker: AccessRevoker;
  /** Whether `at` is inside the employee's working hours (policy settings). */
  workingHours: (employee: Employee, at: Date) => boolean;
  onError?: (err: unknown, what: string) => void;
}

export type AdminDecision = 'unfreeze' | 'keep' | 'revoke';
export type AdminOutcome = { kind: 'done'; decision: AdminDecision; employeeId: string; grants?: number } | { kind: 'not_allowed' } | { kind: 'not_frozen' };

export class SecurityService {
  constructor(private readonly deps: SecurityDeps) {}

  /** The rate limit for one lookup. Counters unreachable: allowed (the audit queue, on the same Redis, refuses then). */
  async admit(employee: Employee): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const { perMinute, burst } = this.deps.settings.rateLimit;
    try {
      return await this.deps.counters.take(employee.employeeId, this.deps.clock.now().getTime(), perMinute, burst);
    } catch (err) {
      this.deps.onError?.(err, 'rate limiter unavailable');
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  /**
   * After a lookup showed `customerIds`. A pick's candidates are counted in one round trip: one per
   * candidate, each waiting on a busy bot's event loop, made a ten-name pick's turn ~60 ms longer
   * (bench/lookup, README: Benchmarks). All of them carry the same time, so the window's count only grows
   * across them and the detector trips after the batch exactly when it would have after one of them.
   */
  async noteShown(employee: Employee, customerIds: string[], eventId: string): Promise<void> {
    const at = this.deps.clock.now();
    if (customerIds.length > 0) await this.note(employee, 'distinctCustomers', customerIds, at);
    if (!this.deps.workingHours(employee, at)) await this.note(employee, 'offHours', [eventId], at);
  }

  async noteRefusal(employee: Employee, eventId: string): Promise<void> {
    await this.note(employee, 'refusals', [eventId], this.deps.clock.now());
  }

  async noteExport(employee: Employee, exportId: string): Promise<void> {
    await this.note(employee, 'exports', [exportId], this.deps.clock.now());
  }

  private async note(employee: Employee, detector: DetectorName, members: readonly string[], at: Date): Promise<void> {
    const d = this.deps.settings.detectors[detector];
    const windowMs = d.windowMinutes * 60_000;
    try {
      const count = await this.deps.counters.note(detector, employee.employeeId, members, at.getTime(), windowMs);
      if (count <= d.max) return;
      // Each detector on its own (issue 13, defect 6): it trips once per window of its own, whatever
      // the other detectors did, and its trip freezes where its policy says so; one detector's alert
      // never silences another's freeze.
      if (!(await this.deps.counters.tripOnce(detector, employee.employeeId, at.getTime(), windowMs))) return;
      const frozen = d.freeze ? await this.freeze(employee.employeeId, detector, count, at, windowMs) : false;
      await this.deps.alerts.alert({
        employeeId: employee.employeeId, detector, count, max: d.max, windowMinutes: d.windowMinutes, frozen, at,
        auditQuery: `by ${employee.employeeId} since:${d.windowMinutes}m`,
      });
    } catch (err) {
      this.deps.onError?.(err, `detector ${detector} failed`);
    }
  }

  /**
   * Freezes an active user and records it; true when the user is frozen afterwards. Two detectors may
   * trip at the same moment, and the store's status compare-and-swap is not atomic on FerretDB, so the
   * freeze is claimed in Redis first (per user, for the detector's window; an unfreeze clears it): one
   * freeze, one `admin.freeze` event. A detector that loses the claim reports what the winner did.
   */
  private async freeze(employeeId: string, detector: DetectorName, count: number, at: Date, windowMs: number): Promise<boolean> {
    if (!(await this.deps.counters.tripOnce(FREEZE_CLAIM, employeeId, at.getTime(), windowMs))) {
      return (await this.deps.directory.byId(employeeId))?.status === 'frozen';
    }
    const frozen = await this.deps.directory.setStatus(employeeId, 'frozen', ['active']);
    if (!frozen) return (await this.deps.directory.byId(employeeId))?.status === 'frozen';
    await this.record(systemActor(), 'admin.freeze', employeeId, { detector, count, automatic: true });
    return true;
  }

  /** A click on the alert card. The clicker is re-authorised (`admin`) at click time. */
  async decide(clicker: Employee, platform: AuditPlatform, platformUserId: string, decision: AdminDecision, employeeId: string): Promise<AdminOutcome> {
    const allowed = await this.deps.engine.decide(principalOf(clicker), 'admin', { channel: 'private', at: this.deps.clock.now() });
    const actor = { employeeId: clicker.employeeId, platform, platformUserId };
    if (!allowed.allowed) {
      await this.record(actor, decision === 'unfreeze' ? 'admin.unfreeze' : decision === 'keep' ? 'admin.freeze' : 'grant.revoke', employeeId, { button: decision }, 'denied', allowed.denyReason ?? 'no_rule');
      return { kind: 'not_allowed' };
    }
    switch (decision) {
      case 'unfreeze': {
        const done = await this.deps.directory.setStatus(employeeId, 'active', ['frozen']);
        if (!done) return { kind: 'not_frozen' };
        await this.deps.counters.reset(employeeId).catch((err: unknown) => this.deps.onError?.(err, 'counter reset failed'));
        await this.record(actor, 'admin.unfreeze', employeeId, { button: decision });
        return { kind: 'done', decision, employeeId };
      }
      case 'keep':
        await this.record(actor, 'admin.freeze', employeeId, { button: decision });
        return { kind: 'done', decision, employeeId };
      case 'revoke': {
        const { grants, requests } = await this.deps.revoker.revokeAll(employeeId, clicker.employeeId, this.deps.clock.now(), 'revoked');
        await this.record(actor, 'grant.revoke', employeeId, { button: decision, grants, requests });
        return { kind: 'done', decision, employeeId, grants };
      }
    }
  }

  private async record(actor: AuditEventInput['actor'], action: AuditEventInput['action'], subject: string, meta: Record<string, string | number | boolean>, decision: 'allowed' | 'denied' = 'allowed', reasonCode?: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.recorder.record({
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(), actor, channelKind: 'none', action,
      customerIds: [], fields: [], decision, ruleIds: [], ...(reasonCode ? { reasonCode } : {}),
      meta: { subject, ...meta },
    });
  }
}

export function systemActor(): AuditEventInput['actor'] {
  return { employeeId: null, platform: 'system' };
}
