// The lookup service with security operations around it: the rate limit before (a throttled lookup is
// refused and recorded like any refusal, and counts towards the refusals detector), the detectors
// after, while the answer is sent (`noted`). Adapters use it in place of LookupService.
import type { AuditEventInput } from '../audit.ts';
import { newEventId } from '../audit-event.ts';
import { LookupRefused, LookupService, type Asker, type LookupDeps, type LookupResult } from '../lookup.ts';
import type { CustomerQuery } from '../ports.ts';
import type { SecurityService } from './guard.ts';

export class GuardedLookupService extends LookupService {
  constructor(private readonly lookupDeps: LookupDeps, private readonly security: SecurityService) {
    super(lookupDeps);
  }

  override async lookup(asker: Asker, query: CustomerQuery, purpose: string | undefined): Promise<LookupResult> {
    const admitted = await this.security.admit(asker.employee);
    if (!admitted.allowed) {
      const eventId = await this.recordThrottled(asker, admitted.retryAfterMs);
      await this.security.noteRefusal(asker.employee, eventId);
      throw new LookupRefused('denied', 'rate_limited');
    }
    let result: LookupResult;
    try {
      result = await super.lookup(asker, query, purpose);
    } catch (err) {
      if (err instanceof LookupRefused) await this.security.noteRefusal(asker.employee, newEventId(this.lookupDeps.clock.now()));
      throw err;
    }
    const shown = result.kind === 'card' ? [result.customer.customerId] : result.kind === 'pick' ? result.candidates.map((c) => c.customerId) : [];
    // Noted while the answer goes out, not before it: the count only decides later lookups (this one is
    // shown either way), and waiting for its Redis round trips was where slow answers waited (bench/lookup,
    // README: Benchmarks). The caller awaits it once it has answered (`noted`).
    this.notes.set(result, this.security.noteShown(asker.employee, shown, result.eventId).catch(() => undefined));
    return result;
  }

  private readonly notes = new WeakMap<LookupResult, Promise<void>>();

  /** Resolves once the detectors have counted what `result` showed (a refusal or a no-match: at once). */
  override noted(result: LookupResult): Promise<void> {
    return this.notes.get(result) ?? Promise.resolve();
  }

  /** Best effort, like every refusal: it shows nothing. */
  private async recordThrottled(asker: Asker, retryAfterMs: number): Promise<string> {
    const now = this.lookupDeps.clock.now();
    const event: AuditEventInput = {
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
      actor: { employeeId: asker.employee.employeeId, platform: asker.platform, platformUserId: asker.platformUserId },
      channelKind: asker.channel, action: 'lookup.refused', customerIds: [], fields: [], decision: 'denied', ruleIds: [],
      reasonCode: 'rate_limited', meta: { retryAfterMs },
      ...(asker.correlationId ? { correlationId: asker.correlationId } : {}),
    };
    await this.lookupDeps.recorder.record(event).catch(() => undefined);
    return event.eventId;
  }
}
