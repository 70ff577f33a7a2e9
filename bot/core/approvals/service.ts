// The approval service: requests, decisions and their side effects, platform-neutral. Adapters call it
// with a resolved Employee and render what it returns; chat I/O goes through the ApprovalNotifier port.
//
// Exactly-once transitions: a request leaves `pending` through RequestStore.decide, a unique insert per
// request id (FerretDB 1.24 does not apply conditional updates atomically; see grant-store.ts). Votes are
// unique per (request, approver). The winner of the transition alone creates the grant (its id derives
// from the request id, so even a retried winner cannot create two), updates the cards and tells the
// requester. Everything is audited before it takes effect (record, then act): a click is recorded as an
// attempt (`request.vote`) before the compare-and-swap, the winner records the decision under an id
// derived from the request id before any grant, card or message, and a losing click as `request.lost`
// (events.ts). When the decision's event cannot be written, nothing takes effect; the sweeper finishes
// such a half-done decision once the audit queue is back (re-recording under the same id, idempotent).
//
// Requirements compose by conjunction (parts.ts): each part of a request (a field group, the export's own
// approval, the audit export) has its own approvers, quorum and escalation; an approval counts for every
// part that asks the approver, and the request is approved only when every part has its quorum.
import { parseReportSpec, reportSpec, type AuditReportAsk } from '../audit-report-command.ts';
import { createHash, randomBytes } from 'node:crypto';
import type { AuditEventInput, AuditPlatform, AuditRecorder } from '../audit.ts';
import { looksLikePii, newEventId, stepEventId } from '../audit-event.ts';
import { decodePageToken, encodePageToken, type AuditFilter } from '../audit-query-service.ts';
import { CUSTOMER_FIELDS, groupOf, type Customer, type CustomerField, type Employee, type FieldGroup } from '../domain.ts';
import { principalOf } from '../identity.ts';
import { t } from '../messages.ts';
import { ErrorCode, isCustosError } from '../errors.ts';
import type { Clock, CustomerReader } from '../ports.ts';
import { recordThenShow } from '../record.ts';
import { localTime, usableZone } from '../local-time.ts';
import { applyDecision } from '../view.ts';
import { approvalCardView, grantExpiredCardView, type ApprovalView } from '../views-approval.ts';
import type { Grant, GrantStore } from '../../../policies/grants.ts';
import type { ApprovalRequirement, ChannelKind, Decision, PolicyEngine } from '../../../policies/types.ts';
import { approverTiers, type ApproverDirectory } from './approvers.ts';
import { ApprovalEvents, type ClickKind } from './events.ts';
import { allApprovers, allPartsMet, askedApprovers, askedOf, maxDurationOf, progressOf, tiersForQuorum } from './parts.ts';
import { exportableFields, planExportFields, type ExportFieldOutcome } from './export-fields.ts';
import type { Policy } from '../../../policies/load.ts';
import { AlreadyDecided, AlreadyPending, ApprovalRefused, type RefusalReason } from './errors.ts';
import type { ApprovalSettings } from './settings.ts';
import type { AccessRequest, CardRef, FinalOutcome, PartName, RequestDecision, RequestInput, RequestOrigin, RequestPart, RequestStore, RequestTarget } from './types.ts';

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
export type SystemCancelReason = 'offboarded' | 'transferred' | 'roleRemoved' | 'revoked' | 'erased' | 'deletedAtSource';

/**
 * Erases a customer's personal data (bot/store/erasure.ts's CustomerEraser): the effect of an approved
 * erasure request. `cancelRequests` cancels the pending requests naming the customer (with card updates).
 */
export interface CustomerErasure {
  erase(customerId: string, reason: string, actor: { employeeId: string | null; platform: AuditPlatform }, cancelRequests: (customerId: string) => Promise<number>): Promise<unknown>;
}

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
  /** Without it no erasure request can be made (refused as erase_denied: unavailable). */
  erasure?: CustomerErasure;
  platform: AuditPlatform;
}

/** What a request would need: the modal's bounds and the approvers it would go to. */
export interface Prepared {
  target: RequestTarget;
  groups: FieldGroup[]; // the groups a grant widens
  requestable: FieldGroup[]; // access: groups the requester may pick
  fields: CustomerField[];
  /** export: what each column will hold if approved (export-fields.ts). */
  fieldOutcomes?: ExportFieldOutcome[];
  /** The most the request may last: the shortest of its parts' (before access groups are picked: the loosest group's). */
  maxDurationMinutes: number;
  /** Access: each requestable group's own maximum, for the form. */
  groupMax: Partial<Record<FieldGroup, number>>;
  parts: RequestPart[];
  ruleIds: string[];
}

export type DecisionResult =
  | { kind: 'voted'; request: AccessRequest; voters: string[] }
  | { kind: 'decided'; request: AccessRequest };

/** One requirement to resolve into a part. */
interface PartPlan { name: PartName; req: ApprovalRequirement }

const MINUTE = 60_000;
const CUSTOMER_ID = /^C-\d{1,12}$/;
const REQUEST_ID = /^R-[A-P]{10}$/;
/** A decision this old whose effects never happened was left half-done (its event could not be written). */
const HALF_DONE_AFTER_MINUTES = 1;
/** An erasure's reference (e.g. DSR-2026-017) is at most this long, as for `custos customer erase --reason`. */
const MAX_ERASE_REFERENCE = 200;

function minutes(at: Date, n: number): Date { return new Date(at.getTime() + n * MINUTE); }

/** What a request asks for, in one canonical string: identical asks give the same string. */
function askOf(r: AccessRequest): string {
  return JSON.stringify([
    r.kind, [...r.customerIds].sort(), r.field ?? null, [...r.groups].sort(), [...r.fields].sort(), r.auditQuery ?? null,
    r.segment ? [Object.entries(r.segment.conditions).sort(), [...r.segment.customerIds].sort()] : null,
  ]);
}

/** Whether two requests ask for the same thing (a second identical pending request is not made). */
function sameAsk(a: AccessRequest, b: AccessRequest): boolean {
  return askOf(a) === askOf(b);
}

/** The unique key of "this requester asks for this": a hash, so customer ids and filters are not repeated in it. */
function askKey(r: AccessRequest): string {
  return createHash('sha256').update(JSON.stringify([r.requesterId, askOf(r)])).digest('base64url');
}

export function newRequestId(): string {
  // Letters only (hex digits mapped to A-P): an id of digits could trip the audit log's PII guard.
  return `R-${[...randomBytes(5).toString('hex')].map((c) => String.fromCharCode(65 + parseInt(c, 16))).join('')}`;
}

export class ApprovalService {
  private readonly events: ApprovalEvents;

  constructor(readonly deps: ApprovalDeps) {
    this.events = new ApprovalEvents(() => deps.clock.now(), deps.platform);
  }

  /** Validates a target and resolves its requirement; throws ApprovalRefused with a specific reason. */
  async prepare(requester: Employee, target: RequestTarget, channel: ChannelKind, purpose = 'pending'): Promise<Prepared> {
    if (target.kind === 'export') return this.prepareExport(requester, target, channel, purpose);
    if (target.kind === 'audit-export') return this.prepareAuditExport(requester, target, channel, purpose);
    if (target.kind === 'erase') return this.prepareErase(requester, target, channel, purpose);
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
    } else if (target.groups) {
      // An explicit selection: never empty (an empty one does not mean "everything").
      if (target.groups.length === 0) throw new ApprovalRefused('groups_required');
      groups = [...new Set(target.groups)];
      const bad = groups.find((g) => !decision.approvals[g]);
      if (bad) throw new ApprovalRefused('not_requestable', { what: bad });
    } else {
      return this.accessForm(requester, target, requestable, decision);
    }
    return this.withApprovers(requester, target, groups, requestable, fields, groups.map((g) => ({ name: g, req: decision.approvals[g]! })), decision.ruleIds, []);
  }

  /**
   * Before the groups are picked (the access form): the groups someone could approve, each with its own
   * maximum; the duration field accepts up to the loosest, the submission is checked against the
   * shortest of the groups actually ticked.
   */
  private async accessForm(requester: Employee, target: RequestTarget, requestable: FieldGroup[], decision: Decision): Promise<Prepared> {
    const staff = await this.deps.directory.all();
    const parts = requestable.map((g) => this.partOf({ name: g, req: decision.approvals[g]! }, requester, staff)).filter((p): p is RequestPart => p !== null);
    if (parts.length === 0) throw new ApprovalRefused('no_approvers');
    const groups = parts.map((p) => p.name as FieldGroup);
    return {
      target, groups, requestable: groups, fields: [], parts, ruleIds: [...decision.ruleIds, ...parts.map((p) => p.ruleId)],
      maxDurationMinutes: Math.max(...parts.map((p) => p.maxDurationMinutes)),
      groupMax: Object.fromEntries(parts.map((p) => [p.name, p.maxDurationMinutes])),
    };
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
    const reqs: PartPlan[] = widen.map((g) => ({ name: g, req: decision.approvals[g]! }));
    // An export always needs someone to say yes: the requester's manager first, then their head.
    const own: ApprovalRequirement = {
      approvers: [{ kind: 'manager' }, { kind: 'department_head', department: requester.department }],
      quorum: 1, maxDurationMinutes: this.deps.settings.exportWindowMinutes, reasonRequired: true, selfApproval: false, ruleId: 'export.own-approval',
    };
    const prepared = await this.withApprovers(requester, target, widen, [], [...new Set(target.fields)], [{ name: 'export', req: own }, ...reqs], decision.ruleIds, []);
    return { ...prepared, fieldOutcomes: policy ? planExportFields(policy, principal, target.fields, widen) : [] };
  }

  /**
   * Exporting an audit query's result: the requester must be allowed `audit.query` right now (as for the
   * table itself), the file goes to their DM so the request is made from a DM or private channel only,
   * and the policy's `settings.auditExport` approvers (the DPO) decide. The filter must be one we wrote.
   */
  private async prepareAuditExport(requester: Employee, target: Extract<RequestTarget, { kind: 'audit-export' }>, channel: ChannelKind, purpose: string): Promise<Prepared> {
    if (channel !== 'dm' && channel !== 'private') throw new ApprovalRefused('channel_denied');
    const report = parseReportSpec(target.query);
    if (report) return this.prepareAuditReport(requester, report, channel, purpose);
    let filter: AuditFilter;
    try { filter = decodePageToken(target.query).filter; } catch { throw new ApprovalRefused('malformed'); }
    const decision = await this.deps.engine.decide(principalOf(requester), 'audit.query', { channel, at: this.deps.clock.now(), purpose });
    if (!decision.allowed) throw new ApprovalRefused('export_denied', { reason: decision.denyReason ?? 'no_rule' });
    // Stored without cursor or purpose: the filter alone (ids and codes), so the request holds no free text but its own purpose.
    const stored: RequestTarget = { kind: 'audit-export', query: encodePageToken({ filter, cursor: null, purpose: undefined }) };
    const a = this.deps.settings.auditExport;
    const requirement: ApprovalRequirement = { approvers: a.approvers, quorum: a.quorum, maxDurationMinutes: a.maxDurationMinutes, reasonRequired: true, selfApproval: false, ruleId: 'settings.auditExport' };
    return this.withApprovers(requester, stored, [], [], [], [{ name: 'audit-export', req: requirement }], decision.ruleIds, []);
  }

  /**
   * A report asked in chat (`audit report …`): an audit export whose query is the report's spec, under the
   * same rule (`audit.query` now) and approvers. A refusal is recorded as a denied `report.generate`.
   */
  private async prepareAuditReport(requester: Employee, report: AuditReportAsk, channel: ChannelKind, purpose: string): Promise<Prepared> {
    const decision = await this.deps.engine.decide(principalOf(requester), 'audit.query', { channel, at: this.deps.clock.now(), purpose });
    if (!decision.allowed) {
      const now = this.deps.clock.now();
      await this.record({
        v: 1, eventId: newEventId(now), occurredAt: now.toISOString(), actor: { employeeId: requester.employeeId, platform: this.deps.platform },
        channelKind: channel, action: 'report.generate', customerIds: report.customerId ? [report.customerId] : [], fields: [], decision: 'denied',
        ruleIds: decision.ruleIds, reasonCode: decision.denyReason ?? 'no_rule', meta: { report: report.kind },
      });
      throw new ApprovalRefused('export_denied', { reason: decision.denyReason ?? 'no_rule' });
    }
    const a = this.deps.settings.auditExport;
    const requirement: ApprovalRequirement = { approvers: a.approvers, quorum: a.quorum, maxDurationMinutes: a.maxDurationMinutes, reasonRequired: true, selfApproval: false, ruleId: 'settings.auditExport' };
    return this.withApprovers(requester, { kind: 'audit-export', query: reportSpec(report) }, [], [], [], [{ name: 'audit-export', req: requirement }], decision.ruleIds, []);
  }

  /**
   * Erasing a customer's personal data, asked in chat: the requester must be allowed `admin` right now,
   * from a DM or private channel, the customer must exist, and the policy's `settings.erasure` approvers
   * (the DPO) decide; the erasure itself runs once, by the winner of the decision (onEraseApproved).
   */
  private async prepareErase(requester: Employee, target: Extract<RequestTarget, { kind: 'erase' }>, channel: ChannelKind, purpose: string): Promise<Prepared> {
    if (!CUSTOMER_ID.test(target.customerId)) throw new ApprovalRefused('malformed');
    if (channel !== 'dm' && channel !== 'private') throw new ApprovalRefused('channel_denied');
    if (!this.deps.erasure) throw new ApprovalRefused('erase_denied', { reason: 'unavailable' });
    const decision = await this.deps.engine.decide(principalOf(requester), 'admin', { channel, at: this.deps.clock.now(), purpose });
    if (!decision.allowed) throw new ApprovalRefused('erase_denied', { reason: decision.denyReason ?? 'no_rule' });
    const customer = (await this.deps.customers.find({ kind: 'id', value: target.customerId }, {}, 1))[0];
    if (!customer) throw new ApprovalRefused('unknown_customer', { customer: target.customerId });
    const e = this.deps.settings.erasure;
    const requirement: ApprovalRequirement = { approvers: e.approvers, quorum: e.quorum, maxDurationMinutes: e.maxDurationMinutes, reasonRequired: true, selfApproval: false, ruleId: 'settings.erasure' };
    return this.withApprovers(requester, target, [], [], [], [{ name: 'erase', req: requirement }], decision.ruleIds, []);
  }

  /**
   * `erase C-000123 reason: DSR-2026-017` in chat (erase-command.ts parsed it): an erasure request, made
   * through the approval flow. A refusal (not allowed, unknown customer, bad reference) is recorded as a
   * denied `customer.erase` before it is thrown, so an attempt leaves evidence even when nothing is made.
   */
  async requestErasure(requester: Employee, ask: { customerId: string; reference: string } | null, origin: RequestOrigin, platformUserId?: string): Promise<AccessRequest> {
    try {
      if (!ask) throw new ApprovalRefused('malformed');
      if (ask.reference.trim().length > MAX_ERASE_REFERENCE) throw new ApprovalRefused('reason_pii', { kind: 'too long' });
      return await this.submit(requester, { target: { kind: 'erase', customerId: ask.customerId }, purpose: ask.reference, durationMinutes: 1 }, origin);
    } catch (err) {
      if (err instanceof ApprovalRefused && !(err instanceof AlreadyPending)) {
        const now = this.deps.clock.now();
        await this.record({
          v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
          actor: { employeeId: requester.employeeId, platform: this.deps.platform, ...(platformUserId ? { platformUserId } : {}) },
          channelKind: origin.channelKind, action: 'customer.erase', customerIds: ask && CUSTOMER_ID.test(ask.customerId) ? [ask.customerId] : [],
          fields: [], decision: 'denied', ruleIds: [], reasonCode: err.reason,
        });
      }
      throw err;
    }
  }

  /** Resolves each requirement into a part of its own; every part must be able to reach its quorum. */
  private async withApprovers(requester: Employee, target: RequestTarget, groups: FieldGroup[], requestable: FieldGroup[], fields: CustomerField[],
    plans: PartPlan[], ruleIds: string[], extra: string[]): Promise<Prepared> {
    const staff = await this.deps.directory.all();
    const parts = plans.map((plan) => this.partOf(plan, requester, staff));
    if (parts.some((p) => p === null)) throw new ApprovalRefused('no_approvers');
    const resolved = parts as RequestPart[];
    return {
      target, groups, requestable, fields, parts: resolved, maxDurationMinutes: maxDurationOf(resolved),
      groupMax: Object.fromEntries(resolved.filter((p) => groups.includes(p.name as FieldGroup)).map((p) => [p.name, p.maxDurationMinutes])),
      ruleIds: [...new Set([...ruleIds, ...resolved.map((p) => p.ruleId), ...extra])],
    };
  }

  /** One requirement against today's directory; null when too few people could approve it. */
  private partOf(plan: PartPlan, requester: Employee, staff: readonly Employee[]): RequestPart | null {
    const tiers = approverTiers(plan.req.approvers, requester, staff);
    if (tiers.flat().length < plan.req.quorum) return null;
    return {
      name: plan.name, approverTiers: tiers, tiersAsked: tiersForQuorum(tiers, plan.req.quorum), quorum: plan.req.quorum,
      maxDurationMinutes: plan.req.maxDurationMinutes, ruleId: plan.req.ruleId ?? `approval.${plan.name}`,
    };
  }

  /** Validates and creates a request, audits it, and posts the cards. Nothing is stored when anything is wrong. */
  async submit(requester: Employee, input: RequestInput, origin: RequestOrigin): Promise<AccessRequest> {
    const purpose = input.purpose.trim();
    if (!purpose) throw new ApprovalRefused('reason_required');
    const pii = looksLikePii(purpose);
    if (pii || purpose.length > 500) throw new ApprovalRefused('reason_pii', { kind: pii ?? 'too long' });
    // Access always names its groups: the form's ticks, else the target's own; none ticked is refused in prepare.
    const asked: RequestTarget = input.target.kind === 'access' ? { ...input.target, groups: input.groups ?? input.target.groups ?? [] } : input.target;
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
      purpose, durationMinutes: d, parts: p.parts, ruleIds: p.ruleIds,
      status: 'pending', createdAt: now,
      remindAt: minutes(now, s.remindAfterMinutes), escalateAt: minutes(now, s.escalateAfterMinutes), expiresAt: minutes(now, s.requestTtlMinutes),
      cards: [], origin,
    };
    const same = (await this.deps.requests.pendingOf(requester.employeeId)).find((x) => sameAsk(x, request));
    if (same) throw new AlreadyPending(same);
    const key = askKey(request);
    await this.claimAsk(key, request);
    try {
      await recordThenShow(this.deps.recorder, this.events.about('request.create', requester.employeeId, request, 'allowed'), () => this.deps.requests.create(request));
    } catch (err) {
      await this.deps.requests.releaseAsk(key, request.requestId).catch(() => undefined); // nothing was made: the ask is free again
      throw err;
    }
    for (const at of [request.remindAt, request.escalateAt, request.expiresAt]) await this.deps.wakeUps?.at(at).catch(() => undefined);
    await this.postCards(request, askedApprovers(request), true, []);
    return (await this.deps.requests.get(request.requestId)) ?? request;
  }

  /**
   * One pending request per ask, made certain by a unique insert (the read of pending requests above cannot
   * see a twin submitted at the same instant, and FerretDB has no atomic conditional update). The slot's
   * holder answers a duplicate while it is pending — or about to be, when it was claimed moments ago and is
   * still being created; a decided holder, or one that was never created, frees the slot for this request.
   */
  private async claimAsk(key: string, request: AccessRequest): Promise<void> {
    const now = this.deps.clock.now();
    let last = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const held = await this.deps.requests.claimAsk(key, request.requestId, now);
      if (!held) return;
      last = held.requestId || last;
      const holder = held.requestId ? await this.deps.requests.get(held.requestId) : null;
      if (holder?.status === 'pending') throw new AlreadyPending(holder);
      if (!holder && held.requestId && now.getTime() - held.at.getTime() < HALF_DONE_AFTER_MINUTES * MINUTE) throw new AlreadyPending({ requestId: held.requestId });
      if (held.requestId) await this.deps.requests.releaseAsk(key, held.requestId);
    }
    // Three holders came and went between our inserts: the latest one answers; the race is not run further.
    throw new AlreadyPending({ requestId: last });
  }

  /**
   * An approver's Approve click, re-authorised now. Recorded as an attempt first; it decides when, with
   * the approvals already given, every part has its quorum (straight to the compare-and-swap, so losing
   * clicks are told "already decided"), else it is stored as a vote (one per approver).
   */
  async approve(clicker: Employee, requestId: string): Promise<DecisionResult> {
    const request = await this.clickable(clicker, requestId, 'approve');
    const before = await this.voters(request);
    if (before.includes(clicker.employeeId)) return this.refuse(clicker, 'approve', request, 'already_voted');
    await this.record(this.events.click(clicker, 'approve', request, 'allowed'));
    const now = this.deps.clock.now();
    const withMine = [...before, clicker.employeeId];
    if (allPartsMet(request, withMine)) return this.decideBy(clicker, 'approve', request, { requestId, outcome: 'approved', by: withMine, at: now });
    if (!(await this.deps.requests.addVote(requestId, clicker.employeeId, now))) {
      const fresh = await this.deps.requests.get(requestId);
      if (fresh && fresh.status !== 'pending') return this.lose(clicker, 'approve', fresh);
      return this.refuse(clicker, 'approve', request, 'already_voted');
    }
    const after = await this.voters(request);
    if (allPartsMet(request, after)) {
      const by = [...after.filter((id) => id !== clicker.employeeId), clicker.employeeId];
      return this.decideBy(clicker, 'approve', request, { requestId, outcome: 'approved', by, at: now }, true);
    }
    await this.refreshCards(request);
    return { kind: 'voted', request, voters: after };
  }

  /** Any asked approver's Deny denies the whole request (with their reason). */
  async deny(clicker: Employee, requestId: string, reason: string): Promise<DecisionResult> {
    const why = reason.trim();
    if (!why) throw new ApprovalRefused('reason_required');
    const pii = looksLikePii(why);
    if (pii || why.length > 500) throw new ApprovalRefused('reason_pii', { kind: pii ?? 'too long' });
    const request = await this.clickable(clicker, requestId, 'deny');
    await this.record(this.events.click(clicker, 'deny', request, 'allowed'));
    return this.decideBy(clicker, 'deny', request, { requestId, outcome: 'denied', by: [clicker.employeeId], at: this.deps.clock.now(), reason: why });
  }

  async cancel(requester: Employee, requestId: string): Promise<DecisionResult> {
    if (!REQUEST_ID.test(requestId)) return this.refuse(requester, 'cancel', { requestId: undefined }, 'malformed');
    const request = await this.deps.requests.get(requestId);
    if (!request) return this.refuse(requester, 'cancel', { requestId }, 'unknown_request');
    if (request.requesterId !== requester.employeeId) return this.refuse(requester, 'cancel', request, 'not_requester');
    if (request.status !== 'pending') return this.lose(requester, 'cancel', request);
    return this.decideBy(requester, 'cancel', request, { requestId, outcome: 'cancelled', by: [requester.employeeId], at: this.deps.clock.now() });
  }

  /**
   * Offboarding, a transfer or "Revoke all grants": every pending request of the requester is cancelled
   * by the system (compare-and-swap like any decision, the decision event by the winner only) and every
   * card copy is updated in place, so no approver approves a dead request. Returns how many this call cancelled.
   */
  async cancelAllOf(requesterId: string, reason: SystemCancelReason): Promise<number> {
    let cancelled = 0;
    for (const request of await this.deps.requests.pendingOf(requesterId)) {
      const { won, decision } = await this.deps.requests.decide({ requestId: request.requestId, outcome: 'cancelled', by: [], at: this.deps.clock.now(), reason });
      if (!won) continue; // decided meanwhile (an approver's click, expiry): that outcome stands
      await this.settle(request, decision);
      cancelled++;
    }
    return cancelled;
  }

  /**
   * A customer erased on request (bot/store/erasure.ts) or deleted in its CRM (bot/sync): every pending request naming it is cancelled by
   * the system, like cancelAllOf, and every card copy says why in place. Returns how many this call cancelled.
   */
  async cancelAllOn(customerId: string, reason: SystemCancelReason): Promise<number> {
    let cancelled = 0;
    for (const request of await this.deps.requests.pendingOnCustomer(customerId)) {
      const { won, decision } = await this.deps.requests.decide({ requestId: request.requestId, outcome: 'cancelled', by: [], at: this.deps.clock.now(), reason });
      if (!won) continue;
      await this.settle(request, decision);
      cancelled++;
    }
    return cancelled;
  }

  /** Names for card rendering (requester, approvers, deciders). */
  async names(request: AccessRequest): Promise<Map<string, string>> {
    const ids = new Set([request.requesterId, ...allApprovers(request), ...(request.decidedBy ?? [])]);
    const names = new Map<string, string>();
    await Promise.all([...ids].map(async (id) => { const e = await this.deps.directory.byId(id); if (e) names.set(id, e.name); }));
    return names;
  }

  /** Re-renders every copy of the card (each in its reader's locale). */
  async refreshCards(request: AccessRequest, grantExpired = false): Promise<void> {
    const fresh = (await this.deps.requests.get(request.requestId)) ?? request;
    const names = await this.names(fresh);
    const voters = await this.cardVoters(fresh);
    await Promise.all(fresh.cards.map(async (ref) => {
      const reader = await this.deps.directory.byId(ref.employeeId);
      const ctx = { names, voters, audience: ref.role, locale: reader?.locale ?? 'zh-CN', timezone: usableZone(reader?.timezone), readerId: ref.employeeId } as const;
      const view = grantExpired ? grantExpiredCardView(fresh, ctx) : approvalCardView(fresh, ctx);
      await this.deps.notifier.updateCard(ref, view).catch(() => undefined);
    }));
  }

  /** Who the card's progress counts: the approvals so far while pending, the deciders once decided. */
  async cardVoters(request: AccessRequest): Promise<string[]> {
    return request.status === 'pending' ? this.voters(request) : (request.decidedBy ?? []);
  }

  // ---- time: reminders, escalation, request expiry, grant expiry -------------------------------------

  /**
   * Everything due at the clock's now; idempotent (each notice is claimed once), safe to run anywhere.
   * First it finishes half-done decisions: won, but their decision event could not be recorded.
   */
  async sweep(): Promise<{ reminded: number; escalated: number; expired: number; grantsExpired: number; finished: number }> {
    const now = this.deps.clock.now();
    const counts = { reminded: 0, escalated: 0, expired: 0, grantsExpired: 0, finished: 0 };
    for (const { request, decision } of await this.deps.requests.halfDecided(minutes(now, -HALF_DONE_AFTER_MINUTES))) {
      await this.settle(request, decision);
      counts.finished++;
    }
    for (const r of await this.deps.requests.duePending(now)) {
      if (r.expiresAt <= now) {
        if (await this.expire(r, now)) counts.expired++;
        continue;
      }
      if (r.remindAt <= now && (await this.deps.requests.claimNotice(`${r.requestId}:remind`, now))) {
        await this.remind(r);
        counts.reminded++;
      }
      if (r.escalateAt <= now) counts.escalated += await this.escalateDue(r, now);
    }
    for (const r of await this.deps.requests.expiredGrants(now)) {
      if (await this.deps.requests.claimNotice(`${r.requestId}:grant-expired`, now)) {
        await this.grantExpired(r);
        counts.grantsExpired++;
      }
    }
    return counts;
  }

  /** Reminds the asked approvers of the parts still short of their quorum who have not approved yet. */
  private async remind(r: AccessRequest): Promise<void> {
    await this.record(this.events.about('request.remind', null, r, 'allowed'));
    const requester = await this.deps.directory.byId(r.requesterId);
    const voters = await this.voters(r);
    const short = progressOf(r, voters).filter((p) => p.votes < p.quorum).map((p) => p.name);
    const ids = new Set(r.parts.filter((p) => short.includes(p.name)).flatMap(askedOf).filter((id) => !voters.includes(id)));
    for (const id of ids) {
      const e = await this.deps.directory.byId(id);
      if (e?.status === 'active') await this.deps.notifier.tell(e, t('approval.dm.reminder', e.locale, { id: r.requestId, requester: requester?.name ?? r.requesterId })).catch(() => undefined);
    }
  }

  /**
   * Escalates each part still short of its quorum that has another tier (each step claimed once). An
   * approver newly asked by a part may have approved already for another: their approval counts now,
   * so the request may be complete after the escalation.
   */
  private async escalateDue(r: AccessRequest, now: Date): Promise<number> {
    let current = r;
    let escalated = 0;
    for (const part of r.parts) {
      const p = current.parts.find((x) => x.name === part.name)!;
      const voters = await this.voters(current);
      const met = askedOf(p).filter((id) => voters.includes(id)).length >= p.quorum;
      if (met || p.tiersAsked >= p.approverTiers.length) continue;
      // A request stored before parts keeps its old notice key, so its escalation is not repeated.
      const key = p.name === 'request' ? `${r.requestId}:escalate:${p.tiersAsked}` : `${r.requestId}:escalate:${p.name}:${p.tiersAsked}`;
      if (!(await this.deps.requests.claimNotice(key, now))) continue;
      current = await this.escalate(current, p);
      escalated++;
    }
    if (escalated) await this.approveIfComplete(current);
    return escalated;
  }

  private async escalate(r: AccessRequest, part: RequestPart): Promise<AccessRequest> {
    const next = part.approverTiers[part.tiersAsked] ?? [];
    await this.record(this.events.about('request.escalate', null, r, 'allowed', { tier: part.tiersAsked + 1, part: part.name }));
    await this.deps.requests.askTiers(r.requestId, part.name, part.tiersAsked + 1);
    const hadCard = new Set(askedApprovers(r));
    const updated = { ...r, parts: r.parts.map((p) => (p.name === part.name ? { ...p, tiersAsked: p.tiersAsked + 1 } : p)) };
    await this.postCards(updated, next.filter((id) => !hadCard.has(id)), false, await this.voters(updated));
    for (const id of next) {
      const e = await this.deps.directory.byId(id);
      if (e) await this.deps.notifier.tell(e, t('approval.dm.escalated', e.locale, { id: r.requestId })).catch(() => undefined);
    }
    await this.refreshCards(updated);
    return updated;
  }

  /** After an escalation: approvals already given may now complete every part; the system then decides. */
  private async approveIfComplete(r: AccessRequest): Promise<void> {
    const voters = await this.voters(r);
    if (!allPartsMet(r, voters)) return;
    const { won, decision } = await this.deps.requests.decide({ requestId: r.requestId, outcome: 'approved', by: voters, at: this.deps.clock.now() });
    if (won) await this.settle(r, decision);
  }

  private async expire(r: AccessRequest, now: Date): Promise<boolean> {
    const { won, decision } = await this.deps.requests.decide({ requestId: r.requestId, outcome: 'expired', by: [], at: now });
    if (!won) return false;
    await this.settle(r, decision);
    return true;
  }

  private async grantExpired(r: AccessRequest): Promise<void> {
    await this.record({ ...this.events.about('grant.expire', null, r, 'allowed'), ...(r.grantId ? { grantId: r.grantId } : {}) });
    await this.refreshCards(r, true);
    const requester = await this.deps.directory.byId(r.requesterId);
    if (!requester) return;
    await this.deps.notifier.tell(requester, t('approval.dm.grantExpired', requester.locale, { id: r.requestId, grant: r.grantId ?? '' })).catch(() => undefined);
    if (r.kind === 'reveal') await this.deps.notifier.showReveal(r, requester, null).catch(() => undefined);
  }

  // ---- internals --------------------------------------------------------------------------------------

  /**
   * The request a click may count on, re-authorised at click time: asked by some part, still active, still
   * allowed to approve by the policy. A refusal is recorded (`request.vote` denied, reasonCode); a click
   * on a decided request is recorded as lost.
   */
  private async clickable(clicker: Employee, requestId: string, kind: ClickKind): Promise<AccessRequest> {
    if (!REQUEST_ID.test(requestId)) return this.refuse(clicker, kind, { requestId: undefined }, 'malformed');
    const request = await this.deps.requests.get(requestId);
    if (!request) return this.refuse(clicker, kind, { requestId }, 'unknown_request');
    if (request.status !== 'pending') return this.lose(clicker, kind, request);
    if (clicker.employeeId === request.requesterId) return this.refuse(clicker, kind, request, 'self_approval');
    if (clicker.status !== 'active' || !askedApprovers(request).includes(clicker.employeeId)) return this.refuse(clicker, kind, request, 'not_approver');
    const allowed = await this.deps.engine.decide(principalOf(clicker), 'approve', { channel: 'dm', at: this.deps.clock.now() });
    const requester = await this.deps.directory.byId(request.requesterId);
    if (!allowed.allowed || !requester) return this.refuse(clicker, kind, request, 'not_approver');
    return request;
  }

  /** Records a refused click, then refuses it. (Refused either way: an unrecordable refusal changes nothing.) */
  private async refuse(clicker: Employee, kind: ClickKind, target: AccessRequest | { requestId: string | undefined }, reason: RefusalReason): Promise<never> {
    await this.record(this.events.click(clicker, kind, target, 'denied', reason)).catch(() => undefined);
    throw new ApprovalRefused(reason, { id: (target.requestId ?? '').slice(0, 40) });
  }

  /** Records a click that lost to an earlier decision, then says who decided and when. */
  private async lose(clicker: Employee, kind: ClickKind, decided: AccessRequest, decision?: RequestDecision): Promise<never> {
    const outcome = decision?.outcome ?? (decided.status as FinalOutcome);
    await this.record(this.events.lost(clicker, kind, decided, outcome)).catch(() => undefined);
    throw new AlreadyDecided(outcome, decision?.by ?? decided.decidedBy ?? [], decision?.at ?? decided.decidedAt ?? decided.createdAt);
  }

  /** The compare-and-swap of a click: the winner settles the request, the loser is recorded as lost. */
  private async decideBy(clicker: Employee, kind: ClickKind, request: AccessRequest, d: RequestDecision, voteStored = false): Promise<DecisionResult> {
    const { won, decision } = await this.deps.requests.decide(d);
    if (won) return { kind: 'decided', request: await this.settle(request, decision) };
    // Two approvers completing the request at once: the other click decided, with this stored approval in
    // it, so this one counted too. (A repeated click of the same approver is a lost click, not a vote.)
    if (voteStored && decision.outcome === 'approved' && decision.by.includes(clicker.employeeId)) {
      return { kind: 'decided', request: (await this.deps.requests.get(request.requestId)) ?? request };
    }
    return this.lose(clicker, kind, request, decision);
  }

  /**
   * The winner's part: the decision event (its id derived from the request id), then the effects. When
   * the event cannot be recorded this throws and nothing happens; the sweeper calls this again later.
   */
  private async settle(request: AccessRequest, d: RequestDecision): Promise<AccessRequest> {
    await this.record(this.events.decision(request, d));
    if (d.outcome === 'approved') return this.onApproved(request, d.by, d.at);
    return this.finish(request, d.outcome, d.by, d.at, d.reason);
  }

  /** Approvals so far that count: by approvers some part has asked. */
  private async voters(request: AccessRequest): Promise<string[]> {
    const asked = new Set(askedApprovers(request));
    return (await this.deps.requests.votes(request.requestId)).map((v) => v.approverId).filter((id) => asked.has(id));
  }

  private async onApproved(request: AccessRequest, by: string[], now: Date): Promise<AccessRequest> {
    if (request.kind === 'audit-export') return this.onAuditExportApproved(request, by, now);
    if (request.kind === 'erase') return this.onEraseApproved(request, by, now);
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
    // Its event id and the grant id derive from the request: the sweeper finishing this again adds neither twice.
    const start = { ...this.events.about('grant.start', by[0] ?? null, request, 'allowed'), eventId: stepEventId(`request:${request.requestId}:grant`), grantId: grant.grantId, meta: { expiresAt: grant.expiresAt.toISOString(), kind: request.kind } };
    await recordThenShow(this.deps.recorder, start, () => this.createOnce(grant));
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

  private async createOnce(grant: Grant): Promise<void> {
    if (await this.deps.grants.byId(grant.grantId)) return;
    await this.deps.grants.create(grant);
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

  /**
   * An approved erasure: the decision is won (exactly one caller gets here, or the sweeper finishing a
   * half-done one), then the eraser records `customer.erase` and destroys the data; pending requests on the
   * customer are cancelled with their cards updated. Run again by the sweeper after a crash, the customer
   * is already gone: nothing is erased twice, the request is finished.
   */
  private async onEraseApproved(request: AccessRequest, by: string[], now: Date): Promise<AccessRequest> {
    const customerId = request.customerIds[0]!;
    await this.deps.erasure!.erase(customerId, request.purpose, { employeeId: request.requesterId, platform: this.deps.platform }, (id) => this.cancelAllOn(id, 'erased'))
      .catch((err: unknown) => { if (!isCustosError(err, ErrorCode.ErasureInvalid)) throw err; });
    return this.finish(request, 'approved', by, now);
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
      ...this.events.about('reveal', requester.employeeId, request, 'allowed'), channelKind: channel, grantId: grant.grantId,
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
      const text = outcome === 'approved' && done.kind === 'erase' ? t('approval.dm.erased', requester.locale, { id: done.requestId, by: byNames, customer: done.customerIds[0] ?? '' })
        : outcome === 'approved' && done.kind === 'audit-export' ? t(exportText, requester.locale, { id: done.requestId, by: byNames })
        : outcome === 'approved' ? t('approval.dm.approved', requester.locale, { id: done.requestId, by: byNames, grant: done.grantId ?? '', until: done.grantExpiresAt ? localTime(done.grantExpiresAt, requester.timezone) : '' })
        : outcome === 'denied' ? t('approval.dm.denied', requester.locale, { id: done.requestId, by: byNames, reason: reason ?? '' })
          : t('approval.dm.expired', requester.locale, { id: done.requestId });
      await this.deps.notifier.tell(requester, text).catch(() => undefined);
    }
    return done;
  }

  private async postCards(request: AccessRequest, approverIds: string[], withRequester: boolean, voters: string[]): Promise<void> {
    const names = await this.names(request);
    const post = async (id: string, role: CardRef['role']) => {
      const e = await this.deps.directory.byId(id);
      if (!e || (role === 'approver' && e.status !== 'active')) return;
      const ref = await this.deps.notifier.postCard(e, approvalCardView(request, { names, voters, audience: role, locale: e.locale, timezone: e.timezone, readerId: id }), role).catch(() => null);
      if (ref) await this.deps.requests.addCard(request.requestId, ref);
    };
    for (const id of approverIds) await post(id, 'approver');
    if (withRequester) await post(request.requesterId, 'requester');
  }

  private record(event: AuditEventInput): Promise<void> {
    return recordThenShow(this.deps.recorder, event, () => undefined);
  }
}
