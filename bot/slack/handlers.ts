// The Slack listeners: `/customer`, @mentions, DMs, and the card's buttons. Each acknowledges first and
// then works, replying through the Web API or the response_url (Slack's 3-second rule). All decisions
// live in bot/core; this file translates Slack payloads in and Block Kit out.
import { DEFAULT_TIMEZONE } from '../core/local-time.ts';
import { createHash } from 'node:crypto';
import type { App, webApi } from '@slack/bolt';
import { principalOf, type ChatIdentifier, type ChatUser } from '../core/identity.ts';
import type { Asker, LookupService } from '../core/lookup.ts';
import type { Locale } from '../core/messages.ts';
import { parseCommand } from '../core/query.ts';
import { errorView, helpView, lookupResultView, noticeView, sharedCardView, type View } from '../core/views.ts';
import type { Employee } from '../core/domain.ts';
import type { Logger } from '../logger.ts';
import { commandTimer, type CommandObserver } from '../metrics.ts';
import type { ChannelKind, Principal } from '../../policies/types.ts';
import { ACTION_PICK, ACTION_SHARE, renderView, type SlackMessage } from './blocks.ts';
import { slackUser } from './identity.ts';
import { errorSummary } from './receiver.ts';
import { t } from '../core/messages.ts';
import { isCustosError } from '../core/errors.ts';

type WebClient = webApi.WebClient;

export interface SlackHandlerDeps {
  lookup: LookupService;
  /** Who is asking, by the one rule of every handler; records identity refusals. */
  identity: ChatIdentifier;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  /** Channel kinds change rarely; cache conversations.info answers this long. */
  channelCacheMs?: number;
  /** Times each command (`custos_command_duration_seconds{platform="slack"}`). */
  metrics?: CommandObserver;
}

/** One incoming request's surroundings: who, where, and how to answer them. */
interface Turn {
  client: WebClient;
  userId: string;
  channelId: string;
  channelHint?: string; // slash commands carry channel_name ("directmessage", "privategroup")
  correlationId: string;
  reply: (message: SlackMessage) => Promise<unknown>;
  /** This app's own bot user (from auth.test): a channel member that reads nothing it did not post. */
  botUserId?: string;
}

export function registerSlackHandlers(app: App, deps: SlackHandlerDeps): void {
  const flow = new SlackFlow(deps);

  app.command('/customer', async ({ ack, command, respond, client }) => {
    await ack();
    await flow.text(command.text, {
      client, userId: command.user_id, channelId: command.channel_id, channelHint: command.channel_name,
      correlationId: command.trigger_id,
      reply: (m) => respond({ response_type: 'ephemeral', ...m }),
    });
  });

  app.event('app_mention', async ({ event, client, body }) => {
    // A mention inside a DM arrives as message.im as well; answer it there only.
    if (!event.user || event.channel.startsWith('D')) return;
    const userId = event.user;
    await flow.text(stripMentions(event.text), {
      client, userId, channelId: event.channel, correlationId: String((body as { event_id?: string }).event_id ?? event.ts),
      reply: (m) => client.chat.postEphemeral({ channel: event.channel, user: userId, ...m }),
    });
  });

  app.message(async ({ message, client, body }) => {
    if (message.channel_type !== 'im' || message.subtype !== undefined || !('user' in message) || !message.user) return;
    if ('bot_id' in message && message.bot_id) return;
    await flow.text(stripMentions(message.text ?? ''), {
      client, userId: message.user, channelId: message.channel, channelHint: 'directmessage',
      correlationId: String((body as { event_id?: string }).event_id ?? message.ts),
      reply: (m) => client.chat.postMessage({ channel: message.channel, ...m }),
    });
  });

  app.action({ type: 'block_actions', action_id: ACTION_PICK }, async ({ ack, body, action, respond, client }) => {
    await ack();
    const channelId = body.channel?.id ?? body.container?.channel_id;
    if (!channelId || action.type !== 'button' || !action.value) return;
    await flow.text(action.value, {
      client, userId: body.user.id, channelId, correlationId: body.trigger_id,
      reply: (m) => respond({ response_type: 'ephemeral', replace_original: true, ...m }),
    }, 'pick');
  });

  app.action({ type: 'block_actions', action_id: ACTION_SHARE }, async ({ ack, body, action, respond, client, context }) => {
    await ack();
    const channelId = body.channel?.id ?? body.container?.channel_id;
    if (!channelId || action.type !== 'button' || !action.value) return;
    await flow.share(action.value, {
      client, userId: body.user.id, channelId, correlationId: body.trigger_id, ...(context.botUserId ? { botUserId: context.botUserId } : {}),
      reply: (m) => respond({ response_type: 'ephemeral', replace_original: false, ...m }),
    });
  });
}

export function stripMentions(text: string): string {
  return text.replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, ' ').trim();
}

class SlackFlow {
  private readonly channelKinds = new Map<string, { kind: ChannelKind; until: number }>();

  constructor(private readonly deps: SlackHandlerDeps) {}

  /** A query, help request or anything else a user typed (`label`: a button that replays a query). */
  async text(text: string, turn: Turn, label?: string): Promise<void> {
    const done = commandTimer(this.deps.metrics, 'slack');
    const user = slackUser(turn.client, turn.userId);
    let locale = this.deps.defaultLocale;
    const command = parseCommandOrUsage(text);
    try {
      if (command.kind !== 'lookup') {
        locale = await this.deps.identity.localeOf(user, this.deps.defaultLocale);
        const view = command.kind === 'help' ? helpView(locale, this.deps.securityContact) : errorView(command.error, locale, this.deps.securityContact);
        return await this.send(turn, view);
      }
      const employee = await this.identify(turn, user, 'lookup', (l) => { locale = l; });
      const asker = await this.asker(turn, employee);
      const result = await this.deps.lookup.lookup(asker, command.query, command.purpose);
      await this.send(turn, lookupResultView(result, locale, employee.timezone));
    } catch (err) {
      await this.fail(turn, err, locale);
    } finally {
      done(label ?? command.kind);
    }
  }

  /** "Share in channel": post the audience-masked card for the channel's least-privileged member. */
  async share(customerId: string, turn: Turn): Promise<void> {
    const done = commandTimer(this.deps.metrics, 'slack');
    const user = slackUser(turn.client, turn.userId);
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(turn, user, 'share', (l) => { locale = l; });
      const asker = await this.asker(turn, employee);
      if (asker.channel === 'dm') return await this.send(turn, noticeView(t('lookup.share.dmOnly', locale)));
      const audience = await this.audience(turn, employee);
      const result = await this.deps.lookup.share(asker, customerId, audience);
      // The channel reads the shared card in the workspace's default language.
      const message = renderView(sharedCardView(result, this.deps.defaultLocale, employee.name, DEFAULT_TIMEZONE));
      await turn.client.chat.postMessage({ channel: turn.channelId, ...message });
      await this.send(turn, noticeView(t('lookup.share.done', locale)));
    } catch (err) {
      await this.fail(turn, err, locale);
    } finally {
      done('share');
    }
  }

  private async identify(turn: Turn, user: ChatUser, interaction: 'lookup' | 'share', setLocale: (l: Locale) => void): Promise<Employee> {
    try {
      const employee = await this.deps.identity.identify(user, { interaction, correlationId: correlationIdOf(turn.correlationId) });
      setLocale(employee.locale);
      return employee;
    } catch (err) {
      setLocale(await this.deps.identity.localeOf(user, this.deps.defaultLocale));
      throw err;
    }
  }

  private async asker(turn: Turn, employee: Employee): Promise<Asker> {
    return { employee, platform: 'slack', platformUserId: turn.userId, channel: await this.channelKind(turn), correlationId: correlationIdOf(turn.correlationId) };
  }

  private async channelKind(turn: Turn): Promise<ChannelKind> {
    const cached = this.channelKinds.get(turn.channelId);
    if (cached && cached.until > Date.now()) return cached.kind;
    let kind: ChannelKind;
    try {
      const info = await turn.client.conversations.info({ channel: turn.channelId });
      const c = info.channel;
      kind = c?.is_im ? 'dm' : c?.is_ext_shared ? 'shared' : c?.is_private ? 'private' : 'public';
      this.channelKinds.set(turn.channelId, { kind, until: Date.now() + (this.deps.channelCacheMs ?? 300_000) });
    } catch (err) {
      // The bot cannot see the conversation (not a member): assume the strictest kind unless Slack told
      // us it is a direct message, where replies are private anyway.
      this.deps.logger.info({ err: errorSummary(err) }, 'slack: conversations.info failed; assuming a shared channel');
      kind = turn.channelHint === 'directmessage' ? 'dm' : 'shared';
    }
    return kind;
  }

  /**
   * Every member of the channel as a principal, identified by the same rule as the asker (a member who
   * never used custos is matched by e-mail once); anyone not an active employee counts as the most restricted.
   */
  private async audience(turn: Turn, asker: Employee): Promise<Principal[]> {
    const members: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await turn.client.conversations.members({ channel: turn.channelId, limit: 200, ...(cursor ? { cursor } : {}) });
      members.push(...(page.members ?? []));
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    const others = members.filter((m) => m !== turn.userId && m !== turn.botUserId);
    const principals = await Promise.all(others.map((m) => this.deps.identity.member(slackUser(turn.client, m))));
    return [principalOf(asker), ...principals];
  }

  private async send(turn: Turn, view: View): Promise<void> {
    await turn.reply(renderView(view));
  }

  private async fail(turn: Turn, err: unknown, locale: Locale): Promise<void> {
    const view = errorView(err, locale, this.deps.securityContact);
    // CustosError details hold only safe facts (codes, paths, field names) by contract.
    if (view.kind === 'notice' && view.tone === 'error') this.deps.logger.error({ err: errorSummary(err), details: isCustosError(err) ? err.details : undefined }, 'slack: lookup failed');
    await this.send(turn, view).catch((e: unknown) => this.deps.logger.error({ err: errorSummary(e) }, 'slack: could not send the reply'));
  }
}

/**
 * A short stable id derived from Slack's trigger_id / event_id. Not the raw id: trigger ids are long
 * digit runs, which the audit log's PII guard (rightly) cannot tell from a card number.
 */
export function correlationIdOf(slackId: string): string {
  return `sl-${createHash('sha256').update(slackId).digest('base64url').slice(0, 22)}`;
}

function parseCommandOrUsage(text: string): ReturnType<typeof parseCommand> | { kind: 'usage'; error: unknown } {
  try {
    return parseCommand(text);
  } catch (err) {
    return { kind: 'usage', error: err };
  }
}
