// Neutral views of the approval flow, rendered by every chat adapter (Block Kit in bot/slack/approval-
// blocks.ts; Lark cards in bot/lark). They hold finished sentences in the reader's locale and opaque
// button values; an adapter adds layout only.
//
//   ApprovalView  — the request card: one copy per approver (Approve / Deny) and one for the requester
//                   (Cancel). Every copy is re-rendered and updated in place on each transition.
//   RequestForm   — the modal asking for reason, duration (≤ the policy maximum) and, for `access`,
//                   the field groups. `metadata` goes back unchanged with the submission.
//   DenyForm      — the modal asking an approver for the reason of a denial.
import './approvals/messages.ts';
import { askedOf, partsAsking, progressOf } from './approvals/parts.ts';
import type { AccessRequest, PartName, RequestStatus, RequestTarget } from './approvals/types.ts';
import { AlreadyDecided, ApprovalRefused } from './approvals/errors.ts';
import { decodePageToken, describeFilter } from './audit-query-service.ts';
import { parseReportSpec } from './audit-report-command.ts';
import { FIELD_GROUPS, type CustomerField, type FieldGroup } from './domain.ts';
import { t, type Locale } from './messages.ts';
import type { ExportFieldOutcome } from './approvals/export-fields.ts';
import { presetInfo } from '../../policies/mask/index.ts';
import type { FieldOutcome } from '../../policies/types.ts';
import { piiKindLabel } from './value-labels.ts';
import { localTime } from './local-time.ts';

export type ApprovalButton = { action: 'approve' | 'deny' | 'cancel'; label: string; value: string; style?: 'primary' | 'danger' };

export interface ApprovalView {
  kind: 'approval';
  requestId: string;
  title: string;
  lines: { label: string; value: string }[];
  status: { state: RequestStatus | 'grant_expired'; text: string };
  buttons: ApprovalButton[];
}

export interface RequestForm {
  kind: 'request_form';
  title: string;
  submit: string;
  summary: string;
  reasonLabel: string;
  duration: { label: string; max: number; initial: number };
  /** Access: the groups to tick, each with its own maximum duration (the request gets the shortest of those ticked). */
  groups?: { label: string; options: { value: FieldGroup; label: string; maxDurationMinutes: number }[] };
  /** export: what the file will hold per field if approved, one sentence per field. */
  fieldOutcomes?: { label: string; items: string[] };
  metadata: string;
}

export interface DenyForm { kind: 'deny_form'; title: string; submit: string; reasonLabel: string; metadata: string }

/** A time on the reader's clock, the zone named (local-time.ts). */
export function when(d: Date, timezone: string): string {
  return localTime(d, timezone);
}

/** An outcome in words: "shown in full", "masked (phone, e.g. 138****5678)", "hidden (empty)". */
export function outcomeText(outcome: FieldOutcome, locale: Locale): string {
  if (outcome === 'show' || outcome === 'hide') return t(`export.outcome.${outcome}`, locale);
  const preset = outcome.slice(5);
  return t('export.outcome.mask', locale, { preset, example: presetInfo(preset)?.example ?? '***' });
}

/** One export column and how the file holds it: "电话：脱敏（phone，如 138****5678）". */
export function fieldOutcomeText(f: ExportFieldOutcome, locale: Locale): string {
  const outcomes = f.outcomes.map((o) => outcomeText(o, locale)).join(' / ');
  const how = f.outcomes.length > 1 ? t('export.outcome.varies', locale, { outcomes }) : outcomes;
  return `${t(`field.${f.field}`, locale)}: ${how}`;
}

export function fieldsText(r: Pick<AccessRequest, 'kind' | 'fields' | 'groups' | 'fieldOutcomes'>, locale: Locale): string {
  if (r.fieldOutcomes?.length) return r.fieldOutcomes.map((f) => fieldOutcomeText(f, locale)).join('; ');
  if (r.fields.length) return r.fields.map((f) => t(`field.${f}`, locale)).join(', ');
  return r.groups.map((g) => `${t(`group.${g}`, locale)} (${FIELD_GROUPS[g].map((f: CustomerField) => t(`field.${f}`, locale)).join(', ')})`).join('; ');
}

/** What an audit export covers: its filter as the audit table's title shows it. */
function auditQueryText(r: AccessRequest): string {
  return auditFilterText(r.auditQuery ?? '');
}

function auditFilterText(query: string): string {
  // A report asked in chat (audit-report-command.ts): its spec is ids and dates, shown as it is.
  if (parseReportSpec(query)) return query;
  try { return describeFilter(decodePageToken(query).filter); } catch { return '?'; }
}

/** What a request form asks for, in words: "C-000123 · 手机号", an export's selection and columns, an audit filter. */
export function targetText(target: RequestTarget, locale: Locale): string {
  switch (target.kind) {
    case 'reveal': return `${target.customerId} · ${t(`field.${target.field}`, locale)}`;
    case 'access': case 'erase': return target.customerId;
    case 'audit-export': return auditFilterText(target.query);
    case 'export': {
      const selection = [...Object.entries(target.segment.conditions).map(([k, v]) => `${k}:${v}`), ...target.segment.customerIds].join(' ');
      return `${selection} — ${fieldsText({ kind: 'export', fields: target.fields, groups: [] }, locale)}`;
    }
  }
}

function customersText(r: AccessRequest): string {
  if (r.segment) {
    const parts = Object.entries(r.segment.conditions).map(([k, v]) => `${k}:${v}`);
    if (r.segment.customerIds.length) parts.push(r.segment.customerIds.join(', '));
    return parts.join(' ') || '*';
  }
  return r.customerIds.join(', ');
}

export interface CardContext {
  names: ReadonlyMap<string, string>; // employeeId → name
  /** Who has approved so far (pending), or who decided (decided): per-part progress counts these. */
  voters: readonly string[];
  audience: 'approver' | 'requester';
  locale: Locale;
  /** The reader's time zone: every time on the card is on their clock, the zone named. */
  timezone: string;
  /** The approver reading this copy: their line says which parts they are asked to decide. */
  readerId?: string;
}

/** A part's name in words: the field group's name, or what the export / audit-export part stands for. */
export function partText(name: PartName, locale: Locale): string {
  return name === 'export' || name === 'audit-export' || name === 'erase' || name === 'request' ? t(`approval.part.${name}`, locale) : t(`group.${name}`, locale);
}

/** Per-part progress, e.g. "身份信息 1/2 · 联系方式 1/1". */
export function progressText(r: Pick<AccessRequest, 'parts'>, voters: readonly string[], locale: Locale): string {
  return progressOf(r, voters).map((p) => t('approval.partProgress', locale, { part: partText(p.name, locale), votes: p.votes, quorum: p.quorum })).join(' · ');
}

/** "Your approval is recorded (contact 1/1 · identity 1/2) …" for an approval that did not decide yet. */
export function votedText(result: { request: Pick<AccessRequest, 'parts'>; voters: readonly string[] }, locale: Locale): string {
  return t('approval.voted', locale, { progress: progressText(result.request, result.voters, locale) });
}

function nameOf(names: ReadonlyMap<string, string>, id: string): string {
  return names.get(id) ?? id;
}

export function approvalCardView(r: AccessRequest, c: CardContext): ApprovalView {
  const l = c.locale;
  if (r.kind === 'erase') return withStatus(r, c, eraseLines(r, c));
  const audit = r.kind === 'audit-export';
  const lines = [
    { label: t('approval.label.requester', l), value: `${nameOf(c.names, r.requesterId)} (${r.requesterId})` },
    audit ? { label: t('approval.label.auditQuery', l), value: auditQueryText(r) }
      : { label: t(r.segment ? 'approval.label.segment' : 'approval.label.customers', l), value: customersText(r) },
    { label: t(r.fieldOutcomes?.length ? 'approval.label.fieldOutcomes' : 'approval.label.fields', l), value: audit ? t('approval.auditColumns', l) : fieldsText(r, l) },
    { label: t('approval.label.purpose', l), value: r.purpose },
    { label: t('approval.label.duration', l), value: t('approval.minutes', l, { n: r.durationMinutes }) },
    { label: t('approval.label.approvers', l), value: r.parts.map((p) => t('approval.partApprovers', l, { part: partText(p.name, l), names: askedOf(p).map((id) => nameOf(c.names, id)).join(', ') })).join(' · ') },
    { label: t('approval.label.quorum', l), value: progressText(r, c.voters, l) },
  ];
  return withStatus(r, c, lines);
}

/** An erasure request's card: which customer, what happens if approved, the reference; no fields or duration. */
function eraseLines(r: AccessRequest, c: CardContext): ApprovalView['lines'] {
  const l = c.locale;
  return [
    { label: t('approval.label.requester', l), value: `${nameOf(c.names, r.requesterId)} (${r.requesterId})` },
    { label: t('approval.label.customers', l), value: customersText(r) },
    { label: t('approval.label.erasure', l), value: t('approval.erasure.effect', l) },
    { label: t('approval.label.reference', l), value: r.purpose },
    { label: t('approval.label.approvers', l), value: r.parts.map((p) => t('approval.partApprovers', l, { part: partText(p.name, l), names: askedOf(p).map((id) => nameOf(c.names, id)).join(', ') })).join(' · ') },
    { label: t('approval.label.quorum', l), value: progressText(r, c.voters, l) },
  ];
}

function withStatus(r: AccessRequest, c: CardContext, lines: ApprovalView['lines']): ApprovalView {
  const l = c.locale;
  const mine = c.audience === 'approver' && c.readerId ? partsAsking(r, c.readerId) : [];
  if (mine.length) lines.push({ label: t('approval.label.yourParts', l), value: mine.map((p) => partText(p, l)).join(', ') });
  const status = statusOf(r, c.names, l, c.timezone);
  const buttons: ApprovalButton[] = [];
  if (r.status === 'pending') {
    if (c.audience === 'approver') {
      buttons.push({ action: 'approve', label: t('approval.button.approve', l), value: r.requestId, style: 'primary' });
      buttons.push({ action: 'deny', label: t('approval.button.deny', l), value: r.requestId, style: 'danger' });
    } else {
      buttons.push({ action: 'cancel', label: t('approval.button.cancel', l), value: r.requestId });
    }
  }
  return { kind: 'approval', requestId: r.requestId, title: t('approval.title', l, { id: r.requestId, kind: t(`approval.kind.${r.kind}`, l) }), lines, status, buttons };
}

/** The card with the grant-expired status (after `grant.expire`). */
export function grantExpiredCardView(r: AccessRequest, c: CardContext): ApprovalView {
  const view = approvalCardView(r, c);
  return { ...view, status: { state: 'grant_expired', text: t('approval.status.grantExpired', c.locale, { grant: r.grantId ?? '', until: when(r.grantExpiresAt ?? r.expiresAt, c.timezone) }) } };
}

function statusOf(r: AccessRequest, names: ReadonlyMap<string, string>, l: Locale, zone: string): ApprovalView['status'] {
  const by = (r.decidedBy ?? []).map((id) => nameOf(names, id)).join(', ');
  const at = r.decidedAt ? when(r.decidedAt, zone) : '';
  switch (r.status) {
    case 'pending': return { state: 'pending', text: t('approval.status.pending', l, { expires: when(r.expiresAt, zone) }) };
    case 'approved': return r.kind === 'erase' ? { state: 'approved', text: t('approval.status.erased', l, { by, at, customer: r.customerIds[0] ?? '' }) } : r.kind === 'audit-export' ? { state: 'approved', text: t('approval.status.approvedExport', l, { by, at }) } : { state: 'approved', text: t('approval.status.approved', l, { by, at, grant: r.grantId ?? '', until: r.grantExpiresAt ? when(r.grantExpiresAt, zone) : '' }) };
    case 'denied': return { state: 'denied', text: t('approval.status.denied', l, { by, at, reason: r.denyReason ?? '' }) };
    case 'expired': return { state: 'expired', text: t('approval.status.expired', l, { at }) };
    case 'cancelled': {
      // A system cancel (offboarding, transfer, a role lost, revoke all, erasure, a CRM deletion) keeps its reason code in denyReason.
      const key = r.denyReason && ['offboarded', 'transferred', 'roleRemoved', 'revoked', 'erased', 'deletedAtSource'].includes(r.denyReason) ? `approval.status.cancelled.${r.denyReason}` : 'approval.status.cancelled';
      return { state: 'cancelled', text: t(key, l, { at }) };
    }
  }
}

/** The sentence for a refusal or a stale click, in the reader's locale. */
export function approvalErrorText(err: unknown, locale: Locale, names: ReadonlyMap<string, string>, contact: string, timezone: string): string | null {
  if (err instanceof ApprovalRefused) {
    const params: Record<string, string | number> = { contact, ...err.params };
    return t(`approval.refused.${err.reason}`, locale, typeof params.kind === 'string' ? { ...params, kind: piiKindLabel(params.kind, locale) } : params);
  }
  if (err instanceof AlreadyDecided) {
    // A system decision (expiry, offboarding) has nobody to name.
    return t(err.by.length ? 'approval.alreadyDecided' : 'approval.alreadyDecidedBySystem', locale, {
      outcome: t(`approval.outcome.${err.outcome}`, locale), by: err.by.map((id) => nameOf(names, id)).join(', '), at: when(err.at, timezone),
    });
  }
  return null;
}

/** The request modal for a prepared target: bounds from the policy (per group for access), the summary of what is asked. */
export function requestFormView(
  p: { target: { kind: AccessRequest['kind'] }; requestable: FieldGroup[]; fields: CustomerField[]; groups: FieldGroup[]; maxDurationMinutes: number; groupMax: Partial<Record<FieldGroup, number>>; fieldOutcomes?: ExportFieldOutcome[] },
  what: string, locale: Locale, metadata: string,
): RequestForm {
  const initial = Math.min(p.maxDurationMinutes, p.target.kind === 'reveal' ? 15 : 60);
  const access = p.target.kind === 'access';
  // Access: the field accepts up to the loosest group's limit and says the shortest ticked limit applies;
  // each group states its own, so the form never advertises a maximum it would then refuse unexplained.
  const label = access ? t('approval.modal.durationPerGroup', locale) : t('approval.modal.duration', locale, { max: p.maxDurationMinutes });
  return {
    kind: 'request_form',
    title: t('approval.modal.title', locale),
    submit: t('approval.modal.submit', locale),
    summary: t('approval.modal.summary', locale, { kind: t(`approval.kind.${p.target.kind}`, locale), what }),
    reasonLabel: t('approval.modal.reason', locale),
    duration: { label, max: p.maxDurationMinutes, initial },
    ...(access
      ? {
        groups: {
          label: t('approval.modal.groups', locale),
          options: p.requestable.map((g) => {
            const max = p.groupMax[g] ?? p.maxDurationMinutes;
            return { value: g, label: t('approval.modal.groupOption', locale, { group: t(`group.${g}`, locale), max }), maxDurationMinutes: max };
          }),
        },
      }
      : {}),
    ...(p.fieldOutcomes?.length
      ? { fieldOutcomes: { label: t('approval.modal.fieldOutcomes', locale), items: p.fieldOutcomes.map((f) => fieldOutcomeText(f, locale)) } }
      : {}),
    metadata,
  };
}

export function denyFormView(requestId: string, locale: Locale): DenyForm {
  return { kind: 'deny_form', title: t('approval.modal.denyTitle', locale), submit: t('approval.button.deny', locale), reasonLabel: t('approval.modal.denyReason', locale), metadata: requestId };
}
