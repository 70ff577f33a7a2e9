// What the layer does with each click and form beyond lookups: request forms (reveal, access, export,
// audit export), their submission, Approve / Deny (and its reason form) / Cancel, access-review Keep /
// Revoke, security-alert Unfreeze / Keep frozen / Revoke, audit queries and their pages, and erasure
// requests. Each step identifies the asker through the layer (refusals recorded), asks the core
// service, and answers with neutral views through the port; the adapters only render them. The texts
// of refusals are the core's (approvalErrorText, auditErrorView); nothing here decides who may do what.
import { AlreadyDecided, ApprovalRefused } from '../core/approvals/errors.ts';
import { askErasure } from '../core/approvals/erase-command.ts';
import { askedApprovers } from '../core/approvals/parts.ts';
import { parseExportCommand } from '../core/approvals/segment.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import type { RequestOrigin, RequestTarget } from '../core/approvals/types.ts';
import { auditQueryView, type AuditInput } from '../core/audit-query-run.ts';
import { reportRequestTarget } from '../core/audit-report-command.ts';
import type { AuditQueryService } from '../core/audit-query-service.ts';
import { auditErrorView } from '../core/audit-query-views.ts';
import type { Employee } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import { isIdentityRefusal } from '../core/identity.ts';
import type { Asker } from '../core/lookup.ts';
import { t, type Locale } from '../core/messages.ts';
import type { Clock, EmployeeDirectory } from '../core/ports.ts';
import type { AccessReviewService } from '../core/reviews/service.ts';
import type { ReviewDecision } from '../core/reviews/types.ts';
import { outcomeText } from '../core/reviews/views.ts';
import type { AdminDecision, SecurityService } from '../core/security/guard.ts';
import { outcomeLine } from '../core/security/views.ts';
import { approvalCardView, approvalErrorText, denyFormView, requestFormView, targetText, votedText } from '../core/views-approval.ts';
import { errorView, noticeView } from '../core/views.ts';
import { decodeDenyMetadata, decodeForm, decodeFormMetadata, encodeFormMetadata, type FormMetadata } from './codec.ts';
import './messages.ts';
import type { IdentifyFor } from './people.ts';
import type { ConversationPort, FormProblem, FormView, ReplyView, Turn } from './types.ts';

/** The core services behind clicks and forms; each adapter's own (their notifiers post on its platform). */
export interface FlowServices {
  approvals?: ApprovalService;
  reviews?: AccessReviewService;
  security?: SecurityService;
  audit?: AuditQueryService;
}

export interface FlowDeps { flows: FlowServices; directory: EmployeeDirectory; clock: Clock; securityContact: string }

/** One turn as a flow step sees it: the layer's identification, asker and locale. */
export interface Step {
  turn: Turn;
  port: ConversationPort;
  /** The asker's locale and time zone once identified (the default before). */
  locale: Locale;
  zone: string;
  /** The asker, once identified in this turn. */
  identified?: Employee;
  /** The asker as an active employee; an identity refusal is recorded and ends the turn. */
  employee(why: IdentifyFor): Promise<Employee>;
  asker(employee: Employee): Promise<Asker>;
}

/** How a failed step is answered: the view to reply with, and for a form the problem to show on it. */
export interface Failure { view: ReplyView; problem?: FormProblem }
export type Explain = (err: unknown, step: Step) => Promise<Failure | null>;

export class Flows {
  constructor(private readonly deps: FlowDeps) {}

  // ---- request forms -----------------------------------------------------------------------------------

  /** Reveal / Request access on a lookup card, Export results under an audit table: the request form. */
  async openRequest(s: Step, asked: Exclude<RequestTarget, { kind: 'erase' | 'export' }>): Promise<void> {
    const employee = await s.employee({ interaction: 'request' });
    await this.openForm(s, employee, asked);
  }

  /** `export region:east fields:name,phone` typed: the export request form. */
  async exportText(s: Step, text: string): Promise<void> {
    const employee = await s.employee({ interaction: 'request' });
    const { segment, fields } = parseExportCommand(text);
    await this.openForm(s, employee, { kind: 'export', segment, fields });
  }

  /** `audit report …` typed (Slack's `/audit report …`): the report's request form — an audit export the DPO approves — or the usage. */
  async reportText(s: Step, auditText: string): Promise<void> {
    const employee = await s.employee({ interaction: 'request' });
    const asked = reportRequestTarget(auditText);
    if (!asked) return s.port.replyPrivately(noticeView(t('approval.report.usage', s.locale), 'refusal'), 'notice');
    await this.openForm(s, employee, asked);
  }

  private async openForm(s: Step, employee: Employee, asked: FormMetadata['target']): Promise<void> {
    const asker = await s.asker(employee);
    const prepared = await this.approvals().prepare(employee, asked, asker.channel);
    const target = prepared.target as FormMetadata['target']; // an audit export's filter as re-encoded by the service
    const metadata = encodeFormMetadata({ target, channelKind: asker.channel, ...s.turn.origin });
    await openForm(s.port, { kind: 'request', form: requestFormView(prepared, targetText(target, s.locale), s.locale, metadata) });
  }

  /** A request form submitted: the request is created and its approvers asked, or the problem is shown on the form. */
  async submitRequest(s: Step, metadata: string, inputs: unknown): Promise<void> {
    const employee = await s.employee({ interaction: 'request' });
    const meta = decodeFormMetadata(metadata);
    const form = decodeForm('request', inputs);
    if (!meta || !form) throw new ApprovalRefused('malformed');
    const duration = form.duration.trim();
    const input = {
      target: meta.target, purpose: form.purpose, durationMinutes: /^\d{1,7}$/.test(duration) ? Number(duration) : Number.NaN,
      ...(form.groups.length ? { groups: form.groups } : {}),
    };
    const origin = { platform: chatPlatform(s.turn), channel: meta.channel ?? '', channelKind: meta.channelKind, ...(meta.responseUrl ? { responseUrl: meta.responseUrl } : {}) };
    const request = await this.approvals().submit(employee, input, origin);
    const names = await this.approvals().names(request);
    const approvers = askedApprovers(request).map((id) => names.get(id) ?? id).join(', ');
    const key = s.port.sentences?.submitted ?? 'conversation.submitted';
    await s.port.replyPrivately(noticeView(t(key, s.locale, { id: request.requestId, approvers })), 'done');
  }

  /**
   * A refused request form: the problem on the form (a bad duration on its input), and — once the asker
   * is known and the form is ours — the form again to fix it (nothing was created).
   */
  readonly requestProblem = async (err: unknown, s: Step, metadata: string): Promise<Failure | null> => {
    const known = approvalErrorText(err, s.locale, new Map(), this.deps.securityContact, s.zone);
    const view = known !== null ? noticeView(known, 'refusal') : errorView(err, s.locale, this.deps.securityContact);
    const text = view.kind === 'notice' ? view.text : '';
    const meta = decodeFormMetadata(metadata);
    const employee = meta && !isIdentityRefusal(err) ? s.identified : undefined;
    const prepared = meta && employee ? await this.approvals().prepare(employee, meta.target, meta.channelKind).catch(() => null) : null;
    const retry: FormView | undefined = prepared ? { kind: 'request', form: requestFormView(prepared, targetText(meta!.target, s.locale), s.locale, metadata) } : undefined;
    const input = err instanceof ApprovalRefused && err.reason === 'duration_invalid' ? 'duration' : 'purpose';
    return { view, problem: { input, text, ...(retry ? { retry } : {}) } };
  };

  // ---- decisions -----------------------------------------------------------------------------------------

  async approve(s: Step, requestId: string): Promise<void> {
    const employee = await s.employee({ interaction: 'approval', requestId });
    const result = await this.approvals().approve(employee, requestId);
    const text = result.kind === 'voted' ? votedText(result, s.locale) : t('approval.done.approved', s.locale, { id: requestId });
    await s.port.replyPrivately(noticeView(text), 'done');
  }

  async cancel(s: Step, requestId: string): Promise<void> {
    const employee = await s.employee({ interaction: 'approval', requestId });
    await this.approvals().cancel(employee, requestId);
    await s.port.replyPrivately(noticeView(t('approval.done.cancelled', s.locale, { id: requestId })), 'done');
  }

  /** Deny: the reason form, on the approver's own copy of the card; a decided request says so instead. */
  async openDeny(s: Step, requestId: string): Promise<void> {
    const employee = await s.employee({ interaction: 'approval', requestId });
    await openForm(s.port, await this.denyForm(employee, requestId));
  }

  private async denyForm(employee: Employee, requestId: string): Promise<FormView> {
    const approvals = this.approvals();
    const request = await approvals.deps.requests.get(requestId);
    if (!request) throw new ApprovalRefused('unknown_request', { id: requestId });
    if (request.status !== 'pending') throw new AlreadyDecided(request.status, request.decidedBy ?? [], request.decidedAt ?? request.createdAt);
    const [names, voters] = await Promise.all([approvals.names(request), approvals.cardVoters(request)]);
    const card = approvalCardView(request, { names, voters, audience: 'approver', locale: employee.locale, timezone: employee.timezone, readerId: employee.employeeId });
    return { kind: 'deny', form: denyFormView(requestId, employee.locale), card };
  }

  /** The Deny form submitted with its reason. */
  async submitDeny(s: Step, metadata: string, inputs: unknown): Promise<void> {
    const requestId = decodeDenyMetadata(metadata);
    const employee = await s.employee({ interaction: 'approval', ...(requestId ? { requestId } : {}) });
    const form = decodeForm('deny', inputs);
    if (!requestId || !form) throw new ApprovalRefused('malformed');
    await this.approvals().deny(employee, requestId, form.reason);
    const key = s.port.sentences?.denied ?? 'approval.done.denied';
    await s.port.replyPrivately(noticeView(t(key, s.locale, { id: requestId })), 'done');
  }

  /** A refused Deny form: on its reason input; the form again when the reason is what was wrong. */
  readonly denyProblem = async (err: unknown, s: Step, metadata: string): Promise<Failure | null> => {
    const requestId = decodeDenyMetadata(metadata) ?? '';
    const failure = await this.decisionProblem(err, s, requestId);
    if (!failure) return null;
    const fixable = err instanceof ApprovalRefused && (err.reason === 'reason_required' || err.reason === 'reason_pii');
    const employee = fixable ? s.identified : undefined;
    const retry = employee ? await this.denyForm(employee, requestId).catch(() => undefined) : undefined;
    return { ...failure, problem: { input: 'reason', text: failure.problem!.text, ...(retry ? { retry } : {}) } };
  };

  /** A refused or stale decision: "already approved by X at T" names the deciders. */
  async decisionProblem(err: unknown, s: Step, requestId: string): Promise<Failure | null> {
    const approvals = this.deps.flows.approvals;
    const request = approvals && /^R-[A-P]{10}$/.test(requestId) ? await approvals.deps.requests.get(requestId).catch(() => null) : null;
    const names = request && approvals ? await approvals.names(request) : new Map<string, string>();
    const text = approvalErrorText(err, s.locale, names, this.deps.securityContact, s.zone);
    return text === null ? null : { view: noticeView(text, 'refusal'), problem: { input: 'reason', text } };
  }

  /** `erase C-… reason: REF`: an erasure request for the DPO at once (no form), or why not. */
  async erase(s: Step, text: string): Promise<void> {
    const employee = await s.employee({ interaction: 'request' });
    const asker = await s.asker(employee);
    const origin = { platform: chatPlatform(s.turn), channel: s.turn.origin?.channel ?? s.turn.conversationId, channelKind: asker.channel, ...(s.turn.origin?.responseUrl ? { responseUrl: s.turn.origin.responseUrl } : {}) };
    const answer = await askErasure(this.approvals(), employee, text, origin, this.deps.securityContact, s.turn.userId);
    await s.port.replyPrivately(noticeView(answer.text, answer.ok ? 'info' : 'refusal'), answer.ok ? 'done' : 'notice');
  }

  // ---- reviews, security alerts, audit ---------------------------------------------------------------------

  /** Keep / Revoke on an access-review card: the core decides and updates every copy; the clicker is told. */
  async review(s: Step, decision: ReviewDecision, reviewId: string): Promise<void> {
    const reviews = this.deps.flows.reviews;
    if (!reviews) throw unwired('reviews');
    const clicker = await s.employee({ interaction: 'review' });
    const outcome = await reviews.decide(clicker, s.turn.platform, s.turn.userId, reviewId, decision);
    await s.port.replyPrivately(noticeView(outcomeText(outcome, clicker, clicker)), outcome.kind === 'done' ? 'done' : 'notice');
    // A refused click leaves the card as it is (it may be someone else's forwarded card).
    if ((outcome.kind === 'done' || outcome.kind === 'already') && s.port.updateCard) {
      const settled = await reviews.settledCardFor(reviewId, clicker);
      if (settled) await s.port.updateCard({ kind: 'review', view: settled });
    }
  }

  /** Unfreeze / Keep frozen / Revoke on an alert card: re-authorised by the core; the card changes for everyone when done. */
  async security(s: Step, decision: AdminDecision, employeeId: string): Promise<void> {
    const security = this.deps.flows.security;
    if (!security) throw unwired('security');
    const clicker = await s.employee({ interaction: 'security' });
    const outcome = await security.decide(clicker, s.turn.platform, s.turn.userId, decision, employeeId);
    const line = outcomeLine(outcome, `${clicker.name} (${clicker.employeeId})`, s.locale);
    if (outcome.kind !== 'done') return s.port.replyPrivately(noticeView(line), 'notice');
    // The card's evidence is not sent back with a click: the updated card names the user and the outcome.
    const subject = await this.deps.directory.byId(employeeId);
    await s.port.updateCard?.({ kind: 'security', title: `${subject?.name ?? employeeId} (${employeeId})`, line });
    await s.port.replyPrivately(noticeView(line), 'done');
  }

  /** `audit …` typed, or a page turn: the table (or help, chain state) for the asker only. */
  async audit(s: Step, input: AuditInput): Promise<void> {
    const audit = this.deps.flows.audit;
    if (!audit) throw unwired('audit');
    const employee = await s.employee({ interaction: 'audit' });
    const view = await auditQueryView(audit, await s.asker(employee), input, this.deps.clock.now());
    await s.port.replyPrivately(view, 'answer');
  }

  readonly auditProblem = async (err: unknown, s: Step): Promise<Failure> => ({ view: auditErrorView(err, s.locale, this.deps.securityContact) });

  /** Any other failure: the catalogue's sentence (a refusal says why and whom to ask). */
  fallback(err: unknown, s: Step): Failure {
    return { view: errorView(err, s.locale, this.deps.securityContact) };
  }

  private approvals(): ApprovalService {
    if (!this.deps.flows.approvals) throw unwired('approvals');
    return this.deps.flows.approvals;
  }
}

async function openForm(port: ConversationPort, form: FormView): Promise<void> {
  if (!port.openForm) throw new CustosError(ErrorCode.Internal, 'this platform opens no forms', {});
  await port.openForm(form);
}

/** Requests come from a chat platform or the playground (the platform set opens in stage d, issue 17 item 2). */
function chatPlatform(turn: Turn): RequestOrigin['platform'] {
  const p = turn.platform;
  if (p === 'slack' || p === 'lark' || p === 'dingtalk' || p === 'wecom' || p === 'playground') return p;
  throw new CustosError(ErrorCode.Internal, 'no requests from this platform', { platform: p });
}

function unwired(what: string): CustosError {
  return new CustosError(ErrorCode.Internal, 'service not wired for this adapter', { service: what });
}
