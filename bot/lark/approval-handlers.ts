// The approval flow on Lark: the lookup card's Reveal / Request access buttons, an audit card's Export
// results and the `export …` command send a request form card (Lark has no modals); its submission
// creates the request; approvers' Approve / Deny (Deny opens a reason form on that approver's copy of
// the card) and the requester's Cancel decide it. Decisions, checks and texts live in bot/core
// (approvals/*, views-approval.ts); the service updates every copy of the card (approval-notifier.ts),
// so a callback answers with a toast, and with a card only where the clicked card itself changes (a
// form opened, submitted or refused).
// Duplicated clicks are normal: the service's compare-and-swap answers "already decided", and a form
// copy submits once (its nonce is claimed before the request is created).
import { randomBytes } from 'node:crypto';
import { parseRequestButton, REQUEST_ID } from '../core/approvals/buttons.ts';
import { AlreadyDecided, ApprovalRefused } from '../core/approvals/errors.ts';
import { isExportCommand, parseExportCommand } from '../core/approvals/segment.ts';
import { askErasure, isEraseCommand } from '../core/approvals/erase-command.ts';
import { reportRequestTarget } from '../core/audit-report-command.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import { REQUEST_KINDS, type AccessRequest, type RequestOrigin, type RequestTarget } from '../core/approvals/types.ts';
import { FIELD_GROUP_NAMES, type Employee, type FieldGroup } from '../core/domain.ts';
import { t, userMessage } from '../core/messages.ts';
import { noticeView } from '../core/views.ts';
import type { Reader } from '../core/local-time.ts';
import { approvalCardView, approvalErrorText, denyFormView, requestFormView, targetText, votedText } from '../core/views-approval.ts';
import { askedApprovers } from '../core/approvals/parts.ts';
import type { Logger } from '../logger.ts';
import type { ChannelKind } from '../../policies/types.ts';
import type { LarkApi } from './api.ts';
import {
  ACTION_APPROVE, ACTION_CANCEL, ACTION_DENY, ACTION_DENY_SUBMIT, ACTION_REQUEST_SUBMIT, INPUT_DURATION, INPUT_GROUPS, INPUT_REASON,
  renderApproval, renderRequestForm,
} from './approval-cards.ts';
import './approval-messages.ts';
import { ACTION_AUDIT_EXPORT } from './audit-cards.ts';
import { ACTION_ACCESS, ACTION_REVEAL, renderView, type LarkCard } from './cards.ts';
import type { CallbackAnswer } from './handlers.ts';

export interface LarkApprovalDeps {
  approvals: ApprovalService;
  api: LarkApi;
  securityContact: string;
  logger: Logger;
}

/** Who clicked or typed, already identified by the handlers, and where. */
export interface ApprovalTurn { employee: Employee; channelKind: ChannelKind; messageId: string }

/** What a request form carries back in its submit button: the target, and where it was asked. */
interface FormMetadata { target: RequestTarget; channelKind: ChannelKind; origin: string }

const DECISION_ACTIONS = new Set([ACTION_APPROVE, ACTION_DENY, ACTION_DENY_SUBMIT, ACTION_CANCEL]);
const APPROVAL_ACTIONS = new Set([ACTION_REVEAL, ACTION_ACCESS, ACTION_AUDIT_EXPORT, ACTION_REQUEST_SUBMIT, ACTION_APPROVE, ACTION_DENY, ACTION_DENY_SUBMIT, ACTION_CANCEL]);

export class LarkApprovalFlow {
  constructor(private readonly deps: LarkApprovalDeps) {}

  handles(action: string): boolean { return APPROVAL_ACTIONS.has(action); }
  /** Approve, Deny and Cancel decide a request (recorded as `approval` when refused); the rest ask for one. */
  isDecision(action: string): boolean { return DECISION_ACTIONS.has(action); }
  handlesText(text: string): boolean { return isExportCommand(text) || isEraseCommand(text); }

  /** A typed approval command: `export …` (the request form) or `erase C-… reason: REF` (an erasure request). */
  async textCommand(turn: ApprovalTurn, text: string): Promise<LarkCard> {
    if (!isEraseCommand(text)) return this.exportForm(turn, text);
    const origin: RequestOrigin = { platform: 'lark', channel: turn.employee.chat.lark ?? '', channelKind: turn.channelKind };
    const answer = await askErasure(this.deps.approvals, turn.employee, text, origin, this.deps.securityContact, turn.employee.chat.lark);
    return renderView(noticeView(answer.text, answer.ok ? 'info' : 'refusal'));
  }

  /** `export region:east fields:name,phone` → the request form card (or the reason it cannot be asked). */
  exportForm(turn: ApprovalTurn, text: string): Promise<LarkCard> {
    return this.typedForm(turn, () => {
      const { segment, fields } = parseExportCommand(text);
      return { kind: 'export', segment, fields };
    });
  }

  /** `audit report …` (the words after `audit`) → the report's request form card, the usage, or the refusal. */
  async reportForm(turn: ApprovalTurn, auditText: string): Promise<LarkCard> {
    const asked = reportRequestTarget(auditText);
    if (!asked) return renderView(noticeView(t('approval.report.usage', turn.employee.locale), 'refusal'));
    return this.typedForm(turn, () => asked);
  }

  /** A request typed as words: its form card as the service prepared it, or why it cannot be asked. */
  private async typedForm(turn: ApprovalTurn, targetOf: () => RequestTarget): Promise<LarkCard> {
    const locale = turn.employee.locale;
    try {
      const prepared = await this.deps.approvals.prepare(turn.employee, targetOf(), turn.channelKind);
      const target = prepared.target; // an audit export's query as the service re-encoded it
      const meta: FormMetadata = { target, channelKind: turn.channelKind, origin: '' };
      return renderRequestForm(requestFormView(prepared, targetText(target, locale), locale, JSON.stringify(meta)), newNonce());
    } catch (err) {
      return renderView(noticeView(await this.errorText(err, turn.employee), 'refusal'));
    }
  }

  async onAction(turn: ApprovalTurn, value: Record<string, unknown>, form: Record<string, unknown>): Promise<CallbackAnswer> {
    const locale = turn.employee.locale;
    const requestId = str(value.r);
    try {
      switch (str(value.a)) {
        case ACTION_REVEAL: return await this.openForm(turn, parseRequestButton('reveal', str(value.v)));
        case ACTION_ACCESS: return await this.openForm(turn, parseRequestButton('access', str(value.v)));
        // The value is the audit query's filter token; the service decodes and re-encodes it (or refuses).
        case ACTION_AUDIT_EXPORT: return await this.openForm(turn, { kind: 'audit-export', query: str(value.v) });
        case ACTION_REQUEST_SUBMIT: return await this.submit(turn, str(value.m), str(value.n), form);
        case ACTION_APPROVE: return await this.approve(turn, requestId);
        case ACTION_DENY: return await this.openDeny(turn, requestId);
        case ACTION_DENY_SUBMIT: return await this.deny(turn, requestId, str(form[INPUT_REASON]));
        case ACTION_CANCEL: {
          await this.deps.approvals.cancel(turn.employee, requestId);
          return toast('success', t('approval.done.cancelled', locale, { id: requestId }));
        }
        default: return {};
      }
    } catch (err) {
      return toast('error', await this.errorText(err, turn.employee, requestId));
    }
  }

  /**
   * The form goes into the clicker's DM as a new card; the lookup or audit card stays as it is (a reveal
   * patches it later). The form carries the target as the service prepared it (an audit filter re-encoded).
   */
  private async openForm(turn: ApprovalTurn, asked: Exclude<RequestTarget, { kind: 'export' }>): Promise<CallbackAnswer> {
    const locale = turn.employee.locale;
    const prepared = await this.deps.approvals.prepare(turn.employee, asked, turn.channelKind);
    const target = prepared.target;
    const meta: FormMetadata = { target, channelKind: turn.channelKind, origin: turn.messageId };
    await this.deps.api.sendCard('open_id', turn.employee.chat.lark ?? '', renderRequestForm(requestFormView(prepared, targetText(target, locale), locale, JSON.stringify(meta)), newNonce()));
    return toast('info', t('lark.approval.formSent', locale));
  }

  private async submit(turn: ApprovalTurn, metadata: string, nonce: string, form: Record<string, unknown>): Promise<CallbackAnswer> {
    const locale = turn.employee.locale;
    const meta = parseMetadata(metadata);
    if (!/^[0-9a-f]{24}$/.test(nonce)) throw new ApprovalRefused('malformed');
    const groups = Array.isArray(form[INPUT_GROUPS]) ? (form[INPUT_GROUPS] as unknown[]).map(String) : [];
    const picked = groups.filter((g): g is FieldGroup => (FIELD_GROUP_NAMES as string[]).includes(g));
    if (picked.length !== groups.length) throw new ApprovalRefused('malformed');
    const duration = str(form[INPUT_DURATION]).trim();
    const input = { target: meta.target, purpose: str(form[INPUT_REASON]), durationMinutes: /^\d{1,7}$/.test(duration) ? Number(duration) : Number.NaN, ...(picked.length ? { groups: picked } : {}) };
    if (!(await this.deps.approvals.deps.requests.claimNotice(`lark-form:${nonce}`, this.deps.approvals.deps.clock.now()))) {
      return toast('info', t('lark.approval.alreadySubmitted', locale));
    }
    const origin: RequestOrigin = { platform: 'lark', channel: meta.origin, channelKind: meta.channelKind };
    let request: AccessRequest;
    try {
      request = await this.deps.approvals.submit(turn.employee, input, origin);
    } catch (err) {
      // Nothing was created: the same form again, with the problem on top and a fresh nonce.
      const problem = await this.errorText(err, turn.employee);
      const prepared = await this.deps.approvals.prepare(turn.employee, meta.target, meta.channelKind).catch(() => null);
      const card = prepared ? renderRequestForm(requestFormView(prepared, targetText(meta.target, locale), locale, metadata), newNonce(), problem) : renderView(noticeView(problem, 'refusal'));
      return { ...toast('error', problem), card: { type: 'raw', data: card } };
    }
    const names = await this.deps.approvals.names(request);
    const approvers = askedApprovers(request).map((id) => names.get(id) ?? id).join(', ');
    const text = t('lark.approval.submitted', locale, { id: request.requestId, approvers });
    return { ...toast('success', text), card: { type: 'raw', data: renderView(noticeView(text)) } };
  }

  private async approve(turn: ApprovalTurn, requestId: string): Promise<CallbackAnswer> {
    const locale = turn.employee.locale;
    const result = await this.deps.approvals.approve(turn.employee, requestId);
    return toast('success', result.kind === 'voted'
      ? votedText(result, locale)
      : t('approval.done.approved', locale, { id: requestId }));
  }

  /** Deny opens the reason form on the clicker's own copy; a decided request shows its outcome instead. */
  private async openDeny(turn: ApprovalTurn, requestId: string, problem?: string): Promise<CallbackAnswer> {
    const locale = turn.employee.locale;
    const request = REQUEST_ID.test(requestId) ? await this.deps.approvals.deps.requests.get(requestId) : null;
    if (!request) throw new ApprovalRefused(REQUEST_ID.test(requestId) ? 'unknown_request' : 'malformed', { id: requestId.slice(0, 40) });
    const names = await this.deps.approvals.names(request);
    const voters = await this.deps.approvals.cardVoters(request);
    const view = approvalCardView(request, { names, voters, audience: 'approver', locale, timezone: turn.employee.timezone, readerId: turn.employee.employeeId });
    const card = renderApproval(view, { form: denyFormView(requestId, locale), ...(problem ? { problem } : {}) });
    const answer: CallbackAnswer = { card: { type: 'raw', data: card } };
    if (request.status !== 'pending') {
      const stale = new AlreadyDecided(request.status, request.decidedBy ?? [], request.decidedAt ?? request.createdAt);
      return { ...answer, ...toast('info', await this.errorText(stale, turn.employee, requestId)) };
    }
    return problem ? { ...answer, ...toast('error', problem) } : answer;
  }

  private async deny(turn: ApprovalTurn, requestId: string, reason: string): Promise<CallbackAnswer> {
    const locale = turn.employee.locale;
    try {
      await this.deps.approvals.deny(turn.employee, requestId, reason);
      return toast('success', t('approval.done.denied', locale, { id: requestId }));
    } catch (err) {
      // A missing or personal reason: the form stays open with the problem; anything else is a toast.
      if (err instanceof ApprovalRefused && (err.reason === 'reason_required' || err.reason === 'reason_pii')) {
        return this.openDeny(turn, requestId, await this.errorText(err, turn.employee));
      }
      throw err;
    }
  }

  /** The sentence for a refusal or a stale click ("already approved by X at T"), in the reader's locale. */
  private async errorText(err: unknown, reader: Reader, requestId = ''): Promise<string> {
    const { locale } = reader;
    const request = REQUEST_ID.test(requestId) ? await this.deps.approvals.deps.requests.get(requestId).catch(() => null) : null;
    const names = request ? await this.deps.approvals.names(request) : new Map<string, string>();
    const text = approvalErrorText(err, locale, names, this.deps.securityContact, reader.timezone);
    if (text) return text;
    this.deps.logger.error({ err: err instanceof Error ? err.name : typeof err }, 'lark: approval flow failed');
    return userMessage(err, locale, { contact: this.deps.securityContact });
  }
}

function toast(type: 'success' | 'info' | 'error', content: string): CallbackAnswer {
  return { toast: { type, content } };
}

/** 12 random bytes: one copy of a request form. */
function newNonce(): string {
  return randomBytes(12).toString('hex');
}

function parseMetadata(text: string): FormMetadata {
  try {
    const m = JSON.parse(text) as FormMetadata;
    if (!m || typeof m.origin !== 'string' || !m.target || !(REQUEST_KINDS as readonly string[]).includes(m.target.kind)) throw new Error('shape');
    if (!['dm', 'private', 'public', 'shared'].includes(m.channelKind)) throw new Error('shape');
    return m;
  } catch {
    throw new ApprovalRefused('malformed');
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
