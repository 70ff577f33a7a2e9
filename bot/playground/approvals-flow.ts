// Approvals and audit queries in the playground: the same ApprovalService and AuditQueryService the chat
// adapters use. Where Slack opens a modal, the playground shows the same neutral form inline; where Slack
// posts to a DM, the approval flow writes into the employee's playground inbox (inbox.ts).
import { ApprovalRefused } from '../core/approvals/errors.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import { parseExportCommand } from '../core/approvals/segment.ts';
import { askErasure } from '../core/approvals/erase-command.ts';
import { reportRequestTarget } from '../core/audit-report-command.ts';
import type { AccessRequest, CustomerTarget, RequestTarget } from '../core/approvals/types.ts';
import { auditQueryView } from '../core/audit-query-run.ts';
import type { AuditQueryService } from '../core/audit-query-service.ts';
import { auditErrorView, type AuditTableView } from '../core/audit-query-views.ts';
import { FIELD_GROUP_NAMES, type CustomerField, type Employee, type FieldGroup } from '../core/domain.ts';
import { t, userMessage } from '../core/messages.ts';
import type { Clock } from '../core/ports.ts';
import { noticeView, type View } from '../core/views.ts';
import { approvalErrorText, denyFormView, requestFormView, targetText, votedText, type ApprovalView, type DenyForm, type RequestForm } from '../core/views-approval.ts';
import type { ChannelKind } from '../../policies/types.ts';

export type PlaygroundView = View | ApprovalView | RequestForm | DenyForm | AuditTableView;

export interface ApprovalForm { purpose?: string; duration?: string; groups?: string[]; reason?: string; metadata?: string }

type FormTarget = CustomerTarget | Extract<RequestTarget, { kind: 'audit-export' | 'export' }>;
interface Metadata { target: FormTarget; channelKind: ChannelKind }
interface ExportMetadata { exportText: string; channelKind: ChannelKind }

export interface ApprovalFlowDeps {
  approvals: ApprovalService;
  audit: AuditQueryService;
  securityContact: string;
  clock: Clock;
}

export class PlaygroundApprovalFlow {
  constructor(private readonly deps: ApprovalFlowDeps) {}

  /** "Reveal <field>" / "Request access" on a card: the request form with the policy's bounds. */
  async open(employee: Employee, kind: 'reveal' | 'access', value: string, channel: ChannelKind): Promise<PlaygroundView> {
    const l = employee.locale;
    try {
      const target = parseButton(kind, value);
      const prepared = await this.deps.approvals.prepare(employee, target, channel);
      const meta: Metadata = { target, channelKind: channel };
      return requestFormView(prepared, targetText(target, l), l, JSON.stringify(meta));
    } catch (err) {
      return this.error(err, employee);
    }
  }

  /**
   * "Export results" under an audit table: the request form for an `audit-export` request. The value is
   * the query's filter token; the service decodes and re-encodes it (a forged value is refused).
   */
  async openAuditExport(employee: Employee, value: string, channel: ChannelKind): Promise<PlaygroundView> {
    const l = employee.locale;
    try {
      const prepared = await this.deps.approvals.prepare(employee, { kind: 'audit-export', query: value }, channel);
      const target = prepared.target as Extract<RequestTarget, { kind: 'audit-export' }>;
      const meta: Metadata = { target, channelKind: channel };
      return requestFormView(prepared, targetText(target, l), l, JSON.stringify(meta));
    } catch (err) {
      return this.error(err, employee);
    }
  }

  /** `audit report …` typed in the box: the request form for the report (an audit export the DPO decides). */
  async openReport(employee: Employee, auditText: string, channel: ChannelKind): Promise<PlaygroundView> {
    const l = employee.locale;
    const asked = reportRequestTarget(auditText);
    if (!asked) return noticeView(t('approval.report.usage', l), 'refusal');
    try {
      const prepared = await this.deps.approvals.prepare(employee, asked, channel);
      const target = prepared.target as Extract<RequestTarget, { kind: 'audit-export' }>;
      const meta: Metadata = { target, channelKind: channel };
      return requestFormView(prepared, targetText(target, l), l, JSON.stringify(meta));
    } catch (err) {
      return this.error(err, employee);
    }
  }

  /** `export …` typed in the box (the chat adapters' `/customer export …`): the export request form. */
  async openExport(employee: Employee, text: string, channel: ChannelKind): Promise<PlaygroundView> {
    const l = employee.locale;
    try {
      const { segment, fields } = parseExportCommand(text);
      const target: RequestTarget = { kind: 'export', segment, fields };
      const prepared = await this.deps.approvals.prepare(employee, target, channel);
      // The command itself travels in the form and is parsed again on submit (the page verifies nothing).
      const meta: ExportMetadata = { exportText: text.trim(), channelKind: channel };
      return requestFormView(prepared, targetText(target, l), l, JSON.stringify(meta));
    } catch (err) {
      return this.error(err, employee);
    }
  }

  /**
   * `erase C-… reason: REF` typed in the box: an erasure request straight away (no form: the reference is
   * the reason and there is no duration), answered with who was asked or why not (refusals recorded).
   */
  async erase(employee: Employee, text: string, channel: ChannelKind): Promise<PlaygroundView> {
    const origin = { platform: 'playground' as const, channel: 'playground', channelKind: channel };
    const answer = await askErasure(this.deps.approvals, employee, text, origin, this.deps.securityContact, employee.employeeId);
    return noticeView(answer.text, answer.ok ? 'info' : 'refusal');
  }

  /** The employee's own requests still waiting for a decision, one short line each. */
  async pendingOf(employee: Employee): Promise<string[]> {
    const mine = await this.deps.approvals.deps.requests.pendingOf(employee.employeeId);
    return mine.map((r) => `${r.requestId} (${targetText(targetOf(r), employee.locale)})`);
  }

  async submit(employee: Employee, form: ApprovalForm): Promise<PlaygroundView> {
    const l = employee.locale;
    try {
      const meta = parseMetadata(form.metadata ?? '');
      const duration = (form.duration ?? '').trim();
      const durationMinutes = /^\d{1,7}$/.test(duration) ? Number(duration) : Number.NaN;
      const groups = form.groups ?? [];
      const picked = groups.filter((g): g is FieldGroup => (FIELD_GROUP_NAMES as readonly string[]).includes(g));
      if (picked.length !== groups.length) throw new ApprovalRefused('malformed');
      const request = await this.deps.approvals.submit(employee, { target: meta.target, purpose: form.purpose ?? '', durationMinutes, ...(picked.length ? { groups: picked } : {}) },
        { platform: 'playground', channel: 'playground', channelKind: meta.channelKind });
      return noticeView(t('playground.request.sent', l, { id: request.requestId }));
    } catch (err) {
      return this.error(err, employee);
    }
  }

  async approve(employee: Employee, requestId: string): Promise<PlaygroundView> {
    const l = employee.locale;
    try {
      const result = await this.deps.approvals.approve(employee, requestId);
      return noticeView(result.kind === 'voted' ? votedText(result, l) : t('approval.done.approved', l, { id: requestId }));
    } catch (err) {
      return this.decisionError(err, employee, requestId);
    }
  }

  openDeny(employee: Employee, requestId: string): PlaygroundView {
    if (!/^R-[A-P]{10}$/.test(requestId)) return this.error(new ApprovalRefused('malformed'), employee);
    return denyFormView(requestId, employee.locale);
  }

  async deny(employee: Employee, requestId: string, reason: string): Promise<PlaygroundView> {
    try {
      await this.deps.approvals.deny(employee, requestId, reason);
      return noticeView(t('playground.request.denied', employee.locale, { id: requestId }));
    } catch (err) {
      return this.decisionError(err, employee, requestId);
    }
  }

  async cancel(employee: Employee, requestId: string): Promise<PlaygroundView> {
    try {
      await this.deps.approvals.cancel(employee, requestId);
      return noticeView(t('approval.done.cancelled', employee.locale, { id: requestId }));
    } catch (err) {
      return this.decisionError(err, employee, requestId);
    }
  }

  /** `audit …` typed in the box (the chat adapters' `/audit`), or a paging button's token. */
  async audit(employee: Employee, channel: ChannelKind, requestId: string, input: { text: string } | { token: string }): Promise<PlaygroundView> {
    const l = employee.locale;
    const asker = { employee, platform: 'playground' as const, platformUserId: employee.employeeId, channel, correlationId: requestId };
    try {
      return await auditQueryView(this.deps.audit, asker, input, this.deps.clock.now());
    } catch (err) {
      return auditErrorView(err, l, this.deps.securityContact);
    }
  }

  private async decisionError(err: unknown, reader: Employee, requestId: string): Promise<PlaygroundView> {
    const l = reader.locale;
    const request = /^R-[A-P]{10}$/.test(requestId) ? await this.deps.approvals.deps.requests.get(requestId).catch(() => null) : null;
    const names = request ? await this.deps.approvals.names(request) : new Map<string, string>();
    const text = approvalErrorText(err, l, names, this.deps.securityContact, reader.timezone);
    return text ? noticeView(text, 'refusal') : noticeView(userMessage(err, l, { contact: this.deps.securityContact }), 'error');
  }

  private error(err: unknown, reader: Employee): PlaygroundView {
    const l = reader.locale;
    const text = approvalErrorText(err, l, new Map(), this.deps.securityContact, reader.timezone);
    return text ? noticeView(text, 'refusal') : noticeView(userMessage(err, l, { contact: this.deps.securityContact }), 'error');
  }
}

function parseButton(kind: 'reveal' | 'access', value: string): CustomerTarget {
  let o: { c?: unknown; f?: unknown };
  try { o = JSON.parse(value) as { c?: unknown; f?: unknown }; } catch { throw new ApprovalRefused('malformed'); }
  if (!o || typeof o.c !== 'string' || !/^C-\d{1,12}$/.test(o.c)) throw new ApprovalRefused('malformed');
  if (kind === 'access') return { kind: 'access', customerId: o.c };
  if (typeof o.f !== 'string' || !/^[a-zA-Z]{1,32}$/.test(o.f)) throw new ApprovalRefused('malformed');
  return { kind: 'reveal', customerId: o.c, field: o.f as CustomerField };
}

/** What a stored request asked for, as the form's summary names it. */
function targetOf(r: AccessRequest): RequestTarget {
  if (r.kind === 'export') return { kind: 'export', segment: r.segment ?? { conditions: {}, customerIds: r.customerIds }, fields: r.fields };
  if (r.kind === 'audit-export') return { kind: 'audit-export', query: r.auditQuery ?? '' };
  if (r.kind === 'reveal') return { kind: 'reveal', customerId: r.customerIds[0] ?? '', field: r.fields[0]! };
  return { kind: 'access', customerId: r.customerIds[0] ?? '', groups: r.groups };
}

function parseMetadata(text: string): Metadata {
  let exportText: unknown;
  try {
    exportText = (JSON.parse(text) as Partial<ExportMetadata>).exportText;
  } catch {
    throw new ApprovalRefused('malformed');
  }
  if (typeof exportText === 'string') {
    const m = JSON.parse(text) as ExportMetadata;
    if (!['dm', 'private', 'public', 'shared'].includes(m.channelKind)) throw new ApprovalRefused('malformed');
    const { segment, fields } = parseExportCommand(exportText);
    return { target: { kind: 'export', segment, fields }, channelKind: m.channelKind };
  }
  try {
    const m = JSON.parse(text) as { target?: CustomerTarget | Extract<RequestTarget, { kind: 'audit-export' }>; channelKind: ChannelKind };
    if (!m?.target || !['reveal', 'access', 'audit-export'].includes(m.target.kind) || !['dm', 'private', 'public', 'shared'].includes(m.channelKind)) throw new Error('shape');
    // The service decodes the filter again on submit; here only its shape.
    if (m.target.kind === 'audit-export') {
      if (typeof m.target.query !== 'string') throw new Error('shape');
      return { target: { kind: 'audit-export', query: m.target.query }, channelKind: m.channelKind };
    }
    return { target: parseButton(m.target.kind, JSON.stringify({ c: m.target.customerId, ...(m.target.kind === 'reveal' ? { f: m.target.field } : {}) })), channelKind: m.channelKind };
  } catch {
    throw new ApprovalRefused('malformed');
  }
}
