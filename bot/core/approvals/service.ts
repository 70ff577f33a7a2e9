// The approval service: requests, decisions and their side effects, platform-neutral. Adapters call it
// with a resolved Employee and render what it returns; chat I/O goes through the ApprovalNotifier port.
//
// Exactly-once transitions: a request leaves `pending` through RequestStore.decide, a unique insert per
// request id (FerretDB 1.24 does not apply conditional updates atomically; see grant-store.ts). Votes are
// unique per (request, approver). The winner of the transition alone creates the grant (its id derives
// from the request id, so even a retried winner cannot create two), updates the cards and tells the
// requester. Everything is audited before it takes effect (record, then act).
import { randomBytes } from 'node:crypto';
import type { AuditAction, AuditEventInput, AuditRecorder } from '../audit.ts';
import { looksLikePii, newEventId } from '../audit-event.ts';
import { decodePageToken, describeFilter, encodePageToken, type AuditFilter } from '../audit-query-service.ts';
import { CUSTOMER_FIELDS, groupOf, type Customer, type CustomerField, type Employee, type FieldGroup } from '../domain.ts';
import { principalOf } from '../identity.ts';
import { t } from '../messages.ts';
import type { Clock, CustomerReader } from '../ports.ts';
import { recordThenShow } from '../record.ts';
import { applyDecision } from '../view.ts';
import { approvalCardView, grantExpiredCardView, type ApprovalView } from '../views-approval.ts';
import type { Grant, GrantStore } from '../../../policies/grants.ts';
import type { ApprovalRequirement, ChannelKind, Decision, PolicyEngine } from '../../../policies/types.ts';
import { approverTiers, combineRequirements, type ApproverDirectory } from './approvers.ts';
import { exportableFields, planExportFields, requestAuditFields, type ExportFieldOutcome } from './export-fields.ts';
import type { Policy } from '../../../policies/load.ts';
import { AlreadyDecided, ApprovalRefused } from './errors.ts';
import type { ApprovalSettings } from './settings.ts';
import type { AccessRequest, CardRef, FinalOutcome, RequestInput, RequestOrigin, RequestStore, RequestTarget } from './types.ts';

/** Chat I/O of the approval flow (bot/slack/approval-notifier.ts; the Lark adapter implements it too). */
export interface ApprovalNotifier {
  /** Posts a card into the employee's DM; null when they have no identity on this platform. */
  postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null>;
  updateCard(ref: CardRef, view: ApprovalView): Promise<void>;
  /** A one-line direct message. */
  tell(to: Employee, text: string): Promise<void>;
  /** Shows the revealed field on the origin card for the requester only; `revealed: null` re-masks it. */
  showReveal(request: AccessRequest, requester: Employee, revealed: { field: CustomerField; value: string; grantId: string; until: Date } | null): Promise<void>;
}

/** Starts an approved export (workers/export); the job carries ids only. */
export interface ExportQueue { enqueue(job: { requestId: string; exportId: string }): Promise<void> }

/** Sees approved exports (the export-volume anomaly detector, bot/core/security/guard.ts). */
export interface ExportWatch { noteExport(requester: Employee, exportId: string): Promise<void> }

/**
 * Why the system cancelled a requester's pending requests; stored in the request's `denyReason` so every
 * card copy can say it (a cancel by the requester leaves it empty).
 */
export type SystemCancelReason = 'offboarded' | 'transferred' | 'revoked';

/** Wakes the sweeper at a time (a delayed BullMQ job); the periodic sweep covers anything missed. */
export interface WakeUps { at(when: Date): Promise<void> }

export interface ApprovalDeps {
  engine: PolicyEngine;
  customers: CustomerReader;
  requests: RequestStore;
  grants: GrantStore;
  directory: ApproverDirectory;
  recorder: AuditRecorder;
  clock: Clock;
  notifier: ApprovalNotifier;
  settings: ApprovalSettings;
  exports?: ExportQueue;
  exportWatch?: ExportWatch;
  wakeUps?: WakeUps;
  platform: 'slack' | 'lark' | 'playground';
}

/** What a request would need: the modal's bounds and the approvers it would go to. */
export interface Prepared {
  target: RequestTarget;
  groups: FieldGroup[]; // the groups a grant widens
  requestable: FieldGroup[]; // access: groups the requester may pick
  fields: CustomerField[];
  /** export: what each column will hold if approved (export-fields.ts). */
  fieldOutcomes?: ExportFieldOutcome[];
  maxDurationMinutes: number;
  quorum: number;
  tiers: string[][];
  ruleIds: string[];
}

export type DecisionResult =
  | { kind: 'voted'; request: AccessRequest; votes: number }
  | { kind: 'decided'; request: AccessRequest };

const MINUTE = 60_000;
const CUSTOMER_ID = /^C-\d{1,12}$/;

function minutes(at: Date, n: number): Date { return new Date(at.getTime() + n * MINUTE); }

/** How many tiers must be asked at once so that the quorum can be reached at all. */
function tiersForQuorum(tiers: string[][], quorum: number): number {
  let asked = 0;
  let people = 0;
  while (asked < tiers.length && people < quorum) people += tiers[asked++]!.length;
  return Math.max(1, asked);
}

export function newRequestId(): string {
  // Letters only (hex digits mapped to A-P): an id of digits could trip the audit log's PII guard.
  return `R-${[...randomBytes(5).toString('hex')].map((c) => String.fromCharCode(65 + parseInt(c, 16))).join('')}`;
}

/** An audit export's filter for its audit events (ids and codes, as the audit query's own event has it). */
function auditFilterMeta(r: AccessRequest): { filters?: string } {
  if (!r.auditQuery) return {};
  try { return { filters: describeFilter(decodePageToken(r.auditQuery).filter) }; } catch { return {}; }
}

export class ApprovalService {
  constructor(readonly deps: ApprovalDeps) {}

  /** Validates a target and resolves its requirement; throws ApprovalRefused with a specific reason. */
  async prepare(requester: Employee, target: RequestTarget, channel: ChannelKind, purpose = 'pending'): Promise<Prepared> {
    if (target.kind === 'export') return this.prepareExport(requester, target, channel, purpose);
    if (target.kind === 'audit-export') return this.prepareAuditExport(requester, target, channel, purpose);
    if (!CUSTOMER_ID.test(target.customerId)) throw new ApprovalRefused('malformed');
    if (target.kind === 'reveal' && channel !== 'dm' && channel !== 'private') throw new ApprovalRefused('channel_denied');
    const principal = principalOf(requester);
    const ctx = { channel, at: this.deps.clock.now(), purpose };
    const scoped = await this.deps.engine.decide(principal, 'lookup', ctx);
    const customer = scoped.allowed ? (await this.deps.customers.find({ kind: 'id', value: target.customerId }, scoped.scope, 1))[0] : undefined;
    const decision = customer ? await this.deps.engine.decide(principal, 'lookup', ctx, customer) : undefined;
    if (!customer || !decision?.allowed || !this.deps.engine.inScope(decision, customer)) throw new ApprovalRefused('unknown_customer', { customer: target.customerId });
    const requestable = (Object.keys(decision.approvals) as FieldGroup[]);
    let groups: FieldGroup[];
    let fields: CustomerField[] = [];
    if (target.kind === 'reveal') {
      if (!(CUSTOMER_FIELDS as readonly string[]).includes(target.field)) throw new ApprovalRefused('malformed');
      const group = groupOf(target.field);
      if (!decision.approvals[group] || decision.fields[target.field]?.outcome === 'show') throw new ApprovalRefused('not_requestable', { what: target.field });
      groups = [group];
      fields = [target.field];
    } else {
      groups = target.groups?.length ? [...new Set(target.groups)] : requestable;
      const bad = groups.find((g) => !decision.approvals[g]);
      if (bad || groups.length === 0) throw new ApprovalRefused('not_requestable', { what: bad ?? 'access' });
    }
    const reqs = groups.map((g) => decision.approvals[g]!);
    const prepared = await this.withApprovers(requester, target, groups, requestable, fields, reqs, decision.ruleIds, []);
    // Before the groups are picked (the access modal) the bound is the loosest any pick could get; the
    // submission is checked against the strictest of the groups actually picked.
    if (target.kind === 'access' && !target.groups?.length) prepared.maxDurationMinutes = Math.max(...reqs.map((r) => r.maxDurationMinutes));
    return prepared;
  }

  private async prepareExport(requester: Employee, target: Extract<RequestTarget, { kind: 'export' }>, channel: ChannelKind, purpose: string): Promise<Prepared> {
    if (channel !== 'dm' && channel !== 'private') throw new ApprovalRefused('channel_denied');
    if (target.fields.length === 0) throw new ApprovalRefused('segment_invalid', { problem: 'fields:' });
    const bad = target.fields.find((f) => !(CUSTOMER_FIELDS as readonly string[]).includes(f));
    if (bad) throw new ApprovalRefused('segment_invalid', { problem: `fields:${bad.slice(0, 40)}` });
    const decision = await this.deps.engine.decide(principalOf(requester), 'export', { channel, at: this.deps.clock.now(), purpose });
    if (decision.denyReason && ['off_hours', 'channel_denied', 'external_denied', 'purpose_required'].includes(decision.denyReason)) {
      throw new ApprovalRefused('export_denied', { reason: decision.denyReason });
    }
    // Only a field that no export rule lets through asks for its group's approval; the grant widens
    // exactly those groups (possibly none: the grant then only authorises the export itself).
    const policy = (this.deps.engine as PolicyEngine & { policy?: Policy }).policy;
    const principal = principalOf(requester);
    const exportable = policy ? exportableFields(policy, principal) : new Set<CustomerField>();
    const widen: FieldGroup[] = [];
    for (const f of target.fields) {
      const permitted = exportable.has(f) || (decision.allowed && (decision.fields[f]?.outcome ?? 'hide') !== 'hide');
      if (permitted) continue;
      const g = groupOf(f);
      if (!decision.approvals[g]) throw new ApprovalRefused('not_requestable', { what: f });
      if (!widen.includes(g)) widen.push(g);
    }
    const reqs: ApprovalRequirement[] = widen.map((g) => decision.approvals[g]!);
    // An export always needs someone to say yes: the requester's manager first, then their head.
    const own: ApprovalRequirement = {
      approvers: [{ kind: 'manager' }, { kind: 'department_head', department: requester.department }],
      quorum: 1, maxDurationMinutes: this.deps.settings.exportWindowMinutes, reasonRequired: true, selfApproval: false,
    };
    const prepared = await this.withApprovers(requester, target, widen, [], [...new Set(target.fields)], [own, ...reqs], decision.ruleIds, []);
    return { ...prepared, fieldOutcomes: policy ? planExportFields(policy, principal, target.fields, widen) : [] };
  }

  /**
   * Exporting an audit query's result: the requester must be allowed `audit.query` right now (as for the
   * table itself), the file goes to their DM so the request is made from a DM or private channel only,
   * and the policy's `settings.auditExport` approvers (the DPO) decide. The filter must be one we wrote.
   */
  private async prepareAuditExport(requester: Employee, target: Extract<RequestTarget, { kind: 'audit-export' }>, channel: ChannelKind, purpose: string): Promise<Prepared> {
    if (channel !== 'dm' && channel !== 'private') throw new ApprovalRefused('channel_denied');
    let filter: AuditFilter;
    try { filter = decodePageToken(target.query).filter; } catch { throw new ApprovalRefused('malformed'); }
    const decision = await this.deps.engine.decide(principalOf(requester), 'audit.query', { channel, at: this.deps.clock.now(), purpose });
    if (!decision.allowed) throw new ApprovalRefused('export_denied', { reason: decision.denyReason ?? 'no_rule' });
    // Stored without cursor or purpose: the filter alone (ids and codes), so the request holds no free text but its own purpose.
    const stored: RequestTarget = { kind: 'audit-export', query: encodePageToken({ filter, cursor: null, purpose: undefined }) };
    const a = this.deps.settings.auditExport;
    const requirement: ApprovalRequirement = { approvers: a.approvers, quorum: a.quorum, maxDurationMinutes: a.maxDurationMinutes, reasonRequired: true, selfApproval: false };
    return this.withApprovers(requester, stored, [], [], [], [requirement], decision.ruleIds, ['settings.auditExport']);
  }

  private async withApprovers(requester: Employee, target: RequestTarget, groups: FieldGroup[], requestable: FieldGroup[], fields: CustomerField[],
    reqs: ApprovalRequirement[], ruleIds: string[], extra: string[]): Promise<Prepared> {
    const combined = combineRequirements(reqs);
    const tiers = approverTiers(combined.specs, requester, await this.deps.directory.all());
    if (tiers.length === 0 || tiers.flat().length < combined.quorum) throw new ApprovalRefused('no_approvers');
    return { target, groups, requestable, fields, maxDurationMinutes: combined.maxDurationMinutes, quorum: combined.quorum, tiers, ruleIds: [...ruleIds, ...extra] };
  }

  /** Validates and creates a request, audits it, and posts the cards. Nothing is stored when anything is wrong. */
  async submit(requester: Employee, input: RequestInput, origin: RequestOrigin): Promise<AccessRequest> {
    const purpose = input.purpose.trim();
    if (!purpose) throw new ApprovalRefused('reason_required');
    const pii = looksLikePii(purpose);
    if (pii || purpose.length > 500) throw new ApprovalRefused('reason_pii', { kind: pii ?? 'too long' });
    const asked: RequestTarget = input.target.kind === 'access' && input.groups ? { ...input.target, groups: input.groups } : input.target;
    const p = await this.prepare(requester, asked, origin.channelKind, purpose);
    const target = p.target;
    const d = input.durationMinutes;
    if (!Number.isInteger(d) || d < 1 || d > p.maxDurationMinutes) throw new ApprovalRefused('duration_invalid', { max: p.maxDurationMinutes });
    const now = this.deps.clock.now();
    const s = this.deps.settings;
    const request: AccessRequest = {
      requestId: newRequestId(), kind: target.kind, requesterId: requester.employeeId,
      customerIds: target.kind === 'export' ? [...target.segment.customerIds] : target.kind === 'audit-export' ? [] : [target.customerId],
      ...(target.kind === 'reveal' ? { field: target.field } : {}),
      groups: p.groups, fields: p.fields, ...(p.fieldOutcomes ? { fieldOutcomes: p.fieldOutcomes } : {}),
      ...(target.kind === 'export' ? { segment: target.segment } : {}),
      ...(target.kind === 'audit-export' ? { auditQuery: target.query } : {}),
      purpose, durationMinutes: d, quorum: p.quorum, approverTiers: p.tiers, tiersAsked: tiersForQuorum(p.tiers, p.quorum), ruleIds: p.ruleIds,
      status: 'pending', createdAt: now,
      remindAt: minutes(now, s.remindAfterMinutes), escalateAt: minutes(now, s.escalateAfterMinutes), expiresAt: minutes(now, s.requestTtlMinutes),
      cards: [], origin,
    };
    await recordThenShow(this.deps.recorder, this.event('request.create', requester.employeeId, request, 'allowed'), () => this.deps.requests.create(request));
    for (const at of [request.remindAt, request.escalateAt, request.expiresAt]) await this.deps.wakeUps?.at(at).catch(() => undefined);
    await this.postCards(request, request.approverTiers.slice(0, request.tiersAsked).flat(), true);
    return (await this.deps.requests.get(request.requestId)) ?? request;
  }

  /** An approver's Approve click, re-authorised now. */
  async approve(clicker: Employee, requestId: string): Promise<DecisionResult> {
    const request = await this.pendingForApprover(clicker, requestId, 'request.approve');
    const now = this.deps.clock.now();
    if (request.quorum === 1) {
      // One approval decides: straight to the compare-and-swap, so every losing click is "already decided".
      await this.record(this.event('request.approve', clicker.employeeId, request, 'allowed', { votes: 1, quorum: 1 }));
      const { won, decision } = await this.deps.requests.decide({ requestId, outcome: 'approved', by: [clicker.employeeId], at: now });
      if (!won) throw new AlreadyDecided(decision.outcome, decision.by, decision.at);
      return { kind: 'decided', request: await this.onApproved(request, [clicker.employeeId], now) };
    }
    if (!(await this.deps.requests.addVote(requestId, clicker.employeeId, now))) {
      await this.stale(requestId);
      throw new ApprovalRefused('already_voted', { id: requestId });
    }
    const eligible = new Set(request.approverTiers.flat());
    const votes = (await this.deps.requests.votes(requestId)).filter((v) => eligible.has(v.approverId));
    await this.record(this.event('request.approve', clicker.employeeId, request, 'allowed', { votes: votes.length, quorum: request.quorum }));
    if (votes.length < request.quorum) {
      await this.refreshCards(request);
      return { kind: 'voted', request, votes: votes.length };
    }
    const by = votes.map((v) => v.approverId);
    const { won, decision } = await this.deps.requests.decide({ requestId, outcome: 'approved', by, at: now });
    if (!won) throw new AlreadyDecided(decision.outcome, decision.by, decision.at);
    return { kind: 'decided', request: await this.onApproved(request, by, now) };
  }

  async deny(clicker: Employee, requestId: string, reason: string): Promise<DecisionResult> {
    const why = reason.trim();
    if (!why) throw new ApprovalRefused('reason_required');
    const pii = looksLikePii(why);
    if (pii || why.length > 500) throw new ApprovalRefused('reason_pii', { kind: pii ?? 'too long' });
    const request = await this.pendingForApprover(clicker, requestId, 'request.deny');
    const now = this.deps.clock.now();
    await this.record({ ...this.event('request.deny', clicker.employeeId, request, 'denied'), purpose: why });
    const { won, decision } = await this.deps.requests.decide({ requestId, outcome: 'denied', by: [clicker.employeeId], at: now, reason: why });
    if (!won) throw new AlreadyDecided(decision.outcome, decision.by, decision.at);
    return { kind: 'decided', request: await this.finish(request, 'denied', [clicker.employeeId], now, why) };
  }

  async cancel(requester: Employee, requestId: string): Promise<DecisionResult> {
    const request = await this.deps.requests.get(requestId);
    if (!request) throw new ApprovalRefused('unknown_request', { id: requestId.slice(0, 40) });
    if (request.requesterId !== requester.employeeId) throw new ApprovalRefused('not_requester', { id: requestId });
    if (request.status !== 'pending') throw new AlreadyDecided(request.status, request.decidedBy ?? [], request.decidedAt ?? request.createdAt);
    const now = this.deps.clock.now();
    await this.record(this.event('request.cancel', requester.employeeId, request, 'allowed'));
    const { won, decision } = await this.deps.requests.decide({ requestId, outcome: 'cancelled', by: [requester.employeeId], at: now });
    if (!won) throw new AlreadyDecided(decision.outcome, decision.by, decision.at);
    return { kind: 'decided', request: await this.finish(request, 'cancelled', [requester.employeeId], now) };
  }

  /**
   * Offboarding, a transfer or "Revoke all grants": every pending request of the requester is cancelled
   * by the system (audited, compare-and-swap like any decision) and every card copy is updated in place,
   * so no approver approves a dead request. Returns how many this call cancelled.
   */
  async cancelAllOf(requesterId: string, reason: SystemCancelReason): Promise<number> {
    let cancelled = 0;
    for (const request of await this.deps.requests.pendingOf(requesterId)) {
      const now = this.deps.clock.now();
      await this.record({ ...this.event('request.cancel', null, request, 'allowed'), reasonCode: reason });
      const { won } = await this.deps.requests.decide({ requestId: request.requestId, outcome: 'cancelled', by: [], at: now, reason });
      if (!won) continue; // decided meanwhile (an approver's click, expiry): that outcome stands
      await this.finish(request, 'cancelled', [], now, reason);
      cancelled++;
    }
    return cancelled;
  }

  /** Names for card rendering (requester, approvers, deciders). */
  async names(request: AccessRequest): Promise<Map<string, string>> {
    const ids = new Set([request.requesterId, ...request.approverTiers.flat(), ...(request.decidedBy ?? [])]);
    const names = new Map<string, string>();
    await Promise.all([...ids].map(async (id) => { const e = await this.deps.directory.byId(id); if (e) names.set(id, e.name); }));
    return names;
  }

  /** Re-renders every copy of the card (each in its reader's locale). */
  async refreshCards(request: AccessRequest, grantExpired = false): Promise<void> {
    const fresh = (await this.deps.requests.get(request.requestId)) ?? request;
    const names = await this.names(fresh);
    const eligible = new Set(fresh.approverTiers.flat());
    const votes = fresh.status === 'pending' ? (await this.deps.requests.votes(fresh.requestId)).filter((v) => eligible.has(v.approverId)).length : (fresh.decidedBy?.length ?? 0);
    await Promise.all(fresh.cards.map(async (ref) => {
      const reader = await this.deps.directory.byId(ref.employeeId);
      const ctx = { names, votes, audience: ref.role, locale: reader?.locale ?? 'zh-CN' } as const;
      const view = grantExpired ? grantExpiredCardView(fresh, ctx) : approvalCardView(fresh, ctx);
      await this.deps.notifier.updateCard(ref, view).catch(() => undefined);
    }));
  }

  // ---- time: reminders, escalation, request expiry, grant expiry -------------------------------------

  /** Everything due at the clock's now; idempotent (each notice is claimed once), safe to run anywhere. */
  async sweep(): Promise<{ reminded: number; escalated: number; expired: number; grantsExpired: number }> {
    const now = this.deps.clock.now();
    const counts = { reminded: 0, escalated: 0, expired: 0, grantsExpired: 0 };
    for (const r of await this.deps.requests.duePending(now)) {
      if (r.expiresAt <= now) {
        if (await this.expire(r, now)) counts.expired++;
        continue;
      }
      if (r.remindAt <= now && (await this.deps.requests.claimNotice(`${r.requestId}:remind`, now))) {
        await this.remind(r);
        counts.reminded++;
      }
      if (r.escalateAt <= now && r.tiersAsked < r.approverTiers.length && (await this.deps.requests.claimNotice(`${r.requestId}:escalate:${r.tiersAsked}`, now))) {
        await this.escalate(r);
        counts.escalated++;
      }
    }
    for (const r of await this.deps.requests.expiredGrants(now)) {
      if (await this.deps.requests.claimNotice(`${r.requestId}:grant-expired`, now)) {
        await this.grantExpired(r);
        counts.grantsExpired++;
      }
    }
    return counts;
  }

  private async remind(r: AccessRequest): Promise<void> {
    await this.record(this.event('request.remind', null, r, 'allowed'));
    const requester = await this.deps.directory.byId(r.requesterId);
    for (const id of r.approverTiers.slice(0, r.tiersAsked).flat()) {
      const e = await this.deps.directory.byId(id);
      if (e?.status === 'active') await this.deps.notifier.tell(e, t('approval.dm.reminder', e.locale, { id: r.requestId, requester: requester?.name ?? r.requesterId })).catch(() => undefined);
    }
  }

  private async escalate(r: AccessRequest): Promise<void> {
    const next = r.approverTiers[r.tiersAsked] ?? [];
    await this.record(this.event('request.escalate', null, r, 'allowed', { tier: r.tiersAsked + 1 }));
    await this.deps.requests.update(r.requestId, { tiersAsked: r.tiersAsked + 1 });
    const updated = { ...r, tiersAsked: r.tiersAsked + 1 };
    await this.postCards(updated, next, false);
    for (const id of next) {
      const e = await this.deps.directory.byId(id);
      if (e) await this.deps.notifier.tell(e, t('approval.dm.escalated', e.locale, { id: r.requestId })).catch(() => undefined);
    }
    await this.refreshCards(updated);
  }

  private async expire(r: AccessRequest, now: Date): Promise<boolean> {
    const { won } = await this.deps.requests.decide({ requestId: r.requestId, outcome: 'expired', by: [], at: now });
    if (!won) return false;
    await this.record(this.event('request.expire', null, r, 'denied'));
    await this.finish(r, 'expired', [], now);
    return true;
  }

  private async grantExpired(r: AccessRequest): Promise<void> {
    await this.record({ ...this.event('grant.expire', null, r, 'allowed'), ...(r.grantId ? { grantId: r.grantId } : {}) });
    await this.refreshCards(r, true);
    const requester = await this.deps.directory.byId(r.requesterId);
    if (!requester) return;
    await this.deps.notifier.tell(requester, t('approval.dm.grantExpired', requester.locale, { id: r.requestId, grant: r.grantId ?? '' })).catch(() => undefined);
    if (r.kind === 'reveal') await this.deps.notifier.showReveal(r, requester, null).catch(() => undefined);
  }

  // ---- internals --------------------------------------------------------------------------------------

  private async pendingForApprover(clicker: Employee, requestId: string, action: AuditAction): Promise<AccessRequest> {
    if (!/^R-[A-P]{10}$/.test(requestId)) throw new ApprovalRefused('malformed');
    const request = await this.deps.requests.get(requestId);
    if (!request) throw new ApprovalRefused('unknown_request', { id: requestId });
    if (request.status !== 'pending') throw new AlreadyDecided(request.status, request.decidedBy ?? [], request.decidedAt ?? request.createdAt);
    const refuse = async (reason: 'self_approval' | 'not_approver'): Promise<never> => {
      await this.record({ ...this.event(action, clicker.employeeId, request, 'denied'), reasonCode: reason }).catch(() => undefined);
      throw new ApprovalRefused(reason, { id: requestId });
    };
    if (clicker.employeeId === request.requesterId) return refuse('self_approval');
    // Re-authorisation at click time: asked, still active, still allowed to approve by the policy, and
    // still eligible against today's directory (a head who changed department no longer counts).
    const asked = request.approverTiers.slice(0, request.tiersAsked).flat();
    if (clicker.status !== 'active' || !asked.includes(clicker.employeeId)) return refuse('not_approver');
    const allowed = await this.deps.engine.decide(principalOf(clicker), 'approve', { channel: 'dm', at: this.deps.clock.now() });
    const requester = await this.deps.directory.byId(request.requesterId);
    if (!allowed.allowed || !requester) return refuse('not_approver');
    return request;
  }

  private async stale(requestId: string): Promise<void> {
    const now = await this.deps.requests.get(requestId);
    if (now && now.status !== 'pending') throw new AlreadyDecided(now.status, now.decidedBy ?? [], now.decidedAt ?? now.createdAt);
  }

  private async onApproved(request: AccessRequest, by: string[], now: Date): Promise<AccessRequest> {
    if (request.kind === 'audit-export') return this.onAuditExportApproved(request, by, now);
    const grant: Grant = {
      grantId: `G-${request.requestId.slice(2)}`,
      granteeId: request.requesterId,
      target: request.segment && request.segment.customerIds.length === 0
        ? { kind: 'segment', segmentId: request.requestId, conditions: { ...request.segment.conditions } }
        : { kind: 'customers', customerIds: request.segment ? [...request.segment.customerIds] : [...request.customerIds] },
      groups: request.groups,
      actions: [request.kind === 'reveal' ? 'reveal' : request.kind === 'export' ? 'export' : 'lookup'],
      expiresAt: minutes(now, request.durationMinutes),
      grantedBy: by, purpose: request.purpose, createdAt: now, requestId: request.requestId,
    };
    await recordThenShow(this.deps.recorder, { ...this.event('grant.start', by[0] ?? null, request, 'allowed'), grantId: grant.grantId, meta: { expiresAt: grant.expiresAt.toISOString(), kind: request.kind } },
      () => this.deps.grants.create(grant));
    const exportId = request.kind === 'export' ? `X-${request.requestId.slice(2)}` : undefined;
    await this.deps.requests.update(request.requestId, { grantId: grant.grantId, grantExpiresAt: grant.expiresAt, ...(exportId ? { exportId } : {}) });
    await this.deps.wakeUps?.at(grant.expiresAt).catch(() => undefined);
    const done = await this.finish({ ...request, grantId: grant.grantId, grantExpiresAt: grant.expiresAt }, 'approved', by, now);
    const requester = await this.deps.directory.byId(request.requesterId);
    if (requester && request.kind === 'reveal') await this.reveal(done, requester, grant).catch(() => undefined);
    if (exportId) {
      await this.deps.exports?.enqueue({ requestId: request.requestId, exportId });
      // An approved export is a file leaving: the export-volume detector counts it (and freezes per policy).
      if (requester) await this.deps.exportWatch?.noteExport(requester, exportId);
    }
    return done;
  }

  /**
   * An approved audit export creates no grant (grants widen customer fields; audit rows are ids and
   * codes): the export job runs within the approved duration from the decision (workers/export/job.ts).
   */
  private async onAuditExportApproved(request: AccessRequest, by: string[], now: Date): Promise<AccessRequest> {
    const exportId = `X-${request.requestId.slice(2)}`;
    await this.deps.requests.update(request.requestId, { exportId });
    const done = await this.finish({ ...request, exportId }, 'approved', by, now);
    await this.deps.exports?.enqueue({ requestId: request.requestId, exportId });
    const requester = await this.deps.directory.byId(request.requesterId);
    if (requester) await this.deps.exportWatch?.noteExport(requester, exportId);
    return done;
  }

  /** Shows the revealed field to the requester (audited as a reveal using the grant). */
  private async reveal(request: AccessRequest, requester: Employee, grant: Grant): Promise<void> {
    const field = request.field;
    const customerId = request.customerIds[0];
    if (!field || !customerId) return;
    const channel = request.origin?.channelKind ?? 'dm';
    const ctx = { channel, at: this.deps.clock.now() };
    const principal = principalOf(requester);
    const scoped: Decision = await this.deps.engine.decide(principal, 'reveal', ctx);
    const customer: Customer | undefined = scoped.allowed ? (await this.deps.customers.find({ kind: 'id', value: customerId }, scoped.scope, 1))[0] : undefined;
    if (!customer) return;
    const decision = await this.deps.engine.decide(principal, 'reveal', ctx, customer);
    const shown = applyDecision(customer, decision).find((f) => f.field === field);
    if (!shown || decision.fields[field]?.grantId !== grant.grantId) return;
    const event: AuditEventInput = {
      ...this.event('reveal', requester.employeeId, request, 'allowed'), channelKind: channel, grantId: grant.grantId,
      fields: [{ name: field, outcome: shown.outcome.replace(/\./g, '-') }],
    };
    await recordThenShow(this.deps.recorder, { ...event, eventId: newEventId(this.deps.clock.now()), action: 'grant.use' }, async () => {
      await this.record(event);
      await this.deps.notifier.showReveal(request, requester, { field, value: shown.value, grantId: grant.grantId, until: grant.expiresAt });
    });
  }

  /** After a won transition: the status copy, every card, and the requester's DM. */
  private async finish(request: AccessRequest, outcome: FinalOutcome, by: string[], at: Date, reason?: string): Promise<AccessRequest> {
    await this.deps.requests.update(request.requestId, { status: outcome, decidedBy: by, decidedAt: at, ...(reason ? { denyReason: reason } : {}) });
    const done = (await this.deps.requests.get(request.requestId))!;
    await this.refreshCards(done);
    const requester = await this.deps.directory.byId(request.requesterId);
    if (requester && outcome !== 'cancelled') {
      const names = await this.names(done);
      const byNames = by.map((id) => names.get(id) ?? id).join(', ');
      // Without an export queue (the playground) no file follows: the requester is told so, not promised one.
      const exportText = this.deps.exports ? 'approval.dm.auditExportApproved' : 'approval.dm.auditExportApprovedNoFiles';
      const text = outcome === 'approved' && done.kind === 'audit-export' ? t(exportText, requester.locale, { id: done.requestId, by: byNames })
        : outcome === 'approved' ? t('approval.dm.approved', requester.locale, { id: done.requestId, by: byNames, grant: done.grantId ?? '', until: done.grantExpiresAt?.toISOString().slice(0, 16).replace('T', ' ') + ' UTC' })
        : outcome === 'denied' ? t('approval.dm.denied', requester.locale, { id: done.requestId, by: byNames, reason: reason ?? '' })
          : t('approval.dm.expired', requester.locale, { id: done.requestId });
      await this.deps.notifier.tell(requester, text).catch(() => undefined);
    }
    return done;
  }

  private async postCards(request: AccessRequest, approverIds: string[], withRequester: boolean): Promise<void> {
    const names = await this.names(request);
    const votes = 0;
    const post = async (id: string, role: CardRef['role']) => {
      const e = await this.deps.directory.byId(id);
      if (!e || (role === 'approver' && e.status !== 'active')) return;
      const ref = await this.deps.notifier.postCard(e, approvalCardView(request, { names, votes, audience: role, locale: e.locale }), role).catch(() => null);
      if (ref) await this.deps.requests.addCard(request.requestId, ref);
    };
    for (const id of approverIds) await post(id, 'approver');
    if (withRequester) await post(request.requesterId, 'requester');
  }

  private event(action: AuditAction, actorId: string | null, r: AccessRequest, decision: 'allowed' | 'denied', meta: Record<string, number> = {}): AuditEventInput {
    const now = this.deps.clock.now();
    return {
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
      actor: { employeeId: actorId, platform: actorId ? this.deps.platform : 'system' },
      channelKind: 'none', action, customerIds: r.customerIds,
      fields: requestAuditFields(r),
      decision, ruleIds: r.ruleIds.slice(0, 200), requestId: r.requestId,
      ...(r.grantId ? { grantId: r.grantId } : {}), ...(r.exportId ? { exportId: r.exportId } : {}),
      purpose: r.purpose,
      meta: { kind: r.kind, durationMinutes: r.durationMinutes, quorum: r.quorum, ...auditFilterMeta(r), ...meta },
    };
  }

  private record(event: AuditEventInput): Promise<void> {
    return recordThenShow(this.deps.recorder, event, () => undefined);
  }
}
