// The lookup service: policy decision → purpose check → audit → scoped read → per-customer decision and
// masking → audit → result. Fail-closed ordering (DESIGN.md): two audit events bracket the data path.
//  1. `lookup` stage "query": who asked, query kind + HMAC, the decision. Accepted by the queue BEFORE
//     the database is read, so a read without a record cannot happen.
//  2. `lookup` stage "shown": the customer ids and field outcomes that are about to be displayed.
//     Accepted BEFORE the result is returned to the adapter, so nothing is shown without a record.
// If either is refused the caller gets CustosError(AuditUnavailable) and shows only the refusal.
import type { AuditEventInput, AuditPlatform, AuditRecorder } from './audit.ts';
import { hmacQuery, looksLikePii, newEventId } from './audit-event.ts';
import { FIELD_GROUPS, type Customer, type CustomerField, type Employee, type FieldGroup } from './domain.ts';
import { CustosError, ErrorCode } from './errors.ts';
import { principalOf } from './identity.ts';
import type { Clock, CustomerQuery, CustomerReader, ScopeFilter } from './ports.ts';
import { idNumberChecksumOk } from './query.ts';
import { recordThenShow } from './record.ts';
import type { OffHoursDetail, WorkingHours } from './working-hours.ts';
import type { PolicyEngineImpl } from '../../policies/engine/engine.ts';
import type { ChannelKind, Decision, DecisionContext, FieldOutcome, PolicyEngine, Principal } from '../../policies/types.ts';

export const MAX_CANDIDATES = 10;

type DecideAs = Awaited<ReturnType<PolicyEngine['decideAs']>>;

/** One field as it may be displayed: the value already masked on the server. */
export interface ShownField { field: CustomerField; value: string; outcome: FieldOutcome; asIs?: true }

/** Applies a decision to a customer (the policy engine's masking): fields in display order, hidden ones absent. */
export type Presenter = (customer: Customer, decision: Decision) => ShownField[];

export interface LookupDeps {
  engine: PolicyEngine;
  customers: CustomerReader;
  recorder: AuditRecorder;
  present: Presenter;
  clock: Clock;
  queryHmacKey: Buffer;
  /** Grant details for "shown under grant #id until T" (issue 6); without it cards name no grant. */
  grants?: { byId(grantId: string): Promise<{ grantId: string; expiresAt: Date } | null> };
  /** Where and when a synced customer's data comes from (bot/sync's SyncStore); without it cards say nothing. */
  freshness?: { freshnessOf(customerId: string): Promise<{ source: string; at: Date } | null> };
}

export interface Asker {
  employee: Employee;
  platform: AuditPlatform;
  platformUserId: string;
  channel: ChannelKind;
  correlationId?: string;
}

export interface ShownCustomer {
  customerId: string;
  fields: ShownField[];
  /** Field groups the viewer may ask an approver for (policy approval requirements), card views only. */
  requestable?: FieldGroup[];
  /** Grants that widened what is shown, with their expiry. */
  grants?: { grantId: string; expiresAt: Date }[];
  /** A synced customer's source and that source's last good run (cards only); absent for imported ones. */
  freshness?: { source: string; at: Date };
}

export type LookupResult =
  | { kind: 'card'; eventId: string; customer: ShownCustomer; shareable: boolean }
  /** `more`: more than MAX_CANDIDATES customers matched; the first ones are listed (the user should narrow the query). */
  | { kind: 'pick'; eventId: string; candidates: ShownCustomer[]; more?: boolean }
  /** `idChecksum`: the query was an ID number whose check digit is wrong (likely mistyped). */
  | { kind: 'none'; eventId: string; idChecksum?: 'wrong' };

export type ShareResult = { kind: 'card'; eventId: string; customer: ShownCustomer };

/**
 * A refusal the user must see (policy, purpose). Carries a stable reason code; the adapter turns it
 * into a sentence. Audit failures surface as CustosError(AuditUnavailable) instead.
 */
export class LookupRefused extends CustosError {
  constructor(
    readonly reason: 'purpose_required' | 'purpose_pii' | 'denied' | 'audience_denied', readonly denyReason?: string,
    /** For `off_hours`: the hours and zone the refusal states (no personal data: policy and a time zone). */
    readonly offHours?: OffHoursDetail,
  ) {
    super(ErrorCode.PolicyDenied, `lookup refused: ${reason}${denyReason ? ` (${denyReason})` : ''}`, { reason, denyReason });
  }
}

/** A "no match" for an ID number with a wrong check digit says so (the value is never echoed). */
function checksumHint(query: CustomerQuery): { idChecksum?: 'wrong' } {
  return query.kind === 'idNumber' && !idNumberChecksumOk(query.value) ? { idChecksum: 'wrong' } : {};
}

/** The policy's working hours, when the engine carries its policy (createPolicyEngine's engines do). */
function workingHoursOf(engine: PolicyEngine): WorkingHours | undefined {
  return (engine as Partial<Pick<PolicyEngineImpl, 'policy'>>).policy?.settings.workingHours;
}

export class LookupService {
  constructor(private readonly deps: LookupDeps) {}

  /** The whole lookup for one parsed query; the query value itself is kept only as an HMAC in the audit log. */
  async lookup(asker: Asker, query: CustomerQuery, purpose: string | undefined): Promise<LookupResult> {
    const principal = principalOf(asker.employee);
    const ctx = this.context(asker.channel, purpose);
    const decideAs = await this.deps.engine.decideAs(principal, ctx.at);
    const decision = decideAs('lookup', ctx);
    await this.checkAllowed(asker, decision, purpose, 'lookup', query);
    const base = this.event(asker, 'lookup', decision, purpose, query);
    // One more than can be listed, only to know whether to tell the user there are more: it is never shown.
    const read = await recordThenShow(this.deps.recorder, { ...base, meta: { stage: 'query' } },
      () => this.deps.customers.find(query, decision.scope, MAX_CANDIDATES + 1));
    const more = read.length > MAX_CANDIDATES;
    const found = read.slice(0, MAX_CANDIDATES);
    if (found.length === 0) return { kind: 'none', eventId: base.eventId, ...checksumHint(query) };

    const shown = await Promise.all(found.map((c) => this.view(decideAs, ctx, c, found.length > 1)));
    const visible = shown.filter((s): s is ShownCustomer => s !== null);
    if (visible.length === 0) return { kind: 'none', eventId: base.eventId, ...checksumHint(query) };
    const shownEvent = this.shownEvent(base, visible);
    await this.recordGrantUse(base, visible);
    if (visible.length === 1 && !more) visible[0] = await this.withFreshness(visible[0]!);
    return recordThenShow(this.deps.recorder, shownEvent, () => (visible.length === 1 && !more
      ? { kind: 'card' as const, eventId: shownEvent.eventId, customer: visible[0]!, shareable: asker.channel !== 'dm' }
      : { kind: 'pick' as const, eventId: shownEvent.eventId, candidates: visible, ...(more ? { more } : {}) }));
  }

  /** Resolves once whatever follows a shown result (GuardedLookupService: the detectors' count) is done; here nothing. */
  noted(_result: LookupResult): Promise<void> {
    return Promise.resolve();
  }

  /**
   * The audience view of one customer for a channel: every field at the strictest outcome any member
   * gets (`decideForAudience`), and only if the asker may see the customer AND every member's scope
   * contains it. `audience` must include the asker.
   */
  async share(asker: Asker, customerId: string, audience: Principal[]): Promise<ShareResult> {
    const principal = principalOf(asker.employee);
    const ctx = this.context(asker.channel, undefined);
    const own = await this.deps.engine.decide(principal, 'lookup', ctx);
    const query: CustomerQuery = { kind: 'id', value: customerId };
    await this.checkAllowed(asker, own, undefined, 'share', query);
    const group = await this.deps.engine.decideForAudience(audience, 'lookup', ctx);
    if (!group.allowed) await this.refuse(asker, group, 'share', query, new LookupRefused('audience_denied', group.denyReason));
    const base = this.event(asker, 'share', group, undefined, query);
    const scope: ScopeFilter = { $and: [own.scope, group.scope] };
    const found = await recordThenShow(this.deps.recorder, { ...base, customerIds: [customerId], meta: { stage: 'query', audience: audience.length } },
      () => this.deps.customers.find(query, scope, 1));
    const customer = found[0];
    if (!customer) throw new LookupRefused('audience_denied', 'not_in_scope');
    const perCustomer = await this.deps.engine.decideForAudience(audience, 'lookup', ctx, customer);
    if (!perCustomer.allowed || !this.deps.engine.inScope(perCustomer, customer)) {
      throw new LookupRefused('audience_denied', perCustomer.denyReason ?? 'not_in_scope');
    }
    const shown = await this.withFreshness({ customerId: customer.customerId, fields: this.deps.present(customer, perCustomer) });
    const shownEvent = { ...this.shownEvent(base, [shown]), meta: { stage: 'shown', audience: audience.length } };
    return recordThenShow(this.deps.recorder, shownEvent, () => ({ kind: 'card' as const, eventId: shownEvent.eventId, customer: shown }));
  }

  private async withFreshness(c: ShownCustomer): Promise<ShownCustomer> {
    const freshness = await this.deps.freshness?.freshnessOf(c.customerId);
    return freshness ? { ...c, freshness } : c;
  }

  private context(channel: ChannelKind, purpose: string | undefined): DecisionContext {
    return { channel, at: this.deps.clock.now(), ...(purpose ? { purpose } : {}) };
  }

  /** Per-customer decision (rules may depend on the record, e.g. own accounts); pick lists keep profile only. */
  private async view(decideAs: DecideAs, ctx: DecisionContext, customer: Customer, profileOnly: boolean): Promise<ShownCustomer | null> {
    const decision = decideAs('lookup', ctx, customer);
    // The database filter and the in-memory check come from the same conditions; re-checking here means
    // a scope bug can only hide a customer, never show one.
    if (!decision.allowed || !this.deps.engine.inScope(decision, customer)) return null;
    const fields = this.deps.present(customer, decision);
    const profile: readonly string[] = FIELD_GROUPS.profile;
    if (profileOnly) return { customerId: customer.customerId, fields: fields.filter((f) => profile.includes(f.field)) };
    const requestable = Object.keys(decision.approvals) as FieldGroup[];
    const grantIds = [...new Set(fields.map((f) => decision.fields[f.field]?.grantId).filter((g): g is string => typeof g === 'string'))];
    const grants = (await Promise.all(grantIds.map((id) => this.deps.grants?.byId(id) ?? null))).filter((g): g is { grantId: string; expiresAt: Date } => g !== null)
      .map((g) => ({ grantId: g.grantId, expiresAt: g.expiresAt }));
    return { customerId: customer.customerId, fields, ...(requestable.length ? { requestable } : {}), ...(grants.length ? { grants } : {}) };
  }

  /** Every grant that widened a shown card is audited as used (grant.use), before anything is shown. */
  private async recordGrantUse(base: AuditEventInput, shown: ShownCustomer[]): Promise<void> {
    for (const c of shown) {
      for (const g of c.grants ?? []) {
        await recordThenShow(this.deps.recorder, {
          ...base, eventId: this.mint(), action: 'grant.use', grantId: g.grantId, customerIds: [c.customerId],
          fields: c.fields.map((f) => ({ name: f.field, outcome: auditOutcome(f.outcome) })), meta: { stage: 'shown', use: 'lookup' },
        }, () => undefined);
      }
    }
  }

  private async checkAllowed(asker: Asker, decision: Decision, purpose: string | undefined, action: 'lookup' | 'share', query: CustomerQuery): Promise<void> {
    if (purpose !== undefined && looksLikePii(purpose)) {
      await this.refuse(asker, decision, action, query, new LookupRefused('purpose_pii'));
    }
    const purposeMissing = (decision.purposeRequired || decision.denyReason === 'purpose_required') && !purpose;
    if (purposeMissing && action === 'lookup') await this.refuse(asker, decision, action, query, new LookupRefused('purpose_required'));
    if (!decision.allowed) await this.refuse(asker, decision, action, query, new LookupRefused('denied', decision.denyReason, this.offHours(asker, decision)));
  }

  private offHours(asker: Asker, decision: Decision): OffHoursDetail | undefined {
    const hours = decision.denyReason === 'off_hours' ? workingHoursOf(this.deps.engine) : undefined;
    return hours ? { hours, timezone: asker.employee.timezone, at: this.deps.clock.now() } : undefined;
  }

  /**
   * Records the refusal (best effort: a refusal shows no data, so it is not gated) and throws it. The
   * purpose is left out: a refused purpose may be the very personal data it was refused for.
   */
  private async refuse(asker: Asker, decision: Decision, action: 'lookup' | 'share', query: CustomerQuery, err: LookupRefused): Promise<never> {
    const event: AuditEventInput = {
      ...this.event(asker, 'lookup.refused', decision, undefined, query),
      decision: 'denied',
      reasonCode: err.reason === 'denied' || err.reason === 'audience_denied' ? (err.denyReason ?? err.reason) : err.reason,
      meta: { refused: action },
    };
    await this.deps.recorder.record(event).catch(() => undefined);
    throw err;
  }

  private event(asker: Asker, action: 'lookup' | 'lookup.refused' | 'share', decision: Decision, purpose: string | undefined, query: CustomerQuery): AuditEventInput {
    return {
      v: 1,
      eventId: this.mint(),
      occurredAt: this.deps.clock.now().toISOString(),
      actor: { employeeId: asker.employee.employeeId, platform: asker.platform, platformUserId: asker.platformUserId },
      channelKind: asker.channel,
      action,
      customerIds: [],
      fields: [],
      decision: decision.allowed ? 'allowed' : 'denied',
      ruleIds: decision.ruleIds,
      ...(decision.grantIds[0] ? { grantId: decision.grantIds[0] } : {}),
      ...(purpose ? { purpose } : {}),
      query: { kind: query.kind, hmac: hmacQuery(this.deps.queryHmacKey, query.value) },
      ...(asker.correlationId ? { correlationId: asker.correlationId } : {}),
    };
  }

  private shownEvent(base: AuditEventInput, shown: ShownCustomer[]): AuditEventInput {
    const outcomes = new Map<string, string>();
    for (const s of shown) for (const f of s.fields) {
      const key = `${f.field}|${f.outcome}`;
      if (!outcomes.has(key)) outcomes.set(key, f.field);
    }
    return {
      ...base,
      eventId: this.mint(),
      occurredAt: this.deps.clock.now().toISOString(),
      customerIds: shown.map((s) => s.customerId),
      fields: [...outcomes.keys()].map((k) => ({ name: k.split('|')[0]!, outcome: auditOutcome(k.split('|')[1]!) })),
      meta: { stage: 'shown', candidates: shown.length },
    };
  }

  private mint(): string {
    return newEventId(this.deps.clock.now());
  }
}

/**
 * The outcome as the audit schema spells it. The schema's preset token allows `[a-z0-9_-]` only, while
 * policy presets name their variants `family.strict` / `family.loose`; those are recorded as
 * `family-strict` / `family-loose` (same information, no dot) until the schema accepts the dot.
 */
export function auditOutcome(outcome: string): string {
  return outcome.replace(/\./g, '-');
}

