// The playground's conversation logic: the same conversation layer the chat adapters use for every
// message, click and form (parse or decode → identify → the core service → neutral view), with "who am
// I" chosen on the page instead of verified by a platform (the layer's `picked` identity rule). Only
// identity and channel membership are simulated; policy, masking, queue and audit are the real ones.
import { auditText } from '../core/audit-query-run.ts';
import type { Conversation } from '../conversation/layer.ts';
import type { CardUpdate, ConversationPort, Turn as ConversationTurn } from '../conversation/types.ts';
import type { Employee } from '../core/domain.ts';
import { isCustosError } from '../core/errors.ts';
import { t, type Locale } from '../core/messages.ts';
import type { RefusedInteraction } from '../core/refusals.ts';
import { errorView, noticeView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { isAuditReportCommand } from '../core/audit-report-command.ts';
import type { ApprovalForm, PlaygroundApprovalFlow, PlaygroundView } from './approvals-flow.ts';
import type { InboxItem, PlaygroundInbox } from './inbox.ts';
import type { PlaygroundSecurityAlerts } from './security-alerts.ts';

/** Button action ids: the same names the Slack adapter uses, so a payload means the same everywhere. */
export const ACTION_PICK = 'customer_pick';
export const ACTION_SHARE = 'customer_share';
export const PLAYGROUND_ACTIONS = [
  ACTION_PICK, ACTION_SHARE, 'approval_reveal', 'approval_access', 'approval_submit', 'approval_approve', 'approval_deny_open',
  'approval_deny', 'approval_cancel', 'audit_page', 'audit_export', 'security_unfreeze', 'security_keep', 'security_revoke',
  'review_keep', 'review_revoke',
] as const;
export type PlaygroundAction = (typeof PLAYGROUND_ACTIONS)[number];

/** The simulated conversations: a DM with the bot, or a channel of the given kind with chosen members. */
export const PLAYGROUND_CHANNELS = ['dm', 'private', 'public', 'shared'] as const satisfies readonly ChannelKind[];
export type PlaygroundChannel = (typeof PLAYGROUND_CHANNELS)[number];

export interface Turn {
  employeeId: string;
  channel: PlaygroundChannel;
  /** Other members of the simulated channel (employee ids); ignored in a DM. */
  members: string[];
  requestId: string;
}

/** One reply: to the asker only (like an ephemeral Slack message), or posted into the channel. */
export interface Reply { to: 'you' | 'channel'; view: PlaygroundView }

/** `again`: inbox items to show once more (the `pending` command's cards). */
export interface FlowResult { command: string; locale: Locale; replies: Reply[]; again?: InboxItem[] }

export interface FlowDeps {
  /** The conversation layer with the playground's approval and audit services: a picked user who may not act is refused and recorded like a chat user. */
  conversation: Conversation;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  approvals?: PlaygroundApprovalFlow;
  inbox?: PlaygroundInbox;
  /** The security channel's cards: a decision on one changes every open copy about that employee. */
  alerts?: Pick<PlaygroundSecurityAlerts, 'settle'>;
}

/** `pending` (or 待审批): the requests waiting for this employee's decision, and their own still waiting. */
export function isPendingCommand(text: string): boolean {
  return /^\s*\/?(pending|待审批|待处理)\s*$/i.test(text);
}

export class PlaygroundFlow {
  constructor(private readonly deps: FlowDeps) {}

  /** Anything typed into the message box: the layer's audit, export, erase, help, lookup or usage; the playground's own `pending` and `audit report`. */
  async text(text: string, turn: Turn): Promise<FlowResult> {
    // `audit …` (or `/audit …`) is the chat adapters' /audit command, `export …` / `erase …` their
    // `/customer export …` / `/customer erase …`, `pending` the playground's list of waiting requests; the rest is /customer.
    const audit = auditText(text);
    const customer = text.trim().replace(/^\/customer\s+/i, '');
    // `audit report …` asks for a report file (an audit export the DPO approves), not a query.
    if (audit !== null && isAuditReportCommand(audit)) return this.own('audit-report', turn, 'audit', (e) => this.approvalsOf().openReport(e, audit, turn.channel));
    if (audit !== null) return this.layer(turn, (nt, port) => this.deps.conversation.audit(nt, audit, port));
    if (isPendingCommand(text)) return this.ownResult('pending', turn, 'lookup', (e) => this.pending(e));
    return this.layer(turn, (nt, port) => this.deps.conversation.text(nt, customer, port));
  }

  /** A button on an earlier reply, posted back with its action id and value (and a form's inputs). */
  async action(action: PlaygroundAction, value: string, turn: Turn, form: ApprovalForm = {}): Promise<FlowResult> {
    const c = this.deps.conversation;
    switch (action) {
      case 'approval_submit': {
        const inputs = { purpose: form.purpose, duration: form.duration, groups: form.groups };
        return this.layer(turn, (nt, port) => c.submit(nt, 'request', value, inputs, port));
      }
      case 'approval_deny': return this.layer(turn, (nt, port) => c.submit(nt, 'deny', value, { reason: form.reason }, port));
      // The Deny button: the playground's own id, as `approval_deny` names the form it opens.
      case 'approval_deny_open': return this.layer(turn, (nt, port) => c.click(nt, 'deny', value, port));
      // An alert's buttons carry the employee it is about: the card to change once the decision is taken.
      case 'security_unfreeze': case 'security_keep': case 'security_revoke':
        return this.layer(turn, (nt, port) => c.click(nt, action, value, port), value);
      default: return this.layer(turn, (nt, port) => c.click(nt, action, value, port));
    }
  }

  /** A turn the layer runs; its replies collected for the page (`you`, or posted into the channel). */
  private async layer(turn: Turn, run: (turn: ConversationTurn, port: ConversationPort) => Promise<{ command: string; locale: Locale }>, alertSubject?: string): Promise<FlowResult> {
    const replies: Reply[] = [];
    const handled = await run(this.neutral(turn), this.port(turn, replies, alertSubject));
    return { command: handled.command, locale: handled.locale, replies };
  }

  /** A playground-only command (`audit report`, `pending`) on the layer's identification. */
  private own(command: string, turn: Turn, interaction: RefusedInteraction, work: (e: Employee) => PlaygroundView | Promise<PlaygroundView>): Promise<FlowResult> {
    return this.ownResult(command, turn, interaction, async (e) => this.only(command, e.locale, await work(e)));
  }

  private async ownResult(command: string, turn: Turn, interaction: RefusedInteraction, work: (e: Employee) => Promise<FlowResult>): Promise<FlowResult> {
    let locale = this.deps.defaultLocale;
    try {
      const who = await this.deps.conversation.identify(this.neutral(turn), this.port(turn, []), { interaction });
      if (!who.ok) {
        locale = who.locale;
        throw who.refusal;
      }
      locale = who.employee.locale;
      return await work(who.employee);
    } catch (err) {
      return this.fail(command, turn, err, locale);
    }
  }

  private approvalsOf(): PlaygroundApprovalFlow {
    if (!this.deps.approvals) throw new Error('approvals are not wired');
    return this.deps.approvals;
  }

  private neutral(turn: Turn): ConversationTurn {
    return { platform: 'playground', userId: turn.employeeId, conversationId: turn.channel, correlationId: turn.requestId, kind: turn.channel, origin: { channel: 'playground' } };
  }

  /** The simulated platform: the page names the members; replies (forms inline) are collected for the page. */
  private port(turn: Turn, replies: Reply[], alertSubject?: string): ConversationPort {
    const alerts = this.deps.alerts;
    return {
      ...(alertSubject && alerts ? { updateCard: async (update: CardUpdate) => { if (update.kind === 'security') await alerts.settle(alertSubject, update.title, update.line); } } : {}),
      identity: 'picked',
      profile: async () => ({}),
      conversationKind: async () => turn.channel,
      members: async () => (turn.channel === 'dm' ? [] : turn.members),
      replyPrivately: async (view) => { replies.push({ to: 'you', view }); },
      replyInConversation: async (view) => { replies.push({ to: 'channel', view }); },
      openForm: async (form) => { replies.push({ to: 'you', view: form.form }); },
      // The playground's inbox is where approvers and outcomes are; its sentences say so.
      sentences: { submitted: 'playground.request.sent', denied: 'playground.request.denied' },
    };
  }

  /** Pending cards waiting for this employee (shown again, clickable) and their own waiting requests. */
  private async pending(employee: Employee): Promise<FlowResult> {
    const l = employee.locale;
    const cards = (await this.deps.inbox?.pendingCards(employee.employeeId)) ?? [];
    const mine = (await this.deps.approvals?.pendingOf(employee)) ?? [];
    const lines = [
      ...(cards.length ? [t('playground.pending.cards', l, { count: cards.length })] : []),
      ...(mine.length ? [t('playground.pending.mine', l, { list: mine.join('; ') })] : []),
    ];
    const replies: Reply[] = [{ to: 'you', view: noticeView(lines.length ? lines.join('\n') : t('playground.pending.none', l)) }];
    return { command: 'pending', locale: l, replies, again: cards };
  }

  private only(command: string, locale: Locale, view: PlaygroundView): FlowResult {
    return { command, locale, replies: [{ to: 'you', view }] };
  }

  private fail(command: string, turn: Turn, err: unknown, locale: Locale): FlowResult {
    const view = errorView(err, locale, this.deps.securityContact);
    // CustosError details hold only safe facts (codes, paths, field names) by contract.
    if (view.kind === 'notice' && view.tone === 'error') {
      this.deps.logger.error({ requestId: turn.requestId, err: isCustosError(err) ? err.code : err instanceof Error ? err.name : typeof err }, 'playground: command failed');
    }
    return this.only(command, locale, view);
  }
}
