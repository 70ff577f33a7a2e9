// The conversation layer: one turn in, replies out through the adapter's port. It parses what was
// typed or decodes what was clicked (codec.ts), identifies the asker and records any refusal (every
// path, every platform), resolves the locale, the channel kind and the audience, dispatches to the core
// services, and fails the same way everywhere: a refusal says why and whom to ask, anything else a safe
// sentence and an error log with ids only. Adapters translate payloads in and views out. What each
// click and form does beyond lookups (requests, decisions, reviews, alerts, audit) is in flows.ts.
import { isEraseCommand } from '../core/approvals/erase-command.ts';
import { isExportCommand } from '../core/approvals/segment.ts';
import { isAuditReportCommand } from '../core/audit-report-command.ts';
import { auditText } from '../core/audit-query-run.ts';
import { ApprovalRefused } from '../core/approvals/errors.ts';
import { DEFAULT_TIMEZONE } from '../core/local-time.ts';
import type { Employee } from '../core/domain.ts';
import { CustosError, ErrorCode, isCustosError } from '../core/errors.ts';
import type { Asker, LookupResult, LookupService } from '../core/lookup.ts';
import { t, type Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import { parseCommand } from '../core/query.ts';
import { recordRefusal, type RefusalDeps } from '../core/refusals.ts';
import { errorView, helpView, lookupResultView, noticeView, sharedCardView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { commandTimer, type CommandObserver } from '../metrics.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { ChannelKinds } from './channels.ts';
import { decodeAction, type Action, type FormInput } from './codec.ts';
import { Flows, type Explain, type FlowServices, type Step } from './flows.ts';
import { TurnPeople, type IdentifyFor, type Identified } from './people.ts';
import type { ConversationPort, Handled, ReplyView, Turn } from './types.ts';

export type { FlowServices } from './flows.ts';

export interface ConversationDeps {
  lookup: LookupService;
  directory: EmployeeDirectory;
  /** The shared refusal path (bot/core/refusals.ts) and its clock. */
  refusals: RefusalDeps;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  /** Times each command (`custos_command_duration_seconds{platform=…}`). */
  metrics?: CommandObserver;
  channelCacheMs?: number;
  /** Approvals, reviews, security and audit queries (an adapter's own, see `with`); without one its clicks are refused. */
  flows?: FlowServices;
}

/** The state of one turn as it goes: who is asking and the locale to answer in, once known. */
interface Ctx extends Step { people: TurnPeople }

/** How a turn's failure is answered: `explain` for its own refusals; `form` when a form was submitted (its default input). */
interface RunOptions { explain?: Explain; form?: FormInput }

/** Thrown inside a turn to end it with this refusal (already recorded). */
class Refused extends Error {
  constructor(readonly refusal: CustosError) { super(refusal.message); }
}

export class Conversation {
  private readonly flows: Flows;

  constructor(private readonly deps: ConversationDeps, private readonly kinds = new ChannelKinds({ clock: deps.refusals.clock, logger: deps.logger, ...(deps.channelCacheMs !== undefined ? { cacheMs: deps.channelCacheMs } : {}) })) {
    this.flows = new Flows({ flows: deps.flows ?? {}, directory: deps.directory, clock: deps.refusals.clock, securityContact: deps.securityContact });
  }

  /**
   * The same layer (and channel-kind cache) with an adapter's services for clicks and forms. Read at
   * each turn, so an adapter may fill `flows` as its features start (Slack builds them on its app).
   */
  with(flows: FlowServices): Conversation {
    return new Conversation({ ...this.deps, flows }, this.kinds);
  }

  /** Words the user typed (`/customer …`, a mention, a DM): help, a lookup, an export or erasure request, or a usage error. */
  text(turn: Turn, text: string, port: ConversationPort): Promise<Handled> {
    if (this.deps.flows?.approvals && isExportCommand(text)) return this.run(turn, port, 'export', (s) => this.flows.exportText(s, text));
    if (this.deps.flows?.approvals && isEraseCommand(text)) return this.run(turn, port, 'erase', (s) => this.flows.erase(s, text));
    const command = parseOrUsage(text);
    return this.run(turn, port, command.kind, async (ctx) => {
      if (command.kind !== 'lookup') {
        ctx.locale = await ctx.people.localeOf(turn.userId);
        const view = command.kind === 'help' ? helpView(ctx.locale, this.deps.securityContact) : errorView(command.error, ctx.locale, this.deps.securityContact);
        return port.replyPrivately(view, 'notice');
      }
      const employee = await ctx.employee({ interaction: 'lookup' });
      const result = await this.deps.lookup.lookup(await ctx.asker(employee), command.query, command.purpose);
      await this.answerLookup(result, () => port.replyPrivately(lookupResultView(result, ctx.locale, employee.timezone), 'answer'));
    });
  }

  /**
   * Words typed where there are no slash commands (DingTalk, WeCom): `audit …` is an audit query, anything
   * else what Slack's `/customer` takes (the same words work, `/customer` itself optional).
   */
  typed(turn: Turn, typed: string, port: ConversationPort): Promise<Handled> {
    const audit = auditText(typed);
    return audit !== null ? this.audit(turn, audit, port) : this.text(turn, typed.replace(/^\/customer\b\s*/i, ''), port);
  }

  /** The words of an audit query (Slack's `/audit …`, `audit …` typed elsewhere). */
  audit(turn: Turn, text: string, port: ConversationPort): Promise<Handled> {
    // `audit report …` asks for a report file (an audit export the DPO approves), not a query.
    if (this.deps.flows?.approvals && isAuditReportCommand(text)) return this.run(turn, port, 'report', (s) => this.flows.reportText(s, text), { explain: (err, s) => this.flows.decisionProblem(err, s, '') });
    return this.run(turn, port, 'audit', (s) => this.flows.audit(s, { text }), { explain: this.flows.auditProblem });
  }

  /**
   * A button on a card we rendered, by its wire id and value. Decoded first: a tampered or unknown
   * value is refused and recorded before anyone is identified or any service asked.
   */
  async click(turn: Turn, wireId: string, value: string, port: ConversationPort): Promise<Handled> {
    const decoded = decodeAction(wireId, value);
    if (!decoded.ok) {
      return this.run(turn, port, 'malformed', async (ctx) => {
        const known = await ctx.people.known(turn.userId).catch(() => null);
        await recordRefusal(this.deps.refusals, {
          platform: turn.platform, platformUserId: turn.userId, employeeId: known?.employeeId ?? null,
          reasonCode: decoded.reason, interaction: decoded.interaction, correlationId: turn.correlationId,
        });
        ctx.locale = await ctx.people.localeOf(turn.userId);
        // A lookup card's button is a query that could not be understood; any other a button that is not valid.
        if (decoded.interaction === 'lookup' || decoded.interaction === 'share' || decoded.interaction === 'menu') {
          throw new CustosError(ErrorCode.QueryInvalid, 'card action refused', { problem: 'malformed' });
        }
        throw new ApprovalRefused('malformed');
      }, { explain: (err, s) => this.flows.decisionProblem(err, s, '') });
    }
    return this.act(turn, decoded.action, port);
  }

  /** A submitted form: the request form (its metadata, its inputs) or the Deny form (the request id, the reason). */
  submit(turn: Turn, form: 'request' | 'deny', metadata: string, inputs: unknown, port: ConversationPort): Promise<Handled> {
    if (form === 'request') {
      return this.run(turn, port, 'request_submit', (s) => this.flows.submitRequest(s, metadata, inputs),
        { form: 'purpose', explain: (err, s) => this.flows.requestProblem(err, s, metadata) });
    }
    return this.run(turn, port, 'deny_submit', (s) => this.flows.submitDeny(s, metadata, inputs),
      { form: 'reason', explain: (err, s) => this.flows.denyProblem(err, s, metadata) });
  }

  private act(turn: Turn, action: Action, port: ConversationPort): Promise<Handled> {
    const f = this.flows;
    const decision = (requestId: string): RunOptions => ({ explain: (err, s) => f.decisionProblem(err, s, requestId) });
    switch (action.name) {
      case 'pick': return this.run(turn, port, 'pick', async (ctx) => {
        const employee = await ctx.employee({ interaction: 'lookup' });
        const result = await this.deps.lookup.lookup(await ctx.asker(employee), { kind: 'id', value: action.customerId }, undefined);
        await this.answerLookup(result, () => port.replyPrivately(lookupResultView(result, ctx.locale, employee.timezone), 'answer'));
      });
      case 'share': return this.run(turn, port, 'share', (ctx) => this.share(ctx, action.customerId));
      case 'reveal': return this.run(turn, port, 'reveal', (s) => f.openRequest(s, { kind: 'reveal', customerId: action.customerId, field: action.field as never }), decision(''));
      case 'access': return this.run(turn, port, 'access', (s) => f.openRequest(s, { kind: 'access', customerId: action.customerId }), decision(''));
      case 'audit_export': return this.run(turn, port, 'audit_export', (s) => f.openRequest(s, { kind: 'audit-export', query: action.token }), decision(''));
      case 'approve': return this.run(turn, port, 'approve', (s) => f.approve(s, action.requestId), decision(action.requestId));
      case 'deny': return this.run(turn, port, 'deny', (s) => f.openDeny(s, action.requestId), decision(action.requestId));
      case 'cancel': return this.run(turn, port, 'cancel', (s) => f.cancel(s, action.requestId), decision(action.requestId));
      case 'review_keep':
      case 'review_revoke': return this.run(turn, port, 'review', (s) => f.review(s, action.name === 'review_keep' ? 'keep' : 'revoke', action.reviewId));
      case 'security_unfreeze':
      case 'security_keep':
      case 'security_revoke': return this.run(turn, port, 'security', (s) => f.security(s, SECURITY[action.name], action.employeeId));
      case 'audit_page': return this.run(turn, port, 'audit', (s) => f.audit(s, { token: action.token }), { explain: f.auditProblem });
    }
  }

  /** "Share in channel": the audience-masked card for the conversation's least-privileged member. */
  private async share(ctx: Ctx, customerId: string): Promise<void> {
    const employee = await ctx.employee({ interaction: 'share' });
    const asker = await ctx.asker(employee);
    if (asker.channel === 'dm') return ctx.port.replyPrivately(noticeView(t('lookup.share.dmOnly', ctx.locale)), 'notice');
    const audience = await ctx.people.audience(employee);
    const result = await this.deps.lookup.share(asker, customerId, audience);
    // The conversation reads the shared card in the deployment's default language.
    await ctx.port.replyInConversation(sharedCardView(result, this.deps.defaultLocale, employee.name, DEFAULT_TIMEZONE));
    await ctx.port.replyPrivately(noticeView(t('lookup.share.done', ctx.locale)), 'done');
  }

  /**
   * The asker for a command an adapter still runs itself (the playground's `pending` and `audit
   * report`): the same identification, refusal record and locale as the layer's own paths.
   */
  identify(turn: Turn, port: ConversationPort, why: IdentifyFor): Promise<Identified> {
    return new TurnPeople(this.deps, turn, port).identify(why);
  }

  /** The locale to answer the turn's user in, without identifying them. */
  localeOf(turn: Turn, port: ConversationPort): Promise<Locale> {
    return new TurnPeople(this.deps, turn, port).localeOf(turn.userId);
  }

  /** Sends a lookup's answer; the turn ends once the detectors have counted it too (noted while it was sent). */
  private async answerLookup(result: LookupResult, answer: () => Promise<void>): Promise<void> {
    try {
      await answer();
    } finally {
      await this.deps.lookup.noted(result);
    }
  }

  /** The kind of the turn's conversation (cached), as the policies see it. */
  channelKind(turn: Turn, port: ConversationPort): Promise<ChannelKind> {
    return this.kinds.of(turn, port);
  }

  private context(turn: Turn, port: ConversationPort): Ctx {
    const people = new TurnPeople(this.deps, turn, port);
    const ctx: Ctx = {
      turn, port, people, locale: this.deps.defaultLocale, zone: DEFAULT_TIMEZONE,
      employee: async (why) => {
        const who = await people.identify(why);
        if (!who.ok) {
          ctx.locale = who.locale;
          throw new Refused(who.refusal);
        }
        ctx.locale = who.employee.locale;
        ctx.zone = who.employee.timezone;
        ctx.identified = who.employee;
        return who.employee;
      },
      asker: async (employee: Employee): Promise<Asker> => (
        { employee, platform: turn.platform, platformUserId: turn.userId, channel: await this.kinds.of(turn, port), correlationId: turn.correlationId }
      ),
    };
    return ctx;
  }

  /** Runs one turn's work: timed, and any failure answered privately (or on the form) in the locale known by then. */
  private async run(turn: Turn, port: ConversationPort, command: string, work: (ctx: Ctx) => Promise<void>, options: RunOptions = {}): Promise<Handled> {
    const done = commandTimer(this.deps.metrics, turn.platform);
    const ctx = this.context(turn, port);
    try {
      await work(ctx);
      return { command, locale: ctx.locale, failed: false };
    } catch (err) {
      await this.fail(ctx, err instanceof Refused ? err.refusal : err, options);
      return { command, locale: ctx.locale, failed: true };
    } finally {
      done(command);
    }
  }

  private async fail(ctx: Ctx, err: unknown, options: RunOptions): Promise<void> {
    const failure = (await options.explain?.(err, ctx).catch(() => null)) ?? this.flows.fallback(err, ctx);
    const { view } = failure;
    // CustosError details hold only safe facts (codes, paths, field names) by contract.
    if (view.kind === 'notice' && view.tone === 'error') {
      this.deps.logger.error({ platform: ctx.turn.platform, correlationId: ctx.turn.correlationId, err: errName(err), details: isCustosError(err) ? err.details : undefined }, 'conversation: command failed');
    }
    const sent = options.form && ctx.port.formProblem
      ? ctx.port.formProblem(failure.problem ?? { input: options.form, text: textOf(view) })
      : ctx.port.replyPrivately(view, 'failure');
    await sent.catch((e: unknown) => this.deps.logger.error({ platform: ctx.turn.platform, err: errName(e) }, 'conversation: could not send the reply'));
  }
}

const SECURITY = { security_unfreeze: 'unfreeze', security_keep: 'keep', security_revoke: 'revoke' } as const;

function textOf(view: ReplyView): string {
  return view.kind === 'notice' ? view.text : '';
}

function parseOrUsage(text: string): ReturnType<typeof parseCommand> | { kind: 'usage'; error: unknown } {
  try {
    return parseCommand(text);
  } catch (err) {
    return { kind: 'usage', error: err };
  }
}

function errName(err: unknown): string {
  if (isCustosError(err)) return err.code;
  return err instanceof Error ? err.name : typeof err;
}
