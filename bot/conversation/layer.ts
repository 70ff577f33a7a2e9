// The conversation layer: one turn in, replies out through the adapter's port. It parses what was
// typed or decodes what was clicked (codec.ts), identifies the asker and records any refusal (every
// path, every platform), resolves the locale, the channel kind and the audience, dispatches to the core
// services, and fails the same way everywhere: a refusal says why and whom to ask, anything else a safe
// sentence and an error log with ids only. Adapters translate payloads in and views out.
import { DEFAULT_TIMEZONE } from '../core/local-time.ts';
import type { Employee } from '../core/domain.ts';
import { CustosError, ErrorCode, isCustosError } from '../core/errors.ts';
import type { Asker, LookupService } from '../core/lookup.ts';
import { t, type Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import { parseCommand } from '../core/query.ts';
import { recordRefusal, type RefusalDeps } from '../core/refusals.ts';
import { errorView, helpView, lookupResultView, noticeView, sharedCardView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { commandTimer, type CommandObserver } from '../metrics.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { ChannelKinds } from './channels.ts';
import { decodeAction, type Action } from './codec.ts';
import { TurnPeople, type IdentifyFor, type Identified } from './people.ts';
import type { ConversationPort, Handled, Turn } from './types.ts';

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
}

/** The state of one turn as it goes: who is asking and the locale to answer in, once known. */
interface Ctx { turn: Turn; port: ConversationPort; people: TurnPeople; locale: Locale }

/** Thrown inside a turn to end it with this refusal (already recorded). */
class Refused extends Error {
  constructor(readonly refusal: CustosError) { super(refusal.message); }
}

export class Conversation {
  private readonly kinds: ChannelKinds;

  constructor(private readonly deps: ConversationDeps) {
    this.kinds = new ChannelKinds({ clock: deps.refusals.clock, logger: deps.logger, ...(deps.channelCacheMs !== undefined ? { cacheMs: deps.channelCacheMs } : {}) });
  }

  /** Words the user typed (`/customer …`, a mention, a DM): help, a lookup, or a usage error. */
  text(turn: Turn, text: string, port: ConversationPort): Promise<Handled> {
    const command = parseOrUsage(text);
    return this.run(turn, port, command.kind, async (ctx) => {
      if (command.kind !== 'lookup') {
        ctx.locale = await ctx.people.localeOf(turn.userId);
        const view = command.kind === 'help' ? helpView(ctx.locale, this.deps.securityContact) : errorView(command.error, ctx.locale, this.deps.securityContact);
        return port.replyPrivately(view, 'notice');
      }
      const employee = await this.employee(ctx, { interaction: 'lookup' });
      const result = await this.deps.lookup.lookup(await this.asker(ctx, employee), command.query, command.purpose);
      await port.replyPrivately(lookupResultView(result, ctx.locale, employee.timezone), 'answer');
    });
  }

  /**
   * A button on a card we rendered, by its wire id and value. Decoded first: a tampered or unknown
   * value is refused and recorded before anyone is identified or any service asked. The actions moved
   * onto the layer so far are the lookup card's Pick and Share; others belong to their adapters' flows.
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
        throw new CustosError(ErrorCode.QueryInvalid, 'card action refused', { problem: 'malformed' });
      });
    }
    return this.act(turn, decoded.action, port);
  }

  private act(turn: Turn, action: Action, port: ConversationPort): Promise<Handled> {
    switch (action.name) {
      case 'pick': return this.run(turn, port, 'pick', async (ctx) => {
        const employee = await this.employee(ctx, { interaction: 'lookup' });
        const result = await this.deps.lookup.lookup(await this.asker(ctx, employee), { kind: 'id', value: action.customerId }, undefined);
        await port.replyPrivately(lookupResultView(result, ctx.locale, employee.timezone), 'answer');
      });
      case 'share': return this.run(turn, port, 'share', (ctx) => this.share(ctx, action.customerId));
      default: throw new CustosError(ErrorCode.Internal, 'action not handled by the conversation layer yet', { action: action.name });
    }
  }

  /** "Share in channel": the audience-masked card for the conversation's least-privileged member. */
  private async share(ctx: Ctx, customerId: string): Promise<void> {
    const employee = await this.employee(ctx, { interaction: 'share' });
    const asker = await this.asker(ctx, employee);
    if (asker.channel === 'dm') return ctx.port.replyPrivately(noticeView(t('lookup.share.dmOnly', ctx.locale)), 'notice');
    const audience = await ctx.people.audience(employee);
    const result = await this.deps.lookup.share(asker, customerId, audience);
    // The conversation reads the shared card in the deployment's default language.
    await ctx.port.replyInConversation(sharedCardView(result, this.deps.defaultLocale, employee.name, DEFAULT_TIMEZONE));
    await ctx.port.replyPrivately(noticeView(t('lookup.share.done', ctx.locale)), 'done');
  }

  /**
   * The asker for a path an adapter still runs itself (requests, approvals, audit queries): the same
   * identification, refusal record and locale as the layer's own paths.
   */
  identify(turn: Turn, port: ConversationPort, why: IdentifyFor): Promise<Identified> {
    return new TurnPeople(this.deps, turn, port).identify(why);
  }

  /** The locale to answer the turn's user in, without identifying them. */
  localeOf(turn: Turn, port: ConversationPort): Promise<Locale> {
    return new TurnPeople(this.deps, turn, port).localeOf(turn.userId);
  }

  /** The kind of the turn's conversation (cached), as the policies see it. */
  channelKind(turn: Turn, port: ConversationPort): Promise<ChannelKind> {
    return this.kinds.of(turn, port);
  }

  private async employee(ctx: Ctx, why: IdentifyFor): Promise<Employee> {
    const who = await ctx.people.identify(why);
    if (!who.ok) {
      ctx.locale = who.locale;
      throw new Refused(who.refusal);
    }
    ctx.locale = who.employee.locale;
    return who.employee;
  }

  private async asker(ctx: Ctx, employee: Employee): Promise<Asker> {
    return { employee, platform: ctx.turn.platform, platformUserId: ctx.turn.userId, channel: await this.kinds.of(ctx.turn, ctx.port), correlationId: ctx.turn.correlationId };
  }

  /** Runs one turn's work: timed, and any failure answered privately in the locale known by then. */
  private async run(turn: Turn, port: ConversationPort, command: string, work: (ctx: Ctx) => Promise<void>): Promise<Handled> {
    const done = commandTimer(this.deps.metrics, turn.platform);
    const ctx: Ctx = { turn, port, people: new TurnPeople(this.deps, turn, port), locale: this.deps.defaultLocale };
    try {
      await work(ctx);
      return { command, locale: ctx.locale, failed: false };
    } catch (err) {
      await this.fail(ctx, err instanceof Refused ? err.refusal : err);
      return { command, locale: ctx.locale, failed: true };
    } finally {
      done(command);
    }
  }

  private async fail(ctx: Ctx, err: unknown): Promise<void> {
    const view = errorView(err, ctx.locale, this.deps.securityContact);
    // CustosError details hold only safe facts (codes, paths, field names) by contract.
    if (view.kind === 'notice' && view.tone === 'error') {
      this.deps.logger.error({ platform: ctx.turn.platform, correlationId: ctx.turn.correlationId, err: errName(err), details: isCustosError(err) ? err.details : undefined }, 'conversation: command failed');
    }
    await ctx.port.replyPrivately(view, 'failure')
      .catch((e: unknown) => this.deps.logger.error({ platform: ctx.turn.platform, err: errName(e) }, 'conversation: could not send the reply'));
  }
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
