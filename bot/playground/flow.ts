// The playground's conversation logic: the same core calls the Slack adapter makes (parse → identify →
// audited lookup → neutral view), with "who am I" chosen on the page instead of verified by a platform.
// Only identity and channel membership are simulated; policy, masking, queue and audit are the real ones.
import { DEFAULT_TIMEZONE } from '../core/local-time.ts';
import { auditText } from '../core/audit-query-run.ts';
import type { Employee } from '../core/domain.ts';
import { CustosError, ErrorCode, isCustosError } from '../core/errors.ts';
import { mostRestrictedPrincipal, principalOf, recordIdentityRefusal, requireActive } from '../core/identity.ts';
import type { Asker, LookupService } from '../core/lookup.ts';
import { t, type Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { RefusalDeps, RefusedInteraction } from '../core/refusals.ts';
import { parseCommand } from '../core/query.ts';
import { errorView, helpView, lookupResultView, noticeView, sharedCardView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import type { ChannelKind, Principal } from '../../policies/types.ts';
import { isExportCommand } from '../core/approvals/segment.ts';
import type { ApprovalForm, PlaygroundApprovalFlow, PlaygroundView } from './approvals-flow.ts';
import type { InboxItem, PlaygroundInbox } from './inbox.ts';

/** Button action ids: the same names the Slack adapter uses, so a payload means the same everywhere. */
export const ACTION_PICK = 'customer_pick';
export const ACTION_SHARE = 'customer_share';
export const PLAYGROUND_ACTIONS = [
  ACTION_PICK, ACTION_SHARE, 'approval_reveal', 'approval_access', 'approval_submit', 'approval_approve', 'approval_deny_open',
  'approval_deny', 'approval_cancel', 'audit_page', 'audit_export',
] as const;
export type PlaygroundAction = (typeof PLAYGROUND_ACTIONS)[number];
/** The actions that decide a request (a refused one is recorded as an `approval` interaction). */
const DECISIONS: ReadonlySet<PlaygroundAction> = new Set(['approval_approve', 'approval_deny_open', 'approval_deny', 'approval_cancel']);

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
  lookup: LookupService;
  directory: EmployeeDirectory;
  /** The shared refusal path (bot/core/refusals.ts): a picked user who may not act is recorded like a chat user. */
  refusals: RefusalDeps;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  approvals?: PlaygroundApprovalFlow;
  inbox?: PlaygroundInbox;
}

/** `pending` (or 待审批): the requests waiting for this employee's decision, and their own still waiting. */
export function isPendingCommand(text: string): boolean {
  return /^\s*\/?(pending|待审批|待处理)\s*$/i.test(text);
}

export class PlaygroundFlow {
  constructor(private readonly deps: FlowDeps) {}

  /** Anything typed into the message box: help, a lookup, or a usage error. */
  async text(text: string, turn: Turn): Promise<FlowResult> {
    let locale = this.deps.defaultLocale;
    let command = 'lookup';
    try {
      let parsed: ReturnType<typeof parseCommand> | { kind: 'audit'; text: string } | { kind: 'export'; text: string } | { kind: 'pending' };
      try {
        // `audit …` (or `/audit …`) is the chat adapters' /audit command, `export …` their
        // `/customer export …`, `pending` the playground's list of waiting requests; the rest is /customer.
        const audit = auditText(text);
        const customer = text.trim().replace(/^\/customer\s+/i, '');
        parsed = audit !== null ? { kind: 'audit', text: audit }
          : isExportCommand(customer) ? { kind: 'export', text: customer }
            : isPendingCommand(text) ? { kind: 'pending' } : parseCommand(text);
      } catch (err) {
        command = 'usage';
        locale = await this.localeOf(turn.employeeId);
        return this.only(command, locale, errorView(err, locale, this.deps.securityContact));
      }
      if (parsed.kind === 'help') {
        command = 'help';
        locale = await this.localeOf(turn.employeeId);
        return this.only(command, locale, helpView(locale, this.deps.securityContact));
      }
      const employee = await this.identify(turn, parsed.kind === 'audit' ? 'audit' : 'lookup');
      locale = employee.locale;
      if (parsed.kind === 'pending') {
        command = 'pending';
        return await this.pending(employee);
      }
      if (parsed.kind === 'export') {
        command = 'export';
        if (!this.deps.approvals) throw new Error('exports are not wired');
        return this.only(command, locale, await this.deps.approvals.openExport(employee, parsed.text, turn.channel));
      }
      if (parsed.kind === 'audit') {
        command = 'audit';
        if (!this.deps.approvals) throw new Error('audit queries are not wired');
        return this.only(command, locale, await this.deps.approvals.audit(employee, turn.channel, turn.requestId, { text: parsed.text }));
      }
      const result = await this.deps.lookup.lookup(this.asker(turn, employee), parsed.query, parsed.purpose);
      return this.only(command, locale, lookupResultView(result, locale, employee.timezone));
    } catch (err) {
      return this.fail(command, turn, err, locale);
    }
  }

  /** A button on an earlier reply, posted back with its action id and value. */
  async action(action: PlaygroundAction, value: string, turn: Turn, form: ApprovalForm = {}): Promise<FlowResult> {
    if (action === ACTION_PICK) {
      const r = await this.text(value, turn);
      return { ...r, command: 'pick' };
    }
    if (action === ACTION_SHARE) return this.share(value, turn);
    return this.approval(action, value, turn, form);
  }

  /** Request forms, decisions and audit paging, through the same core services as the chat adapters. */
  private async approval(action: Exclude<PlaygroundAction, typeof ACTION_PICK | typeof ACTION_SHARE>, value: string, turn: Turn, form: ApprovalForm): Promise<FlowResult> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(turn, DECISIONS.has(action) ? 'approval' : action.startsWith('audit') ? 'audit' : 'request');
      locale = employee.locale;
      const a = this.deps.approvals;
      if (!a) throw new Error('approvals are not wired');
      const view = await (() => {
        switch (action) {
          case 'approval_reveal': return a.open(employee, 'reveal', value, turn.channel);
          case 'approval_access': return a.open(employee, 'access', value, turn.channel);
          case 'approval_submit': return a.submit(employee, { ...form, metadata: value });
          case 'approval_approve': return a.approve(employee, value);
          case 'approval_deny_open': return a.openDeny(employee, value);
          case 'approval_deny': return a.deny(employee, value, form.reason ?? '');
          case 'approval_cancel': return a.cancel(employee, value);
          case 'audit_page': return a.audit(employee, turn.channel, turn.requestId, { token: value });
          case 'audit_export': return a.openAuditExport(employee, value, turn.channel);
        }
      })();
      return this.only(action, locale, view);
    } catch (err) {
      return this.fail(action, turn, err, locale);
    }
  }

  /** "Share in channel": the audience-masked card for the channel's least-privileged member. */
  private async share(customerId: string, turn: Turn): Promise<FlowResult> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(turn, 'share');
      locale = employee.locale;
      if (turn.channel === 'dm') return this.only('share', locale, noticeView(t('lookup.share.dmOnly', locale)));
      const audience = await this.audience(employee, turn.members);
      const result = await this.deps.lookup.share(this.asker(turn, employee), customerId, audience);
      return {
        command: 'share', locale,
        replies: [
          // The channel reads the shared card in the deployment's default language, as in Slack.
          { to: 'channel', view: sharedCardView(result, this.deps.defaultLocale, employee.name, DEFAULT_TIMEZONE) },
          { to: 'you', view: noticeView(t('lookup.share.done', locale)) },
        ],
      };
    } catch (err) {
      return this.fail('share', turn, err, locale);
    }
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

  private asker(turn: Turn, employee: Employee): Asker {
    return { employee, platform: 'playground', platformUserId: employee.employeeId, channel: turn.channel, correlationId: turn.requestId };
  }

  /** The picked employee, refused (and audited) like a chat user when unknown, frozen or offboarded. */
  private async identify(turn: Turn, interaction: RefusedInteraction): Promise<Employee> {
    const employee = await this.deps.directory.byId(turn.employeeId);
    try {
      if (!employee) throw new CustosError(ErrorCode.EmployeeUnknown, 'playground user is not a known employee', { reason: 'no_employee' });
      return requireActive(employee);
    } catch (err) {
      await recordIdentityRefusal(this.deps.refusals, err, { platform: 'playground', platformUserId: turn.employeeId, interaction, correlationId: turn.requestId });
      throw err;
    }
  }

  /** Every chosen member as a principal; unknown or inactive ones count as the most restricted. */
  private async audience(asker: Employee, members: string[]): Promise<Principal[]> {
    const others = [...new Set(members)].filter((m) => m !== asker.employeeId);
    const principals = await Promise.all(others.map(async (m) => {
      const e = await this.deps.directory.byId(m);
      return e && e.status === 'active' ? principalOf(e) : mostRestrictedPrincipal(m);
    }));
    return [principalOf(asker), ...principals];
  }

  private async localeOf(employeeId: string): Promise<Locale> {
    const e = await this.deps.directory.byId(employeeId).catch(() => null);
    return e?.locale ?? this.deps.defaultLocale;
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
